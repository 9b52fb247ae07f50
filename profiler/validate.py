"""python -m profiler.validate: how well a LUT predicts whole networks on its device.

Samples random architectures of the LUT's space, exports each whole network, measures it
end to end with the runtime settings of the LUT's rows, and compares with the LUT's
prediction (calibrated when the LUT stores a calibration for the space).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from search.importpath import prefer_installed_lut

prefer_installed_lut()  # a ./lut/ folder of LUT files must not hide the lut package

EPILOG = """\
examples:
  python -m profiler.validate --lut lut/cpu.csv --device cpu --samples 50
  python -m profiler.validate --lut lut/cpu-fbnet.csv --device cpu --samples 50 --seed 2 --out runs/fid-fbnet
  python -m profiler.validate --lut my.csv --device cpu --space my_space.toml --samples 20

The space is inferred from the LUT (the built-in space it covers completely, at the input
size of its overhead row); name it with --space/--resolution/--width-mult otherwise. Networks
run with the runtime, threads, optimization level and CPU affinity recorded in the LUT's
rows, on the same device and environment (refused otherwise), and are timed with the LUT's
machinery (devices.measure): warm-up until settled, then rounds interleaved across all
networks, each network timed for --batch seconds of consecutive runs per round (its steady
state, as the LUT's blocks are timed; single runs right after another network ran are
10-25% slower on a CPU), batches of disturbed host episodes set aside (--gate). No network
stops before all may (at least --min-rounds rounds, then the median's 95% CI within
--tolerance or --budget spent), so a host noise episode hits every network alike.

Writes to --out: predictions.csv (each network's blocks, LUT sum, prediction, measured
median and spread, error in %), summary.json (MAPE, shares within +-5% and +-10%,
Spearman's rank correlation, median measured/predicted, the LUT's reference keys timed
now vs in the LUT, host_drift), scatter.png.

