"""python -m profiler.calibrate: fit a LUT's whole-network calibration and store it in the LUT.

Reads the networks a ``python -m profiler.validate`` run measured (its predictions.csv and
run.json), fits measured ~= offset + scale * (the LUT's sum), and writes the line into the
LUT as its ``calib_offset``/``calib_scale`` rows for that space (lut.calibration), replacing
an earlier calibration of the same space. ``LUT.matrix`` folds the line into every
prediction from then on (search, ``lut predict``, validate).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from search.importpath import prefer_installed_lut

prefer_installed_lut()  # a ./lut/ folder of LUT files must not hide the lut package

EPILOG = """\
examples:
  python -m profiler.validate --lut lut/cpu.csv --device cpu --samples 50 --seed 1 --out runs/cal-cifar
  python -m profiler.calibrate --lut lut/cpu.csv --from runs/cal-cifar
  python -m profiler.calibrate --lut lut/cpu.csv --from runs/cal-cifar runs/cal-cifar-later   # pool two runs
  python -m profiler.validate --lut lut/cpu.csv --device cpu --samples 50 --seed 2 --out runs/val-cifar

Judge a calibration on other architectures than it was fitted on: validate with another
--seed than the run it came from. The fit weighs every network alike (least squares in
relative error), keeps the offset >= 0, and stores the bootstrap spread of both values in
the rows' p10/p90/std columns (n = measurements fitted). On a shared host the level of whole
networks moves with the other tenants' load (by 10-20% between runs on the build VM, far more
than single blocks move): pooling runs made at different times fits the line to the host's
typical state. Re-measuring the LUT's rows (profiler.run --resume/--overwrite) leaves the
calibration rows as they are: fit again then.
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m profiler.calibrate", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lut", type=Path, required=True, help="the LUT to calibrate (rewritten in place unless -o)")
    p.add_argument("--from", dest="sources", type=Path, nargs="+", required=True, metavar="DIR",
                   help="the --out folder(s) of profiler.validate runs on this LUT and space (run.json, "
                        "predictions.csv); several runs are pooled, which averages the host's state over them")
    p.add_argument("-o", "--output", type=Path, default=None, help="write the calibrated LUT here instead")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the spread (default 1000)")
    p.add_argument("--dry-run", action="store_true", help="fit and print, write nothing")
    return p


