"""Two runtimes on the same entries, timed interleaved in one process (ratios the shared VM cannot skew).

    python benchmarks/runtime_compare.py [--space fbnet-cifar] [--a onnxruntime] [--b executorch]
                                         [--threads 1] [--budget 0.5] [--csv OUT.csv]

Every unique entry of the space is exported with both runtimes (cached like profiler.run),
then both runtimes' sessions are timed in the same interleaved rounds (lockstep), so the
host's slow and fast moments fall on both alike. Prints the median latency of each, the
ratio B/A per block kind and over all entries (median, p5, p95), and optionally writes one
row per entry.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.cache import ArtifactCache  # noqa: E402
from devices.runtimes import get_runtime  # noqa: E402
from devices.measure import Entry, Settings, measure  # noqa: E402
from search.blocks import build_module, input_shape  # noqa: E402
from search.space import get_space  # noqa: E402


def kind(block: str) -> str:
    """Block family for the summary: k3_e6_g2 -> k3_e6_g2, stem_k3 -> stem, head_c504 -> head."""
    return block.split("_")[0] if block.startswith(("stem", "head")) else block


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="fbnet-cifar")
    p.add_argument("--a", default="onnxruntime")
    p.add_argument("--b", default="executorch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget", type=float, default=0.5, help="clean timed seconds per entry and runtime")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--csv", type=Path, default=None)
    args = p.parse_args()

    space = get_space(args.space)
    keys = space.keys()
    runtimes = [get_runtime(args.a, args.threads), get_runtime(args.b, args.threads)]
    cache = ArtifactCache(args.cache_dir)
    entries, sessions = [], []
    for rt in runtimes:
        for key in keys:
            path = cache.get(lambda k=key: build_module(k), input_shape(key), rt)
            s = rt.open(path, input_shape(key))
            sessions.append(s)
            entries.append(Entry((rt.name, key), s.run))
    print(f"{space.name}: {len(keys)} entries x 2 runtimes, {args.threads} thread(s), timing interleaved ...",
          flush=True)
    settings = Settings(budget_s=args.budget, tolerance=0.01, lockstep=True)
    report = measure(entries, settings)
    med = {e.id: e.summary.median_ms for e in entries}
    rows = [{**key._asdict(), f"{args.a}_ms": med[(args.a, key)], f"{args.b}_ms": med[(args.b, key)],
             "ratio": med[(args.b, key)] / med[(args.a, key)]} for key in keys]
    frame = pd.DataFrame(rows)
    by_kind = defaultdict(list)
    for r in rows:
        by_kind[kind(r["block"])].append(r)
    print(f"\n{'kind':<12}{'n':>4}{args.a + ' ms':>18}{args.b + ' ms':>18}{'B/A median':>12}")
    for name in sorted(by_kind):
        rs = by_kind[name]
        print(f"{name:<12}{len(rs):>4}{np.median([r[f'{args.a}_ms'] for r in rs]):>18.4f}"
              f"{np.median([r[f'{args.b}_ms'] for r in rs]):>18.4f}{np.median([r['ratio'] for r in rs]):>12.2f}")
    ratio = frame["ratio"].to_numpy()
    p5, p50, p95 = np.percentile(ratio, [5, 50, 95])
    total_a, total_b = frame[f"{args.a}_ms"].sum(), frame[f"{args.b}_ms"].sum()
    print(f"\nB/A = {args.b}/{args.a} over {len(frame)} entries: median {p50:.2f}, p5 {p5:.2f}, p95 {p95:.2f}; "
          f"{(ratio < 1).sum()} entries faster in {args.b}; sums {total_a:.2f} vs {total_b:.2f} ms")
    print(f"{report.rounds} interleaved rounds; {report.set_aside} of {report.batches} batches set aside (host disturbed)")
    if args.csv:
        frame.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    for s in sessions:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
