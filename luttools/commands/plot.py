"""``python -m lut plot FILE [B] [--space S] -o PNG``: a layers x candidates heatmap in ms, or B/A."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from luttools.commands import OK, Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help="one LUT (latencies) or two, A B (the ratio B/A)")
    p.add_argument("--space", metavar="S",
                   help="the space whose layers and candidates to draw: a built-in name or a .toml/.json file "
                        "(default: the built-in space FILE covers best)")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="PNG",
                   help="the PNG to write (replaced if it exists: a picture is made again at will)")


def _space(args: argparse.Namespace, lut):
    from search.coverage import best_space
    from search.space import get_space

    if args.space:
        return get_space(args.space)
    space = best_space(lut)
    if space is None:
        raise ValueError(f"{args.files[0]}: holds no key of any built-in space; name one with --space")
    return space


def run(args: argparse.Namespace) -> int:
    from lut.io import load, write_atomic
    from luttools.heatmaps import grid, heatmap_png, ratio_grid

    if len(args.files) > 2:
        raise ValueError(f"plot takes one LUT or two (A B), got {len(args.files)}")
    luts = [load(p) for p in args.files]
    space = _space(args, luts[0])
    if len(luts) == 1:
        g, overhead = grid(luts[0], space)
        what = (f"net latency, ms (overhead {overhead:.4f} ms subtracted)" if overhead is not None
                else "latency, ms (no overhead row: gross)")
        title, label = f"{args.files[0].name} on space {space.name}: {what}", "ms"
    else:
        g = ratio_grid(luts[0], luts[1], space)
        title, label = f"{args.files[1].name} / {args.files[0].name} on space {space.name}: ratio of medians", "B/A"
    if g.missing == g.values.size:
        raise ValueError(f"no cell of space {space.name} has a value in {' and '.join(map(str, args.files))}")
    png = heatmap_png(g, title, label, ratio=len(luts) == 2)
    write_atomic(args.out, png)
    if g.missing:
        print(f"note: {g.missing} of {g.values.size} cells have no value (grey)", file=sys.stderr)
    print(f"wrote {args.out}: {g.values.shape[0]} layers x {g.values.shape[1]} candidates of space {space.name}")
    return OK


COMMAND = Command(
    "plot", "plot FILE [B] [--space S] -o PNG",
    "a layers x candidates heatmap of FILE in ms; with two LUTs A B, the\n"
    "ratio B/A of each cell",
    "Draw a heatmap of a space's searchable layers (rows) x candidate blocks (columns) into a PNG.\n\n"
    "With one LUT: each cell is the net latency in ms the search sees (the median minus the LUT's "
    "per-inference overhead row, when it has one). With two LUTs A B: each cell is B's median over A's, "
    "on a diverging scale centred on 1. Cells whose key is missing are grey.\n\n"
    "The space defaults to the built-in space FILE covers best.\n\n"
    "Exit 0 when the PNG was written, 2 when a LUT cannot be loaded, the space is unknown, or no cell has a "
    "value.",
    add_arguments, run)
