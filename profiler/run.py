"""python -m profiler.run: measure every candidate block of a space on a device into a LUT."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """\
examples:
  python -m profiler.run --device cpu                       # fbnet space -> lut/cpu.csv
  python -m profiler.run --device cpu --space fbnet-cifar --out lut/cpu-cifar.csv
  python -m profiler.run --device cpu --resume              # measure only what lut/cpu.csv lacks

Each unique (block, cin, cout, stride, H, W) of the space is exported once (cached by
content hash), warmed up until its timings settle, then timed in rounds interleaved
across all entries until the 95% CI of its median is within --tolerance or its
--budget is spent. Rows are written atomically as entries finish: Ctrl-C keeps them,
and --resume fills in the rest.
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m profiler.run", description=__doc__,
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="cpu",
                   help="device profile name (cpu, pixel) or a profile .toml file (default: cpu, this host)")
    p.add_argument("--space", default="fbnet",
                   help="search space: fbnet, fbnet-cifar, or a .toml/.json space file (default: fbnet)")
    p.add_argument("--width-mult", type=float, default=None,
                   help="channel width multiplier of a built-in space (default 1.0)")
    p.add_argument("--resolution", type=int, default=None,
                   help="input resolution of a built-in space (default: 224 for fbnet, 32 for fbnet-cifar)")
    p.add_argument("--runtime", default=None,
                   help="onnxruntime or torchscript (default: the device profile's, onnxruntime for cpu)")
    p.add_argument("--threads", type=int, default=None,
                   help="intra-op threads of the runtime (default: the device profile's, 1 for cpu)")
    p.add_argument("--opt-level", default=None,
                   help="graph optimization level (onnxruntime: disable, basic, extended, all; default all)")
    p.add_argument("--affinity", default=None,
                   help="CPU pinning: 'last' (highest allowed CPU), 'none', or a CPU list like '2-3' "
                        "(default: the device profile's)")
    p.add_argument("--out", type=Path, default=None, help="output LUT (default: lut/<device>.csv)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true",
                   help="keep the rows already in --out and measure only the missing keys")
    g.add_argument("--overwrite", action="store_true", help="replace an existing --out with a fresh measurement")
    p.add_argument("--tolerance", type=float, default=0.02,
                   help="stop an entry when its median's 95%% CI half-width is within this share (default 0.02)")
    p.add_argument("--budget", type=float, default=2.0,
                   help="timed seconds per entry before it stops regardless, flagged unstable (default 2.0)")
    p.add_argument("--min-runs", type=int, default=30, help="timed runs per entry at least (default 30)")
    p.add_argument("--window", type=int, default=0,
                   help="entries measured interleaved at a time, finished ones replaced from the queue "
                        "(default 0: all at once, so host noise episodes reach every entry alike)")
    p.add_argument("--gate", type=float, default=0.10,
                   help="set aside batches slower than the entry's quiet level by more than this share "
                        "(host noise episodes; default 0.10, 0 keeps every batch)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="exported-model cache (default: $LUTNAS_CACHE or ~/.cache/lutnas)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


class Bars:
    """tqdm progress bars on stderr, one per stage."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar = None

    def start(self, stage: str, total: int) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, desc=f"{stage:>7}", unit="entry", disable=self.quiet,
                        file=sys.stderr, dynamic_ncols=True)

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def finish(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _check_args(args: argparse.Namespace) -> None:
    if args.gate < 0:
        raise ValueError("--gate must be >= 0")
    for name in ("tolerance", "budget"):
        if not getattr(args, name) > 0:
            raise ValueError(f"--{name} must be > 0")
    if args.window < 0:
        raise ValueError("--window must be >= 0")
    if args.min_runs < 1:
        raise ValueError("--min-runs must be >= 1")
    if args.threads is not None and args.threads < 1:
        raise ValueError("--threads must be >= 1")


def _canary(space):
    """The reference block timed between batches: the last layer's first non-skip candidate (small)."""
    last = space.layers[-1]
    return last.key(next((c for c in last.candidates if c != "skip"), last.candidates[0]))


def run(args: argparse.Namespace) -> int:
    """Profile as the arguments say; returns the exit code."""
    from devices.cache import ArtifactCache
    from devices.connect import open_device
    from devices.profiles import get_profile
    from search.space import get_space

    _check_args(args)
    profile = get_profile(args.device)
    device = open_device(profile, args.affinity)
    space = get_space(args.space, args.width_mult, args.resolution)
    out = args.out or Path("lut") / f"{profile.name}.csv"

    from devices.runtimes import get_runtime
    from profiler.measure import Settings
    from profiler.pipeline import profile as run_profile
    from search.blocks import build_module, input_shape

    runtime = get_runtime(args.runtime or profile.runtime, args.threads or profile.threads,
                          args.opt_level or profile.opt_level)
    settings = Settings(tolerance=args.tolerance, budget_s=args.budget, min_runs=args.min_runs,
                        window=args.window, gate=args.gate)
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = space.keys()
    bars = Bars(args.quiet)
    try:
        res = run_profile(keys, out, runtime=runtime, device=device, cache=ArtifactCache(args.cache_dir),
                          build=build_module, input_shape=input_shape, settings=settings,
                          resume=args.resume, overwrite=args.overwrite, progress=bars,
                          canary=_canary(space))
    except KeyboardInterrupt:
        bars.finish()
        from lut import load

        saved = len(load(out)) if out.exists() else 0
        print(f"\ninterrupted: {saved} of {len(keys)} entries are saved in {out}; "
              f"run again with --resume to measure the rest", file=sys.stderr)
        return 130
    if res.measured == 0:
        print(f"{out}: all {res.total} entries of {space.name} are already measured; nothing to do")
        return 0
    ratio = res.wall_s / res.timed_s if res.timed_s else float("nan")
    print(f"wrote {out}: {res.measured} entries measured, {res.already} already there, "
          f"{res.unstable} unstable")
    print(f"wall {res.wall_s:.1f} s, timed inference {res.timed_s:.2f} s (overhead ratio {ratio:.2f}); "
          f"exports {res.exported} new, {res.cached} cached; {res.report.rounds} rounds, "
          f"canary p90/p10 {res.report.drift * 100 + 100:.0f}%, "
          f"{res.report.set_aside} of {res.report.batches} batches set aside (host disturbed)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: clear one-line errors, exit 2 on bad input, no tracebacks."""
    args = build_parser().parse_args(argv)
    from devices.profiles import DeviceUnavailable
    from lut.clirun import guarded

    return guarded(run, args, (DeviceUnavailable,))


if __name__ == "__main__":
    sys.exit(main())
