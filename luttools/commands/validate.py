"""``python -m lut validate FILE [--space S]``: every problem of a LUT file, its coverage, sanity warnings."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from luttools.commands import FINDINGS, OK, Command

if TYPE_CHECKING:
    from lut.table import LUT

SHOWN_MISSING = 10  # missing keys listed by --space


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", type=Path, help="the LUT CSV file")
    p.add_argument("--space", metavar="S",
                   help="also check that FILE holds every key of space S (a built-in name such as fbnet or "
                        "fbnet-cifar, or a .toml/.json space file)")


def run(args: argparse.Namespace) -> int:
    from lut import canonical
    from lut.io import read_bytes
    from lut.schema import LUTError
    from lut.table import LUT
    from lut.checks import check_text, decode

    path = args.file
    space = None
    if args.space:
        from search.space import get_space

        space = get_space(args.space)  # a bad space is bad usage: exit 2 before reading
    data = read_bytes(path)
    text, problem = decode(data)
    if problem:
        raise LUTError(f"{path}: {problem}")
    checked = check_text(text)
    if checked.problems:
        for p in checked.problems:
            print(f"{path}: {p}")
        return FINDINGS
    lut = LUT(canonical.typed_frame(checked.frame), path)
    status = OK
    lines = [f"ok: {len(lut)} rows"]
    if space is not None:
        from lut.matrix import profiler_command
        from search.coverage import coverage, stray_layer_rows

        cov = coverage(lut, space)
        stray = stray_layer_rows(lut, space)
        if cov.complete:
            lines.append(f"space {cov}")
        else:
            status = FINDINGS
            lines = [f"{path}: space {cov}; missing: " + ", ".join(str(k) for k in cov.missing[:SHOWN_MISSING])
                     + (f" and {len(cov.missing) - SHOWN_MISSING} more" if len(cov.missing) > SHOWN_MISSING else ""),
                     f"measure them with: {profiler_command(lut, space)}"]
        if stray:
            lines.append(f"warning: {len(stray)} per-layer row(s) hold at no layer of space {space.name} (their layer "
                         f"is not at their slot there), so it never reads them: {', '.join(map(str, stray[:3]))}"
                         + (f" and {len(stray) - 3} more" if len(stray) > 3 else ""))
    lines += sanity_lines(lut)
    from luttools.commands.info import calibration_lines
    from search.coverage import builtin_spaces

    spaces = [space] if space is not None else builtin_spaces()
    lines += [ln for ln in calibration_lines(lut, spaces) if ln.startswith("warning:")]
    print("\n".join(lines))
    return status


def sanity_lines(lut: LUT) -> list[str]:
    """Each failed plausibility check as a warning, then one summary line per check that applied."""
    from lut.sanity import check

    report = check(lut)
    lines = [f"warning: {w}" for w in report.warnings]
    lines += [f"sanity: {line}" for line, n in zip(report.summary(), report.checks.values()) if n]
    return lines


COMMAND = Command(
    "validate", "validate FILE [--space S]",
    "check FILE against the schema and list every problem with its line and\n"
    "column; --space S: also every key of S present; sanity warnings",
    "Check a LUT file against the schema: CSV structure, schema version, columns, every cell's type and "
    "range, p10 <= median <= p90, block names, duplicate keys. Each problem is printed as "
    "'FILE: line N, column C: what is wrong'.\n\n"
    "With --space S, a file missing keys of space S is a finding too (the missing keys are listed with the "
    "profiler command that measures them).\n\n"
    "Sanity warnings, printed as 'warning: ...', do not change the exit status: a larger expansion that is "
    "faster than a smaller one at the same slot and kernel (e1 <= e3 <= e6 expected), and a stride-2 block "
    "dearer than the same block with stride 1 at the same slot. Timing noise can cause either on small "
    "blocks; a summary line says how many of the checks failed.\n\n"
    "Exit 0 (\"ok: N rows\"), 1 on problems or missing keys, 2 if FILE is missing, unreadable or not UTF-8, "
    "or S is not a space.",
    add_arguments, run)
