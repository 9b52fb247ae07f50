"""benchmarks/select_again.py: a finished search judged again with more --select candidates, on a real (tiny)
search, its real supernet and real trainings."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from lut import load
from search.select import SELECT_TOLERANCE
from search.space import get_space
from tests.conftest import FIXTURES, ROOT

TINY = FIXTURES / "spaces" / "tiny.toml"
LUT = FIXTURES / "measured" / "tiny-cpu.csv"
SCRIPT = ROOT / "benchmarks" / "select_again.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A search_vs_random-shaped folder: one tiny search with --select 3, three random networks and trainings.
    The search's own judgements are set to -1% so that any further judgement wins: the new pick is trained."""
    run = tmp_path_factory.mktemp("svr")
    folder = run / "searches" / "target-mid"
    proc = subprocess.run([sys.executable, "-m", "search.run", "--lut", str(LUT), "--space", str(TINY), "--limit",
                           "300", "--batch-size", "32", "--threads", "1", "--quiet", "--epochs", "2", "--loss",
                           "target-abs", "--target-ms", "0.035", "--select", "3", "--select-steps", "2", "--no-export",
                           "--out", str(folder)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    arch = json.loads((folder / "arch.json").read_text())
    for j in arch["search"]["selection"]["judged"]:
        j["val_acc"] = -1.0
    (folder / "arch.json").write_text(json.dumps(arch))
    space = get_space(str(TINY))
    m = load(LUT).matrix(space)
    picked = arch["search"]["selection"]["argmax"]  # the pick once its judgement ties with the others'
    ms = m.predict(picked)
    randoms = [{"label": f"target-mid/random{i + 1}", "group": "target-mid", "searched": False,
                "blocks": [space.candidates[i]] * len(space.layers), "lut_ms": ms * f}  # distinct blocks, set ms
               for i, f in enumerate((0.99, 1.01, 1.3))]
    (run / "archs.json").write_text(json.dumps([{"label": "target-mid", "group": "target-mid", "searched": True,
                                                 "blocks": picked, "lut_ms": ms}] + randoms))
    accs = {"target-mid": 50.0, "target-mid/random1": 0.0, "target-mid/random2": 100.0, "target-mid/random3": 0.0}
    with (run / "trainings.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["label", "seed", "test_acc", "seconds"])
        for label, acc in accs.items():
            w.writerows([[label, s, acc, 1.0] for s in (0, 1)])
    settings = {"data": "digits", "limit": 300, "test_limit": 200, "train_epochs": 1, "batch_size": 32}
    (run / "run.json").write_text(json.dumps({"format": 1, "settings": settings}))
    return run, m


def test_more_candidates_are_judged_and_a_new_pick_is_trained_and_compared(finished):
    run, m = finished
    proc = run_script(str(run), "--select", "6")
    assert proc.returncode == 0, proc.stderr
    state = json.loads((run / "select_again.json").read_text())
    arch = json.loads((run / "searches" / "target-mid" / "arch.json").read_text())
    own = arch["search"]["selection"]["judged"]
    more = state["searches"]["target-mid"]["judged"]
    assert len(own) == 3 and len(more) == 3  # the search's own 3 taken as they are, 3 more judged
    argmax = arch["search"]["selection"]["argmax"]
    blocks = [tuple(j["blocks"]) for j in own + more]
    assert len(set(blocks)) == 6
    for j in more:
        assert abs(m.predict(j["blocks"]) / m.predict(argmax) - 1) <= SELECT_TOLERANCE + 1e-12
        assert 0.0 <= j["val_acc"] <= 100.0 and j["predicted_ms"] == pytest.approx(m.predict(j["blocks"]))
    best = max(range(3), key=lambda i: more[i]["val_acc"])  # every one beats the own ones' -1%
    trained = state["searches"]["target-mid"]["trained"]
    assert list(trained) == [" ".join(more[best]["blocks"])] and len(trained[" ".join(more[best]["blocks"])]) == 2
    acc = sum(trained[" ".join(more[best]["blocks"])]) / 2
    assert 0.0 < acc < 100.0  # so it beats the two random networks at 0% and not the one at 100%
    assert "target-mid: its pick (#1 of 3) judged -1.00%" in proc.stdout
    assert "50.00%, beats 2 of its 3 random; pooled 1 of 2 (50%)" in proc.stdout  # random3 lies 30% slower
    assert f"--select 6: #{4 + best} judged {more[best]['val_acc']:.2f}%" in proc.stdout
    assert f"{acc:.2f}% ({acc - 50:+.2f}), beats 2 of the same 3" in proc.stdout
    # a second run judges and trains nothing more and reports the same
    again = run_script(str(run), "--select", "6")
    assert again.returncode == 0 and again.stdout == proc.stdout and "[target-mid]" not in again.stderr
    assert json.loads((run / "select_again.json").read_text()) == state
    # RUN named again in --pool counts once
    pooled = run_script(str(run), "--select", "6", "--pool", str(run))
    assert pooled.returncode == 0 and pooled.stdout == proc.stdout and "pooled from 1 run(s)" in proc.stdout


@pytest.mark.parametrize("flags, said", [
    (["--searches", "nope"], "no finished search nope (it holds target-mid)"),
    (["--select", "3"], "its own --select judged 3 networks already; ask for more"),
    (["--select", "4", "--judge-seeds", "2"], "--judge-seeds is the scratch judge's (--judge scratch); this one "
                                              "judges with the supernet"),
    (["--select", "4", "--judge-finalists", "1"], "--judge-finalists is the scratch judge's (--judge scratch); this "
                                                  "one judges with the supernet"),
])
def test_what_cannot_be_done_is_one_line(finished, flags, said):
    run, _ = finished
    before = sorted(p.name for p in run.iterdir())
    proc = run_script(str(run), *flags)
    assert proc.returncode == 1 and said in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and sorted(p.name for p in run.iterdir()) == before


def test_a_judge_trains_at_least_once(finished):
    run, _ = finished
    before = sorted(p.name for p in run.iterdir())
    proc = run_script(str(run), "--judge", "scratch", "--judge-seeds", "0")
    assert proc.returncode == 2 and "--judge-seeds must be >= 1" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in run.iterdir()) == before
    proc = run_script(str(run), "--judge", "scratch", "--judge-finalists", "-1")
    assert proc.returncode == 2 and "--judge-finalists must be >= 0" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in run.iterdir()) == before


def test_a_folder_that_is_not_a_run_is_named(tmp_path):
    proc = run_script(str(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (f"{tmp_path / 'run.json'}: not found: is {tmp_path} a finished "
                                   "search_vs_random.py folder?")


def test_a_pooled_run_of_another_recipe_is_refused(finished, tmp_path):
    run, _ = finished
    other = tmp_path / "svr-other"
    other.mkdir()
    settings = json.loads((run / "run.json").read_text())["settings"]
    (other / "run.json").write_text(json.dumps({"format": 1, "settings": {**settings, "limit": 5000}}))
    proc = run_script(str(run), "--select", "6", "--pool", str(other))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"{other / 'run.json'}: another training recipe than {run}'s (limit)"


def test_judgements_kept_for_other_candidates_are_refused_not_mixed(finished):
    run, _ = finished
    path = run / "select_again.json"
    if not path.exists():  # on its own, this test first makes the state
        assert run_script(str(run), "--select", "6").returncode == 0
    kept = path.read_text()
    state = json.loads(kept)
    state["searches"]["target-mid"]["judged"][0]["blocks"] = state["searches"]["target-mid"]["judged"][1]["blocks"]
    path.write_text(json.dumps(state))
    try:
        proc = run_script(str(run), "--select", "6")
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert proc.stderr.strip() == (f"{path}: its judgements of target-mid are not this search's candidates (was "
                                       "the search run again?); move the file away to judge afresh")
        assert json.loads(path.read_text()) == state  # left as it was
    finally:
        path.write_text(kept)


def test_another_judge_judges_every_candidate_afresh_as_search_run_would(finished):
    """--judge scratch on a search judged by its supernet: the same candidates (the seeded stream), each judged as
    search.run --select-judge scratch judges (search.select.judge_scratch with the search's seed and batch size),
    kept apart from the supernet's judgements; the report names the judge."""
    import torch

    from search.checkpoint import restore_supernet
    from search.data import load_data
    from search.select import JudgeSettings, judge_scratch, judge_set

    run, _ = finished
    kept = (run / "select_again.json").read_text() if (run / "select_again.json").exists() else None
    proc = run_script(str(run), "--select", "3", "--judge", "scratch")
    assert proc.returncode == 0, proc.stderr
    state = json.loads((run / "select_again.json").read_text())["searches"]["target-mid"]
    folder = run / "searches" / "target-mid"
    sel = json.loads((folder / "arch.json").read_text())["search"]["selection"]
    scratch = state["judges"]["scratch"]
    assert [j["blocks"] for j in scratch] == [j["blocks"] for j in sel["judged"]]
    assert kept is None or json.loads(kept)["searches"]["target-mid"]["judged"] == state["judged"]
    net, _ = restore_supernet(folder)
    splits = load_data("digits", seed=0, limit=300, spare=5000)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the search ran (--threads 1)
    try:
        want = judge_scratch(net, scratch[2]["blocks"], splits, judge_set(splits), net.space.input_size, 0,
                             JudgeSettings("scratch", epochs=3, batch_size=32))
    finally:
        torch.set_num_threads(threads)
    assert scratch[2]["val_acc"] == want
    best = max(range(3), key=lambda i: (scratch[i]["val_acc"], i == 0))
    if best == 0:  # the argmax: the search's own pick, whose judgements all tie at -1%
        assert f"--select 3 --judge scratch: the same pick (#1, judged {scratch[0]['val_acc']:.2f}%" in proc.stdout
    else:
        assert f"--select 3 --judge scratch: #{best + 1} judged {scratch[best]['val_acc']:.2f}%" in proc.stdout
        assert len(state["trained"][" ".join(scratch[best]["blocks"])]) == 2


def test_a_search_judged_from_scratch_is_judged_further_by_its_own_judge(finished, tmp_path):
    """arch.json's "judge" read back: a search run with --select-judge scratch --select-epochs 1 --select-seeds 2
    keeps its own two judgements, and the third candidate is trained from scratch for 1 epoch from 2 seeds, as
    search.run would have; --judge-seeds 1 is another judge, kept apart."""
    import shutil

    import torch

    from search.checkpoint import restore_supernet
    from search.data import load_data
    from search.select import JudgeSettings, judge_scratch, judge_set

    src, _ = finished
    run = tmp_path / "svr"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("select_again.json"))
    folder = run / "searches" / "target-mid"
    proc = subprocess.run([sys.executable, "-m", "search.run", "--lut", str(LUT), "--space", str(TINY), "--limit",
                           "300", "--batch-size", "32", "--threads", "1", "--quiet", "--epochs", "2", "--loss",
                           "target-abs", "--target-ms", "0.035", "--select", "2", "--select-judge", "scratch",
                           "--select-epochs", "1", "--select-seeds", "2", "--no-export", "--out", str(folder),
                           "--overwrite"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    sel = json.loads((folder / "arch.json").read_text())["search"]["selection"]
    assert sel["judge"] == "scratch" and (sel["epochs"], sel["seeds"]) == (1, 2) and "steps" not in sel
    again = run_script(str(run), "--select", "3")
    assert again.returncode == 0, again.stderr
    mine = json.loads((run / "select_again.json").read_text())["searches"]["target-mid"]
    assert "judges" not in mine and len(mine["judged"]) == 1  # its own judge: 2 kept from arch.json, 1 more
    assert "(scratchx2)" in again.stderr
    net, _ = restore_supernet(folder)
    splits = load_data("digits", seed=0, limit=300, spare=5000)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        want = judge_scratch(net, mine["judged"][0]["blocks"], splits, judge_set(splits), net.space.input_size, 0,
                             JudgeSettings("scratch", epochs=1, batch_size=32, seeds=2))
        once = judge_scratch(net, mine["judged"][0]["blocks"], splits, judge_set(splits), net.space.input_size, 0,
                             JudgeSettings("scratch", epochs=1, batch_size=32))
    finally:
        torch.set_num_threads(threads)
    assert mine["judged"][0]["val_acc"] == want
    # one seed is another judge: every candidate judged afresh, kept under scratch apart from the search's own
    single = run_script(str(run), "--select", "3", "--judge-seeds", "1")
    assert single.returncode == 0, single.stderr
    mine = json.loads((run / "select_again.json").read_text())["searches"]["target-mid"]
    assert len(mine["judged"]) == 1 and len(mine["judges"]["scratch"]) == 3
    assert [j["blocks"] for j in mine["judges"]["scratch"]] == [j["blocks"] for j in sel["judged"]] + \
        [mine["judged"][0]["blocks"]]
    assert mine["judges"]["scratch"][2]["val_acc"] == once
    assert "--select 3 --judge-seeds 1: " in single.stdout


def test_a_search_of_select_finalists_is_judged_afresh_with_every_seed(finished, tmp_path):
    """search.run --select 3 --select-seeds 2 --select-finalists 1 trains one candidate from both seeds and picks
    it; select_again judges every candidate from both seeds, apart from the search's own judgements (kept under
    scratchx2), and the finalist's judgement repeats the search's to the last digit."""
    import shutil

    src, _ = finished
    run = tmp_path / "svr"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("select_again.json"))
    folder = run / "searches" / "target-mid"
    proc = subprocess.run([sys.executable, "-m", "search.run", "--lut", str(LUT), "--space", str(TINY), "--limit",
                           "300", "--batch-size", "32", "--threads", "1", "--epochs", "2", "--loss",
                           "target-abs", "--target-ms", "0.035", "--select", "3", "--select-judge", "scratch",
                           "--select-epochs", "1", "--select-seeds", "2", "--select-finalists", "1", "--no-export",
                           "--out", str(folder), "--overwrite"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "(trained from scratch, 1 epoch, mean of 2 seeds for the best 1 by the first seed) on " in proc.stderr
    sel = json.loads((folder / "arch.json").read_text())["search"]["selection"]
    assert (sel["seeds"], sel["finalists"]) == (2, 1) and len(sel["judged"]) == 3
    assert sorted(len(j["accs"]) for j in sel["judged"]) == [1, 1, 2]
    final = next(j for j in sel["judged"] if len(j["accs"]) == 2)
    assert sel["blocks"] == final["blocks"] and final["val_acc"] == sum(final["accs"]) / 2
    assert "warning" not in proc.stderr  # every --select-* flag given is the scratch judge's
    assert f"the pick {final['val_acc']:.1f}% (" in proc.stderr  # the finalist's mean, not a higher first seed
    assert ("(its first seed: not a finalist)" in proc.stderr) == (sel["judged"][0] is not final)
    assert json.loads((folder / "search.json").read_text())["run"]["select_finalists"] == 1
    again = run_script(str(run), "--select", "3")
    assert again.returncode == 0, again.stderr
    mine = json.loads((run / "select_again.json").read_text())["searches"]["target-mid"]
    assert not mine.get("judged") and len(mine["judges"]["scratchx2"]) == 3  # none taken from arch.json
    afresh = {tuple(j["blocks"]): j["val_acc"] for j in mine["judges"]["scratchx2"]}
    assert afresh[tuple(final["blocks"])] == final["val_acc"]


def test_finalists_judge_more_candidates_as_search_run_would_reusing_every_training(finished, tmp_path):
    """--judge-finalists: a search of --select 3 --select-seeds 2 --select-finalists 1 judged on 4 candidates
    gives arch.json's judgements of the same search run with --select 4 (every value, to the last digit), with
    only the trainings the search did not make: the 4th candidate's first seed, and its second if it becomes the
    finalist. A second run trains nothing; --judge-finalists 0 is the judge of every seed, kept apart."""
    import shutil

    src, _ = finished
    run = tmp_path / "svr"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("select_again.json"))
    common = [sys.executable, "-m", "search.run", "--lut", str(LUT), "--space", str(TINY), "--limit", "300",
              "--batch-size", "32", "--threads", "1", "--quiet", "--epochs", "2", "--loss", "target-abs",
              "--target-ms", "0.035", "--select-judge", "scratch", "--select-epochs", "1", "--select-seeds", "2",
              "--select-finalists", "1", "--no-export", "--overwrite"]
    folder = run / "searches" / "target-mid"
    for k, out in (("3", folder), ("4", tmp_path / "four")):
        proc = subprocess.run([*common, "--select", k, "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr
    want = json.loads((tmp_path / "four" / "arch.json").read_text())["search"]["selection"]["judged"]
    again = run_script(str(run), "--select", "4", "--judge-finalists", "1")
    assert again.returncode == 0, again.stderr
    mine = json.loads((run / "select_again.json").read_text())["searches"]["target-mid"]
    store = mine["seeded"]["scratch epochs 1 batch 32"]
    fourth = " ".join(want[3]["blocks"])
    made = ["0|" + fourth] + (["1|" + fourth] if len(want[3]["accs"]) == 2 else [])
    assert again.stderr.count("(scratchx2, finalists 1)") == len(made)  # one line per training made
    assert len(store) == 4 + len(made)  # the search's 3 first seeds and its finalist's second, kept
    assert mine["judges"]["scratchx2f1"] == want  # to the last digit, each finalist's mean and trainings
    assert sorted(len(j["accs"]) for j in want) == [1, 1, 1, 2]
    pick = max(range(4), key=lambda i: (len(want[i]["accs"]), want[i]["val_acc"], i == 0))
    line = [x for x in again.stdout.splitlines() if x.startswith("  --select 4 --judge-finalists 1: ")]
    assert len(line) == 1 and f"#{pick + 1}" in line[0] and f"judged {want[pick]['val_acc']:.2f}%" in line[0]
    rerun = run_script(str(run), "--select", "4", "--judge-finalists", "1")
    assert rerun.returncode == 0 and "finalists 1)" not in rerun.stderr and rerun.stdout == again.stdout
    every = run_script(str(run), "--select", "4", "--judge-finalists", "0")
    assert every.returncode == 0, every.stderr
    assert len(json.loads((run / "select_again.json").read_text())["searches"]["target-mid"]["judges"]["scratchx2"]) \
        == 4
