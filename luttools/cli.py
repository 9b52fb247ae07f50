"""``python -m lut``: inspect, check, compare, merge, plot and convert LUT files.

The commands live in ``luttools.commands`` (one module each). Every error is one line on stderr
(``error: ...``), never a traceback: exit 2 on bad usage or input that cannot be used, 1 when a
command reports findings (validate: problems; diff: changes), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from luttools.commands import commands

INTRO = "Inspect, check, compare, merge, plot and convert latency lookup tables (LUT CSV files; " \
        "format: docs/lut-format.md)."
EXIT_CODES = """\
exit status (every command):
  0    ok
  1    findings: validate found problems, diff found changes beyond the spread or keys in one LUT only,
       convert --strict found rows the target format cannot express
  2    bad usage, or input that cannot be used (missing, unreadable, malformed, conflicting); one line
       'error: ...' on stderr, nothing written
  130  interrupted (Ctrl-C)

Run 'python -m lut COMMAND --help' for a command's options."""


def _description() -> str:
    lines = [INTRO, "", "commands:"]
    for cmd in commands().values():
        summary = cmd.summary.splitlines()
        lines.append(f"  {cmd.usage:<34} {summary[0]}")
        lines += [f"  {'':<34} {s}" for s in summary[1:]]
    return "\n".join(lines) + "\n\n" + EXIT_CODES


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m lut``."""
    p = argparse.ArgumentParser(prog="python -m lut", description=_description(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = commands()
    sub = p.add_subparsers(dest="command", required=True, metavar="{" + ",".join(cmds) + "}")
    for cmd in cmds.values():
        sp = sub.add_parser(cmd.name, description=cmd.description,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        cmd.add_arguments(sp)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    from lutnas.cli import guarded
    from lut.schema import LUTError

    args = build_parser().parse_args(argv)
    return guarded(commands()[args.command].run, args, (LUTError,))


if __name__ == "__main__":
    sys.exit(main())
