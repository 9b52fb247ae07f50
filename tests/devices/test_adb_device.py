"""AdbDevice on the emulated phone: fingerprint, pinning, runner and model pushes, cooldown."""

import dataclasses

import pytest

from devices.adb.device import AdbDevice
from devices.profiles import load_profile
from tests.conftest import FIXTURES

PROFILE = load_profile(FIXTURES / "phones" / "emulated-profile.toml")


def device(phone, key, **fields):
    return AdbDevice(dataclasses.replace(PROFILE, **fields), host=phone.address, key_path=key)


def test_fingerprint_and_affinity(phone, adb_key):
    d = device(phone, adb_key)
    info = d.fingerprint()
    assert (info["manufacturer"], info["model"], info["sdk"], info["soc"]) == ("Google", "Pixel 7", "34", "Google GS201")
    assert [c["max_khz"] for c in info["cores"]][-2:] == [2850000, 2850000]
    from devices.adb import facts

    cores = [facts.Core(c["id"], c["max_khz"], c["governor"]) for c in info["cores"]]
    assert d._mask(cores) == ("c0", "6-7")
    assert device(phone, adb_key, affinity="4-7")._mask(cores) == ("f0", "4-7")
    assert device(phone, adb_key, affinity="none")._mask(cores) == (None, "0-7")
    with pytest.raises(ValueError, match="the phone has no CPU 8"):
        device(phone, adb_key, affinity="7-8")._mask(cores)


def test_runner_and_models_are_pushed_once(phone, adb_key, tmp_path):
    runner = tmp_path / "runner.bin"
    runner.write_bytes(b"#!/bin/sh\necho run\n")
    d = device(phone, adb_key)
    remote = d.install_runner(runner)
    on_phone = phone.sandbox / remote.lstrip("/")
    first = on_phone.stat().st_mtime_ns
    d.install_runner(runner)
    assert on_phone.stat().st_mtime_ns == first and d.runner_sha == __import__("hashlib").sha256(
        runner.read_bytes()).hexdigest()
    runner.write_bytes(b"#!/bin/sh\necho changed\n")
    d.install_runner(runner)
    assert on_phone.read_bytes() == runner.read_bytes()  # a changed runner is pushed again
    models = []
    for i in range(3):
        models.append(tmp_path / f"m{i}.onnx")
        models[-1].write_bytes(bytes([i]) * 100)
    paths = d.sync_models(models)
    stamps = {m: (phone.sandbox / paths[m].lstrip("/")).stat().st_mtime_ns for m in models}
    (phone.sandbox / paths[models[1]].lstrip("/")).unlink()
    d.sync_models(models)  # only the missing one goes again
    after = {m: (phone.sandbox / paths[m].lstrip("/")).stat().st_mtime_ns for m in models}
    assert after[models[0]] == stamps[models[0]] and after[models[2]] == stamps[models[2]]
    assert (phone.sandbox / paths[models[1]].lstrip("/")).read_bytes() == bytes([1]) * 100
    with pytest.raises(ValueError, match="runner not found"):
        d.install_runner(tmp_path / "missing")


def test_cooldown_waits_on_temperature_and_thermal_status(phone, adb_key):
    d = device(phone, adb_key, cooldown_c=40.0, cooldown_max_s=0.6)
    assert d.cooldown() < 0.5  # hottest cpu/skin zone is 36.1 C
    (phone.sandbox / "system/thermal_status").write_text("3\n")
    assert d.cooldown() >= 0.6
    (phone.sandbox / "system/thermal_status").write_text("0\n")
    (phone.sandbox / "sys/class/thermal/thermal_zone1/temp").write_text("47000\n")
    assert d.cooldown() >= 0.6 and d.log["thermal"][-1]["hottest_c"] == 47.0
    b = d.battery()
    assert (b.level, b.temp_c, b.charging) == (87, 29.1, True) and d.log["battery"][-1]["level"] == 87
