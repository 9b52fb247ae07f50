import os

import pytest

from devices import host
from devices.device import Where, open_device
from devices.profiles import DeviceUnavailable, get_profile, load_profile, profiles
from tests.conftest import ROOT


def test_shipped_profiles():
    known = profiles()
    assert {"cpu", "pixel"} <= set(known)
    cpu = known["cpu"]
    assert (cpu.kind, cpu.runtime, cpu.threads) == ("local", "onnxruntime", 1)


def test_unknown_device_lists_known():
    with pytest.raises(ValueError, match="unknown device 'iphone'; known: cpu, pixel"):
        get_profile("iphone")


def test_pixel_profile_opens_a_phone_without_connecting():
    pixel = get_profile("pixel")
    assert (pixel.kind, pixel.connection, pixel.runner, pixel.affinity, pixel.abi) == (
        "adb", "usb", "portable", "big", "arm64-v8a")
    assert pixel.cooldown_c > 0 and pixel.thermal_zones
    device = open_device(pixel, Where(host="192.168.1.20:5555"))  # --host overrides the profile's USB
    assert [str(d.transport.endpoint) for d in device.phones] == ["192.168.1.20:5555"]
    assert [str(d.transport.endpoint) for d in open_device(pixel, Where(serial="R58M123")).phones] == ["usb:R58M123"]
    farm = open_device(pixel, Where(serials=("A1", "10.0.0.2:5555")))
    assert [str(d.transport.endpoint) for d in farm.phones] == ["usb:A1", "10.0.0.2:5555"]
    with pytest.raises(ValueError, match="--host and --serial pick a phone"):
        open_device(get_profile("cpu"), Where(host="1.2.3.4:5555"))
    with pytest.raises(ValueError, match="--serials lists phones; device 'cpu' is not a phone"):
        open_device(get_profile("cpu"), Where(serials=("A1",)))
    with pytest.raises(ValueError, match="list each phone once"):
        open_device(pixel, Where(serials=("A1", "A1")))
    assert issubclass(__import__("devices.adb.transport", fromlist=["AdbError"]).AdbError, DeviceUnavailable)


@pytest.mark.parametrize("text, message", [
    ('name = "x"\nkind = "ssh"\n', "unknown kind 'ssh'; known: local, adb"),
    ('name = "x"\n', "missing field 'kind'"),
    ('name = "x"\nkind = "local"\ncolour = 1\n', "unknown field.*colour"),
    ('name = "x"\nkind = "local"\nthreads = 0\n', "threads must be a positive integer"),
    ('name = \n', "cannot read device profile"),
    ('name = "x"\nkind = "adb"\nrunner = "tvm"\n', "unknown runner 'tvm'; known: portable"),
    ('name = "x"\nkind = "adb"\ntimeout_s = 0\n', "timeout_s must be a positive number"),
    ('name = "x"\nkind = "adb"\nbatch = 0\n', "batch must be a positive integer"),
    ('name = "x"\nkind = "adb"\nthermal_zones = "cpu("\n', "thermal_zones is not a valid regular expression"),
    ('name = "x"\nkind = "adb"\nthermal_zones = 3\n', "thermal_zones must be a regular expression"),
    ('name = "x"\nkind = "adb"\ntimeout_s = inf\n', "timeout_s must be a finite number"),
    ('name = ""\nkind = "adb"\n', "name must be a non-empty string"),
    ('name = "x"\nkind = "local"\nconnection = "usb"\n', "connection: field.*of kind adb profiles .*not of kind local"),
    ('name = "x"\nkind = "local"\n[adb]\nbatch = 4\n', r"an \[adb\] table belongs in a profile of kind adb"),
    ('name = "x"\nkind = "adb"\n[adb]\ncolour = 1\n', r"unknown field\(s\) colour in \[adb\]"),
    ('name = "x"\nkind = "adb"\nbatch = 2\n[adb]\nbatch = 4\n', r"batch given both at the top and in \[adb\]"),
    ('name = "x"\nkind = "adb"\nadb = 3\n', r"adb must be a table \(\[adb\]\)"),
    ('name = "x"\nkind = "adb"\n[adb]\nbatch = 0\n', "batch must be a positive integer"),
])
def test_bad_profile_files(tmp_path, text, message):
    f = tmp_path / "dev.toml"
    f.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_profile(f)


def test_local_device_provenance_and_pinning():
    before = os.sched_getaffinity(0)
    try:
        prov = open_device(get_profile("cpu"), Where(affinity="last")).prepare()
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


def _sysfs(root, cpu, caches):
    for i, (level, kind, size) in enumerate(caches):
        d = root / f"cpu{cpu}" / "cache" / f"index{i}"
        d.mkdir(parents=True)
        for name, text in (("level", level), ("type", kind), ("size", size)):
            (d / name).write_text(f"{text}\n")


def test_cache_sizes_are_the_data_caches_of_the_cpu_smallest_first(tmp_path):
    _sysfs(tmp_path, 3, [("1", "Data", "32K"), ("1", "Instruction", "64K"), ("2", "Unified", "512K"),
                         ("3", "Unified", "32768K")])
    assert host.cache_sizes(3, root=str(tmp_path)) == [32 * 2**10, 512 * 2**10, 32 * 2**20]
    assert host.cache_sizes(4, root=str(tmp_path)) == []  # sysfs says nothing: no sizes


def test_unreadable_cache_entries_are_skipped(tmp_path):
    _sysfs(tmp_path, 0, [("1", "Data", "lots"), ("x", "Unified", "1M"), ("2", "Unified", "2M")])
    assert host.cache_sizes(0, root=str(tmp_path)) == [2 * 2**20]


@pytest.mark.parametrize("text, size", [("32K", 32768), ("1M", 2**20), ("2G", 2**31), ("512", 512), (" 8k\n", 8192)])
def test_parse_size(text, size):
    assert host.parse_size(text) == size


def test_parse_size_refuses_other_text():
    with pytest.raises(ValueError, match="bad cache size"):
        host.parse_size("1.5M")


def test_this_hosts_caches_are_read_where_sysfs_has_them():
    sizes = host.cache_sizes()
    assert sizes == sorted(sizes) or sizes == []  # one size per level, the smaller levels first on every CPU we know


def test_a_phone_profile_reads_the_same_with_its_fields_in_an_adb_table_or_at_the_top(tmp_path):
    """Phone fields in [adb] (the shipped form) or at the top level (older profiles): one Profile."""
    table = get_profile("pixel")
    text = (ROOT / "devices" / "profiles" / "pixel.toml").read_text().replace("[adb]", "")
    flat = tmp_path / "pixel-flat.toml"
    flat.write_text(text)
    assert load_profile(flat) == table
    assert (table.connection, table.cooldown_c, table.batch, table.thermal_zones) == ("usb", 42.0, 32, "cpu|soc|skin")
