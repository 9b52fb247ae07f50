"""End-to-end: python -m profiler.run in subprocesses, real exports, real ONNX Runtime sessions."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from lut import load
from lut.schema import COLUMNS
from search.space import load_space_file
from tests.conftest import FIXTURES, ROOT, interruptible

TINY = FIXTURES / "spaces" / "tiny.toml"
FAST = ["--budget", "0.05", "--min-runs", "5", "--tolerance", "0.2", "--quiet"]


def cli(*args, cache, **kw):
    env = {**os.environ, "LUTNAS_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "profiler.run", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, **kw)


def start(*args, cache):
    env = {**os.environ, "LUTNAS_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "profiler.run", *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)


def rows_in(path):
    try:
        return len(load(path))
    except Exception:
        return 0


def wait_for_rows(path, proc, at_least, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if path.exists() and rows_in(path) >= at_least:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {at_least} rows in {path} in time (exit {proc.poll()})")


@pytest.fixture(scope="module")
def tiny_lut(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny")
    out = d / "tiny.csv"
    proc = cli("--device", "cpu", "--space", TINY, "--out", out, *FAST, cache=d / "cache")
    assert proc.returncode == 0, proc.stderr
    return out, proc, d / "cache"


def test_profiles_every_key_of_the_space(tiny_lut):
    out, proc, _ = tiny_lut
    assert f"wrote {out}: 15 entries measured" in proc.stdout
    frame = pd.read_csv(out)  # plain pandas, no options
    assert list(frame.columns) == list(COLUMNS)
    lut = load(out)
    assert lut.keys() == set(load_space_file(TINY).keys())
    assert (frame["median_ms"] > 0).all() and (frame["p10_ms"] <= frame["median_ms"]).all()
    assert (frame["median_ms"] <= frame["p90_ms"]).all() and (frame["n"] >= 5).all()
    assert set(frame["device"]) == {"cpu"} and set(frame["runtime"]) == {"onnxruntime"}
    assert set(frame["opt_level"]) == {"all"} and set(frame["threads"]) == {1} and set(frame["opset"]) == {17}
    assert frame["affinity"].nunique() == 1 and frame["measured_at"].str.endswith("Z").all()


def test_entries_are_timed_in_network_by_default_with_the_planned_copies(tiny_lut):
    """The rows say in-network and carry the copies devices.conditions plans for this host's caches."""
    import json

    from devices.host import cache_sizes
    from profiler.footprint import key_footprint, plan_in_network

    out, proc, _ = tiny_lut
    space = load_space_file(TINY)
    plan = plan_in_network(space, space.keys(), cache_sizes(), key_footprint)
    lut = load(out)
    assert set(lut.frame["conditions"]) == {"in-network"}
    assert {k: int(lut.row(k)["copies"]) for k in lut.keys()} == dict(plan.copies)
    report = json.loads(out.with_name("tiny.host.json").read_text())
    assert report["measurement"] == json.loads(json.dumps(plan.as_dict()))
    assert f"in-network: {min(plan.copies.values())}-{max(plan.copies.values())} copies per entry" in proc.stdout


def test_warm_conditions_time_one_copy_and_a_resume_does_not_mix_them(tiny_lut, tmp_path):
    out = tmp_path / "warm.csv"
    proc = cli("--device", "cpu", "--space", TINY, "--out", out, "--conditions", "warm", *FAST, cache=tiny_lut[2])
    assert proc.returncode == 0, proc.stderr
    lut = load(out)
    assert set(lut.frame["conditions"]) == {"warm"} and set(lut.frame["copies"]) == {1}
    assert "in-network:" not in proc.stdout
    before = tiny_lut[0].read_bytes()
    proc = cli("--device", "cpu", "--space", TINY, "--out", tiny_lut[0], "--resume", "--conditions", "warm", *FAST,
               cache=tiny_lut[2])
    assert proc.returncode == 2
    assert "cannot resume" in proc.stderr and "conditions 'in-network' vs 'warm'" in proc.stderr
    assert "pass --conditions in-network to extend it as it was timed, or --overwrite to time it again warm" \
        in proc.stderr
    assert tiny_lut[0].read_bytes() == before


