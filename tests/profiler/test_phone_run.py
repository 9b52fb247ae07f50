"""End to end on the emulated phone: python -m profiler.run --device <emulated profile> --host 127.0.0.1:PORT.

The emulator runs the pushed portable runner for real (this host's Python and onnxruntime stand in for
the phone's). Faults: connection dropped mid-push and mid-benchmark, a runner silent for longer than
the transport timeout, a refused key, a runner printing garbage.
"""

import json
import platform
from pathlib import Path

import pandas as pd
import pytest

from devices.emulator import AdbEmulator, load_phone
from lut import load
from search.space import load_space_file
from tests.conftest import FIXTURES, PHONE
from tests.conftest import PHONE_PROFILE as PROFILE
from tests.conftest import profile_phone as run

TINY = FIXTURES / "spaces" / "tiny.toml"


@pytest.fixture
def phone(home, tmp_path):
    pub = (home / ".android" / "adbkey.pub").read_text()
    with AdbEmulator(load_phone(PHONE), tmp_path / "phone", authorized_keys=[pub]) as emu:
        yield emu


def profile_with(tmp_path, **fields):
    """The emulated-phone profile with some fields changed."""
    lines = [ln for ln in PROFILE.read_text().splitlines() if ln.split("=")[0].strip() not in fields]
    lines += [f"{k} = {json.dumps(v)}" for k, v in fields.items()]
    path = tmp_path / "profile.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def check_complete(out: Path):
    lut = load(out)
    assert lut.keys() == set(load_space_file(TINY).keys())
    frame = pd.read_csv(out)
    assert (frame["median_ms"] > 0).all() and (frame["p10_ms"] <= frame["median_ms"]).all()
    return frame


def test_profiles_the_space_on_the_phone_with_its_provenance(home, phone, tmp_path):
    out = tmp_path / "phone.csv"
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert f"wrote {out}: 15 entries measured" in proc.stdout
    frame = check_complete(out)
    row = frame.iloc[0]
    assert row["device"] == "pixel7-emulated" and row["cores"] == 8 and row["affinity"] == "6-7"
    assert row["device_model"] == "Google Pixel 7 (panther, board panther, SoC Google GS201 gs201, arm64-v8a)"
    assert row["os"].startswith("Android 14 (SDK 34); kernel 5.10.157-android13-4") and "release-keys" in row["os"]
    assert row["governor"] == "cpu0-3 1803MHz sched_pixel; cpu4-5 2348MHz sched_pixel; cpu6-7 2850MHz sched_pixel"
    runner = next((phone.sandbox / "data/local/tmp/lutnas/bin").glob("lutnas-runner-*.pyz"))
    import hashlib

    import onnxruntime

    sha = hashlib.sha256(runner.read_bytes()).hexdigest()
    # the machine the phone's Python ran on (the emulated phone's python3 is this host's)
    assert row["runtime_version"] == f"{onnxruntime.__version__} {platform.machine()} (runner portable sha256:{sha})"
    assert frame["device_model"].nunique() == 1 and frame["runtime_version"].nunique() == 1
    # timed in-network: the host sends the footprints, the runner sizes the copies by its core's caches (the
    # emulated phone's runner runs on this host, so its caches are this host's)
    from devices.host import cache_sizes
    from devices.conditions import copies_for, rotation_bytes
    from profiler.footprint import key_footprint, plan_in_network

    plan = plan_in_network(load_space_file(TINY), load_space_file(TINY).keys(), [], key_footprint)
    rotation = rotation_bytes(plan.network_bytes, cache_sizes())
    lut = load(out)
    assert set(frame["conditions"]) == {"in-network"}
    assert {k: int(lut.row(k)["copies"]) for k in lut.keys()} == {k: copies_for(key_footprint(k), rotation)
                                                                  for k in lut.keys()}
    record = json.loads((tmp_path / "phone.device.json").read_text())["sessions"][0]
    assert record["device"].get("caches", []) == cache_sizes()  # what the runner sized the copies by
    # the phone's state: the models by content hash, the runner pinned with taskset to the big cores
    models = list((phone.sandbox / "data/local/tmp/lutnas/models").iterdir())
    assert len(models) == 15 and all(m.suffix == ".onnx" for m in models)
    assert (phone.sandbox / "data/local/tmp/.taskset").read_text().strip() == "c0"
    record = json.loads((tmp_path / "phone.device.json").read_text())["sessions"][0]
    assert record["device"]["affinity_mask"] == "c0" and record["device"]["sdk"] == "34"
    assert record["log"]["battery"][0] == {"at": record["log"]["battery"][0]["at"], "level": 87, "temp_c": 29.1,
                                           "charging": True}
    assert record["log"]["thermal"] and record["log"]["thermal"][0]["hottest_c"] == 36.1
    assert len(record["log"]["canary_ms"]) >= 1

    # a second run pushes nothing again: same runner and models (names are content hashes)
    stamps = {p: p.stat().st_mtime_ns for p in [runner, *models]}
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    assert len(json.loads((tmp_path / "phone.device.json").read_text())["sessions"]) == 2


