"""What every format shares: its registry entry, options, results, and the rows of imported tables.

Other tools' tables record a latency per op and little else. An imported row says so: its
provenance is ``unknown`` (``device_model`` reads ``unknown (imported from <format>)``), the int
provenance columns the schema requires hold placeholders (``cores=1``, ``threads=1``, ``opset=0``)
unless ``Options.provenance`` states them, ``stable`` is 0 (nothing is known about its stability),
and the spread columns hold what the format gives (p10 = p90 = median when it gives nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Sequence

from lutnas import __version__
from lut.cells import UNKNOWN, round_float
from lut.schema import IMPORTED_PREFIX, PROVENANCE_COLUMNS, Key

if TYPE_CHECKING:
    from lut.table import LUT

SHOWN = 3  # examples named in a note
FIXED = ("overhead", "stem", "head")  # the ops a network runs once, which --fixed-ms may give
MIN_MS = 0.000001  # the smallest latency the schema stores (> 0 at six decimals): "effectively zero"


@dataclass
class Options:
    """What a conversion may need beyond the file: where it came from, its space, values it lacks."""

    source: str = "<bytes>"  # the file's path as given (messages)
    suffix: str = ""  # the file's suffix, e.g. ".json" (formats with several encodings)
    space: str | None = None  # the space whose layer layout a per-layer table follows
    fixed_ms: dict[str, float] = field(default_factory=dict)  # stem/head/overhead latencies a table lacks
    provenance: dict[str, str] = field(default_factory=dict)  # provenance of imported rows, column -> value


@dataclass
class Imported:
    """A LUT read from a file: ``left_out`` names what the LUT cannot express, ``notes`` what was made up."""

    lut: LUT
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


@dataclass
class Exported:
    """A file's bytes written from a LUT: ``left_out`` names the rows the format cannot express."""

    data: bytes
    notes: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Format:
    """A registered format: name, one-line description, reader and writer."""

    name: str
    description: str
    read: Callable[[bytes, Options], Imported]
    write: Callable[["LUT", Options], Exported]
    read_options: frozenset[str] = frozenset()  # the Options fields (space, fixed_ms) its reader uses
    write_options: frozenset[str] = frozenset()  # ... and its writer


def decode(data: bytes, source: str) -> str:
    """The UTF-8 text of a file (a BOM dropped); ValueError naming the file otherwise."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise ValueError(f"{source}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start})") from None


def examples(items: Sequence[Any]) -> str:
    """The first few items, then how many more."""
    shown = ", ".join(str(i) for i in items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def left_out(items: Sequence[Any], what: str, fmt: str, why: str) -> list[str]:
    """A note (or none) for ``items`` a format cannot express: count, why, examples."""
    if not items:
        return []
    return [f"{len(items)} {what} cannot be expressed in {fmt} and were left out ({why}): {examples(items)}"]


def provenance(label: str, overrides: dict[str, str]) -> dict[str, Any]:
    """Provenance of rows imported from ``label`` (a format with no provenance), with ``overrides`` applied."""
    unknown = sorted(set(overrides) - set(PROVENANCE_COLUMNS))
    if unknown:
        raise ValueError(f"unknown provenance column(s) {', '.join(unknown)}; "
                         f"known: {', '.join(PROVENANCE_COLUMNS)}")
    prov: dict[str, Any] = {c: UNKNOWN for c in PROVENANCE_COLUMNS}
    prov.update(device_model=f"{IMPORTED_PREFIX}{label})", cores=1, threads=1, copies=1, opset=0,
                toolkit=f"unknown (imported by lutnas {__version__})")
    prov.update(overrides)
    return prov


def row(key: Key, values_ms: Sequence[float], prov: dict[str, Any], *, std_ms: float | None = None,
        n: int | None = None, ci_rel: float = 0.0) -> dict[str, Any]:
    """An imported row of ``key`` from one or more values: median, p10/p90 = min/max, population std."""
    values = sorted(values_ms)
    mid = len(values) // 2
    median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    if std_ms is None:
        mean = sum(values) / len(values)
        std_ms = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return dict(key._asdict(), median_ms=median, p10_ms=values[0], p90_ms=values[-1], std_ms=std_ms,
                n=n if n is not None else len(values), ci_rel=ci_rel, stable=0, **prov)


def build(rows: list[dict[str, Any]], source: str) -> LUT:
    """The LUT of imported rows (checked like a file); LUTError naming ``source`` on a bad value."""
    from lut.table import LUT

    return LUT.from_rows(rows, source=source) if rows else LUT.empty(source)


def positive_ms(value: Any, where: str, scale: float = 1.0) -> float:
    """``value * scale`` as a latency in ms (finite, > 0 at the stored precision); ValueError naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where}: {value!r} is not a number")
    ms = float(value) * scale
    if not math.isfinite(ms) or ms <= 0:
        raise ValueError(f"{where}: {value!r} is not a latency (a finite number > 0)")
    if round_float(ms) <= 0:
        raise ValueError(f"{where}: {value!r} is {ms!r} ms, which rounds to 0 at the LUT's six decimals")
    return ms


def fixed_ms(options: Options) -> dict[str, float]:
    """``--fixed-ms`` checked: only FIXED names, each a latency in ms; ValueError otherwise."""
    unknown = sorted(set(options.fixed_ms) - set(FIXED))
    if unknown:
        raise ValueError(f"--fixed-ms: unknown op(s) {', '.join(unknown)}; known: {', '.join(FIXED)}")
    return {k: positive_ms(v, f"--fixed-ms {k}") for k, v in options.fixed_ms.items()}


def number(text: str, where: str) -> float:
    """A number written as text; ValueError naming ``where`` otherwise."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}: {text!r} is not a number") from None
