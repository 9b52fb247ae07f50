"""python -m profiler.run: measure every candidate block of a space on a device into a LUT."""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

from search.importpath import prefer_installed_lut

prefer_installed_lut()  # a ./lut/ folder of LUT files must not hide the lut package

EPILOG = """\
examples:
  python -m profiler.run --device cpu                       # fbnet space -> lut/cpu.csv
  python -m profiler.run --device cpu --space fbnet-cifar --out lut/cpu-cifar.csv
  python -m profiler.run --device cpu --resume              # measure only what lut/cpu.csv lacks
  python -m profiler.run --device pixel --space fbnet       # a phone over USB -> lut/pixel.csv
  python -m profiler.run --device pixel --host 192.168.1.20:5555   # the same phone over Wi-Fi

Each unique (block, cin, cout, stride, H, W) of the space is exported once (cached by
content hash), warmed up until its timings settle, then timed in rounds interleaved
across all entries until the 95% CI of its median is within --tolerance or its
--budget is spent. Rows are written atomically as entries finish: Ctrl-C keeps them,
and --resume fills in the rest.

Phones (profiles of kind adb, e.g. pixel): the blocks are exported here, pushed to the
phone under /data/local/tmp/lutnas (only what it lacks), and timed there by the
profile's runner, pinned with taskset, after the phone cooled down; the phone's
fingerprint goes into every row and the full record (battery, thermal, canary) into
<out>.device.json beside the LUT.
"""


def default_out(device: str) -> Path:
    """lut/<device>.csv, with the device's name reduced to one safe file name (a profile named ../../x must not
    put the LUT outside lut/)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", device).strip("._") or "device"
    return Path("lut") / f"{name}.csv"


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    from devices.conditions import CONDITIONS
    from profiler.options import add_measure_options

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
                   help="onnxruntime, executorch (XNNPACK, extra lutnas[executorch]) or torchscript "
                        "(default: the device profile's, onnxruntime for cpu)")
    p.add_argument("--threads", type=int, default=None,
                   help="intra-op threads of the runtime (default: the device profile's, 1 for cpu)")
    p.add_argument("--opt-level", default=None,
                   help="optimization level (onnxruntime: disable, basic, extended, all, default all; "
                        "executorch: xnnpack, portable, default xnnpack)")
    p.add_argument("--affinity", default=None,
                   help="CPU pinning: 'last' (highest allowed CPU), 'none', or a CPU list like '2-3' "
                        "(default: the device profile's)")
    p.add_argument("--host", default=None,
                   help="phones: reach the phone at HOST:PORT over Wi-Fi (adb tcpip / wireless debugging), "
                        "overriding the profile's connection")
    p.add_argument("--serial", default=None,
                   help="phones: the USB serial of the phone to use (as `adb devices` lists it)")
    p.add_argument("--serials", default=None,
                   help="phones: several identical phones sharing one LUT's entries, one worker each: USB serials "
                        "or HOST:PORT, comma-separated (a phone that drops off hands its work to the others)")
    p.add_argument("--shard", default=None,
                   help="measure only share i of n of the space's entries (i/n, e.g. 1/4), to split a space "
                        "across hosts; the pieces are joined with `lut merge`")
    p.add_argument("--out", type=Path, default=None, help="output LUT (default: lut/<device>.csv)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true",
                   help="keep the rows already in --out and measure only the missing keys")
    g.add_argument("--overwrite", action="store_true", help="replace an existing --out with a fresh measurement")
    p.add_argument("--conditions", choices=CONDITIONS, default=None,
                   help="in-network: each timed run uses the next of several copies of the block (own weights "
                        "and buffers), enough copies to overflow the caches a whole network of the space "
                        "overflows, so the LUT's sum predicts whole networks; warm: one copy, run after run (a "
                        "microbenchmark). Default: in-network, except phones with a native runner "
                        "(onnxruntime_perf_test, benchmark_model, executor_runner: one model file run after run), "
                        "which are timed warm")
    add_measure_options(p, "entry", budget_note=", flagged unstable")
    p.add_argument("--window", type=int, default=None,
                   help="entries measured interleaved at a time, finished ones replaced from the queue; 0: all "
                        "at once, so host noise episodes reach every entry alike (default: all at once, or as "
                        "many as keep in-network copies within 1 GiB, e.g. 16 for fbnet on a 32 MiB cache)")
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
    if args.window is not None and args.window < 0:
        raise ValueError("--window must be >= 0")
    if args.min_runs < 1:
        raise ValueError("--min-runs must be >= 1")
    if args.threads is not None and args.threads < 1:
        raise ValueError("--threads must be >= 1")


def _canary(space):
    """The reference block timed between batches: the last layer's first non-skip candidate (small)."""
    last = space.layers[-1]
    return last.key(next((c for c in last.candidates if c != "skip"), last.candidates[0]))


def _where(args: argparse.Namespace, cache_root: Path):
    """Where the device is, as the command line says (devices.device.Where)."""
    from devices.device import Where

    serials: tuple[str, ...] = ()
    if args.serials is not None:
        serials = tuple(x.strip() for x in args.serials.split(",") if x.strip())
        if not serials:
            raise ValueError(f"--serials {args.serials!r}: list each phone once")
    return Where(affinity=args.affinity, host=args.host, serial=args.serial, serials=serials,
                 runner_dir=cache_root / "runners")