def _read_run(folder: Path) -> tuple[dict, "object"]:
    import pandas as pd

    info, table = folder / "run.json", folder / "predictions.csv"
    for f in (info, table):
        if not f.is_file():
            raise ValueError(f"{f}: no such file; --from takes the --out folder of a profiler.validate run")
    try:
        run = json.loads(info.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValueError(f"{info}: not readable JSON: {' '.join(str(e).split())}") from None
    fields = ("lut_hash_uncalibrated", "space", "input_size", "width_mult", "seed")
    if not isinstance(run, dict) or run.get("format") != "lutnas-fidelity" or any(f not in run for f in fields):
        raise ValueError(f"{info}: not a run.json of profiler.validate")
    try:
        frame = pd.read_csv(table)
    except (OSError, ValueError) as e:
        raise ValueError(f"{table}: cannot read: {' '.join(str(e).split())}") from None
    for c in ("lut_ms", "measured_ms"):
        if c not in frame.columns:
            raise ValueError(f"{table}: lacks column {c}; not a results table of profiler.validate")
    frame = frame.dropna(subset=["lut_ms", "measured_ms"])
    return run, frame


def run(args: argparse.Namespace) -> int:
    """Fit and store as the arguments say; returns the exit code."""
    from lut import load, save
    from lut.calibration import (Calibration, calibration_keys, calibration_rows, store_calibration,
                                 without_calibration)
    from lut.schema import PROVENANCE_COLUMNS
    from profiler.fidelity import fidelity, format_fidelity
    from profiler.fit import fit_with_spread
    from lutnas.clock import now_utc
    from search.space import SPACES, get_space

    if args.bootstrap < 1:
        raise ValueError("--bootstrap must be >= 1")
    lut = load(args.lut)
    plain = without_calibration(lut)
    runs = [(folder, *_read_run(folder)) for folder in args.sources]
    for folder, info, _ in runs:
        if info["lut_hash_uncalibrated"] != plain.content_hash():
            raise ValueError(f"{folder}: was measured against another LUT (its uncalibrated content hash "
                             f"{str(info['lut_hash_uncalibrated'])[:19]}... is not {args.lut}'s "
                             f"{plain.content_hash()[:19]}...); validate this LUT first")
        what = [info[k] for k in ("space", "input_size", "width_mult")]
        if what != [runs[0][1][k] for k in ("space", "input_size", "width_mult")]:
            raise ValueError(f"{folder}: measured space {what[0]} at {what[1]}x{what[1]}, not the space of "
                             f"{runs[0][0]}; calibrate one space at a time")
    run_info = runs[0][1]
    builtin = run_info["space"] in SPACES
    space = get_space(run_info["space"], run_info["width_mult"] if builtin else None,
                      run_info["input_size"] if builtin else None)
    summary_path = runs[0][0] / "summary.json"
    device = json.loads(summary_path.read_text(encoding="utf-8"))["device"] if summary_path.is_file() else None
    for folder, info, frame in runs:
        ratio = float(np.median(frame["measured_ms"] / frame["lut_ms"])) if len(frame) else float("nan")
        print(f"{folder}: {len(frame)} networks (seed {info['seed']}), measured/LUT median {ratio:.3f}")
    lut_ms = np.concatenate([f["lut_ms"].to_numpy(float) for _, _, f in runs])
    measured = np.concatenate([f["measured_ms"].to_numpy(float) for _, _, f in runs])
    seeds = sorted({int(info["seed"]) for _, info, _ in runs})
    offset, scale = fit_with_spread(lut_ms, measured, boot=args.bootstrap, seed=seeds[0])
    cal = Calibration(offset.value, scale.value)
    before = fidelity(lut_ms, measured)
    after = fidelity([cal.apply(p) for p in lut_ms], measured)
    print(f"fitted on {len(measured)} measurements of {space.name} (seed {', '.join(map(str, seeds))}): "
          f"measured = {cal}")
    print(f"  offset {offset.value:.4f} ms (p10 {offset.p10:.4f}, p90 {offset.p90:.4f}), "
          f"scale {scale.value:.4f} (p10 {scale.p10:.4f}, p90 {scale.p90:.4f})")
    for line in format_fidelity(before, "LUT sum, in sample") + format_fidelity(after, "calibrated, in sample"):
        print("  " + line)
    if args.dry_run:
        return 0
    rows_prov = plain.row(next(iter(sorted(plain.keys()))))
    prov = {c: rows_prov[c] for c in PROVENANCE_COLUMNS}
    if device:  # where the networks were measured (same environment as the LUT: validate checked)
        prov.update({c: device[c] for c in PROVENANCE_COLUMNS if c in device})
    prov["measured_at"] = now_utc()
    prov["copies"] = 1  # a fit over whole networks: no copies of a block were rotated
    new = store_calibration(lut, space, calibration_rows(space, offset, scale, prov))
    target = args.output or args.lut
    save(new, target)
    stored = [str(k) for k in calibration_keys(space).values() if k in new]
    print(f"wrote {target}: calibration rows {', '.join(stored)}; "
          f"content hash {new.content_hash()[:19]}...")
    print(f"judge it on other architectures: python -m profiler.validate --lut {target} --device "
          f"{prov['device']} --samples {len(runs[-1][2])} --seed {max(seeds) + 1}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: clear one-line errors, exit 2 on bad input, no tracebacks."""
    args = build_parser().parse_args(argv)
    from lutnas.cli import guarded

    return guarded(run, args)


if __name__ == "__main__":
    sys.exit(main())
