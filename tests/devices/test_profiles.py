import os

import pytest

from devices import host
from devices.connect import open_device
from devices.profiles import DeviceUnavailable, get_profile, load_profile, profiles


def test_shipped_profiles():
    known = profiles()
    assert {"cpu", "pixel"} <= set(known)
    cpu = known["cpu"]
    assert (cpu.kind, cpu.runtime, cpu.threads) == ("local", "onnxruntime", 1)


def test_unknown_device_lists_known():
    with pytest.raises(ValueError, match="unknown device 'iphone'; known: cpu, pixel"):
        get_profile("iphone")


def test_pixel_is_not_available_yet():
    with pytest.raises(DeviceUnavailable, match="phone profiling is not available yet"):
        open_device(get_profile("pixel"))


@pytest.mark.parametrize("text, message", [
    ('name = "x"\nkind = "ssh"\n', "unknown kind 'ssh'; known: local, adb"),
    ('name = "x"\n', "missing field 'kind'"),
    ('name = "x"\nkind = "local"\ncolour = 1\n', "unknown field.*colour"),
    ('name = "x"\nkind = "local"\nthreads = 0\n', "threads must be a positive integer"),
    ('name = \n', "cannot read device profile"),
])
def test_bad_profile_files(tmp_path, text, message):
    f = tmp_path / "dev.toml"
    f.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_profile(f)


def test_local_device_provenance_and_pinning():
    before = os.sched_getaffinity(0)
    try:
        prov = open_device(get_profile("cpu"), affinity="last").prepare()
        assert prov["affinity"] == str(max(before))
        assert os.sched_getaffinity(0) == {max(before)}
        assert prov["device"] == "cpu" and prov["cores"] >= 1 and prov["device_model"]
    finally:
        os.sched_setaffinity(0, before)


def test_cpu_lists():
    assert host.format_cpus({0, 1, 2, 5}) == "0-2,5"
    assert host.parse_cpus("0-2,5") == {0, 1, 2, 5}
    with pytest.raises(ValueError, match="bad CPU list"):
        host.parse_cpus("a-b")
    with pytest.raises(ValueError, match="not available"):
        host.pin("4096")