def run(args: argparse.Namespace) -> int:
    """Profile as the arguments say; returns the exit code."""
    from devices.cache import ArtifactCache
    from devices.device import open_device
    from devices.profiles import get_profile
    from search.space import get_space

    _check_args(args)
    profile = get_profile(args.device)
    space = get_space(args.space, args.width_mult, args.resolution)
    cache = ArtifactCache(args.cache_dir)
    device = open_device(profile, _where(args, cache.root))
    out = args.out or default_out(profile.name)

    from devices.measure import Settings
    from devices.runtimes import get_runtime
    from profiler.footprint import key_footprint
    from profiler.pipeline import profile as run_profile
    from search.blocks import build_module, input_shape

    runtime = get_runtime(args.runtime or profile.runtime, args.threads or profile.threads,
                          args.opt_level or profile.opt_level)
    settings = Settings(tolerance=args.tolerance, budget_s=args.budget, min_runs=args.min_runs,
                        window=args.window or 0, gate=args.gate)
    out.parent.mkdir(parents=True, exist_ok=True)
    keys = space.keys()
    if args.shard:
        from profiler.shard import parse_shard, shard_keys

        keys = shard_keys(keys, *parse_shard(args.shard))
    bars = Bars(args.quiet)
    plan = _conditions(args.conditions or _resumed_conditions(args, out) or _default_conditions(device), space,
                       keys, device)
    if args.window is None:
        settings = dataclasses.replace(settings, window=plan.window)  # a device that sizes its copies ignores it
    try:
        res = run_profile(keys, out, runtime=runtime, device=device, cache=cache, build=build_module,
                          input_shape=input_shape, settings=settings, resume=args.resume, overwrite=args.overwrite,
                          progress=bars, canary=_canary(space), conditions=plan, footprint=key_footprint)
    except KeyboardInterrupt:
        bars.finish()
        from lut import load

        saved = len(load(out)) if out.exists() else 0
        print(f"\ninterrupted: {saved} of {len(keys)} entries are saved in {out}; "
              f"run again with --resume to measure the rest", file=sys.stderr)
        return 130
    finally:
        device.close()
    if res.measured == 0:
        print(f"{out}: all {res.total} entries of {space.name} are already measured; nothing to do")
        return 0
    print(f"wrote {out}: {res.measured} entries measured, {res.already} already there, "
          f"{res.unstable} unstable")
    lines, warnings = device.finish(out)
    if plan.conditions == "in-network" and plan.caches:
        counts = sorted(plan.copies.values())
        print(f"in-network: {counts[0]}-{counts[-1]} copies per entry spanning {_mib(plan.rotation_bytes)} "
              f"(a network of {space.name} touches about {_mib(plan.network_bytes)}; "
              f"caches {'/'.join(_mib(c) for c in plan.caches)})")
    exports = f"exports {res.exported} new, {res.cached} cached"
    if res.timed_s:  # timed here, in-process
        print(f"wall {res.wall_s:.1f} s, timed inference {res.timed_s:.2f} s (overhead ratio "
              f"{res.wall_s / res.timed_s:.2f}); {exports}; {res.report.rounds} rounds, canary p90/p10 "
              f"{res.report.drift * 100 + 100:.0f}%, {res.report.set_aside} of {res.report.batches} batches set "
              f"aside (host disturbed)")
    else:
        print(f"wall {res.wall_s:.1f} s; {exports}")
    for line in lines:
        print(line)
    for line in warnings:
        print(line, file=sys.stderr)
    return 0


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def _default_conditions(device) -> str:
    """in-network (DEFAULT_CONDITIONS), except on devices that cannot rotate copies (phones with a native
    runner): warm."""
    from devices.conditions import DEFAULT_CONDITIONS

    return DEFAULT_CONDITIONS if device.in_network else "warm"


def _resumed_conditions(args: argparse.Namespace, out: Path) -> str | None:
    """With --resume and no --conditions: the conditions the existing LUT was timed in (a LUT from before
    lutnas 0.3 is warm), so that resuming finishes it as it was begun; None otherwise."""
    if not args.resume or not out.exists():
        return None
    from lut import LUTError, load
    from devices.conditions import CONDITIONS

    try:
        found = load(out).provenance()["conditions"]
    except (LUTError, OSError):
        return None  # the pipeline reports what is wrong with the file
    if len(found) == 1 and found[0] in CONDITIONS:
        if found[0] != "in-network":
            print(f"note: resuming {out} as its rows were timed: {found[0]} (--overwrite times it again in-network)",
                  file=sys.stderr)
        return found[0]
    return None


def _conditions(name: str, space, keys, device):
    """The measurement plan of ``keys`` (devices.conditions): warm, or in-network copies sized by the caches of
    the CPU the device pins to here; a device that sizes its copies itself (a phone's portable runner) gets the
    footprints only (the pipeline refuses a device that cannot time in-network)."""
    from devices.conditions import plan_warm
    from profiler.footprint import key_footprint, plan_in_network

    if name == "warm":
        return plan_warm(keys)
    return plan_in_network(space, keys, device.caches() or [], key_footprint)


def main(argv: list[str] | None = None) -> int:
    """Entry point: clear one-line errors, exit 2 on bad input, no tracebacks."""
    args = build_parser().parse_args(argv)
    from devices.profiles import DeviceUnavailable
    from devices.runners.base import RunnerOutputError
    from lutnas.cli import guarded

    return guarded(run, args, (DeviceUnavailable, RunnerOutputError))


if __name__ == "__main__":
    sys.exit(main())
