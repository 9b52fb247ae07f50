"""Which search space a LUT was measured for, and the runtime settings its rows were measured with.

A LUT does not name its space, but its keys give it away: the ``overhead`` row sits at the
input size (3 x H x W), and a space is covered when every key it needs is there. Built-in
spaces are tried at each input size the LUT holds; a user space (a .toml/.json file) or a
width multiplier other than 1 is named on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass

from lut import LUT, LUTError
from search.space import SPACES, Space, get_space


def input_sizes(lut: LUT) -> list[int]:
    """The input sizes of the LUT's ``overhead`` rows (square inputs), ascending."""
    return sorted({k.h for k in lut.keys() if k.block == "overhead" and k.h == k.w})


def share_covered(lut: LUT, space: Space) -> float:
    """The share of ``space``'s keys that ``lut`` holds (1.0: complete)."""
    keys = space.keys()
    return sum(k in lut for k in keys) / len(keys)


def _where(lut: LUT) -> str:
    return str(lut.source) if lut.source else "LUT"


def resolve_space(lut: LUT, spec: str | None = None, width_mult: float | None = None,
                  resolution: int | None = None) -> Space:
    """The space of ``lut``: ``spec`` when given (a built-in name at the LUT's input size unless
    ``resolution`` says otherwise, or a space file), else the one built-in space it covers completely.

    The space returned may still lack keys: ``lut.matrix(space)`` then raises MissingKeysError with
    the profiler command that measures them. ValueError when no space fits or several do.
    """
    if spec is not None and (resolution is not None or spec not in SPACES):
        return get_space(spec, width_mult, resolution)
    names = [spec] if spec is not None else list(SPACES)
    spaces: dict[tuple[str, int], Space] = {}
    for name in names:
        for size in (None, *input_sizes(lut)):  # None: the space's own default size
            space = get_space(name, width_mult, size)
            spaces.setdefault((space.name, space.input_size), space)
    tried = [(share_covered(lut, s), s) for s in spaces.values()]
    complete = [s for share, s in tried if share == 1.0]
    if len(complete) == 1:
        return complete[0]
    if len(complete) > 1:
        listed = ", ".join(f"{s.name} at {s.input_size}x{s.input_size}" for s in complete)
        raise ValueError(f"{_where(lut)}: covers several spaces ({listed}); name one with --space and --resolution")
    best_share, best = max(tried, key=lambda t: t[0])
    if spec is not None or best_share >= 0.5:
        return best  # incomplete: the caller's lut.matrix(best) names the missing keys and the profiler command
    sizes = ", ".join(str(s) for s in input_sizes(lut)) or "none (no overhead row)"
    raise ValueError(f"{_where(lut)}: covers no built-in space (best: {best.name} at {best.input_size}x"
                     f"{best.input_size}, {best_share:.0%} of its keys; input sizes in the LUT: {sizes}); "
                     f"name its space with --space (a .toml/.json file for a space of your own)")


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
