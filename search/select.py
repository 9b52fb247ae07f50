"""The search's last step (``--select 10`` by default, ``--select 0`` skips it): rank the argmax architecture
against others of its latency with the supernet.

A supernet's weights as they are rank architectures of one latency poorly (Kendall tau -0.06 to 0.39 among the
mid-latency networks of `benchmarks/search_vs_random.py` in nine runs); after each architecture's copy of them
is fine-tuned for 50 batches they rank them at 0.09-0.53, after 150 batches (the default since lutnas 0.8) at
0.31-0.59, above the 50-batch judge in each of the seven runs measured both ways (docs/search.md, "A longer
fine-tune").
``--select K`` uses that: the argmax of P_theta and K-1 architectures drawn uniformly from those within
+-5% of its LUT latency (``search.sampling.near_latency``) are each fine-tuned from the supernet's weights on the
weights' split and tested on the theta split (images the weights never trained on) and on up to
``--select-images`` training images outside ``--limit`` that the search never loaded (``Splits.spare``); the most
accurate one is the search's result. The theta split alone is small (1,000 images at ``--limit 5000``: a standard
error of about 1.3 points, as wide as the spread of the judged architectures), and theta was fitted on it.
This is random search with a weight-sharing judge (Li & Talwalkar 2019; SPOS's selection step)
around DNAS's pick, which stays a candidate and wins ties.

``--select-judge scratch`` judges each candidate without the supernet: it is trained from scratch for
``--select-epochs`` epochs on the weights' split (search.train's recipe, one seed; with ``--select-seeds N``,
the mean of N trainings) and tested on the same held-out images. That is the FBNet paper's own last step
(sample architectures, train each from scratch) at a few epochs, and costs about as much as the fine-tuned
judge at 16x16 for each seed. With ``--select-finalists F`` (default 5, lutnas 0.13) every candidate is trained
from the first seed, and only the F best by it from the others (successive halving, Jamieson & Talwalkar 2016):
the pick is the finalist of the best mean. JUDGES names the judges.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple, Sequence

SELECT_K = 10  # --select's default: the argmax and 9 others (0 returns the argmax as it is)
SELECT_TOLERANCE = 0.05  # candidates' LUT latency within +-5% of the argmax's, as the random baselines'
FINETUNE_STEPS = 150  # the fine-tuned judge's batches (--select-steps, the benchmarks' --finetune-steps; 50 before 0.8)
SELECT_IMAGES = 5000  # --select-images: spare training images the judge tests on beside the theta split
FINETUNE_LR = 0.02  # its first SGD rate, decayed to 0 by a cosine over the steps
SELECT_EPOCHS = 3  # --select-epochs: the scratch judge's training epochs (search_vs_random.py's recipe has 3)
SELECT_SEEDS = 1  # --select-seeds: the scratch judge's trainings per candidate, its score their mean (lutnas 0.12)
SELECT_FINALISTS = 5  # --select-finalists: candidates trained from every --select-seeds seed (0: all; lutnas 0.13)
SCRATCH_LR = 0.2  # the scratch judge's SGD rate per 256 images (search.train's --lr, search_vs_random.py's recipe)
DRAW_STREAM = 7919  # added to the search's seed: candidates drawn apart from search_vs_random.py's baselines


def candidates_near(matrix: Any, candidates: Sequence[str], base: list[str], k: int, seed: int = 0
                    ) -> list[list[str]]:
    """``base`` and ``k - 1`` other architectures within +-5% of its LUT latency (fewer when the band holds
    fewer)."""
    from search.sampling import near_latency

    if k < 1:
        raise ValueError(f"--select must be >= 1, got {k}")
    if k == 1:
        return [list(base)]
    index = [candidates.index(b) for b in base]
    drawn = near_latency(matrix.latency_ms, matrix.fixed_ms, matrix.predict(base), k - 1, tolerance=SELECT_TOLERANCE,
                         seed=DRAW_STREAM + seed, exclude=[index],
                         allow_fewer=True)  # a narrow band: the ones it holds
    return [list(base)] + [[candidates[i] for i in a] for a in drawn]


@dataclasses.dataclass(frozen=True)
class JudgeSettings:
    """How --select judges: ``judge`` (a JUDGES name), the fine-tuned judge's ``steps``, the scratch judge's
    ``epochs``, ``seeds``, ``finalists`` (the candidates trained from every seed after the first; 0: all) and
    ``batch_size``."""

    judge: str = "supernet"
    steps: int = FINETUNE_STEPS
    epochs: int = SELECT_EPOCHS
    batch_size: int = 64
    seeds: int = SELECT_SEEDS
    finalists: int = 0


def judge_settings(run: dict[str, Any], batch_size: int, judge: str | None = None) -> JudgeSettings:
    """The judge a search's settings (search.json's "run") ask for, or ``judge`` with that search's settings; a
    search.json from before lutnas 0.11 (no select_judge, select_epochs) judged with the fine-tuned supernet, one
    from before 0.12 (no select_seeds) trained each candidate once, one from before 0.13 (no select_finalists)
    trained every candidate from every seed."""
    how = JudgeSettings(judge or run.get("select_judge") or "supernet", int(run.get("select_steps") or FINETUNE_STEPS),
                        int(run.get("select_epochs") or SELECT_EPOCHS), int(batch_size),
                        int(run.get("select_seeds") or SELECT_SEEDS), int(run.get("select_finalists") or 0))
    return effective(how, int(run.get("select") or 0))


def effective(how: JudgeSettings, k: int) -> JudgeSettings:
    """``how`` as it judges ``k`` candidates: ``finalists`` 0 (every candidate, every seed) where it keeps them
    all, or there is one seed."""
    if how.finalists >= k or how.seeds == 1:
        return dataclasses.replace(how, finalists=0)
    return how


def trainings(how: JudgeSettings, k: int) -> int:
    """How many judgements (trainings or fine-tunes) --select makes of ``k`` candidates."""
    if "seeds" not in JUDGES[how.judge].settings:
        return k
    how = effective(how, k)
    return k + (how.finalists or k) * (how.seeds - 1)


def judge_supernet(net: Any, blocks: list[str], splits: Any, test: Any, input_size: int, seed: int,
                   how: JudgeSettings) -> float:
    """Accuracy (%) on ``test`` of ``blocks`` with a copy of the supernet's weights fine-tuned ``how.steps``
    batches of the weights' split (search.checkpoint.path_accuracy)."""
    from search.checkpoint import path_accuracy

    return path_accuracy(net, blocks, splits.train_w, test, input_size, seed=seed, finetune_steps=how.steps)


