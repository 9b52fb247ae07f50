"""benchmarks/judge_blind_spots.py: its taus are scipy's on a real run's files (runs/svr-10), a judge that ranks by
the opposite of the truth's part is named a blind spot, and bad input is a one-line error."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys

from scipy.stats import kendalltau

from tests.conftest import FIXTURES, ROOT

SCRIPT = ROOT / "benchmarks" / "judge_blind_spots.py"
SVR10 = FIXTURES / "svr" / "svr-10"

sys.path.insert(0, str(ROOT / "benchmarks"))
from judge_blind_spots import part_counts  # noqa: E402


def run_script(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_part_counts_split_names_at_underscores():
    assert part_counts(["k5_e1_g2", "skip", "k3_e1", "k5_e6"]) == {"k5": 2, "e1": 2, "g2": 1, "skip": 1, "k3": 1,
                                                                   "e6": 1}


def test_taus_are_scipys_on_a_real_run():
    proc = run_script(SVR10, "--judge", "ft50@0.02")
    assert proc.returncode == 0, proc.stderr
    archs = json.loads((SVR10 / "archs.json").read_text())
    accs: dict[str, list[float]] = {}
    with (SVR10 / "trainings.csv").open() as f:
        for r in csv.DictReader(f):
            accs.setdefault(r["label"], []).append(float(r["test_acc"]))
    with (SVR10 / "ranking.csv").open() as f:
        judged = {r["label"]: float(r["supernet_acc"]) for r in csv.DictReader(f) if r["judge"] == "ft50@0.02"}
    labels = [a["label"] for a in archs]
    truth = [statistics.fmean(accs[label]) for label in labels]
    e1 = [sum("e1" in b.split("_") for b in a["blocks"]) for a in archs]
    lines = proc.stdout.splitlines()
    header = lines[1].split()
    row = next(line.split() for line in lines if line.startswith("svr-10"))
    assert row[1] == "12"
    assert float(row[2]) == round(kendalltau([judged[label] for label in labels], truth).statistic, 2)
    at = 3 + 2 * (header.index("e1") - 3)  # each part has a truth and a judge column
    assert float(row[at]) == round(kendalltau(e1, truth).statistic, 2)
    assert float(row[at + 1]) == round(kendalltau(e1, [judged[label] for label in labels]).statistic, 2)


def write_run(folder, nets):
    """A search_vs_random-shaped folder from (blocks, truth, judge) triples, two seeds per network."""
    folder.mkdir()
    archs = [{"label": f"target-mid/random{i}", "group": "target-mid", "blocks": b} for i, (b, _, _) in
             enumerate(nets)]
    (folder / "archs.json").write_text(json.dumps(archs + [{"label": "fbnet-b1/random1", "group": "fbnet-b1",
                                                             "blocks": ["skip"] * 3}]))
    with (folder / "trainings.csv").open("w") as f:
        f.write("label,seed,test_acc,seconds\n")
        for a, (_, truth, _) in zip(archs, nets):
            f.write(f"{a['label']},0,{truth - 0.5},1\n{a['label']},1,{truth + 0.5},1\n")
        f.write("fbnet-b1/random1,0,99,1\n")
    with (folder / "ranking.csv").open("w") as f:
        f.write("supernet,judge,label,supernet_acc\n")
        for a, (_, _, judge) in zip(archs, nets):
            f.write(f"target-mid,ft150@0.02,{a['label']},{judge}\n")
            f.write(f"target-mid,weights,{a['label']},{100 - judge}\n")


def test_a_part_the_judge_ranks_against_the_truth_is_a_blind_spot(tmp_path):
    # the truth falls with each e1 layer, the judge rises with them; k3 is in every layer of every network
    nets = [(["k3_e1"] * n + ["k3_e3", "k3_e6", "k3_e3", "k3_e6"][:4 - n], 90.0 - n, 70.0 + n) for n in range(5)]
    write_run(tmp_path / "a", nets)
    write_run(tmp_path / "b", nets[1:])
    proc = run_script(tmp_path / "a", tmp_path / "b")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert ("blind spot: e1: the truth ranks by its count at -1.00 (same sign in 2 of the 2 runs where its count "
            "varies), the judge at +1.00") in out
    assert "blind spot: e3" in out and "blind spot: e6" in out  # fewer e1 layers: more e3 and e6 ones
    assert "k3" not in out.split("blind spot")[-1]  # a count that never changes ranks nothing
    assert "the best single count: fewer e1 layers ranks the networks at 1.00 on average, better than the judge " \
           "(-1.00)" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[3:6]}
    assert rows["a"][1:3] == ["5", "-1.00"] and rows["b"][1:3] == ["4", "-1.00"]
    k3 = 3 + 2 * out.splitlines()[1].split()[3:].index("k3")
    assert rows["a"][k3:k3 + 2] == ["-", "-"] and rows["mean"][k3 - 1:k3 + 1] == ["0.00", "0.00"]  # no n column
    # the plain judge (100 - the fine-tuned one's) ranks as the truth: no blind spot
    plain = run_script(tmp_path / "a", "--judge", "weights")
    assert plain.returncode == 0, plain.stderr
    assert "no blind spot" in plain.stdout and "no better than the judge (1.00)" in plain.stdout


def test_bad_input_is_one_line(tmp_path):
    proc = run_script(tmp_path, "--gap", "-1")
    assert proc.returncode == 2 and "--gap must be >= 0, got -1" in proc.stderr
    proc = run_script(tmp_path / "nothing")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "nothing/archs.json: not found" in proc.stderr
    nets = [(["k3_e1"] * n + ["k3_e3"] * (4 - n), 90.0 - n, 70.0 + n) for n in range(5)]
    write_run(tmp_path / "a", nets)
    proc = run_script(tmp_path / "a", "--judge", "ft999@0.02")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "a: 0 networks of group 'target-mid' with trainings and a judgement by target-mid's ft999@0.02" \
        in proc.stderr
    proc = run_script(tmp_path / "a", "--supernet", "fbnet-b1")  # --supernet and --group select what is read
    assert proc.returncode == 1 and "judgement by fbnet-b1's ft150@0.02" in proc.stderr
    proc = run_script(tmp_path / "a", "--group", "fbnet-b1")
    assert proc.returncode == 1 and "a: 0 networks of group 'fbnet-b1'" in proc.stderr
    (tmp_path / "a" / "trainings.csv").write_text("label,seed,test_acc,seconds\ntarget-mid/random0,0,high,1\n")
    proc = run_script(tmp_path / "a")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "a/trainings.csv: could not convert string to float: 'high'" in proc.stderr
    write_run(tmp_path / "b", nets)
    (tmp_path / "b" / "ranking.csv").write_text("supernet,label\ntarget-mid,target-mid/random0\n")
    proc = run_script(tmp_path / "b")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "b/ranking.csv: no 'supernet_acc' column" in proc.stderr


def test_a_ranking_csv_from_before_the_judge_column_is_the_plain_judges(tmp_path):
    nets = [(["k3_e1"] * n + ["k3_e3"] * (4 - n), 90.0 - n, 70.0 + n) for n in range(5)]
    write_run(tmp_path / "a", nets)
    with (tmp_path / "a" / "ranking.csv").open("w") as f:  # lutnas before 0.8: one judge, no judge column
        f.write("supernet,label,supernet_acc\n")
        f.writelines(f"target-mid,target-mid/random{i},{70.0 + i}\n" for i in range(5))
    proc = run_script(tmp_path / "a", "--judge", "weights")
    assert proc.returncode == 0, proc.stderr
    assert "blind spot: e1: the truth ranks by its count at -1.00" in proc.stdout
