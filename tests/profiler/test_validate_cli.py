"""End-to-end: python -m profiler.validate and profiler.calibrate in subprocesses, real networks on ONNX Runtime."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from lut import LUT, load, save
from lut.calibration import calibration_keys
from profiler.fidelity import fidelity
from search.space import load_space_file
from tests.conftest import FIXTURES, ROOT, interruptible

TINY_LUT = FIXTURES / "measured" / "tiny-cpu.csv"
TINY = FIXTURES / "spaces" / "tiny.toml"
FAST = ["--budget", "0.05", "--min-runs", "5", "--tolerance", "0.2", "--min-rounds", "3", "--batch", "0.005", "--quiet"]


def env_of(cache):
    return {**os.environ, "LUTNAS_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}


def cli(module, *args, cache, **kw):
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=ROOT, env=env_of(cache),
                          capture_output=True, text=True, timeout=300, **kw)


def validate(*args, cache):
    return cli("profiler.validate", *args, cache=cache)


def here_lut(path, **over):
    """tiny-cpu.csv (measured for tests/fixtures/spaces/tiny.toml) with this host's environment, so that it
    may be validated here; ``over`` replaces columns."""
    from devices import host
    from devices.runtimes import get_runtime

    frame = load(TINY_LUT).frame
    env = {**host.fingerprint(), **get_runtime("onnxruntime", 1, "all").provenance(),
           "affinity": host.format_cpus({max(os.sched_getaffinity(0))}), **over}
    for column, value in env.items():
        frame[column] = value
    save(LUT.from_rows(frame), path)
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("validate")
    lut = here_lut(d / "tiny.csv")
    out = d / "out"
    proc = validate("--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 3, "--out", out, *FAST,
                    cache=d / "cache")
    assert proc.returncode == 0, proc.stderr
    return d, lut, out, proc


def test_writes_predictions_summary_and_scatter(run):
    d, lut, out, proc = run
    table = pd.read_csv(out / "predictions.csv")
    assert list(table.columns) == ["arch", "blocks", "lut_ms", "predicted_ms", "measured_ms", "p10_ms", "p90_ms",
                                   "n", "ci_rel", "stable", "error_pct"]
    assert table["arch"].tolist() == [0, 1, 2]
    space = load_space_file(TINY)
    matrix = load(lut).matrix(space)
    for _, row in table.iterrows():
        blocks = row["blocks"].split()
        assert len(blocks) == len(space.layers)
        assert row["lut_ms"] == pytest.approx(matrix.predict(blocks), abs=1e-6)
        assert row["predicted_ms"] == row["lut_ms"]  # no calibration in this LUT
        assert row["measured_ms"] > 0 and row["p10_ms"] <= row["measured_ms"] <= row["p90_ms"] and row["n"] >= 5
        # the CSV keeps 6 decimals of ms: the error recomputed from it agrees to a few hundredths of a percent
        assert row["error_pct"] == pytest.approx(100 * (row["predicted_ms"] - row["measured_ms"]) / row["measured_ms"],
                                                 abs=0.05)
    summary = json.loads((out / "summary.json").read_text())
    expect = fidelity(table["predicted_ms"], table["measured_ms"])
    assert summary["fidelity"]["n"] == 3
    # the CSV's 6 decimals of ms move a 0.02 ms network's error by up to 0.005 points: MAPE agrees to 0.0005
    assert summary["fidelity"]["mape"] == pytest.approx(expect.mape, abs=5e-4)
    assert summary["fidelity"]["within_10"] == pytest.approx(expect.within_10)
    assert summary["calibration"] is None and "fidelity_uncalibrated" not in summary
    host = summary["host"]  # how quiet the host was while the networks were timed
    assert host["own_threads"] == 1 and host["seconds"] > 0 and isinstance(host["warnings"], list)
    assert host["busy_pct"] is None or 0 <= host["busy_pct"] <= 100
    assert summary["space"] == str(TINY) and summary["seed"] == 0 and summary["lut_hash"] == load(lut).content_hash()
    assert summary["device"]["runtime"] == "onnxruntime" and summary["device"]["threads"] == 1
    assert set(summary["reference"]) == {"overhead", "stem", "head", "canary"}
    assert all(r["now_ms"] > 0 for r in summary["reference"].values())
    drift = summary["host_drift"]  # the entries weighing most in the 3 networks, re-timed beside them
    from profiler.host_drift import retime_keys
    space_keys = retime_keys(load(lut), space, [r.split() for r in table["blocks"]], 16)
    assert drift["entries"] == [str(k) for k in space_keys] and 0 < drift["layer_share"] <= 1
    assert 0 < drift["now_over_lut"] < 10
    assert drift["median_ratio_at_lut_speed"] == pytest.approx(summary["fidelity"]["median_ratio"] / drift["now_over_lut"])
    assert "host now / at the LUT's build: " in proc.stdout
    png = (out / "scatter.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(png[16:20], "big") == 600 and int.from_bytes(png[20:24], "big") == 600
    assert "3 networks: MAPE" in proc.stdout and "acceptance" in proc.stdout


def test_an_earlier_run_is_kept_unless_asked(run):
    d, lut, out, _ = run
    before = (out / "predictions.csv").read_bytes()
    proc = validate("--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 3, "--out", out, *FAST,
                    cache=d / "cache")
    assert proc.returncode == 2 and "pass --resume" in proc.stderr and "Traceback" not in proc.stderr
    proc = validate("--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 3, "--out", out, "--resume",
                    *FAST, cache=d / "cache")
    assert proc.returncode == 0, proc.stderr
    assert (out / "predictions.csv").read_bytes() == before  # nothing left to measure
    assert json.loads((out / "summary.json").read_text())["measurement"]["resumed_networks"] == 3
    proc = validate("--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 3, "--seed", 5, "--out", out,
                    "--resume", *FAST, cache=d / "cache")
    assert proc.returncode == 2 and "differs in seed" in proc.stderr


def test_calibrate_stores_a_line_that_validate_then_applies(run, tmp_path):
    d, lut, out, _ = run
    target = tmp_path / "calibrated.csv"
    proc = cli("profiler.calibrate", "--lut", lut, "--from", out, "-o", target, cache=d / "cache")
    assert proc.returncode == 2 and "at least 5 measured networks, got 3" in proc.stderr
    more = tmp_path / "more"
    proc = validate("--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 6, "--seed", 1, "--out", more,
                    *FAST, cache=d / "cache")
    assert proc.returncode == 0, proc.stderr
    proc = cli("profiler.calibrate", "--lut", lut, "--from", more, "-o", target, cache=d / "cache")
    assert proc.returncode == 0, proc.stderr
    assert "fitted on 6 measurements" in proc.stdout
    space = load_space_file(TINY)
    cal = load(target)
    scale = cal.row(calibration_keys(space)["calib_scale"])
    assert scale["n"] == 6 and scale["median_ms"] > 0 and scale["device"] == "cpu"
    assert len(cal) - len(load(lut)) in (1, 2)
    checked = tmp_path / "checked"
    proc = validate("--lut", target, "--device", "cpu", "--space", TINY, "--samples", 3, "--seed", 2, "--out",
                    checked, *FAST, cache=d / "cache")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((checked / "summary.json").read_text())
    assert summary["calibration"]["scale"] == pytest.approx(scale["median_ms"])
    assert "fidelity_uncalibrated" in summary and "calibrated: 3 networks" in proc.stdout
    assert proc.stdout.index("LUT sum: 3 networks") < proc.stdout.index("calibrated: 3 networks")  # plain first
    table = pd.read_csv(checked / "predictions.csv")
    c = summary["calibration"]
    assert (table["predicted_ms"] - (c["offset_ms"] + c["scale"] * table["lut_ms"])).abs().max() < 1e-5
    # fitting against a run of another LUT is refused
    other = here_lut(tmp_path / "other.csv", measured_at="2025-01-01T00:00:00Z")
    proc = cli("profiler.calibrate", "--lut", other, "--from", more, "--dry-run", cache=d / "cache")
    assert proc.returncode == 2 and "another LUT" in proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_a_kill_keeps_what_was_measured_and_resume_finishes(run, tmp_path, sig):
    d, lut, _, _ = run
    out = tmp_path / "out"
    args = ["--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 3, "--out", out]
    endless = ["--budget", "60", "--min-rounds", "100000", "--min-runs", "5", "--batch", "0.0005"]
    proc = subprocess.Popen([sys.executable, "-m", "profiler.validate", *map(str, args), *endless], cwd=ROOT,
                            env=env_of(d / "cache"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=interruptible)
    deadline = time.time() + 120
    err = ""
    while time.time() < deadline and proc.poll() is None and "measure" not in err:
        time.sleep(0.5)  # wait for the measure stage's progress bar (stderr, unbuffered)
        err += os.read(proc.stderr.fileno(), 65536).decode() if _readable(proc.stderr) else ""
    time.sleep(8)  # past every warm-up (at most 1 s each), into the timed rounds
    proc.send_signal(sig)
    _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130, err + rest
    assert "--resume" in rest and "Traceback" not in rest
    table = pd.read_csv(out / "predictions.csv")
    assert len(table) == 3 and (table["n"] >= 5).all()  # every network had runs: kept as measured so far
    proc = validate(*args, "--resume", *FAST, cache=d / "cache")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "summary.json").read_text())["fidelity"]["n"] == 3


def _readable(stream) -> bool:
    import select

    return bool(select.select([stream], [], [], 0)[0])


def test_bad_input_is_one_line_and_exit_2(run, tmp_path):
    d, lut, _, _ = run
    cache = d / "cache"
    base = ["--samples", 2, "--out", tmp_path / "o", *FAST]
    cases = [
        (["--lut", tmp_path / "none.csv", "--device", "cpu", "--space", TINY], "none.csv: no such file"),
        (["--lut", lut, "--device", "nope", "--space", TINY], "unknown device 'nope'"),
        (["--lut", lut, "--device", "pixel", "--space", TINY], "measured on device cpu, not pixel"),
        (["--lut", lut, "--device", "cpu", "--space", "fbnet-cifar"], "missing: .* profiler.run"),
        (["--lut", lut, "--device", "cpu"], "covers no built-in space .*--space"),
        (["--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 65], "only 64 distinct"),
        (["--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 0], "--samples must be >= 1"),
    ]
    for args, message in cases:
        proc = validate(*base, *args, cache=cache)  # later options win
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert pd.Series([lines[0]]).str.contains(message).all(), (message, lines[0])
    assert not (tmp_path / "o").exists()


def test_a_lut_of_another_environment_is_refused(run, tmp_path):
    d, _, _, _ = run
    other = here_lut(tmp_path / "other.csv", device_model="Some Other CPU", threads=1)
    proc = validate("--lut", other, "--device", "cpu", "--space", TINY, "--samples", 2, "--out", tmp_path / "o",
                    *FAST, cache=d / "cache")
    assert proc.returncode == 2
    assert "another environment (device_model 'Some Other CPU' in the LUT vs" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_retime_0_times_no_extra_entry_and_estimates_no_drift(tmp_path):
    lut = here_lut(tmp_path / "tiny.csv")
    proc = validate("--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 2, "--out", tmp_path / "out",
                    "--retime", 0, *FAST, cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    drift = json.loads((tmp_path / "out" / "summary.json").read_text())["host_drift"]
    assert drift == {"entries": [], "layer_share": 0.0, "now_over_lut": None, "median_ratio_at_lut_speed": None}
    assert "host now / at the LUT's build" not in proc.stdout and "warning: the host runs" not in proc.stderr
    bad = validate("--lut", lut, "--device", "cpu", "--space", TINY, "--samples", 2, "--out", tmp_path / "o2",
                   "--retime", -1, *FAST, cache=tmp_path / "cache")
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--retime must be >= 0" in bad.stderr
