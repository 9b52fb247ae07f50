"""Parsing what a phone says about itself (getprop, CPUs, thermal, battery)."""

from devices.adb import facts

GETPROP = """[ro.product.model]: [Pixel 7]
[ro.build.fingerprint]: [google/panther/panther:14/UQ1A/1:user/release-keys]
[persist.sys.empty]: []
garbage line
"""


def test_getprop():
    props = facts.parse_getprop(GETPROP)
    assert props == {"ro.product.model": "Pixel 7", "persist.sys.empty": "",
                     "ro.build.fingerprint": "google/panther/panther:14/UQ1A/1:user/release-keys"}


def test_cores_clusters_and_big_mask():
    cores = facts.parse_cores("cpu0 1803000 sched_pixel\ncpu1 1803000 sched_pixel\ncpu10 x y\n"
                              "cpu2 2850000 schedutil\ncpu3 2850000 schedutil\n")
    assert [c.id for c in cores] == [0, 1, 2, 3]
    assert facts.clusters(cores) == "cpu0-1 1803MHz sched_pixel; cpu2-3 2850MHz schedutil"
    assert facts.big_cores(cores) == [2, 3] and facts.cpu_mask([2, 3]) == "c" and facts.cpu_mask([6, 7]) == "c0"


def test_thermal_zones_and_status():
    t = facts.parse_thermal("skin-therm 33400\ncpu0-silver 61000\nbattery 29\nbroken\n"
                            "__lutnas_section__\nThermal Status: 2\n")
    assert t.zones == {"skin-therm": 33.4, "cpu0-silver": 61.0, "battery": 29.0} and t.status == 2
    assert t.hottest("skin|battery") == 33.4 and t.hottest() == 61.0 and t.hottest("gpu") is None
    assert facts.parse_thermal("").status == -1


def test_battery():
    b = facts.parse_battery("Current Battery Service state:\n  AC powered: false\n  USB powered: true\n"
                            "  status: 2\n  level: 87\n  temperature: 291\n")
    assert (b.level, b.temp_c, b.charging) == (87, 29.1, True)
    b = facts.parse_battery("  AC powered: false\n  USB powered: false\n  status: 3\n  level: 40\n")
    assert b.charging is False and b.temp_c is None
    assert facts.parse_battery("Can't find service: battery") == facts.Battery(None, None, None)
