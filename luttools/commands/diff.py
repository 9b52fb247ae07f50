"""``python -m lut diff A B``: per-key ratios B/A, their summary, the changes beyond both spreads."""

from __future__ import annotations

import argparse
from pathlib import Path

from luttools.commands import FINDINGS, OK, Command, refuse_existing

SHOWN_ONLY = 5  # keys listed per side for "only in"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=Path, metavar="A", help="the reference LUT")
    p.add_argument("b", type=Path, metavar="B", help="the LUT compared with A")
    p.add_argument("--changed-only", action="store_true",
                   help="list only the entries whose change exceeds both measurements' spread")
    p.add_argument("--csv", type=Path, metavar="OUT",
                   help="also write every common key's a_ms, b_ms, ratio and significant flag to the CSV OUT")
    p.add_argument("--overwrite", action="store_true", help="replace OUT of --csv if it exists")


def format_diff(d, a_name: str, b_name: str, changed_only: bool = False) -> list[str]:
    """The lines ``diff`` prints."""
    from lut.schema import Key

    entries = d.significant if changed_only else d.entries
    lines = []
    if len(entries):
        width = max(len(str(Key._make(k))) for k in entries[list(Key._fields)].itertuples(index=False))
        lines.append(f"{'key':<{width}}  {'A ms':>11}  {'B ms':>11}  {'B/A':>7}")
        for r in entries.itertuples(index=False):
            key = Key(r.block, r.cin, r.cout, r.stride, r.h, r.w, r.layer)
            mark = "  *" if r.significant else ""
            lines.append(f"{str(key):<{width}}  {r.a_ms:11.6f}  {r.b_ms:11.6f}  {r.ratio:7.3f}{mark}")
    s = d.summary()
    lines.append(f"common keys: {len(d.entries)}; B/A median {s['median']:.3f}, p5 {s['p5']:.3f}, p95 {s['p95']:.3f}"
                 if len(d.entries) else "common keys: 0")
    lines.append(f"changed beyond both measurements' spread: {len(d.significant)} (marked *)")
    for name, keys in ((a_name, d.only_a), (b_name, d.only_b)):
        shown = ", ".join(str(k) for k in keys[:SHOWN_ONLY])
        more = f" and {len(keys) - SHOWN_ONLY} more" if len(keys) > SHOWN_ONLY else ""
        lines.append(f"only in {name}: {len(keys)}" + (f": {shown}{more}" if keys else ""))
    return lines


def run(args: argparse.Namespace) -> int:
    from lut.compare import diff
    from lut.io import load, write_atomic

    if args.csv is not None:
        refuse_existing(args.csv, args.overwrite)
    a, b = load(args.a), load(args.b)
    d = diff(a, b)
    lines = format_diff(d, str(args.a), str(args.b), args.changed_only)
    if len(a.environments()) and a.environments() != b.environments():
        lines.append("note: A and B were measured in different environments "
                     "(device_model, runtime, runtime_version, opt_level, threads)")
    print("\n".join(lines))
    if args.csv is not None:
        write_atomic(args.csv, d.entries.to_csv(index=False, float_format="%.6f", lineterminator="\n").encode())
    return FINDINGS if d.findings else OK


COMMAND = Command(
    "diff", "diff A B",
    "per-key ratios B/A, their median/p5/p95, the changes that exceed both\n"
    "measurements' spread (marked *), and the keys only one LUT has",
    "Compare LUT B with LUT A key by key. For every key in both: A's and B's median in ms and the ratio B/A; "
    "then the median, 5th and 95th percentile of B/A over all common keys, and the keys only one of them "
    "holds.\n\n"
    "A change is marked * when it exceeds both measurements' spread: B's median lies outside A's spread and "
    "A's median outside B's, where a row's spread runs from min(p10_ms, median*(1-ci_rel)) to max(p90_ms, "
    "median*(1+ci_rel)). Rows with no recorded spread (imported ones) mark any change.\n\n"
    "Exit 0 when nothing changed beyond the spread and both hold the same keys, 1 otherwise (like diff(1)), "
    "2 when A or B cannot be loaded.",
    add_arguments, run)
