"""search.select: the argmax against architectures of its latency, each judged by the fine-tuned supernet."""

import dataclasses
import itertools
import subprocess
import sys

import pytest
import torch

from lut import load
from search.archfile import read_arch
from search.checkpoint import path_accuracy, restore_supernet
from search.data import load_data
from search.select import SELECT_TOLERANCE, candidates_near, judge_set
from search.space import get_space
from tests.conftest import FIXTURES, ROOT

TINY = FIXTURES / "spaces" / "tiny.toml"
LUT = FIXTURES / "measured" / "tiny-cpu.csv"


@pytest.fixture(scope="module")
def matrix():
    space = get_space(str(TINY))
    return space, load(LUT).matrix(space)


def test_candidates_are_the_base_and_distinct_architectures_of_its_latency(matrix):
    space, m = matrix
    cands = list(space.candidates)
    base = [cands[1]] * len(space.layers)
    got = candidates_near(m, cands, base, 6, seed=3)
    assert got[0] == base and len(got) == 6
    assert len({tuple(b) for b in got}) == 6
    for blocks in got[1:]:
        assert abs(m.predict(blocks) / m.predict(base) - 1) <= SELECT_TOLERANCE + 1e-12
    assert got == candidates_near(m, cands, base, 6, seed=3) != candidates_near(m, cands, base, 6, seed=4)
    assert candidates_near(m, cands, base, 1) == [base]
    fastest = ["skip"] * len(space.layers)  # nothing else of the tiny space lies within 5% of it
    assert candidates_near(m, cands, fastest, 6) == [fastest]
    with pytest.raises(ValueError, match="--select must be >= 1"):
        candidates_near(m, cands, base, 0)


def test_more_candidates_extend_fewer_so_select_20_judges_select_10s_and_ten_more(matrix):
    """The candidates are one seeded stream: --select 20's first 10 are --select 10's (what lets a finished search
    be judged again with more, and what docs/search.md's "--select 20" compared)."""
    space, m = matrix
    cands = list(space.candidates)
    base = [cands[1]] * len(space.layers)
    few, more = candidates_near(m, cands, base, 6, seed=5), candidates_near(m, cands, base, 12, seed=5)
    assert len(few) == 6 and len(more) == 12 and len({tuple(b) for b in more}) == 12  # the tiny band holds 15
    assert more[:6] == few