def test_resume_without_conditions_finishes_a_lut_as_it_was_timed(tiny_lut, tmp_path):
    """A LUT from before schema 3 (warm rows) with keys missing: --resume measures the rest warm, with a note."""
    warm = tmp_path / "old.csv"
    proc = cli("--device", "cpu", "--space", TINY, "--out", warm, "--conditions", "warm", *FAST, cache=tiny_lut[2])
    assert proc.returncode == 0, proc.stderr
    lines = warm.read_text().splitlines(keepends=True)
    warm.write_text("".join(lines[:-3]))  # three keys lost
    proc = cli("--device", "cpu", "--space", TINY, "--out", warm, "--resume", *FAST, cache=tiny_lut[2])
    assert proc.returncode == 0, proc.stderr
    assert f"note: resuming {warm} as its rows were timed: warm" in proc.stderr
    assert "3 entries measured, 12 already there" in proc.stdout
    assert set(load(warm).frame["conditions"]) == {"warm"} and len(load(warm)) == 15


def test_bigger_blocks_take_longer(tiny_lut):
    lut = load(tiny_lut[0])
    space = load_space_file(TINY)
    layer = space.layers[2]  # 16 -> 16 at 8x8
    assert lut.latency(layer.key("k5_e3")) > lut.latency(layer.key("k3_e1"))


def test_resume_of_a_complete_lut_changes_nothing(tiny_lut):
    out, _, cache = tiny_lut
    before = out.read_bytes()
    proc = cli("--device", "cpu", "--space", TINY, "--out", out, "--resume", *FAST, cache=cache)
    assert proc.returncode == 0, proc.stderr
    assert "nothing to do" in proc.stdout
    assert out.read_bytes() == before


def test_existing_output_is_not_overwritten_without_a_flag(tiny_lut):
    out, _, cache = tiny_lut
    before = out.read_bytes()
    proc = cli("--device", "cpu", "--space", TINY, "--out", out, *FAST, cache=cache)
    assert proc.returncode == 2
    assert f"error: {out} exists: pass --resume" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == before


def test_resume_refuses_another_environment(tiny_lut):
    out, _, cache = tiny_lut
    before = out.read_bytes()
    proc = cli("--device", "cpu", "--space", TINY, "--out", out, "--resume", "--threads", "2", *FAST, cache=cache)
    assert proc.returncode == 2
    assert "cannot resume" in proc.stderr and "threads" in proc.stderr
    assert out.read_bytes() == before


