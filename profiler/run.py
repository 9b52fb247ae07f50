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


def _open(profile, args, open_device):
    """The device, or with --serials the list of phones of a farm."""
    if not args.serials:
        return open_device(profile, args.affinity, host=args.host, serial=args.serial)
    if profile.kind != "adb":
        raise ValueError(f"--serials lists phones; device {profile.name!r} is not a phone")
    if args.host or args.serial:
        raise ValueError("give --serials, or --host / --serial, not both")
    names = [x.strip() for x in args.serials.split(",") if x.strip()]
    if len(set(names)) != len(names) or not names:
        raise ValueError(f"--serials {args.serials!r}: list each phone once")
    return [open_device(profile, args.affinity, host=x if ":" in x else None, serial=None if ":" in x else x)
            for x in names]


def _profile_phone(keys, out, profile, args, common):
    """The phone path: the runner the profile names, then profiler.remote."""
    from devices.runners.registry import get_runner
    from devices.runners.bundle import build_portable_runner
    from profiler.remote import profile_remote

    runtime = common["runtime"]
    runner = get_runner(profile.runner)
    if runtime.name not in runner.runtimes:
        raise ValueError(f"runner {profile.runner} runs {' or '.join(runner.runtimes)} models, "
                         f"not {runtime.name}; "
                         f"change runner or runtime in {profile.source or profile.name}")
    if runner.bundled:
        runner_file = build_portable_runner(common["cache"].root / "runners")
    elif profile.runner_binary:
        runner_file = Path(profile.runner_binary)
    else:
        raise ValueError(f"runner {profile.runner} needs runner_binary (a {profile.abi} build of it) in "
                         f"{profile.source or profile.name}")
    return profile_remote(keys, out, runner_file=runner_file, **common)


def run(args: argparse.Namespace) -> int:
    """Profile as the arguments say; returns the exit code."""
    from devices.cache import ArtifactCache
    from devices.connect import open_device
    from devices.profiles import get_profile
    from search.space import get_space

    _check_args(args)
    profile = get_profile(args.device)
    space = get_space(args.space, args.width_mult, args.resolution)
    device = _open(profile, args, open_device)
    out = args.out or default_out(profile.name)

    from devices.runtimes import get_runtime
    from devices.measure import Settings
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
    cache = ArtifactCache(args.cache_dir)
    common = dict(runtime=runtime, device=device, cache=cache, build=build_module, input_shape=input_shape,
                  settings=settings, resume=args.resume, overwrite=args.overwrite, progress=bars,
                  canary=_canary(space))
    plan = _conditions(args.conditions or _resumed_conditions(args, out) or _default_conditions(profile), space,
                       keys, device, profile)
    common["conditions"] = plan
    if args.window is None and profile.kind != "adb":
        common["settings"] = dataclasses.replace(settings, window=plan.window)

    from profiler.hygiene import snapshot

    before = snapshot()
    try:
        if profile.kind == "adb":
            res = _profile_phone(keys, out, profile, args, common)
        else:
            res = run_profile(keys, out, **common)
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
    print(f"wrote {out}: {res.measured} entries measured, {res.already} already there, "
          f"{res.unstable} unstable")
    if profile.kind == "adb":
        from profiler.remote import session_log_path

        phones = device if isinstance(device, list) else [device]
        print(f"wall {res.wall_s:.1f} s on {', '.join(str(d.transport.endpoint) for d in phones)}; "
              f"exports {res.exported} new, {res.cached} cached; "
              f"{sum(d.transport.reconnects for d in phones)} reconnect(s); phone record in {session_log_path(out)}")
        return 0
    _host_report(before, out, args.threads or profile.threads, plan)
    if plan.conditions == "in-network":
        counts = sorted(plan.copies.values())
        print(f"in-network: {counts[0]}-{counts[-1]} copies per entry spanning {_mib(plan.rotation_bytes)} "
              f"(a network of {space.name} touches about {_mib(plan.network_bytes)}; "
              f"caches {'/'.join(_mib(c) for c in plan.caches) or 'unknown'})")
    ratio = res.wall_s / res.timed_s if res.timed_s else float("nan")
    print(f"wall {res.wall_s:.1f} s, timed inference {res.timed_s:.2f} s (overhead ratio {ratio:.2f}); "
          f"exports {res.exported} new, {res.cached} cached; {res.report.rounds} rounds, "
          f"canary p90/p10 {res.report.drift * 100 + 100:.0f}%, "
          f"{res.report.set_aside} of {res.report.batches} batches set aside (host disturbed)")
    return 0


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB" if n >= 2**20 else f"{n / 2**10:.0f} KiB"


def _default_conditions(profile) -> str:
    """in-network (DEFAULT_CONDITIONS), except on phones whose runner cannot rotate copies: warm."""
    from devices.conditions import DEFAULT_CONDITIONS

    if profile.kind == "adb":
        from devices.runners.registry import get_runner

        if not get_runner(profile.runner).in_network:
            return "warm"
    return DEFAULT_CONDITIONS


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


def _conditions(name: str, space, keys, device, profile):
    """The measurement plan of ``keys`` (devices.conditions): warm, or in-network copies. On this host they are
    sized by the caches of the CPU the device pins to; on a phone the runner sizes them from the footprints
    (profiler.remote refuses a runner that cannot)."""
    from devices.conditions import plan_warm
    from profiler.footprint import key_footprint, plan_in_network

    if name == "warm":
        return plan_warm(keys)
    if profile.kind == "adb":
        return plan_in_network(space, keys, [], key_footprint)
    from devices.host import cache_sizes

    device.prepare()  # pins: the caches are those of the CPU the entries will run on
    return plan_in_network(space, keys, cache_sizes(), key_footprint)


def host_report_path(out: Path) -> Path:
    """Where the host's quietness during a local profile goes: beside the LUT, <name>.host.json."""
    return out.with_name(out.stem + ".host.json")


def _host_report(before, out: Path, threads: int, plan=None) -> None:
    """Write <out>.host.json (load, busy and steal shares, CPU clock) and warn in one line when the host was busy."""
    import json

    from profiler.hygiene import assess, snapshot, warning_line
    from lutnas import files

    report = assess(before, snapshot(), threads)
    files.write_atomic(host_report_path(out), json.dumps({"format": "lutnas-host-report", "version": 1,
                                                         "lut": str(out), **report.as_dict(),
                                                         **({"measurement": plan.as_dict()} if plan else {})},
                                                        indent=2) + "\n", parents=True)
    line = warning_line(report, str(out))
    if line:
        print(line, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point: clear one-line errors, exit 2 on bad input, no tracebacks."""
    args = build_parser().parse_args(argv)
    from devices.profiles import DeviceUnavailable
    from devices.runners.base import RunnerOutputError
    from lutnas.cli import guarded

    return guarded(run, args, (DeviceUnavailable, RunnerOutputError))


if __name__ == "__main__":
    sys.exit(main())
