"""benchmarks/search_vs_random.py's steps 2 to 4 on --jobs slots (search_and_train): a search's group is drawn and
trained as soon as that search ends, in slots no search waits for. The searches and trainings are stand-ins
with set durations (the real ones take minutes); the draws, files and the schedule are the script's own."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest

from tests.benchmarks.test_search_vs_random import load_benchmark

CANDS = ["a", "b", "c", "d"]
TABLE = np.random.default_rng(2).uniform(0.02, 0.1, size=(12, 4))
MATRIX = SimpleNamespace(latency_ms=TABLE, fixed_ms=0.1, candidates=CANDS,
                         predict=lambda blocks: 0.1 + sum(TABLE[i][CANDS.index(b)] for i, b in enumerate(blocks)))
# what each search returns (blocks, argmax) and how long it runs (s): the mid-target search the longest, as its
# --select judges the slowest candidates
FOUND = {"target-mid": (["b", "c"] * 6, ["c", "b"] * 6), "fbnet-b0.6": (["a"] * 12, None),
         "fbnet-b1.5": (["a", "b"] + ["a"] * 10, None)}
SECONDS = {"target-mid": 1.5, "fbnet-b0.6": 0.1, "fbnet-b1.5": 0.1}
TRAIN_S = 0.03


@pytest.fixture(scope="module")
def svr():
    module = load_benchmark()
    module.POLL_S = 0.005
    return module


class Clock:
    """What ran when, and how many slots were busy at most."""

    def __init__(self):
        self.lock = threading.Lock()
        self.busy = self.most = 0
        self.events: list[tuple[float, str]] = []

    def enter(self, what: str) -> None:
        with self.lock:
            self.busy += 1
            self.most = max(self.most, self.busy)
            self.events.append((time.monotonic(), "start " + what))

    def leave(self, what: str) -> None:
        with self.lock:
            self.busy -= 1
            self.events.append((time.monotonic(), "end " + what))

    def when(self, event: str) -> float:
        return next(t for t, e in self.events if e == event)


class FakeSearch:
    """A search.run that writes its arch.json after SECONDS[label] (exit ``code``), as Popen's poll() shows it."""

    def __init__(self, clock: Clock, folder, label: str, code: int = 0):
        self.clock, self.folder, self.label, self.code = clock, folder, label, code
        self.ends = time.monotonic() + SECONDS[label]
        self.returncode = None
        self.terminated = False
        clock.enter(f"search {label}")

    def poll(self):
        if self.returncode is None and time.monotonic() >= self.ends:
            if self.code == 0:
                blocks, argmax = FOUND[self.label]
                selection = {"argmax": argmax} if argmax else None
                self.folder.mkdir(parents=True, exist_ok=True)
                found = {"blocks": blocks, "search": {"selection": selection}}
                (self.folder / "arch.json").write_text(json.dumps(found))
            self.returncode = self.code
            self.clock.leave(f"search {self.label}")
        return self.returncode

    def terminate(self):
        self.terminated = True
        self.ends = time.monotonic()


def stand_ins(clock: Clock, fail: str | None = None, started: list | None = None):
    def start(args, lut, plan, label):
        proc = FakeSearch(clock, args.out / "searches" / label, label, code=1 if label == fail else 0)
        if started is not None:
            started.append(proc)
        return proc

    def train(task):
        clock.enter(f"train {task['label']} {task['seed']}")
        time.sleep(TRAIN_S)
        clock.leave(f"train {task['label']} {task['seed']}")
        return {"label": task["label"], "seed": task["seed"], "test_acc": 80.0 + task["seed"], "seconds": TRAIN_S}

    return dict(start=start, pool=lambda args: ThreadPoolExecutor(args.jobs), train=train)


def args_for(svr, out, *more):
    return svr.parse_args(["--out", str(out), "--randoms", "3", "--front-randoms", "2", "--seeds", "2", *more])


