"""Host hygiene: busy share of other processes, steal and clock changes from /proc and /sys snapshots."""

from __future__ import annotations

import json
import shutil

import pytest

from devices.hygiene import Snapshot, assess, parse_loadavg, parse_stat, snapshot, warning_line
from tests.conftest import FIXTURES

HOST = FIXTURES / "host"


def root(tmp_path, stat: str, load: str = "loadavg-quiet", freqs=()):
    proc, sysfs = tmp_path / stat / "proc", tmp_path / stat / "sys"
    proc.mkdir(parents=True)
    shutil.copy(HOST / stat, proc / "stat")
    shutil.copy(HOST / load, proc / "loadavg")
    for i, khz in enumerate(freqs):
        f = sysfs / "devices" / "system" / "cpu" / f"cpu{i}" / "cpufreq" / "scaling_cur_freq"
        f.parent.mkdir(parents=True)
        f.write_text(f"{khz}\n")
    return proc, sysfs


def test_parsers():
    assert parse_loadavg((HOST / "loadavg-busy").read_text()) == 3.9
    assert parse_stat((HOST / "stat-0").read_text()) == (1000, 0, 200, 8000, 50, 0, 10, 0, 0, 0)
    assert parse_loadavg("") is None and parse_stat("intr 1\n") is None


def test_a_quiet_host_gives_no_warning(tmp_path):
    before = snapshot(*root(tmp_path, "stat-0"))
    after = snapshot(*root(tmp_path, "stat-quiet"))
    report = assess(before, after, own_threads=1, cpus=2)
    # 2,000 ticks: 550 busy (27.5%), the measuring thread can use 50% of 2 CPUs -> others 0%
    assert report.busy_pct == pytest.approx(27.5) and report.others_pct == 0.0 and report.steal_pct == 0.0
    assert report.warnings == [] and warning_line(report, "lut/cpu.csv") is None


def test_other_processes_steal_and_a_changing_clock_are_named(tmp_path):
    before = snapshot(*root(tmp_path, "stat-0", freqs=(2_000_000, 2_000_000)))
    busy = snapshot(*root(tmp_path, "stat-busy", "loadavg-busy", freqs=(1_400_000, 2_000_000)))
    report = assess(before, busy, own_threads=1, cpus=2)
    assert report.busy_pct == pytest.approx(100 * 2000 / 2100) and report.others_pct == pytest.approx(100 * 2000 / 2100 - 50)
    assert report.freq_min_mhz == 1400 and report.freq_max_mhz == 2000
    line = warning_line(report, "lut/cpu.csv")
    assert line == ("warning: lut/cpu.csv is likely disturbed: other processes kept 45% of the 2 CPUs busy; the CPU "
                    "clock varied between 1400 and 2000 MHz while measuring (load average 3.9); re-measure on a "
                    "quiet host")
    stolen = assess(before, snapshot(*root(tmp_path, "stat-steal")), own_threads=1, cpus=2)
    assert stolen.steal_pct == pytest.approx(15.0) and "the hypervisor stole 15.0% of the CPU time" in stolen.warnings


def test_a_host_without_counters_reports_nothing():
    empty = Snapshot(0.0, None, None)
    report = assess(empty, Snapshot(1.0, None, None), own_threads=1, cpus=2)
    assert report.busy_pct is None and report.warnings == [] and report.seconds == 1.0


def test_profiler_run_writes_the_host_report(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    out = tmp_path / "t.csv"
    proc = subprocess.run([sys.executable, "-m", "profiler.run", "--device", "cpu", "--space",
                           str(FIXTURES / "spaces" / "tiny.toml"), "--out", str(out), "--budget", "0.05",
                           "--min-runs", "5", "--tolerance", "0.2", "--quiet", "--cache-dir", str(tmp_path / "c")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "t.host.json").read_text())
    assert report["format"] == "lutnas-host-report" and report["own_threads"] == 1 and report["seconds"] > 0
    assert 0 <= report["busy_pct"] <= 100 and isinstance(report["warnings"], list)
    assert ("likely disturbed" in proc.stderr) == bool(report["warnings"])
