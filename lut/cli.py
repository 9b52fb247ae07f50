"""``python -m lut``: inspect and check LUT files.

Exit status: 0 fine, 1 the file has problems (validate), 2 the file cannot be
used at all (missing, unreadable, not UTF-8; or any problem for info). Errors
are one line on stderr, never a traceback. pandas is imported only once a
command runs, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

SHOWN_VALUES = 3  # distinct provenance values listed before "(+N more)"

DESCRIPTION = """\
Inspect and check latency lookup tables (LUT CSV files; format: docs/lut-format.md).

commands:
  info FILE       load FILE and summarise it: schema version, rows, stable/unstable
                  rows, provenance (device, runtime, threads, ...), content hash.
                  Exit 0, or 2 with one line on stderr if FILE cannot be loaded.
  validate FILE   check FILE against the schema and print every problem, one per
                  line, as FILE: line N, column C: what is wrong.
                  Exit 0 ("ok: N rows"), 1 on problems, 2 if FILE is missing,
                  unreadable or not UTF-8.
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m lut``."""
    p = argparse.ArgumentParser(prog="python -m lut", description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="{info,validate}")
    info = sub.add_parser("info", help="summarise a LUT file (rows, provenance, content hash)",
                          description="Load a LUT file and print its schema version, row count, stable and "
                                      "unstable rows, provenance summary and content hash.")
    info.add_argument("file", type=Path, help="the LUT CSV file")
    val = sub.add_parser("validate", help="check a LUT file and list every problem",
                         description="Check a LUT file against the schema; print each problem as "
                                     "'FILE: line N, column C: what is wrong'. Exit 0 when valid, 1 on "
                                     "problems, 2 when the file is missing, unreadable or not UTF-8.")
    val.add_argument("file", type=Path, help="the LUT CSV file")
    return p


def _values(values: list[str]) -> str:
    more = f" (+{len(values) - SHOWN_VALUES} more)" if len(values) > SHOWN_VALUES else ""
    return ", ".join(values[:SHOWN_VALUES]) + more if values else "-"


def format_info(lut, path: Path) -> list[str]:
    """The lines ``info`` prints for a loaded LUT."""
    from lut.schema import SCHEMA_VERSION

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
    prov = lut.provenance()
    for column, values in prov.items():
        if column == "measured_at":
            dated = [v for v in values if v != "unknown"]
            shown = " .. ".join(dict.fromkeys([dated[0], dated[-1]])) if dated else _values(values)
            shown += " (some unknown)" if "unknown" in values and dated else ""
        else:
            shown = _values(values)
        lines.append(f"  {column + ':':<16} {shown}")
    envs = lut.environments()
    if len(envs) > 1:
        lines.append(f"warning: rows from {len(envs)} environments (device_model, runtime, runtime_version, "
                     f"opt_level, threads differ); their latencies are not comparable")
    return lines


def _info(path: Path) -> int:
    from lut.io import load
    from lut.schema import LUTError

    try:
        lut = load(path)
    except LUTError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(format_info(lut, path)))
    return 0


def _validate(path: Path) -> int:
    from lut.io import read_bytes
    from lut.schema import LUTError
    from lut.validate import check_text, decode

    try:
        data = read_bytes(path)
    except LUTError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    text, problem = decode(data)
    if problem:
        print(f"error: {path}: {problem}", file=sys.stderr)
        return 2
    checked = check_text(text)
    if checked.problems:
        for p in checked.problems:
            print(f"{path}: {p}")
        return 1
    print(f"ok: {len(checked.frame)} rows")
    return 0


COMMANDS = {"info": _info, "validate": _validate}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args.file)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