def test_the_fast_searches_groups_train_while_the_slow_search_runs(svr, tmp_path):
    """--jobs 2, three searches: the third starts when the first fast one ends; when it ends too, the two fast
    groups' trainings fill the slot while the mid-target search runs on; at most 2 things run at once. The
    architectures are those the all-at-once draw gives (lutnas 0.13's), and every training is kept once."""
    clock = Clock()
    args = args_for(svr, tmp_path / "svr")
    plan = svr.search_plan(args, 0.5)
    folders, archs, rows = svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **stand_ins(clock))
    assert clock.most == 2
    assert clock.when("start search fbnet-b1.5") >= clock.when("end search fbnet-b0.6")
    mid_end = clock.when("end search target-mid")
    fast = [t for t, e in clock.events if e.startswith("start train fbnet")]
    assert len(fast) == 2 * 2 * 3  # 2 searches x (searched + 2 random) x 2 seeds
    assert max(fast) < mid_end  # every fast-corner training ran beside the mid-target search
    assert min(t for t, e in clock.events if e.startswith("start train target-mid")) >= mid_end

    once = tmp_path / "once"
    once.mkdir()
    expected = svr.draw_archs(args_for(svr, once), MATRIX, {k: v[0] for k, v in FOUND.items()},
                              {k: v[1] for k, v in FOUND.items() if v[1]})
    assert archs == expected == json.loads((tmp_path / "svr" / "archs.json").read_text())
    assert [a["label"] for a in archs][:2] == ["target-mid", "target-mid/argmax"]
    saved = svr.read_trainings(tmp_path / "svr" / "trainings.csv")
    assert sorted((r["label"], r["seed"]) for r in saved) == sorted((a["label"], s) for a in archs for s in (0, 1))
    assert saved == rows and folders == {label: tmp_path / "svr" / "searches" / label for label in plan}

    # a second run starts nothing and trains nothing: every file is as it was
    before = {p.name: p.read_bytes() for p in (tmp_path / "svr").glob("*.*")}
    again = stand_ins(Clock())
    again["start"] = again["train"] = None  # would raise if called
    assert svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **again)[1:] == (archs, rows)
    assert {p.name: p.read_bytes() for p in (tmp_path / "svr").glob("*.*")} == before


def test_one_job_runs_the_searches_first_then_the_trainings(svr, tmp_path):
    clock = Clock()
    args = args_for(svr, tmp_path / "svr", "--jobs", "1")
    svr.search_and_train(args, tmp_path / "lut.csv", svr.search_plan(args, 0.5), MATRIX, **stand_ins(clock))
    assert clock.most == 1
    kinds = [e.split()[1] for t, e in clock.events if e.startswith("start")]
    assert kinds == ["search"] * 3 + ["train"] * (5 * 2 + 2 * 3 * 2)  # mid: searched, argmax, 3 random


def test_an_interrupted_run_trains_only_what_is_missing(svr, tmp_path):
    """A finished search is not run again; trainings.csv's rows are not trained again."""
    clock = Clock()
    args = args_for(svr, tmp_path / "svr")
    plan = svr.search_plan(args, 0.5)
    first = svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **stand_ins(clock))
    rows = first[2]
    kept = [r for r in rows if r["label"] != "fbnet-b0.6/random1"]
    svr.write_trainings(kept, tmp_path / "svr" / "trainings.csv")
    (tmp_path / "svr" / "archs.json").unlink()  # as if stopped before the mid-target search ended
    (tmp_path / "svr" / "searches" / "target-mid" / "arch.json").unlink()
    clock = Clock()
    _, archs, rows = svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **stand_ins(clock))
    assert [e for _, e in clock.events if e.startswith("start")] == [
        "start search target-mid", "start train fbnet-b0.6/random1 0", "start train fbnet-b0.6/random1 1"]
    assert archs == first[1]
    assert sorted((r["label"], r["seed"]) for r in rows) == sorted((r["label"], r["seed"]) for r in first[2])


def test_a_failed_search_stops_the_others_and_keeps_the_trainings_under_way(svr, tmp_path, capsys):
    clock, started = Clock(), []
    args = args_for(svr, tmp_path / "svr")
    plan = svr.search_plan(args, 0.5)
    with pytest.raises(SystemExit) as stop:
        svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **stand_ins(clock, "fbnet-b0.6", started))
    assert stop.value.code == (f"search fbnet-b0.6 failed (exit 1): see "
                               f"{tmp_path / 'svr' / 'searches' / 'fbnet-b0.6.log'}")
    assert [p.label for p in started] == ["target-mid", "fbnet-b0.6"]  # fbnet-b1.5 never started
    assert started[0].terminated and not (tmp_path / "svr" / "archs.json").exists()
    assert "[search target-mid] done" not in capsys.readouterr().err