def test_executorch_programs_on_the_phone_through_the_portable_runner(home, phone, tmp_path):
    out = tmp_path / "phone-et.csv"
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out, "--runtime", "executorch")
    assert proc.returncode == 0, proc.stderr
    frame = check_complete(out)
    assert set(frame["runtime"]) == {"executorch"} and set(frame["opt_level"]) == {"xnnpack"}
    assert frame["runtime_version"].str.startswith(f"1.5.1 {platform.machine()} (runner portable sha256:").all()
    models = list((phone.sandbox / "data/local/tmp/lutnas/models").iterdir())
    assert len(models) == 15 and all(m.suffix == ".pte" for m in models)


def test_onnxruntime_perf_test_binary_times_onnx_models_on_the_phone(home, phone, tmp_path):
    """onnxruntime_perf_test's orchestration; the binary is a stand-in (tests/fixtures/runners/bin) printing its
    summary: repeats per entry, interleaved, the per-call medians as the row's samples."""
    standin = FIXTURES / "runners" / "bin" / "onnxruntime_perf_test_standin.py"
    profile = profile_with(tmp_path, runner="onnxruntime_perf_test", runner_binary=str(standin), repeats=3)
    out = tmp_path / "phone-perf.csv"
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out, profile=profile)
    assert proc.returncode == 0, proc.stderr
    frame = check_complete(out)
    assert set(frame["runtime"]) == {"onnxruntime"} and set(frame["n"]) == {3}
    assert set(frame["conditions"]) == {"warm"} and set(frame["copies"]) == {1}  # one model file per call
    refused = run(home, "--host", phone.address, "--space", TINY, "--out", tmp_path / "x.csv", "--conditions",
                  "in-network", profile=profile)
    assert refused.returncode == 2 and refused.stderr.startswith("error: runner onnxruntime_perf_test of ")
    assert "only the portable runner times in-network (--conditions warm)" in refused.stderr
    assert not (tmp_path / "x.csv").exists()
    sha = __import__("hashlib").sha256(standin.read_bytes()).hexdigest()
    assert frame["runtime_version"].str.endswith(f"(runner onnxruntime_perf_test sha256:{sha})").all()
    runner = phone.sandbox / "data/local/tmp/lutnas/bin" / standin.name
    assert runner.read_bytes() == standin.read_bytes()


def test_executor_runner_binary_times_pte_programs_on_the_phone(home, phone, tmp_path):
    """executor_runner's orchestration; the binary is a stand-in (tests/fixtures/runners/bin) printing its format."""
    standin = FIXTURES / "runners" / "bin" / "executor_runner_standin.py"
    profile = profile_with(tmp_path, runner="executor_runner", runner_binary=str(standin), runtime="executorch",
                           repeats=2)
    out = tmp_path / "phone-er.csv"
    # a fifth of the space: each call of the stand-in starts a Python that imports executorch (seconds)
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out, "--shard", "1/5", profile=profile)
    assert proc.returncode == 0, proc.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 3 and (frame["median_ms"] > 0).all()
    assert set(frame["runtime"]) == {"executorch"} and set(frame["n"]) == {2}
    sha = __import__("hashlib").sha256(standin.read_bytes()).hexdigest()
    assert frame["runtime_version"].str.endswith(f"(runner executor_runner sha256:{sha})").all()
    assert len(list((phone.sandbox / "data/local/tmp/lutnas/models").glob("*.pte"))) >= 3


def test_runner_that_cannot_run_the_runtime_is_refused_before_anything_moves(home, phone, tmp_path):
    profile = profile_with(tmp_path, runner="onnxruntime_perf_test", runner_binary=str(tmp_path / "perf"))
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", tmp_path / "x.csv",
               "--runtime", "executorch", profile=profile)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: runner onnxruntime_perf_test runs onnxruntime models, "
                                          "not executorch; change runner or runtime in ")
    assert not (tmp_path / "x.csv").exists() and not (phone.sandbox / "data/local/tmp/lutnas").exists()


def test_connection_dropped_mid_push_and_mid_benchmark(home, phone, tmp_path):
    phone.faults.drop_after_push_bytes = 4096  # inside the runner's push
    phone.faults.drop_on_shell = "lutnas-poll"  # while the first benchmark runs
    out = tmp_path / "p.csv"
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert sorted(phone.faults.fired) == ["push", "shell"] and "2 reconnect(s)" in proc.stdout
    check_complete(out)


def test_runner_silent_longer_than_the_transport_timeout_and_cooldown(home, phone, tmp_path):
    zone = phone.sandbox / "sys/class/thermal/thermal_zone2/temp"
    zone.write_text("58000\n")  # a hot big core: the run waits (at most cooldown_max_s), then measures
    out = tmp_path / "s.csv"
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out,
               profile=profile_with(tmp_path, timeout_s=0.3, batch=16, cooldown_max_s=1.0))
    assert proc.returncode == 0, proc.stderr
    check_complete(out)  # one runner call of well over 0.3 s without a byte of output
    record = json.loads((tmp_path / "s.device.json").read_text())["sessions"][-1]
    assert record["log"]["cooldown_s"][0] >= 1.0 and record["log"]["thermal"][0]["hottest_c"] == 58.0


