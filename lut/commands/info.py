"""``python -m lut info FILE``: what a LUT is and where it came from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from lut.commands import OK, Command

if TYPE_CHECKING:
    from lut.table import LUT

SHOWN_VALUES = 3  # distinct provenance values listed before "(+N more)"


def _values(values: list[str]) -> str:
    more = f" (+{len(values) - SHOWN_VALUES} more)" if len(values) > SHOWN_VALUES else ""
    return ", ".join(values[:SHOWN_VALUES]) + more if values else "-"


def format_info(lut: LUT, path: Path | str) -> list[str]:
    """The lines ``info`` prints for a loaded LUT (without the coverage of spaces)."""
    from lut.schema import IMPORTED_PREFIX, SCHEMA_VERSION

    frame = lut.frame
    stable = int(frame["stable"].sum())
    versions = sorted({int(v) for v in frame["schema"]}) or [SCHEMA_VERSION]
    lines = [
        f"file:          {path}",
        f"schema:        {', '.join(str(v) for v in versions)}",
        f"rows:          {len(lut)} ({stable} stable, {len(lut) - stable} unstable)",
        f"content hash:  {lut.content_hash()}",
        "provenance:",
    ]
    for column, values in lut.provenance().items():
        if column == "measured_at":
            dated = [v for v in values if v != "unknown"]
            shown = " .. ".join(dict.fromkeys([dated[0], dated[-1]])) if dated else _values(values)
            shown += " (some unknown)" if "unknown" in values and dated else ""
        else:
            shown = _values(values)
        lines.append(f"  {column + ':':<16} {shown}")
    imported = [m for m in frame["device_model"] if str(m).startswith(IMPORTED_PREFIX)]
    if imported:
        lines.append(f"note: {len(imported)} of {len(lut)} rows were imported from a format that records no "
                     f"provenance; where, how and how precisely they were measured is unknown")
    envs = lut.environments()
    if len(envs) > 1:
        lines.append(f"warning: rows from {len(envs)} environments (device_model, runtime, runtime_version, "
                     f"opt_level, threads differ); their latencies are not comparable")
    return lines


def format_coverage(lut: LUT) -> list[str]:
    """One line per built-in space: how many of its keys the LUT holds."""
    from lut.spaces import builtin_coverage

    cov = builtin_coverage(lut)
    width = max((len(c.space) for c in cov), default=0) + 1
    return ["coverage of the built-in spaces:"] + [
        f"  {c.space + ':':<{width}} {c.have} of {c.needed} keys ({100.0 * c.have / c.needed:.0f}%)"
        + ("" if c.complete else f", missing e.g. {c.missing[0]}") for c in cov]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="the LUT CSV file")


def run(args: argparse.Namespace) -> int:
    from lut.io import load

    lut = load(args.file)
    print("\n".join(format_info(lut, args.file) + format_coverage(lut)))
    return OK


COMMAND = Command(
    "info", "info FILE",
    "summarise a LUT: schema version, rows, stable/unstable, provenance,\n"
    "coverage of each built-in space, and the content hash that identifies it",
    "Load a LUT file and print its schema version, row count, stable and unstable rows, a summary of its "
    "provenance (device, runtime, threads, ...), how many keys of each built-in search space it holds, and "
    "its content hash (sha256 of the canonical CSV text: the identity arch.json records).\n\n"
    "Exit 0, or 2 with one line on stderr if FILE cannot be loaded.",
    add_arguments, run)
