"""``python -m lut predict --lut FILE --arch arch.json``: an architecture's LUT-predicted latency in ms.

The glue between the LUT and ``search.archfile`` (arch.json): imported when the command runs, so the
LUT package itself never depends on the search package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from luttools.commands import OK, Command


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lut", type=Path, required=True, metavar="FILE", help="the LUT CSV file")
    p.add_argument("--arch", type=Path, required=True, metavar="ARCH",
                   help="an arch.json (from search.run, or hand-written: format, version, space, blocks)")
    p.add_argument("--layers", action="store_true",
                   help="also print each layer's block and net latency, and the stem, head and overhead")


def run(args: argparse.Namespace) -> int:
    from lut.io import load
    from search.archfile import read_arch

    arch = read_arch(args.arch)
    lut = load(args.lut)
    matrix = lut.matrix(arch.space)  # MissingKeysError (exit 2) names the keys and the profiler command
    total = matrix.predict(arch.blocks)
    lines = []
    if args.layers:
        lines.append(f"{'overhead':<12} {matrix.overhead_ms:10.4f} ms")
        lines.append(f"{'stem':<12} {matrix.stem_ms:10.4f} ms")
        for i, (layer, block) in enumerate(zip(arch.space.layers, arch.blocks)):
            ms = float(matrix.latency_ms[i, matrix.candidates.index(block)])
            lines.append(f"{f'layer {i}':<12} {ms:10.4f} ms  {layer.key(block)}")
        lines.append(f"{'head':<12} {matrix.head_ms:10.4f} ms")
    lines.append(f"predicted latency: {total:.4f} ms (space {arch.space.name}, {len(arch.blocks)} layers, "
                 f"LUT {lut.content_hash()[:19]})")
    print("\n".join(lines))
    recorded = (arch.lut or {}).get("hash")
    if recorded and recorded != lut.content_hash():
        print(f"note: {args.arch} was made with LUT {str(recorded)[:19]}, not this one "
              f"({lut.content_hash()[:19]})", file=sys.stderr)
    return OK


COMMAND = Command(
    "predict", "predict --lut FILE --arch ARCH",
    "the LUT-predicted latency in ms of the architecture in an arch.json",
    "Predict the latency of the architecture in ARCH (an arch.json) from the LUT: the runtime's "
    "per-inference overhead once, plus the net latencies (median minus overhead) of the stem, the head, and "
    "the block chosen at every searchable layer (docs/lut-format.md, the overhead convention). This is the "
    "number the search optimises.\n\n"
    "Exit 0, or 2 when the LUT or ARCH cannot be read or the LUT lacks keys of the architecture's space "
    "(the message names them and the profiler command that measures them).",
    add_arguments, run)
