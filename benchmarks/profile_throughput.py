"""Profile throughput: wall time of full LUT builds, cold and warm export cache.

    python benchmarks/profile_throughput.py [--spaces fbnet-cifar fbnet] [--runtime onnxruntime]

Runs `python -m profiler.run` in subprocesses (as users do) and prints, per space and cache
state, the wall time, the summed timed inference time and their ratio (the overhead ratio).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(space: str, out: Path, cache: Path, runtime: str, extra: list[str]) -> tuple[float, float]:
    """Run one full build; returns (wall seconds, timed inference seconds)."""
    cmd = [sys.executable, "-m", "profiler.run", "--device", "cpu", "--space", space, "--runtime", runtime,
           "--out", str(out), "--cache-dir", str(cache), "--overwrite", "--quiet", *extra]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"profiler failed ({proc.returncode}): {proc.stderr.strip()}")
    timed = float(re.search(r"timed inference ([0-9.]+) s", proc.stdout).group(1))
    print(f"  {proc.stdout.strip().splitlines()[-1]}", flush=True)
    return wall, timed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spaces", nargs="+", default=["fbnet-cifar", "fbnet"])
    p.add_argument("--runtime", default="onnxruntime")
    p.add_argument("extra", nargs="*", help="extra profiler.run arguments (after --)")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for space in args.spaces:
            cache = Path(tmp) / f"cache-{space}"
            for state in ("cold", "warm"):
                print(f"{space} {state} cache ...", flush=True)
                wall, timed = build(space, Path(tmp) / f"{space}.csv", cache, args.runtime, args.extra)
                rows.append((space, state, wall, timed))
    print(f"\n{'space':<12} {'cache':<5} {'wall s':>8} {'timed s':>8} {'overhead ratio':>15}")
    for space, state, wall, timed in rows:
        print(f"{space:<12} {state:<5} {wall:8.1f} {timed:8.2f} {wall / timed:15.2f}")


if __name__ == "__main__":
    main()