def judge_scratch(net: Any, blocks: list[str], splits: Any, test: Any, input_size: int, seed: int,
                  how: JudgeSettings) -> float:
    """Accuracy (%) on ``test`` of ``blocks`` trained from scratch ``how.epochs`` epochs on the weights' split
    (search.train.train_arch: SGD at SCRATCH_LR per 256 images, cosine to 0), the mean over seeds ``seed`` to
    ``seed + how.seeds - 1``; the supernet is not used beyond its space and device."""
    device = next(net.parameters()).device
    return scratch_accuracy(net.space, blocks, held_out(splits, test), seed, how, device)


def held_out(splits: Any, test: Any) -> Any:
    """``splits`` as the scratch judge trains on them: the weights' split, and ``test`` as the test split."""
    return dataclasses.replace(splits, train_theta=splits.train_theta.subset(slice(0, 0)), test=test, spare=None)


def scratch_accuracy(space: Any, blocks: list[str], data: Any, seed: int, how: JudgeSettings,
                     device: Any = "cpu") -> float:
    """:func:`judge_scratch`'s score of ``blocks`` of ``space`` on ``data`` (:func:`held_out`'s splits)."""
    from search.archfile import make_arch
    from search.train import train_arch

    arch = make_arch(space, blocks, num_classes=data.num_classes)
    accs = [train_arch(arch, data, how.epochs, how.batch_size, SCRATCH_LR * how.batch_size / 256, seed + i,
                       device=device, test_every_epoch=False)["test_acc"] for i in range(how.seeds)]
    return float(sum(accs) / len(accs))


_WORKER: dict[str, Any] = {}  # a --select-jobs worker's held-out splits and space