def test_a_failed_training_is_one_line_and_stops_the_running_search(svr, tmp_path):
    """A training that raises (in the real pool: a worker's error, or a worker killed) stops the run with one line
    naming it; the search still running is stopped (it resumes), the trainings already made are kept."""
    clock, started = Clock(), []
    parts = stand_ins(clock, started=started)
    fine = parts["train"]

    def train(task):
        if task["label"] == "fbnet-b0.6/random2":
            raise RuntimeError("out of memory")
        return fine(task)

    parts["train"] = train
    args = args_for(svr, tmp_path / "svr")
    with pytest.raises(SystemExit) as stop:
        svr.search_and_train(args, tmp_path / "lut.csv", svr.search_plan(args, 0.5), MATRIX, **parts)
    assert stop.value.code == "training fbnet-b0.6/random2 seed 0 failed: RuntimeError: out of memory"
    assert started[0].label == "target-mid" and started[0].terminated
    kept = svr.read_trainings(tmp_path / "svr" / "trainings.csv")
    assert [(r["label"], r["seed"]) for r in kept] == [("fbnet-b0.6", 0), ("fbnet-b0.6/random1", 0)]
    assert not (tmp_path / "svr" / "archs.json").exists()


def ranker(clock: Clock, fail: str | None = None):
    def rank(task):
        what = f"rank {task['judge']} {task['label']}"
        clock.enter(what)
        time.sleep(TRAIN_S / 3)
        clock.leave(what)
        if task["label"] == fail:
            raise ValueError("no checkpoint")
        return {"supernet": task["supernet"], "judge": task["judge"], "label": task["label"],
                "supernet_acc": 70.0 + len(task["blocks"]) + task["steps"] / 100, "seconds": TRAIN_S / 3}

    return rank


def test_the_ranking_runs_as_jobs_behind_the_trainings_once_every_search_ended(svr, tmp_path, capsys):
    """With ``rank`` (main passes the real one), step 5's judgements join the queue when the last search ends,
    behind the trainings queued by then, one job each in the --jobs slots: every architecture by both judges of
    the mid-target search's supernet, in ranking.csv once; a second run runs none again."""
    clock = Clock()
    args = args_for(svr, tmp_path / "svr", "--finetune-steps", "50")
    plan = svr.search_plan(args, 0.5)
    _, archs, rows = svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **stand_ins(clock),
                                          rank=ranker(clock))
    assert clock.most == 2
    starts = [(t, e) for t, e in clock.events if e.startswith("start rank")]
    assert len(starts) == 2 * len(archs)  # the weights as they are, and fine-tuned 50 batches
    assert min(t for t, _ in starts) >= clock.when("end search target-mid")
    last_train = max(t for t, e in clock.events if e.startswith("start train"))
    assert min(t for t, _ in starts) >= last_train  # behind every training queued when the searches ended
    ranked = svr.read_ranking(tmp_path / "svr" / "ranking.csv")
    assert sorted((r["judge"], r["label"]) for r in ranked) == sorted(
        (j, a["label"]) for j in ("weights", "ft50@0.02") for a in archs)
    assert {r["supernet"] for r in ranked} == {"target-mid"}
    said = capsys.readouterr().err.splitlines()
    assert f"[rank] {2 * len(archs)} judgements with the supernets to run, as jobs behind the trainings" in said
    assert "; 0 left, about 0 min" in [line for line in said if line.startswith("[train]")][-1]  # rankings not counted
    assert all(r["supernet_acc"] == 70.0 + 12 + (0.5 if r["judge"] == "ft50@0.02" else 0) for r in ranked)
    assert svr.supernet_ranking(args, {label: tmp_path / "svr" / "searches" / label for label in plan},
                                archs) == ranked  # nothing left for main's own step 5
    before = (tmp_path / "svr" / "ranking.csv").read_bytes()
    again = stand_ins(Clock())
    again["start"] = again["train"] = None
    assert svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **again, rank=None)[1:] == (archs, rows)
    assert svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **again, rank=ranker(Clock(), "x"))
    assert (tmp_path / "svr" / "ranking.csv").read_bytes() == before


def test_a_missing_judgement_is_ranked_again_and_a_failed_one_is_one_line(svr, tmp_path):
    clock = Clock()
    args = args_for(svr, tmp_path / "svr", "--finetune-steps", "0")
    plan = svr.search_plan(args, 0.5)
    _, archs, _ = svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **stand_ins(clock),
                                       rank=ranker(clock))
    path = tmp_path / "svr" / "ranking.csv"
    ranked = svr.read_ranking(path)
    svr.write_ranking(path, [r for r in ranked if r["label"] != "fbnet-b0.6/random1"])
    clock = Clock()
    again = stand_ins(clock)
    again["start"] = again["train"] = None
    svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **again, rank=ranker(clock))
    assert [e for _, e in clock.events if e.startswith("start")] == ["start rank weights fbnet-b0.6/random1"]
    assert sorted(r["label"] for r in svr.read_ranking(path)) == sorted(r["label"] for r in ranked)
    svr.write_ranking(path, [r for r in ranked if r["label"] != "target-mid/random2"])
    with pytest.raises(SystemExit) as stop:
        svr.search_and_train(args, tmp_path / "lut.csv", plan, MATRIX, **again,
                             rank=ranker(Clock(), "target-mid/random2"))
    assert stop.value.code == ("ranking target-mid/random2 with the supernet of target-mid (weights) failed: "
                               "ValueError: no checkpoint")