Host drift: a shared host's speed moves by 10% and more over tens of minutes, which no noise
gate removes; a LUT built in a slow stretch then over-predicts networks timed in a fast one.
So the --retime entries that weigh most in the sampled networks (16 by default), with
overhead, stem and head, are timed in the same rounds as the networks, and the check prints
"host now / at the LUT's build" (their share of the networks' sums, now over then) and the
median measured/predicted divided by it: the bias at the host speed the LUT was built at.
Beyond +-3% it warns in one line. The acceptance is still judged on the plain sum.

The runs so far are saved every 30 s and on Ctrl-C or a
TERM signal (networks with fewer than --min-runs quiet runs are left out): run the same
command with --resume to measure the networks that are missing.

A calibration (python -m profiler.calibrate) must be judged on other architectures than it
was fitted on: validate with another --seed than the run it was fitted from.
"""

INTERIM_S = 30.0  # seconds between saves of the runs so far while no network has finished
FORMAT = "lutnas-fidelity"
VERSION = 1
def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    from profiler.options import add_measure_options

    p = argparse.ArgumentParser(prog="python -m profiler.validate", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lut", type=Path, required=True, help="the LUT file to judge")
    p.add_argument("--device", required=True,
                   help="device profile name (cpu) or profile .toml: must be the device the LUT was measured on")
    p.add_argument("--samples", type=int, required=True, help="random architectures to measure (e.g. 50)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random architectures (default 0)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default: runs/fidelity-<lut name>-seed<S>-n<N>)")
    p.add_argument("--space", default=None,
                   help="the LUT's space: fbnet, fbnet-cifar or a .toml/.json file (default: inferred from the LUT)")
    p.add_argument("--resolution", type=int, default=None,
                   help="input resolution of a built-in space (default: the LUT's input size)")
    p.add_argument("--width-mult", type=float, default=None, help="channel width multiplier of a built-in space")
    p.add_argument("--uncalibrated", action="store_true",
                   help="judge the LUT's plain sum even when it stores a calibration for the space")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true",
                   help="keep the networks already measured in --out, measure the rest")
    g.add_argument("--overwrite", action="store_true", help="replace earlier results in --out")
    add_measure_options(p, "network")
    p.add_argument("--batch", type=float, default=0.05,
                   help="timed seconds per network per round (default 0.05): consecutive runs, so a network is "
                        "timed in its steady state like the LUT's blocks are, not just after another network ran")
    p.add_argument("--retime", type=int, default=None, metavar="N",
                   help="LUT entries re-timed beside the networks besides overhead, stem and head (default 16: the "
                        "ones that weigh most in the sampled networks; 0: none): how much faster or slower the host "
                        "runs now than when the LUT was built, and the bias at the LUT's own host speed")
    p.add_argument("--min-rounds", type=int, default=20,
                   help="rounds each network is timed in at least (default 20): every network then samples the "
                        "host over the same long stretch, so a noise episode cannot catch a few networks alone")
    return p


def _check_args(args: argparse.Namespace) -> None:
    if args.samples < 1:
        raise ValueError("--samples must be >= 1")
    if args.gate < 0:
        raise ValueError("--gate must be >= 0")
    for name in ("tolerance", "budget", "batch"):
        if not getattr(args, name) > 0:
            raise ValueError(f"--{name} must be > 0")
    if args.min_runs < 1:
        raise ValueError("--min-runs must be >= 1")
    if args.min_rounds < 1:
        raise ValueError("--min-rounds must be >= 1")
    if args.retime is not None and args.retime < 0:
        raise ValueError("--retime must be >= 0")


def _prepare_out(out: Path, run_info: dict[str, Any], resume: bool, overwrite: bool) -> bool:
    """Create ``out``; True when earlier results are to be kept. Refuses to clobber or to mix runs."""
    from lutnas import files

    table, info = out / "predictions.csv", out / "run.json"
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: exists and is not a folder")
    earlier = table.exists() or info.exists()
    if earlier and not (resume or overwrite):
        raise FileExistsError(f"{out}: holds an earlier validation; pass --resume to measure only the networks "
                              f"it lacks, or --overwrite to start again")
    if earlier and resume:
        try:
            old = json.loads(info.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ValueError(f"{info}: cannot resume from it: {' '.join(str(e).split())}") from None
        diffs = [k for k in run_info if old.get(k) != run_info[k]]
        if diffs:
            raise ValueError(f"{info}: cannot resume: that run differs in {', '.join(diffs)}; "
                             f"use another --out or --overwrite")
        return table.exists()
    out.mkdir(parents=True, exist_ok=True)
    if overwrite:
        for name in ("predictions.csv", "summary.json", "scatter.png"):
            (out / name).unlink(missing_ok=True)
    files.write_atomic(info, json.dumps(run_info, indent=2) + "\n", parents=True)
    return False


def run(args: argparse.Namespace) -> int:
    """Validate as the arguments say; returns the exit code."""
    from devices.device import Where, open_device
    from devices.profiles import get_profile
    from lut import load
    from lut.calibration import read_calibration, without_calibration
    from profiler.fidelity import sample_architectures
    from profiler.pipeline import environment
    from profiler.settings import runtime_settings
    from search.coverage import resolve_space

    _check_args(args)
    lut = load(args.lut)
    space = resolve_space(lut, args.space, args.width_mult, args.resolution)
    raw = lut.matrix(space, calibrated=False)  # MissingKeysError names the keys and the profiler command
    cal = None if args.uncalibrated else read_calibration(lut, space)
    rt = runtime_settings(lut)
    profile = get_profile(args.device)
    from devices.runtimes import get_runtime
    from profiler.networks import check_device, check_environment

    check_device(lut, profile.name)
    runtime = get_runtime(rt.runtime, rt.threads, rt.opt_level)
    conditions = lut.provenance().get("conditions") or ["warm"]  # how the LUT's entries were timed
    device = open_device(profile, Where(affinity=rt.affinity))
    try:
        env = environment(runtime, device, conditions[0] if len(conditions) == 1 else ", ".join(conditions))
        check_environment(lut, env)
    except BaseException:
        device.close()
        raise
    archs = sample_architectures([layer.candidates for layer in space.layers], args.samples, args.seed)

    out = args.out or Path("runs") / f"fidelity-{args.lut.stem}-seed{args.seed}-n{args.samples}"
    run_info = {"format": FORMAT, "version": VERSION, "lut": str(args.lut), "lut_hash": lut.content_hash(),
                "lut_hash_uncalibrated": without_calibration(lut).content_hash(), "space": space.name,
                "input_size": space.input_size, "width_mult": space.width_mult, "seed": args.seed,
                "samples": args.samples, "uncalibrated": bool(args.uncalibrated)}
    try:
        keep = _prepare_out(out, run_info, args.resume, args.overwrite)
        return _measure_and_report(args, lut, space, raw, cal, runtime, device, env, archs, out, keep, run_info)
    finally:
        device.close()


def _measure_and_report(args, lut, space, raw, cal, runtime, device, env, archs, out: Path, keep: bool,
                        run_info: dict[str, Any]) -> int:
    from devices.cache import ArtifactCache
    from devices.device import Job, Request
    from profiler.fidelity_report import drift_summary, plot_results, report_lines, summary_of
    from devices.measure import Settings
    from profiler.networks import Result, export_networks, read_results, reference_keys, results_csv
    from profiler.run import Bars
    from lutnas import files
    from search.blocks import build_module, input_shape

    from devices.hygiene import snapshot

    host_before = snapshot()
    start = time.perf_counter()
    results = [Result(i, a, raw.predict(a), cal.apply(raw.predict(a)) if cal else raw.predict(a))
               for i, a in enumerate(archs)]
    table = out / "predictions.csv"
    already = read_results(table, results) if keep else 0
    todo = [r for r in results if r.measured is None]
    bars = Bars(args.quiet)
    cache = ArtifactCache(args.cache_dir)
    settings = Settings(tolerance=args.tolerance, budget_s=args.budget, min_runs=args.min_runs, gate=args.gate,
                        min_batches=args.min_rounds, batch_s=args.batch, seed=args.seed, lockstep=True,
                        retry_unstable=False)
    report = None
    refs = reference_keys(space)
    from profiler.host_drift import DRIFT_ENTRIES, retime_keys

    retimed = retime_keys(lut, space, archs, DRIFT_ENTRIES if args.retime is None else args.retime)
    try:
        bars.start("export", len(todo))
        paths = export_networks(space, [r.blocks for r in todo], runtime, cache, bars.advance)
        bars.finish()
        shape = (1, 3, space.input_size, space.input_size)
        jobs = [Job(r.arch, path, shape) for r, path in zip(todo, paths)]
        extra = [(str(k), k) for k in retimed if k not in refs.values()]  # the canary may be among them
        for name, key in [*refs.items(), *extra]:  # timed every round beside the networks: the LUT's entries now
            copies = int(lut.row(key)["copies"]) if key in lut else 1  # as the LUT's entry was timed
            jobs.append(Job(name, cache.get(lambda k=key: build_module(k), input_shape(key), runtime),
                            input_shape(key), copies))
        canary = next(j for j in jobs if j.id == "canary")  # also the drift canary of every round
        by_arch = {r.arch: r for r in results}
        state = {"dirty": False}
        ref_ms: dict[str, float] = {}

        def on_rows(rows: list[dict[str, Any]]) -> None:
            for row in rows:
                rid = row.pop("id")
                row.pop("copies", None)
                if isinstance(rid, str):
                    ref_ms[rid] = row["median_ms"]
                else:
                    by_arch[rid].measured = row
                    state["dirty"] = True

        last = {"t": time.monotonic()}

        def partial() -> dict[int, dict[str, Any]]:
            """The unfinished networks' runs so far (those with under --min-runs quiet runs are left out)."""
            return {k: v for k, v in device.partial_rows().items()
                    if not isinstance(k, str) and by_arch[k].measured is None}

        def flush() -> None:
            if state["dirty"]:
                files.write_atomic(table, results_csv(results), parents=True)
                state["dirty"] = False
            elif time.monotonic() - last["t"] > INTERIM_S:  # lockstep: save the runs so far, in case of a kill
                now = partial()
                files.write_atomic(table, results_csv([Result(r.arch, r.blocks, r.lut_ms, r.predicted_ms,
                                                             r.measured or now.get(r.arch)) for r in results]),
                                   parents=True)
                last["t"] = time.monotonic()

        bars.start("measure", len(jobs) if todo else 0)
        try:
            if todo:
                report = device.measure(Request(jobs, settings, canary=canary, on_round=flush),  # warm: one copy each
                                        on_rows, bars.advance)
        except KeyboardInterrupt:  # lockstep: nothing has finished before the end; keep the runs so far
            for arch, row in partial().items():
                by_arch[arch].measured = row
            state["dirty"] = True
            raise
        finally:
            flush()
            bars.finish()
    except KeyboardInterrupt:
        bars.finish()
        got = sum(r.measured is not None for r in results)
        print(f"\ninterrupted: {got} of {len(results)} networks are measured and saved in {table}; "
              f"run the same command with --resume to measure the rest", file=sys.stderr)
        return 130
    wall = time.perf_counter() - start
    summary = summary_of(lut, space, cal, env, results, refs, ref_ms, report, settings, run_info, wall, already)
    summary["host_drift"] = drift_summary(lut, space, archs, refs, retimed, ref_ms, summary)
    from devices.hygiene import assess, warning_line

    host = assess(host_before, snapshot(), int(env.get("threads") or 1))
    summary["host"] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in host.as_dict().items()}
    files.write_atomic(out / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n", parents=True)
    plot_results(results, cal, space, lut, out / "scatter.png", summary)
    for line in report_lines(summary, out):
        print(line)
    from profiler.fidelity_report import drift_warning

    for line in (warning_line(host, "this fidelity check"), drift_warning(summary)):
        if line:
            print(line, file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: clear one-line errors, exit 2 on bad input, no tracebacks."""
    args = build_parser().parse_args(argv)
    import signal

    from devices.profiles import DeviceUnavailable
    from lutnas.cli import guarded

    signal.signal(signal.SIGTERM, _interrupt)  # a kill saves what was measured, like Ctrl-C
    return guarded(run, args, (DeviceUnavailable,))


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