def test_refused_key_is_one_clear_line(home, tmp_path):
    with AdbEmulator(load_phone(PHONE), tmp_path / "p") as emu:  # this computer's key is not authorized
        out, address = tmp_path / "k.csv", emu.address
        proc = run(home, "--host", address, "--space", TINY, "--out", out, profile=profile_with(tmp_path, timeout_s=1.0))
        assert emu.stats["prompts"] == 1  # the phone asked once; nobody tapped Allow
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {address}: device unauthorized: accept the 'Allow USB debugging?' prompt on the phone "
        f"(key {home}/.android/adbkey.pub), then run again")
    assert not out.exists()


def test_nothing_answers_is_one_clear_line(home, tmp_path):
    proc = run(home, "--host", "127.0.0.1:9", "--space", TINY, "--out", tmp_path / "n.csv")
    assert proc.returncode == 2 and "error: 127.0.0.1:9: nothing answers" in proc.stderr


GARBAGE_PYTHON = """#!/bin/sh
# the phone's "python": answers the runner's version probe, then runs the runner for real N times, then prints garbage
case " $* " in *" --probe "*) exec python3 "$@";; esac
n=$(cat "$HOME/calls" 2>/dev/null || echo 0); echo $((n + 1)) > "$HOME/calls"
if [ "$n" -lt {good} ]; then exec python3 "$@"; fi
echo "Segmentation fault"; echo '@@@ {{"format": "lutnas-portable-runner", "version": 1, "summ'
"""


@pytest.mark.parametrize("good, rows", [(0, 0), (1, 8)])
def test_runner_printing_garbage_never_writes_partial_rows(home, phone, tmp_path, good, rows):
    fake = phone.sandbox / "data/local/tmp/fakepython"
    fake.write_text(GARBAGE_PYTHON.format(good=good))
    fake.chmod(0o755)
    out = tmp_path / "g.csv"
    proc = run(home, "--host", phone.address, "--space", TINY, "--out", out,
               profile=profile_with(tmp_path, python="/data/local/tmp/fakepython", batch=8))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "portable runner: no result in its output; it printed 'Segmentation fault" in proc.stderr
    if rows:
        assert len(load(out)) == rows  # the first batch's rows, whole; nothing from the garbled batch
        assert pd.read_csv(out)["median_ms"].gt(0).all()
    else:
        assert not out.exists()


@pytest.fixture
def two_phones(home, tmp_path):
    pub = (home / ".android" / "adbkey.pub").read_text()
    with AdbEmulator(load_phone(PHONE), tmp_path / "a", authorized_keys=[pub]) as a, \
            AdbEmulator(load_phone(PHONE), tmp_path / "b", authorized_keys=[pub]) as b:
        yield a, b


def test_farm_shares_the_entries_between_phones(home, two_phones, tmp_path):
    a, b = two_phones
    out = tmp_path / "farm.csv"
    proc = run(home, "--serials", f"{a.address},{b.address}", "--space", TINY, "--out", out)
    assert proc.returncode == 0, proc.stderr
    check_complete(out)
    for emu in (a, b):  # both phones ran the runner
        assert (emu.sandbox / "data/local/tmp/.taskset").read_text().strip() == "c0"
    record = json.loads((tmp_path / "farm.device.json").read_text())["sessions"][0]
    assert len(record["farm"]) == 2 and record["dropped"] == {}


def test_farm_phone_dropping_off_hands_its_entries_to_the_others(home, two_phones, tmp_path):
    a, b = two_phones
    b.faults.unplug_on_shell = "--model"  # b goes away as its first runner call starts
    out = tmp_path / "drop.csv"
    proc = run(home, "--serials", f"{a.address},{b.address}", "--space", TINY, "--out", out,
               profile=profile_with(tmp_path, retries=1))
    assert proc.returncode == 0, proc.stderr
    assert b.faults.fired == ["unplug"]
    check_complete(out)  # nothing lost: a measured b's share too
    record = json.loads((tmp_path / "drop.device.json").read_text())["sessions"][0]
    assert list(record["dropped"]) == [b.address]


def test_farm_refuses_bad_lists(home, tmp_path):
    proc = run(home, "--serials", "127.0.0.1:9,127.0.0.1:9", "--space", TINY, "--out", tmp_path / "x.csv")
    assert proc.returncode == 2 and "list each phone once" in proc.stderr
    proc = run(home, "--serials", "A,B", "--host", "1.2.3.4:5555", "--space", TINY, "--out", tmp_path / "x.csv")
    assert proc.returncode == 2 and "give --serials, or --host / --serial, not both" in proc.stderr