def test_a_search_with_select_returns_the_best_judged_architecture(tmp_path):
    out = tmp_path / "sel"
    proc = subprocess.run([sys.executable, "-m", "search.run", "--lut", str(LUT), "--space", str(TINY), "--limit",
                           "300", "--batch-size", "32", "--threads", "1", "--quiet", "--epochs", "2", "--loss", "target-abs",
                           "--target-ms", "0.035", "--select",
                           "4", "--select-steps", "3", "--select-seeds", "2", "--no-export", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    # the scratch judge's flag, given to the fine-tuned supernet's: said once, not silently dropped
    assert proc.stderr.count("warning: --select-seeds: not a setting of --select-judge supernet, so unused\n") == 1
    arch = read_arch(out / "arch.json")
    sel = arch.search["selection"]
    judged = sel["judged"]
    net, _ = restore_supernet(out)
    argmax = net.choices(net.probabilities().argmax(1))
    space, m = net.space, load(LUT).matrix(net.space)
    every = [list(a) for a in itertools.product(space.candidates, repeat=len(space.layers))]
    band = [a for a in every if a != argmax and abs(m.predict(a) / m.predict(argmax) - 1) <= SELECT_TOLERANCE]
    assert len(judged) == 1 + min(3, len(band)) and sel["steps"] == 3
    assert all(j["blocks"] in band for j in judged[1:])
    assert sel["argmax"] == judged[0]["blocks"] == argmax
    best = max(judged, key=lambda j: j["val_acc"])
    assert arch.blocks == best["blocks"] and arch.predicted_ms == pytest.approx(best["predicted_ms"])
    assert f"select: {len(judged)} architecture{'s' * (len(judged) != 1)} of" in proc.stderr
    # --resume of a finished search (its arch.json lost) selects again from search.json's --select, to the same pick
    (out / "arch.json").unlink()
    again = subprocess.run([sys.executable, "-m", "search.run", "--resume", str(out), "--quiet"], cwd=ROOT,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert read_arch(out / "arch.json").search["selection"] == sel and "warning" not in again.stderr
    # each judgement is the fine-tuned supernet's accuracy on the theta split and the spare images (--select-images
    # 5000 by default: all 1,138 digits outside --limit 300), as path_accuracy gives it
    splits = load_data("digits", seed=0, limit=300, spare=5000)
    assert sel["images"] == len(judge_set(splits)) == 60 + 1138
    assert "judged (fine-tuned supernet, 3 batches) on 1,198 held-out images" in proc.stderr
    assert sel["judge"] == "supernet" and "epochs" not in sel
    j, threads = judged[-1], torch.get_num_threads()
    torch.set_num_threads(1)  # as the search ran (--threads 1): near-tied logits of a 3-batch judge round alike
    try:
        assert j["val_acc"] == pytest.approx(path_accuracy(net, j["blocks"], splits.train_w, judge_set(splits),
                                                           net.space.input_size, finetune_steps=3))
    finally:
        torch.set_num_threads(threads)


def test_select_hands_the_supernet_back_as_it_came(tmp_path):
    """Each judgement recomputes BatchNorm statistics in the supernet; select restores them, so model.onnx and the
    checkpoint after a search are the supernet's as trained, whatever was judged."""
    from search.select import JudgeSettings, select

    out = tmp_path / "s"
    proc = subprocess.run([sys.executable, "-m", "search.run", "--lut", str(LUT), "--space", str(TINY), "--limit",
                           "300", "--batch-size", "32", "--threads", "1", "--quiet", "--epochs", "1", "--select", "0",
                           "--no-export", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    net, _ = restore_supernet(out)
    net.train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    space, m = net.space, load(LUT).matrix(net.space)
    base = [space.candidates[1]] * len(space.layers)
    splits = load_data("digits", seed=0, limit=300)
    picked = select(net, m, splits, space.input_size, base, 4, how=JudgeSettings(steps=2))
    assert len(picked["judged"]) == 4 and net.training
    after = net.state_dict()
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed == []


def test_the_scratch_judge_trains_each_candidate_from_scratch_on_the_weights_split_alone(matrix):
    """--select-judge scratch: each candidate's judgement is search.train.train_arch's test accuracy on the held-out
    images (theta split and spare) after --select-epochs epochs on the weights' split, from the search's seed; the
    supernet's weights play no part and are handed back unchanged."""
    from search.archfile import make_arch
    from search.data.sets import Splits
    from search.select import SCRATCH_LR, JudgeSettings, describe, select
    from search.supernet import Supernet
    from search.train import train_arch

    space, m = matrix
    splits = load_data("digits", seed=0, limit=600, spare=300)
    torch.manual_seed(0)
    net = Supernet(space, splits.num_classes, "hybrid", "shared")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    base = [space.candidates[1]] * len(space.layers)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        picked = select(net, m, splits, space.input_size, base, 3, seed=2,
                        how=JudgeSettings("scratch", epochs=2, batch_size=32))
        held = Splits("digits", splits.train_w, splits.train_theta.subset(slice(0, 0)), judge_set(splits),
                      splits.num_classes, splits.classes)
        want = [train_arch(make_arch(space, j["blocks"], num_classes=10), held, 2, 32, SCRATCH_LR * 32 / 256, 2,
                           test_every_epoch=False)["test_acc"] for j in picked["judged"]]
        # trained on the theta split too, the same network scores otherwise: the judge does not train on what it tests
        mixed = train_arch(make_arch(space, picked["judged"][0]["blocks"], num_classes=10),
                           dataclasses.replace(held, train_theta=splits.train_theta), 2, 32, SCRATCH_LR * 32 / 256,
                           2, test_every_epoch=False)["test_acc"]
    finally:
        torch.set_num_threads(threads)
    assert picked["judge"] == "scratch" and picked["epochs"] == 2 and "steps" not in picked
    assert picked["images"] == len(judge_set(splits)) == 120 + 300 and len(picked["judged"]) == 3
    assert [j["val_acc"] for j in picked["judged"]] == want
    assert mixed != want[0]
    assert max(want) > 15  # 2 epochs of 480 digits learn something (chance is 10%, on 420 images)
    best = max(range(3), key=lambda i: (want[i], i == 0))
    assert picked["blocks"] == picked["judged"][best]["blocks"]
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert describe(JudgeSettings("scratch", epochs=2)) == "trained from scratch, 2 epochs"  # search.run's summary
    with pytest.raises(ValueError, match="--select-judge: unknown judge 'oracle'"):
        select(net, m, splits, space.input_size, base, 2, how=JudgeSettings("oracle"))


def test_the_scratch_judge_of_several_seeds_scores_the_mean_of_their_trainings(matrix):
    """--select-seeds 2: each candidate is trained from the search's seed and the next on the weights' split, and
    judged by the mean of the two test accuracies; arch.json's selection records the seeds."""
    from search.archfile import make_arch
    from search.data.sets import Splits
    from search.select import SCRATCH_LR, JudgeSettings, describe, select
    from search.supernet import Supernet
    from search.train import train_arch

    space, m = matrix
    splits = load_data("digits", seed=0, limit=600, spare=300)
    torch.manual_seed(0)
    net = Supernet(space, splits.num_classes, "hybrid", "shared")
    base = [space.candidates[1]] * len(space.layers)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        picked = select(net, m, splits, space.input_size, base, 2, seed=5,
                        how=JudgeSettings("scratch", epochs=2, batch_size=32, seeds=2))
        held = Splits("digits", splits.train_w, splits.train_theta.subset(slice(0, 0)), judge_set(splits),
                      splits.num_classes, splits.classes)
        each = [[train_arch(make_arch(space, j["blocks"], num_classes=10), held, 2, 32, SCRATCH_LR * 32 / 256, seed,
                            test_every_epoch=False)["test_acc"] for seed in (5, 6)] for j in picked["judged"]]
    finally:
        torch.set_num_threads(threads)
    assert picked["judge"] == "scratch" and (picked["epochs"], picked["seeds"]) == (2, 2)
    assert [j["val_acc"] for j in picked["judged"]] == pytest.approx([(a + b) / 2 for a, b in each], abs=1e-9)
    assert all(a != b for a, b in each)  # two seeds, two trainings: not one counted twice
    assert describe(JudgeSettings("scratch", epochs=1, seeds=2)) == "trained from scratch, 1 epoch, mean of 2 seeds"


def test_select_finalists_trains_only_the_best_by_the_first_seed_from_the_others(matrix):
    """--select-seeds 2 --select-finalists 1: every candidate is trained from the search's seed, only the best by
    it from the next; its judgement is the mean of its two trainings, the others' their one, and arch.json's
    selection records each training (accs) and the finalists."""
    from search.archfile import make_arch
    from search.data.sets import Splits
    from search.select import SCRATCH_LR, JudgeSettings, describe, select, trainings
    from search.supernet import Supernet
    from search.train import train_arch

    space, m = matrix
    splits = load_data("digits", seed=0, limit=600, spare=300)
    torch.manual_seed(0)
    net = Supernet(space, splits.num_classes, "hybrid", "shared")
    base = [space.candidates[1]] * len(space.layers)
    how = JudgeSettings("scratch", epochs=2, batch_size=32, seeds=2, finalists=1)
    calls = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        picked = select(net, m, splits, space.input_size, base, 3, seed=5, how=how, progress=calls.append)
        held = Splits("digits", splits.train_w, splits.train_theta.subset(slice(0, 0)), judge_set(splits),
                      splits.num_classes, splits.classes)
        first = [train_arch(make_arch(space, j["blocks"], num_classes=10), held, 2, 32, SCRATCH_LR * 32 / 256, 5,
                            test_every_epoch=False)["test_acc"] for j in picked["judged"]]
        top = max(range(3), key=lambda i: (first[i], i == 0))
        second = train_arch(make_arch(space, picked["judged"][top]["blocks"], num_classes=10), held, 2, 32,
                            SCRATCH_LR * 32 / 256, 6, test_every_epoch=False)["test_acc"]
    finally:
        torch.set_num_threads(threads)
    assert len(calls) == trainings(how, 3) == 4  # 3 first trainings and 1 more
    assert (picked["seeds"], picked["finalists"]) == (2, 1)
    judged = picked["judged"]
    assert [j["accs"] for j in judged] == [[a, second] if i == top else [a] for i, a in enumerate(first)]
    assert judged[top]["val_acc"] == (first[top] + second) / 2
    assert [j["val_acc"] for i, j in enumerate(judged) if i != top] == [a for i, a in enumerate(first) if i != top]
    assert picked["blocks"] == judged[top]["blocks"]  # the only finalist
    assert first[top] != second
    assert describe(how) == "trained from scratch, 2 epochs, mean of 2 seeds for the best 1 by the first seed"
    assert trainings(JudgeSettings("scratch", seeds=3, finalists=5), 10) == 20
    assert trainings(JudgeSettings("scratch", seeds=3), 10) == trainings(JudgeSettings("scratch", seeds=3,
                                                                                       finalists=10), 10) == 30
    assert trainings(JudgeSettings("supernet", seeds=3, finalists=5), 10) == 10  # no seeds: one fine-tune each


def test_the_pick_is_a_finalist_even_where_another_scored_more_from_one_seed(matrix, monkeypatch):
    """A candidate that was not a finalist has one training, not the mean of all seeds: it is not picked over a
    finalist whose mean fell below its one score; among the finalists the best mean wins, the argmax on ties."""
    from search import select as sel
    from search.supernet import Supernet

    space, m = matrix
    splits = load_data("digits", seed=0, limit=600, spare=300)
    net = Supernet(space, 10, "hybrid", "shared")
    base = [space.candidates[1]] * len(space.layers)
    order = [tuple(b) for b in candidates_near(m, list(net.candidates), base, 4, 0)]
    table = {0: [80.0, 82.0, 81.0, 79.0], 1: [0.0, 70.0, 78.0, 0.0], 2: [0.0, 80.0, 80.0, 0.0]}  # seed -> by candidate
    seen = []

    def fake(net, blocks, splits, test, input_size, seed, how):
        assert how.seeds == 1  # one training per call
        seen.append((order.index(tuple(blocks)), seed))
        return table[seed][order.index(tuple(blocks))]

    monkeypatch.setitem(sel.JUDGES, "fake", sel.Judge(fake, ("seeds", "finalists"), lambda how: "fake"))
    picked = sel.select(net, m, splits, space.input_size, base, 4, seed=0,
                        how=sel.JudgeSettings("fake", seeds=2, finalists=2))
    assert seen == [(0, 0), (1, 0), (2, 0), (3, 0), (1, 1), (2, 1)]  # all once, then the best 2 (82, 81) again
    assert [j["val_acc"] for j in picked["judged"]] == [80.0, 76.0, 79.5, 79.0]
    assert tuple(picked["blocks"]) == order[2]  # 79.5 of two seeds, not the argmax's 80 of one
    table[1] = [0.0, 81.0, 82.0, 0.0]  # finalists 81.5 and 81.5: a tie, the earlier candidate (the draw's order)
    seen.clear()
    picked = sel.select(net, m, splits, space.input_size, base, 4, seed=0,
                        how=sel.JudgeSettings("fake", seeds=2, finalists=2))
    assert tuple(picked["blocks"]) == order[1]
    picked = sel.select(net, m, splits, space.input_size, base, 4, seed=0,
                        how=sel.JudgeSettings("fake", seeds=3, finalists=4))  # all four: every seed for each
    assert picked["finalists"] == 0 and all(len(j["accs"]) == 3 for j in picked["judged"])
    # the number of judgements is announced before the first: 4 + 2 here, 2 where the band holds the base alone
    planned, calls = [], []
    sel.select(net, m, splits, space.input_size, base, 4, seed=0, how=sel.JudgeSettings("fake", seeds=2, finalists=2),
               planned=planned.append, progress=calls.append)
    assert planned == [6] and len(calls) == 6
    fastest = ["skip"] * len(space.layers)  # nothing else of the tiny space lies within 5% of it
    order.append(tuple(fastest))
    table.update({s: v + [77.0] for s, v in table.items()})
    planned.clear()
    calls.clear()
    picked = sel.select(net, m, splits, space.input_size, fastest, 4, seed=0,
                        how=sel.JudgeSettings("fake", seeds=2, finalists=2), planned=planned.append,
                        progress=calls.append)
    assert planned == [2] and len(calls) == 2 and picked["judged"][0]["accs"] == [77.0, 77.0]


def test_select_jobs_judges_in_worker_processes_with_the_same_results(matrix):
    """--select-jobs 2: the scratch judge's trainings run two at a time in spawned workers (with the search's
    thread count), and every judgement, the finalists and the pick equal the one-at-a-time judging's, bit for bit;
    a judge without workers (the fine-tuned supernet) and a device other than the CPU judge one at a time."""
    from search.select import JudgeSettings, judging_jobs, select
    from search.supernet import Supernet

    space, m = matrix
    splits = load_data("digits", seed=0, limit=600, spare=300)
    torch.manual_seed(0)
    net = Supernet(space, splits.num_classes, "hybrid", "shared")
    base = [space.candidates[1]] * len(space.layers)
    how = JudgeSettings("scratch", epochs=1, batch_size=32, seeds=2, finalists=2)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        calls = {1: [], 2: []}
        picked = {jobs: select(net, m, splits, space.input_size, base, 4, seed=3, how=how, jobs=jobs,
                               progress=calls[jobs].append) for jobs in (1, 2)}
    finally:
        torch.set_num_threads(threads)
    assert picked[2] == picked[1]
    assert len(calls[2]) == len(calls[1]) == 4 + 2  # every judgement reported as it ends
    assert sum(len(j["accs"]) == 2 for j in picked[2]["judged"]) == 2
    assert len({j["val_acc"] for j in picked[2]["judged"]}) > 1  # real trainings, not one number
    assert judging_jobs("scratch", "cpu", 2) == 2 and judging_jobs("scratch", "cpu", 8, candidates=3) == 3
    assert judging_jobs("supernet", "cpu", 2) == 1 and judging_jobs("scratch", "meta", 2) == 1
    with pytest.raises(ValueError, match="--select-jobs must be >= 1, got 0"):
        judging_jobs("scratch", "cpu", 0)


def test_a_workers_error_stops_the_judging_with_that_error_and_the_supernet_as_it_came(matrix):
    """A training that raises in a --select-jobs worker raises the same error from select (search.run turns it
    into its one line); the supernet's weights and mode are handed back as they came."""
    from search.select import JudgeSettings, select
    from search.supernet import Supernet

    space, m = matrix
    splits = load_data("digits", seed=0, limit=600, spare=300)
    net = Supernet(space, splits.num_classes, "hybrid", "shared")
    net.eval()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    base = [space.candidates[1]] * len(space.layers)
    with pytest.raises(ValueError, match="--epochs must be >= 1, got 0"):
        select(net, m, splits, space.input_size, base, 3, how=JudgeSettings("scratch", epochs=0, batch_size=32),
               jobs=2)
    assert not net.training and all(torch.equal(v, before[k]) for k, v in net.state_dict().items())
