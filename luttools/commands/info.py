"""``python -m lut info FILE``: what a LUT is and where it came from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from luttools.commands import OK, Command

if TYPE_CHECKING:
    from lut.table import LUT

SHOWN_VALUES = 3  # distinct provenance values listed before "(+N more)"


def _values(values: list[str]) -> str:
    more = f" (+{len(values) - SHOWN_VALUES} more)" if len(values) > SHOWN_VALUES else ""
    return ", ".join(values[:SHOWN_VALUES]) + more if values else "-"


def format_info(lut: LUT, path: Path | str, stored: int | None = None) -> list[str]:
    """The lines ``info`` prints for a loaded LUT (without the coverage of spaces); ``stored`` is the schema
    version the file was written in, when older than the one it was read as."""
    from lut.schema import IMPORTED_PREFIX, SCHEMA_VERSION

    frame = lut.frame
    stable = int(frame["stable"].sum())
    per_layer = int((frame["layer"] >= 0).sum())
    layers = f"; {per_layer} per-layer (a layer's own value, taken there instead of its slot's row)" if per_layer else ""
    versions = sorted({int(v) for v in frame["schema"]}) or [SCHEMA_VERSION]
    shown = ", ".join(str(v) for v in versions)
    if stored is not None and stored != versions[0]:
        shown = f"{stored} (read as {shown} through the migrations; saving writes {shown})"
    lines = [
        f"file:          {path}",
        f"schema:        {shown}",
        f"rows:          {len(lut)} ({stable} stable, {len(lut) - stable} unstable{layers})",
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
    from search.coverage import builtin_coverage

    cov = builtin_coverage(lut)
    width = max((len(c.space) for c in cov), default=0) + 1
    return ["coverage of the built-in spaces:"] + [
        f"  {c.space + ':':<{width}} {c.have} of {c.needed} keys ({100.0 * c.have / c.needed:.0f}%)"
        + ("" if c.complete else f", missing e.g. {c.missing[0]}") for c in cov]


def calibration_lines(lut: LUT, spaces: list) -> list[str]:
    """For each space the LUT holds a whole-network calibration of: the line, when and on how many networks it
    was fitted, and a warning when rows of the space were measured again after the fit."""
    from lut.calibration import SCALE, calibration_keys, measured_after_fit, read_calibration

    lines: list[str] = []
    for space in spaces:
        found = measured_after_fit(lut, space)
        if found is None:
            continue
        fitted_at, newer = found
        n = int(lut.row(calibration_keys(space)[SCALE])["n"])
        lines.append(f"calibration ({space.name}): {read_calibration(lut, space)}, fitted at {fitted_at} "
                     f"on {n} network measurements")
        if newer:
            lines.append(f"warning: {len(newer)} {space.name} row(s) were measured after its calibration was "
                         f"fitted (e.g. {newer[0]}); the calibration never saw them: fit it again "
                         f"(python -m profiler.validate, then python -m profiler.calibrate)")
    return lines


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="the LUT CSV file")


def run(args: argparse.Namespace) -> int:
    from lut.io import load
    from search.coverage import builtin_spaces

    lut = load(args.file)
    print("\n".join(format_info(lut, args.file, stored_version(args.file)) + format_coverage(lut)
                    + calibration_lines(lut, builtin_spaces())))
    return OK


def stored_version(path: Path) -> int | None:
    """The schema version written in the file (its first row), before any migration."""
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        header, first = next(rows, []), next(rows, [])
    if "schema" not in header or len(first) != len(header):
        return None
    value = first[header.index("schema")]
    return int(value) if value.isdigit() else None


COMMAND = Command(
    "info", "info FILE",
    "summarise a LUT: schema version, rows, stable/unstable, provenance,\n"
    "coverage of each built-in space, and the content hash that identifies it",
    "Load a LUT file and print its schema version, row count, stable and unstable rows, a summary of its "
    "provenance (device, runtime, threads, ...), how many keys of each built-in search space it holds, and "
    "its content hash (sha256 of the canonical CSV text: the identity arch.json records).\n\n"
    "Exit 0, or 2 with one line on stderr if FILE cannot be loaded.",
    add_arguments, run)
