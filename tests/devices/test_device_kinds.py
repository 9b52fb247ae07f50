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