def _init_worker(data: Any, space: Any, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    _WORKER.update(data=data, space=space)


def _scratch_task(blocks: list[str], seed: int, how: JudgeSettings) -> float:
    return scratch_accuracy(_WORKER["space"], blocks, _WORKER["data"], seed, how)


def scratch_pool(net: Any, splits: Any, test: Any, jobs: int) -> Callable[..., Any]:
    """``jobs`` spawned CPU worker processes, each with ``held_out(splits, test)`` and the supernet's space loaded
    once and the search's torch threads, as a function ``(blocks, seed, how) -> Future`` of the accuracy; call
    ``.shutdown()`` on its ``executor`` attribute when done. The same seed and thread count give the same
    numbers as :func:`judge_scratch` in the search's own process."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    import torch

    executor = ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_init_worker,
                                   initargs=(held_out(splits, test), net.space, torch.get_num_threads()))

    def submit(blocks: list[str], seed: int, how: JudgeSettings) -> Any:
        return executor.submit(_scratch_task, blocks, seed, how)

    submit.executor = executor  # type: ignore[attr-defined]
    return submit


class Judge(NamedTuple):
    """A --select judge: the function that scores one architecture, the JudgeSettings fields that arch.json's
    selection records beside its name, how search.run's summary names it with its settings, and where it can
    judge --select-jobs candidates at a time, the function that starts those workers (:func:`scratch_pool`)."""

    score: Callable[..., float]
    settings: tuple[str, ...]
    described: Callable[[JudgeSettings], str]
    pool: Callable[..., Any] | None = None


JUDGES: dict[str, Judge] = {
    "supernet": Judge(judge_supernet, ("steps",), lambda how: f"fine-tuned supernet, {how.steps} batches"),
    "scratch": Judge(judge_scratch, ("epochs", "seeds", "finalists"),
                     lambda how: f"trained from scratch, {how.epochs} epoch{'s' * (how.epochs != 1)}"
                                 + (f", mean of {how.seeds} seeds" if how.seeds > 1 else "")
                                 + (f" for the best {how.finalists} by the first seed" if how.finalists else ""),
                     scratch_pool),
}


def unused_settings(judge: str, given: set[str]) -> list[str]:
    """The --select-* judge flags in ``given`` (argparse destinations, e.g. ``select_seeds``) that ``judge`` has no
    use for (``--select-seeds`` with the fine-tuned supernet, say), as flags."""
    every = dict.fromkeys(name for j in JUDGES.values() for name in j.settings)  # in order, once each
    return [f"--select-{name}" for name in every if f"select_{name}" in given and name not in JUDGES[judge].settings]


def describe(how: JudgeSettings) -> str:
    """The judge and its setting in words, e.g. ``trained from scratch, 3 epochs``."""
    return JUDGES[how.judge].described(how)


def select(net: Any, matrix: Any, splits: Any, input_size: int, base: list[str], k: int, seed: int = 0,
           progress: Callable[[int], None] | None = None,
           how: JudgeSettings | None = None, planned: Callable[[int], None] | None = None, jobs: int = 1
           ) -> dict[str, Any]:
    """Judge ``base`` (the argmax) and k-1 architectures of its latency, each tested on ``splits.train_theta`` and
    ``splits.spare`` (:func:`judge_set`), by the judge ``how`` names (JUDGES; by default the supernet
    fine-tuned FINETUNE_STEPS batches of ``splits.train_w``). A judge of several seeds trains every candidate from
    the first and ``how.finalists`` of them (the best by it; 0: all) from the others. Returns ``{"blocks": the
    most accurate of those judged most often (base on ties), "argmax": base, "judge": its name, its settings
    ("steps"; or "epochs", "seeds" and "finalists"), "images": how many it tested on, "judged": [{"blocks",
    "predicted_ms", "val_acc", and with several seeds "accs", one per seed trained}, ...]}``. ``progress`` is
    called once per judgement, ``planned`` once beforehand with their number (:func:`trainings` of the candidates
    drawn: fewer than ``k`` where the latency band holds fewer). ``jobs`` > 1 judges that many at a time in worker
    processes where the judge can (the scratch judge on the CPU; :func:`judging_jobs`), with the same results.
    The supernet's weights, BatchNorm statistics and mode are as they were when it returns."""
    how = how or JudgeSettings()
    if how.judge not in JUDGES:
        raise ValueError(f"--select-judge: unknown judge {how.judge!r} (known: {', '.join(JUDGES)})")
    judge = JUDGES[how.judge]
    cands = candidates_near(matrix, list(net.candidates), base, k, seed)
    if "seeds" in judge.settings:
        how = effective(how, len(cands))
    seeds = how.seeds if "seeds" in judge.settings else 1
    if planned:
        planned(trainings(how, len(cands)))
    once = dataclasses.replace(how, seeds=1) if seeds > 1 else how
    test = judge_set(splits)
    saved = {name: t.detach().clone() for name, t in net.state_dict().items()}  # each judgement recomputes BN
    training = net.training  # statistics in place; the supernet is handed back as it came (export, checkpoint)
    workers = judging_jobs(how.judge, next(net.parameters()).device, jobs, len(cands))
    pool = judge.pool(net, splits, test, workers) if workers > 1 else None

    def scores(todo: list[tuple[list[str], int]]) -> list[float]:
        if pool is None:
            accs = []
            for blocks, at in todo:
                accs.append(judge.score(net, blocks, splits, test, input_size, at, once))
                if progress:
                    progress(1)
            return accs
        from concurrent.futures import as_completed

        futures = [pool(blocks, at, once) for blocks, at in todo]
        for f in as_completed(futures):
            f.result()  # a worker's error stops the judging here
            if progress:
                progress(1)
        return [f.result() for f in futures]

    try:
        judged = [{"blocks": blocks, "predicted_ms": float(matrix.predict(blocks)), "val_acc": acc,
                   **({"accs": [acc]} if seeds > 1 else {})}
                  for blocks, acc in zip(cands, scores([(blocks, seed) for blocks in cands]))]
        if seeds > 1:
            chosen = finalists_of(judged, how.finalists)
            more = iter(scores([(judged[i]["blocks"], seed + s) for i in chosen for s in range(1, seeds)]))
            for i in chosen:
                accs = judged[i]["accs"]
                accs += [next(more) for _ in range(1, seeds)]
                judged[i]["val_acc"] = float(sum(accs) / len(accs))
    finally:
        if pool is not None:  # after an error or Ctrl-C, the trainings under way are not waited for
            pool.executor.shutdown(wait=False, cancel_futures=True)
        net.load_state_dict(saved)
        net.train(training)
    best = most_accurate(judged)
    settings = {name: getattr(how, name) for name in judge.settings}
    return {"blocks": judged[best]["blocks"], "argmax": list(base), "judge": how.judge,
            **settings, "images": len(test), "judged": judged}


def judging_jobs(judge: str, device: Any, jobs: int, candidates: int = 1 << 30) -> int:
    """How many judgements --select-jobs ``jobs`` runs at a time: ``jobs`` (at most one per candidate) where
    ``judge`` has worker processes (JUDGES' ``pool``) and judges on the CPU, else 1."""
    import torch

    if jobs < 1:
        raise ValueError(f"--select-jobs must be >= 1, got {jobs}")
    if JUDGES[judge].pool is None or torch.device(device).type != "cpu":
        return 1
    return max(1, min(jobs, candidates))


def finalists_of(judged: Sequence[dict[str, Any]], finalists: int) -> list[int]:
    """The indices of the ``finalists`` best judgements by their first training (``val_acc``; 0: all), best
    first; ties keep the draw's order, so the argmax comes first."""
    ranked = sorted(range(len(judged)), key=lambda i: -judged[i]["val_acc"])
    return ranked[:finalists or len(judged)]


def most_accurate(judged: Sequence[dict[str, Any]]) -> int:
    """The index of the most accurate judgement (``val_acc``) among those of the most seeds (``accs``: the
    finalists of --select-finalists), the first (the argmax) on ties."""
    return max(range(len(judged)), key=lambda i: (len(judged[i].get("accs", ())), judged[i]["val_acc"], i == 0))


def judge_set(splits: Any) -> Any:
    """The images --select tests on: the theta split, then the spare images when the splits hold some."""
    from search.data.sets import concat

    return splits.train_theta if splits.spare is None else concat(splits.train_theta, splits.spare)
