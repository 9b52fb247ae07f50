"""benchmarks/supernet_ranking.py on two small runs that share one tiny search's supernet: every supernet judges
every pooled architecture, its taus are the ones its judgements give, a second run judges nothing again, and runs of
another recipe are refused. The stand-alone accuracies are fixture numbers (the ranking's ground truth is input)."""

from __future__ import annotations

import csv
import itertools
import json
import shutil
import statistics
import subprocess
import sys

import pytest
from scipy.stats import kendalltau

from tests.conftest import FIXTURES, ROOT

TINY = FIXTURES / "spaces" / "tiny.toml"
LUT = FIXTURES / "measured" / "tiny-cpu.csv"
SETTINGS = {"data": "digits", "limit": 1000, "test_limit": 200, "resolution": 16, "train_epochs": 3, "batch_size": 32}
ARCHS = [list(b) for b in itertools.islice(itertools.product(["k3_e1", "k3_e1_g2", "k5_e3"], repeat=3), 0, 27, 5)]


def run(*args):
    return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=600)


def make_run(folder, search, accs, **settings):
    """A search_vs_random folder: settings, 6 architectures of one group, 2 trainings each, the search's folder."""
    (folder / "searches").mkdir(parents=True)
    shutil.copytree(search, folder / "searches" / "target-mid")
    (folder / "summary.json").write_text(json.dumps({"settings": {**SETTINGS, **settings}}))
    archs = [{"label": f"target-mid/random{i}", "group": "target-mid", "searched": False, "blocks": b}
             for i, b in enumerate(ARCHS)]
    (folder / "archs.json").write_text(json.dumps(archs))
    with (folder / "trainings.csv").open("w") as f:
        f.write("label,seed,test_acc,seconds\n")
        for a, acc in zip(archs, accs):
            f.write(f"{a['label']},0,{acc - 0.2},1\n{a['label']},1,{acc + 0.2},1\n")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranking")
    search = root / "search"
    proc = run("-m", "search.run", "--lut", LUT, "--space", TINY, "--limit", "1000", "--batch-size", "32", "--threads",
               "1", "--quiet", "--epochs", "4", "--warmup-epochs", "2", "--select", "0", "--no-export", "--seed", "1", "--out", search)
    assert proc.returncode == 0, proc.stderr
    make_run(root / "r1", search, [80, 82, 84, 86, 88, 90])
    make_run(root / "r2", search, [90, 88, 86, 84, 82, 80])
    make_run(root / "r3", search, [80, 81, 82, 83, 84, 85], limit=600)
    return root


def test_every_supernet_judges_every_pooled_architecture(runs):
    out = runs / "judged.csv"
    proc = run(ROOT / "benchmarks" / "supernet_ranking.py", runs / "r1", runs / "r2", "--out", out, "--threads", "1")
    assert proc.returncode == 0, proc.stderr
    with out.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 12  # 2 runs' supernets x (2 runs x 6 architectures)
    assert {r["supernet"] for r in rows} == {"r1:target-mid", "r2:target-mid"}
    acc = {(r["supernet"], r["label"]): float(r["supernet_acc"]) for r in rows}
    # the same supernet judges the same architecture of either run alike
    assert acc[("r1:target-mid", "r1:target-mid/random3")] == acc[("r1:target-mid", "r2:target-mid/random3")]
    truth = {f"r{n}:target-mid/random{i}": a for n, accs in ((1, [80, 82, 84, 86, 88, 90]), (2, [90, 88, 86, 84, 82, 80]))
             for i, a in enumerate(accs)}
    labels = sorted(truth)
    tau = kendalltau([acc[("r1:target-mid", lab)] for lab in labels], [truth[lab] for lab in labels]).statistic
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("r1:target-mid"))
    assert line.split()[-2] == f"{tau:.2f}"  # all pooled architectures (then the target-mid group: the same 12)
    assert "12 architectures of r1, r2; repeatability (seed against seed): all " in proc.stdout
    assert "mean tau over all pooled architectures, per mode: hybrid, theta-paths 2: " in proc.stdout
    assert statistics.fmean([tau, tau]) == pytest.approx(float(proc.stdout.split("(2 supernets)")[0].split()[-1]),
                                                          abs=0.006)

    before = out.read_bytes()
    again = run(ROOT / "benchmarks" / "supernet_ranking.py", runs / "r1", runs / "r2", "--out", out, "--threads", "1")
    assert again.returncode == 0 and out.read_bytes() == before  # every judgement is kept, none made again
    assert line in again.stdout


def test_runs_of_another_recipe_are_refused(runs):
    proc = run(ROOT / "benchmarks" / "supernet_ranking.py", runs / "r1", runs / "r3", "--out", runs / "x.csv")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: r3: trained with another recipe than r1 (limit 600 vs 1000)"
    assert not (runs / "x.csv").exists()
    missing = run(ROOT / "benchmarks" / "supernet_ranking.py", runs / "nope")
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: {runs / 'nope' / 'summary.json'}: missing " \
        f"(is {runs / 'nope'} a finished search_vs_random.py folder?)"
