"""LUT precision: two back-to-back builds in separate processes, compared per entry.

    python benchmarks/lut_precision.py [--space fbnet-cifar] [--runtime onnxruntime]

Prints the per-entry relative difference |B - A| / A (median and p95), the ratio B/A of the two
builds' plain LUT sums over --networks random architectures (how far a whole network's prediction
moves between builds: the LUT's share of the bias `profiler.validate` reports), and, for each build,
the expansion-ordering pass rate: at the same layer, kernel and groups, e1 <= e3 <= e6
(checked on the layers x candidates matrix, 2 checks per layer and kernel: 88 for fbnet).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lut import load  # noqa: E402
from search.space import get_space  # noqa: E402


def ordering(lut, space) -> tuple[int, int]:
    """(passed, total) expansion-ordering checks over the space's layers."""
    passed = total = 0
    for layer in space.layers:
        for k in (3, 5, 7):
            names = [f"k{k}_e{e}" for e in (1, 3, 6)]
            if not all(n in layer.candidates for n in names):
                continue
            vals = [lut.latency(layer.key(n)) for n in names]
            for a, b in zip(vals, vals[1:]):
                total += 1
                passed += a <= b
    return passed, total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="fbnet-cifar")
    p.add_argument("--runtime", default="onnxruntime")
    p.add_argument("--keep", type=Path, default=None, help="copy the two LUTs into this folder")
    p.add_argument("--networks", type=int, default=50, help="random architectures whose plain sums are compared")
    args = p.parse_args()
    space = get_space(args.space)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{n}.csv" for n in "ab"]
        for path in paths:
            cmd = [sys.executable, "-m", "profiler.run", "--device", "cpu", "--space", args.space,
                   "--runtime", args.runtime, "--out", str(path), "--quiet"]
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"profiler failed: {proc.stderr.strip()}")
            print(proc.stdout.strip().splitlines()[-1], flush=True)
        a, b = (load(p) for p in paths)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for p_ in paths:
                (args.keep / p_.name).write_bytes(p_.read_bytes())
    keys = sorted(a.keys() & b.keys())
    rel = np.array([abs(b.latency(k) - a.latency(k)) / a.latency(k) for k in keys])
    print(f"\n{args.space}, {args.runtime}: {len(keys)} entries in both builds")
    print(f"per-entry |B-A|/A: median {np.median(rel) * 100:.2f}%  p95 {np.percentile(rel, 95) * 100:.2f}%  "
          f"max {rel.max() * 100:.2f}%")
    rng = np.random.default_rng(2)
    ma, mb = (lut.matrix(space, calibrated=False) for lut in (a, b))
    archs = [[layer.candidates[rng.integers(len(layer.candidates))] for layer in space.layers]
             for _ in range(args.networks)]
    ratio = np.array([mb.predict(arch) / ma.predict(arch) for arch in archs])
    print(f"plain sums of {args.networks} random networks, B/A: median {np.median(ratio):.4f}  "
          f"p5 {np.percentile(ratio, 5):.4f}  p95 {np.percentile(ratio, 95):.4f}")
    worst = sorted(zip(rel, keys), reverse=True)[:5]
    print("largest: " + ", ".join(f"{k} {r * 100:.1f}%" for r, k in worst))
    for name, lut in (("A", a), ("B", b)):
        ok, total = ordering(lut, space)
        unstable = int((lut.frame["stable"] == 0).sum())
        print(f"build {name}: expansion ordering {ok}/{total} ({ok / total * 100:.1f}%), {unstable} unstable rows")


if __name__ == "__main__":
    main()