@pytest.fixture(scope="module")
def tiny_search(tmp_path_factory):
    """A real finished search (search.run, 1 epoch on the tiny space and digits): its supernet judges."""
    import subprocess
    import sys

    from tests.conftest import FIXTURES, ROOT

    out = tmp_path_factory.mktemp("search") / "search"
    proc = subprocess.run([sys.executable, "-m", "search.run", "--lut", str(FIXTURES / "measured" / "tiny-cpu.csv"),
                           "--space", str(FIXTURES / "spaces" / "tiny.toml"), "--limit", "300", "--batch-size", "32",
                           "--threads", "1", "--epochs", "1", "--select", "0", "--no-export", "--quiet", "--out",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def test_a_ranking_job_is_path_accuracy_with_the_searchs_supernet(svr, tiny_search):
    """The real job (_rank) in a worker's state: a real search's supernet, restored once per worker and kept, gives
    the accuracy search.checkpoint.path_accuracy gives with the same weights, plain and fine-tuned."""
    import torch

    from search.checkpoint import path_accuracy, restore_supernet
    from search.data import load_data

    out = tiny_search
    splits = load_data("digits", seed=0, limit=300)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        svr._WORKER.clear()
        svr._WORKER["splits"] = splits
        net = restore_supernet(out)[0]
        blocks = [net.candidates[1]] * len(net.space.layers)
        task = {"supernet": "target-mid", "folder": str(out), "judge": "ft5@0.02", "label": "x", "blocks": blocks,
                "steps": 5, "lr": 0.02}
        tuned = svr._rank(task)
        plain = svr._rank({**task, "judge": "weights", "steps": 0})
        assert list(svr._WORKER["supernets"]) == [str(out)]  # restored once
        want = [path_accuracy(net, blocks, splits.train, splits.test, net.space.input_size, finetune_steps=steps,
                              finetune_lr=0.02) for steps in (5, 0)]
    finally:
        svr._WORKER.clear()
        torch.set_num_threads(threads)
    assert [tuned["supernet_acc"], plain["supernet_acc"]] == want
    assert (tuned["label"], tuned["judge"], plain["judge"]) == ("x", "ft5@0.02", "weights") and tuned["seconds"] > 0


def test_main_ranks_what_the_jobs_left_in_its_own_process(svr, tiny_search, tmp_path):
    """supernet_ranking (main's step 5 after the schedule) runs the same job (_rank) in this process for the
    judgements ranking.csv lacks, one row each, and nothing when none is missing."""
    import torch

    out = tiny_search
    args = svr.parse_args(["--out", str(tmp_path / "svr"), "--data", "digits", "--limit", "300", "--test-limit",
                           "200", "--finetune-steps", "5", "--betas", ""])
    (tmp_path / "svr").mkdir()
    blocks = json.loads((out / "arch.json").read_text())["blocks"]
    archs = [{"label": "target-mid", "blocks": blocks}, {"label": "target-mid/random1", "blocks": ["skip"] * 3}]
    svr.write_ranking(tmp_path / "svr" / "ranking.csv", [
        {"supernet": "target-mid", "judge": "weights", "label": "target-mid", "supernet_acc": 12.5}])
    threads = torch.get_num_threads()
    try:
        rows = svr.supernet_ranking(args, {"target-mid": out}, archs)
    finally:
        svr._WORKER.clear()
        torch.set_num_threads(threads)
    assert [(r["judge"], r["label"]) for r in rows] == [
        ("weights", "target-mid"), ("weights", "target-mid/random1"), ("ft5@0.02", "target-mid"),
        ("ft5@0.02", "target-mid/random1")]
    assert rows[0]["supernet_acc"] == 12.5 and all(0 < r["supernet_acc"] <= 100 for r in rows[1:])
    assert svr.read_ranking(tmp_path / "svr" / "ranking.csv") == rows
    assert svr.supernet_ranking(args, {"target-mid": out}, archs) == rows and "splits" not in svr._WORKER
