"""A new kind of device is one module plus one registration line: the child-process device of
tests/devices/child_device.py profiles a space through profiler.run with no edit in profiler/."""

from __future__ import annotations

import pytest

from devices.device import KINDS, Where, open_device
from devices.profiles import get_profile, load_profile
from lut import load
from search.space import load_space_file
from tests.conftest import FIXTURES, ROOT

CHILD = FIXTURES / "devices" / "child.toml"


def test_an_unregistered_kind_is_refused_by_name(tmp_path):
    f = tmp_path / "dev.toml"
    f.write_text('name = "x"\nkind = "ssh"\n')
    with pytest.raises(ValueError, match="unknown kind 'ssh'; known: local, adb"):
        load_profile(f)
    with pytest.raises(ValueError, match="unknown device kind 'ssh'; known: local, adb"):
        open_device(get_profile("cpu").__class__(name="x", kind="ssh"), Where())


def test_a_device_kind_from_one_module_profiles_a_space(tmp_path, capsys):
    from tests.devices import child_device  # its last line registers the kind "child"

    assert "child" in KINDS
    from profiler.run import main

    out = tmp_path / "child.csv"
    space = FIXTURES / "spaces" / "tiny.toml"
    code = main(["--device", str(CHILD), "--space", str(space), "--out", str(out), "--budget", "0.05",
                 "--min-runs", "5", "--tolerance", "0.2", "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    assert code == 0
    lut = load(out)
    assert lut.keys() == set(load_space_file(space).keys())
    assert lut.provenance()["device"] == ["child"] and lut.provenance()["conditions"] == ["in-network"]
    assert (lut.frame["copies"] >= 1).all() and (lut.frame["median_ms"] > 0).all()
    assert "timed by the portable runner in 1 child process(es)" in capsys.readouterr().out
    assert child_device.ChildProcessDevice.__module__ == "tests.devices.child_device"
    for path in (ROOT / "profiler").rglob("*.py"):  # profiler/ does not know this kind
        text = path.read_text()
        assert not any(name in text for name in ('"child"', "'child'", "child_device", "ChildProcessDevice")), path


def test_a_runner_from_one_module_profiles_on_the_phone(home, tmp_path):
    """A new runner (tests/devices/median_runner.py: one module, its last line registers it) measures on the
    emulated phone through profiler.run, with no edit elsewhere."""
    import json
    import os
    import subprocess
    import sys

    from devices.emulator import AdbEmulator, load_phone
    from tests.conftest import FAST, PHONE, PHONE_PROFILE

    program = FIXTURES / "runners" / "bin" / "median_runner.py"
    profile = tmp_path / "median.toml"
    fields = f'runner = "median_probe"\nrunner_binary = {json.dumps(str(program))}\nrepeats = 2'
    profile.write_text(PHONE_PROFILE.read_text().replace('runner = "portable"', fields))
    out = tmp_path / "median.csv"
    code = ("import sys\nimport tests.devices.median_runner\nfrom profiler.run import main\n"
            "raise SystemExit(main(sys.argv[1:]))")
    env = {**os.environ, "HOME": str(home), "LUTNAS_CACHE": str(home / "cache")}
    pub = (home / ".android" / "adbkey.pub").read_text()
    with AdbEmulator(load_phone(PHONE), tmp_path / "phone", authorized_keys=[pub]) as phone:
        proc = subprocess.run([sys.executable, "-c", code, "--device", str(profile), "--host", phone.address,
                               "--space", str(FIXTURES / "spaces" / "tiny.toml"), "--shard", "1/5", "--out", str(out),
                               *FAST], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        pushed = phone.sandbox / "data/local/tmp/lutnas/bin" / program.name
        assert proc.returncode == 0, proc.stderr
        assert pushed.read_bytes() == program.read_bytes()
    lut = load(out)
    assert len(lut) == 3 and (lut.frame["median_ms"] > 0).all() and set(lut.frame["n"]) == {2}  # two calls each
    assert lut.provenance()["conditions"] == ["warm"]  # a runner of one model file per call times warm
    assert all(v.endswith(")") and "(runner median_probe sha256:" in v for v in lut.provenance()["runtime_version"])
    for package in ("profiler", "devices"):
        for path in (ROOT / package).rglob("*.py"):
            assert "median_runner" not in path.read_text() and "median_probe" not in path.read_text(), path