@pytest.mark.parametrize("args, message", [
    (["--device", "pixel", "--host", "127.0.0.1:9", "--serial", "X"], "give --host or --serial, not both"),
    (["--device", "iphone"], "unknown device 'iphone'; known: cpu, pixel"),
    (["--space", "nope"], "unknown space 'nope'"),
    (["--runtime", "tflite"], "unknown runtime 'tflite'; known: onnxruntime, torchscript"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--budget", "0"], "--budget must be > 0"),
    (["--space", FIXTURES / "spaces" / "bad_candidate.toml"], "kernel 4 in 'k4' is not allowed"),
])
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    out = tmp_path / "x.csv"
    proc = cli("--out", out, *FAST, *args, cache=tmp_path / "cache")
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert not out.exists()


def test_malformed_lut_with_resume_exits_2_and_is_left_alone(tiny_lut, tmp_path):
    good = tiny_lut[0].read_text().splitlines(keepends=True)
    cases = {
        "dup.csv": good + [good[2]],
        "nan.csv": [good[0], good[1].replace(good[1].split(",")[7], "nan", 1)] + good[2:],
        "cut.csv": good[:-1] + [good[-1][: len(good[-1]) // 2]],
    }
    for name, lines in cases.items():
        bad = tmp_path / name
        bad.write_text("".join(lines))
        before = bad.read_bytes()
        proc = cli("--device", "cpu", "--space", TINY, "--out", bad, "--resume", *FAST, cache=tiny_lut[2])
        assert proc.returncode == 2, (name, proc.stderr)
        assert proc.stderr.startswith(f"error: {bad}") and "Traceback" not in proc.stderr
        assert "line" in proc.stderr
        assert bad.read_bytes() == before


def test_torchscript_runtime(tmp_path):
    out = tmp_path / "ts.csv"
    proc = cli("--space", TINY, "--runtime", "torchscript", "--out", out, *FAST, cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out)
    assert set(frame["runtime"]) == {"torchscript"} and set(frame["opt_level"]) == {"freeze"}
    assert len(frame) == 15


def test_executorch_runtime_honours_threads_and_records_its_level(tmp_path):
    out = tmp_path / "et.csv"
    proc = cli("--space", TINY, "--runtime", "executorch", "--threads", "2", "--out", out, *FAST,
               cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 15 and set(frame["runtime"]) == {"executorch"}
    assert set(frame["opt_level"]) == {"xnnpack"} and set(frame["threads"]) == {2}
    assert (frame["median_ms"] > 0).all()
    assert len(list((tmp_path / "cache" / "executorch").glob("*.pte"))) == 15
    assert "cpuinfo" not in proc.stderr and "Failed to load" not in proc.stderr


def test_executorch_unknown_level_is_one_line(tmp_path):
    proc = cli("--space", TINY, "--runtime", "executorch", "--opt-level", "all", "--out", tmp_path / "x.csv",
               *FAST, cache=tmp_path / "cache")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: unknown ExecuTorch optimization level 'all'; known: xnnpack, portable")
    assert not (tmp_path / "x.csv").exists()


def test_kill_mid_run_then_resume_measures_only_the_rest(tmp_path):
    out = tmp_path / "killed.csv"
    cache = tmp_path / "cache"
    slow = ["--window", "1", "--budget", "0.3", "--tolerance", "0.000001", "--min-runs", "5", "--quiet"]
    proc = start("--space", TINY, "--out", out, *slow, cache=cache)
    wait_for_rows(out, proc, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = load(out)  # valid after kill -9
    assert 2 <= len(partial) < 15
    kept = {k: partial.latency(k) for k in partial.keys()}
    done = cli("--space", TINY, "--out", out, "--resume", *FAST, cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"{15 - len(kept)} entries measured, {len(kept)} already there" in done.stdout
    full = load(out)
    frame = pd.read_csv(out)
    assert len(frame) == 15 and not frame.duplicated(["block", "cin", "cout", "stride", "h", "w"]).any()
    assert all(full.latency(k) == v for k, v in kept.items())


def test_ctrl_c_keeps_finished_rows_and_says_how_to_go_on(tmp_path):
    out = tmp_path / "int.csv"
    slow = ["--window", "1", "--budget", "0.3", "--tolerance", "0.000001", "--min-runs", "5", "--quiet"]
    proc = start("--space", TINY, "--out", out, *slow, cache=tmp_path / "cache")
    wait_for_rows(out, proc, 1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    n = len(load(out))
    assert f"interrupted: {n} of 15 entries are saved in {out}; run again with --resume" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name, expected", [("pixel", "lut/pixel.csv"), ("../../x", "lut/x.csv"),
                                            ("a b/c", "lut/a_b_c.csv"), ("..", "lut/device.csv")])
def test_default_out_stays_in_the_lut_folder(name, expected):
    from pathlib import Path

    from profiler.run import default_out

    assert default_out(name) == Path(expected)


def test_a_formula_like_device_name_is_written_as_text(tmp_path, tiny_lut):
    """A profile named like a spreadsheet formula gives a LUT whose device cell is that name behind an apostrophe,
    which lut validate accepts and lut.load reads back."""
    profile = tmp_path / "evil.toml"
    profile.write_text('name = "=1+1"\nkind = "local"\nruntime = "onnxruntime"\nthreads = 1\naffinity = "none"\n')
    out = tmp_path / "evil.csv"
    proc = cli("--device", profile, "--space", TINY, "--out", out, *FAST, cache=tiny_lut[2])
    assert proc.returncode == 0, proc.stderr
    assert set(load(out).frame["device"]) == {"'=1+1"}
    check = subprocess.run([sys.executable, "-m", "lut", "validate", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("fixture, message", [
    ("formula_cell.csv", "line 6, column device_model: \"=cmd|' /C calc'!A0\" starts with '=', which a spreadsheet "
                         "runs as a formula"),
    ("huge_latency.csv", "line 4, column median_ms: 1e308 ms is not a plausible latency of one block"),
])
def test_lut_validate_flags_formulas_and_implausible_latencies(fixture, message):
    path = FIXTURES / "lut" / fixture
    before = path.read_bytes()
    proc = subprocess.run([sys.executable, "-m", "lut", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 1 and message in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and path.read_bytes() == before
