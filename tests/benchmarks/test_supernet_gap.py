"""benchmarks/supernet_gap.py measures the architecture whose judgement metrics.csv holds: the search's argmax, also
where --select returned another."""

from __future__ import annotations

import subprocess
import sys

from search.archfile import read_arch
from tests.conftest import FIXTURES, ROOT

TINY = FIXTURES / "spaces" / "tiny.toml"
LUT = FIXTURES / "measured" / "tiny-cpu.csv"


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_gap_trains_the_argmax_when_select_picked_another(tmp_path):
    out = tmp_path / "s"
    proc = run("-m", "search.run", "--lut", LUT, "--space", TINY, "--limit", "300", "--batch-size", "32", "--threads",
               "1", "--quiet", "--epochs", "2", "--loss", "target-abs", "--target-ms", "0.035", "--select", "6",
               "--select-steps", "10", "--no-export", "--seed", "3", "--out", out)
    assert proc.returncode == 0, proc.stderr
    arch = read_arch(out / "arch.json")
    argmax = arch.search["selection"]["argmax"]
    assert arch.blocks != argmax  # this seed's pick is another architecture of the argmax's latency
    gap = run(ROOT / "benchmarks" / "supernet_gap.py", out, "--threads", "1", "--seeds", "1")
    assert gap.returncode == 0, gap.stderr
    assert f"measuring the argmax ({' '.join(argmax)})" in gap.stdout
    assert f"{sum(b == 'skip' for b in argmax)} skips" in gap.stdout
    assert "stand-alone seed 0" in gap.stdout
