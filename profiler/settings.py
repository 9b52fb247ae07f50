"""The runtime settings a LUT's rows were measured with: what whole networks must be measured with to
compare (which space a LUT covers is ``search.coverage``'s)."""

from __future__ import annotations

from dataclasses import dataclass

from lut import LUT, LUTError


def _where(lut: LUT) -> str:
    return str(lut.source) if lut.source else "LUT"


@dataclass(frozen=True)
class RuntimeSettings:
    """How the LUT's rows were measured: what whole networks must be measured with to compare."""

    device: str
    runtime: str
    threads: int
    opt_level: str
    affinity: str


def runtime_settings(lut: LUT) -> RuntimeSettings:
    """The one device, runtime, thread count, optimization level and affinity of the LUT's rows.

    LUTError when the LUT is empty or mixes them (a network cannot be measured several ways at once).
    """
    prov = lut.provenance()
    values = {}
    for column in ("device", "runtime", "threads", "opt_level", "affinity"):
        found = prov[column]
        if len(found) != 1:
            what = "no rows" if not found else f"several values: {', '.join(found)}"
            raise LUTError(f"{_where(lut)}: column {column} has {what}; fidelity needs one measurement setting")
        values[column] = found[0]
    return RuntimeSettings(values["device"], values["runtime"], int(values["threads"]), values["opt_level"],
                           values["affinity"])
