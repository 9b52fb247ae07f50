"""benchmarks/eval_batch.py: its table (one row per architecture, a time per batch, the best batch and the ratios
to 256 and to the default) and one-line errors. Times are not asserted (a shared VM), only the table's form."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "benchmarks/eval_batch.py", "--images", "96", "--rounds", "1", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_each_architecture_gets_a_time_per_batch_and_its_ratios():
    proc = run("--archs", "2", "--batches", "16,64")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "on 96 " in lines[0] and "1 thread(s), 1 rounds; default batch 64" in lines[0]
    assert lines[1].split() == ["architecture", "16", "64", "256", "best", "256/best", "256/default"]
    rows = [line.split() for line in lines[2:]]
    assert [r[0] for r in rows] == ["uniform0", "uniform1"]
    for r in rows:
        assert all(re.fullmatch(r"\d+\.\d\ds", t) for t in r[1:4])  # seconds per 10,000 images
        times = {b: float(t[:-1]) for b, t in zip((16, 64, 256), r[1:4])}
        assert int(r[4]) == min(times, key=times.get)
        assert float(r[5][:-1]) == pytest.approx(times[256] / times[int(r[4])], abs=0.02)  # of unrounded medians
        assert float(r[6][:-1]) == pytest.approx(times[256] / times[64], abs=0.02)


def test_bad_batches_are_one_line():
    proc = run("--batches", "16,x")
    assert proc.returncode == 2 and "--batches: not a comma-separated list of integers: '16,x'" in proc.stderr
    assert "Traceback" not in proc.stderr
