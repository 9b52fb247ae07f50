"""``python -m lut convert IN -o OUT --from F --to T``: between lutnas LUTs and other FBNet tools' tables."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from luttools.commands import FINDINGS, OK, Command, refuse_existing

# luttools.formats.BUILTIN's names, repeated here so --help needs no import of the formats
FORMAT_NAMES = ("lutnas", "fbnet-lookup-table", "hwnas-bench", "ofa-yaml")


def _pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def _fixed(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        name, value = _pair(part)
        try:
            out[name] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: {value!r} is not a number of ms") from None
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, metavar="IN", help="the file to convert")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="OUT", help="the file to write")
    p.add_argument("--from", dest="source", default="lutnas", metavar="FORMAT",
                   help=f"IN's format (default lutnas): {', '.join(FORMAT_NAMES)}")
    p.add_argument("--to", dest="target", default="lutnas", metavar="FORMAT",
                   help="OUT's format (default lutnas)")
    p.add_argument("--space", metavar="S",
                   help="fbnet-lookup-table: the space whose layers the table's lines are (default fbnet); "
                        "hwnas-bench import: the space whose overhead (and stem, head) rows to write, needed "
                        "for lut predict; refused where neither format uses it")
    p.add_argument("--fixed-ms", type=_fixed, default={}, metavar="stem=MS,head=MS,overhead=MS",
                   help="fbnet-lookup-table and hwnas-bench import: latencies of the ops the table lacks "
                        "(default 0.000001 ms, effectively 0, with a note); hwnas-bench adds the overhead to "
                        "every value, as a LUT row includes it (docs/lut-format.md)")
    p.add_argument("--set", type=_pair, action="append", default=[], metavar="COLUMN=VALUE",
                   help="import: a provenance column of the imported rows, e.g. --set device_model='Pixel 3' "
                        "--set threads=4 (repeatable; default unknown)")
    p.add_argument("--strict", action="store_true",
                   help="refuse (exit 1, nothing written) when rows cannot be expressed in the target format")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args: argparse.Namespace) -> int:
    from luttools.formats import Options, get_format
    from lut.io import read_bytes, write_atomic

    source, target = get_format(args.source), get_format(args.target)
    if args.input.resolve() == args.out.resolve():
        raise ValueError(f"{args.out}: is also the input; write to another file")
    refuse_existing(args.out, args.overwrite)
    for flag, field, value in (("--space", "space", args.space), ("--fixed-ms", "fixed_ms", args.fixed_ms)):
        if value and field not in source.read_options | target.write_options:
            raise ValueError(f"{flag}: used neither by reading {source.name} nor by writing {target.name}, so it "
                             f"would be ignored; leave it out")
    common = dict(space=args.space, fixed_ms=args.fixed_ms, provenance=dict(args.set))
    imported = source.read(read_bytes(args.input),
                           Options(source=str(args.input), suffix=args.input.suffix.lower(), **common))
    if source.name != "lutnas" and not len(imported.lut):
        raise ValueError(f"{args.input}: no row could be imported as {source.name}"
                         + (f" ({imported.left_out[0]})" if imported.left_out else ""))
    exported = target.write(imported.lut, Options(source=str(args.out), suffix=args.out.suffix.lower(), **common))
    dropped = imported.left_out + exported.left_out
    for note in dropped + imported.notes + exported.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.strict and dropped:
        print(f"error: --strict: {len(dropped)} note(s) of rows the formats cannot express; "
              f"{args.out} not written", file=sys.stderr)
        return FINDINGS
    write_atomic(args.out, exported.data)
    print(f"wrote {args.out} ({target.name}) from {args.input} ({source.name}): "
          f"{len(imported.lut)} LUT rows imported")
    return OK


COMMAND = Command(
    "convert", "convert IN -o OUT --from F --to T",
    "convert between lutnas LUTs and other FBNet tools' tables:\n"
    + ", ".join(FORMAT_NAMES),
    "Convert IN (format --from, default lutnas) into OUT (format --to, default lutnas), through a LUT. "
    "Formats (docs/lut-format.md, Other formats):\n"
    "  lutnas              this toolkit's LUT CSV\n"
    "  fbnet-lookup-table  the PyTorch FBNet reimplementation's lookup_table.txt: a header of 9 op names,\n"
    "                      then 22 lines of µs, one per layer of the fbnet space (--space for another)\n"
    "  hwnas-bench         HW-NAS-Bench-style ConvBlock_H.._W.._cin_cout_e_k_s_g / Skip_H.._W.._cin_cout_s\n"
    "                      keys -> ms, as JSON (OUT ending .json) or CSV key,value (.csv)\n"
    "  ofa-yaml            once-for-all / ProxylessNAS YAML: expanded_conv-input:HxWxC-output:HxWxC-\n"
    "                      expand:E-kernel:K-stride:S-idskip:I -> count, mean, var (ms)\n\n"
    "Other formats record no provenance: imported rows say 'unknown (imported from ...)' unless --set "
    "states it. Rows one side cannot express are never dropped silently: each kind is named on stderr "
    "('note: N ... cannot be expressed ...: examples'); --strict makes that a refusal.\n\n"
    "OUT is never replaced without --overwrite. Exit 0 when OUT was written, 1 when --strict refused, 2 on "
    "an unknown format, an unreadable or malformed IN, or an existing OUT.",
    add_arguments, run)
