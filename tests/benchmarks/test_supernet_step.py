"""benchmarks/supernet_step.py on the tiny space: its table, the modes' average steps derived from it, its peak
memory rows, and one-line errors for bad input. Times are not asserted (a shared VM), only what they add up to."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT

TINY = FIXTURES / "spaces" / "tiny.toml"
VARIANTS = ["shared w hard", "shared w soft", "shared theta hard", "shared theta soft", "shared theta pair", "child"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "benchmarks/supernet_step.py", "--space", str(TINY), "--batch", "8",
                           "--threads", "1", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def report():
    proc = run("--steps", "2", "--warmup", "1", "--weights", "shared", "--mem-steps", "1")
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_variant_is_timed_against_the_child(report):
    rows = {}
    for name in VARIANTS:
        m = re.search(rf"^{name}\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)$", report, re.M)
        assert m, f"no row for {name}"
        med, lo, hi, ratio, paired = (float(g) for g in m.groups())
        assert lo <= med <= hi and ratio > 0 and paired > 0
        rows[name] = ratio
    assert rows["child"] == 1.0
    assert "independent" not in report  # --weights shared only
    # each mode's epoch-average is 4 weights steps per theta step, from the table's own ratios
    modes = dict(re.findall(r"^  shared\s+(\S+(?: \(default, 2 paths\)| --theta-paths 0)?)\s+\d+ ms\s+([\d.]+)x",
                            report, re.M))
    assert set(modes) == {"hybrid (default, 2 paths)", "hybrid --theta-paths 0", "hard", "soft"}
    expect = {"hybrid (default, 2 paths)": ("w hard", "theta pair"), "hybrid --theta-paths 0": ("w hard", "theta soft"),
              "hard": ("w hard", "theta hard"), "soft": ("w soft", "theta soft")}
    for mode, (w, theta) in expect.items():
        assert float(modes[mode]) == pytest.approx((4 * rows[f"shared {w}"] + rows[f"shared {theta}"]) / 5, abs=0.02)
    assert re.search(r"^latency term fwd\+bwd: \d+ us = [\d.]+% of the hard weights step", report, re.M)


def test_peak_memory_is_measured_per_variant(report):
    for name in VARIANTS:
        m = re.search(rf"^{name}\s+(\d+)\s+(\d+)\s+(-?\d+)\s+(\S+)\s+([\d.]+)$", report.split("peak memory:")[1], re.M)
        assert m, f"no memory row for {name}"
        peak, build, step = (int(g) for g in m.groups()[:3])
        assert peak >= build > 50 and step == pytest.approx(peak - build, abs=1)  # MB; torch alone is ~100 MB
    assert re.search(r"^child\s+\d+\s+\d+\s+\d+\s+1\.00\s+1\.00$", report, re.M)


@pytest.mark.parametrize("args, message", [
    (["--weights", "bogus"], "unknown weights bogus; known: shared, independent"),
    (["--space", "nosuch"], "supernet_step: unknown space 'nosuch'"),
    (["--lut", "/nonexistent/x.csv"], "supernet_step: /nonexistent/x.csv: no such file"),
])
def test_bad_input_is_one_line_and_a_non_zero_exit(args, message):
    proc = run(*args)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().startswith(message) and len(proc.stderr.strip().splitlines()) == 1
