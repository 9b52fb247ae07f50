"""A finished search judged again with more --select candidates or another judge, its new pick trained as the
benchmark trains.

    python benchmarks/select_again.py runs/svr-28 --select 20 [--searches target-mid] [--pool runs/svr-2?]
    python benchmarks/select_again.py runs/svr-28 --select 10 --judge scratch [--judge-seeds 3]
    python benchmarks/select_again.py runs/svr-28 --select 20 --judge scratch --judge-seeds 3 --judge-finalists 5

RUN is a finished `benchmarks/search_vs_random.py` folder. For each search in it (--searches, default all):

1. The candidates `search.run --select K` would have judged (search.select.candidates_near). They are one
   seeded stream, so the first ones are those the search's own --select judged: their judgements are taken
   from its arch.json, and only the others are judged, as search.run judges (search.select's judge with the
   search's settings, on its theta split and spare images, with its --threads). With --judge another than the
   search's own (search.run --select-judge: supernet or scratch; --judge-seeds: the scratch judge's
   --select-seeds), every candidate is judged by that one. Each is trained from every seed: a search whose
   --select-finalists trained only its best from all its seeds is judged afresh, as another judge. With
   --judge-finalists F (lutnas 0.13.1) the scratch judge judges as search.run --select-finalists F does: each
   candidate trained from the search's seed, the F best by that from the other seeds. Those trainings, one
   candidate and one seed each, are kept and reused by any --judge-seeds and --judge-finalists, together with
   the search's own (arch.json's "accs") and this script's one-seed judgements: a search judged with
   --select 10 --select-seeds 3 --select-finalists 5 is judged with --select 20 by training only what
   search.run --select 20 would have trained beyond it.
2. When the most accurate judged network (the argmax on ties, as search.select) is not the search's own pick,
   it is trained from scratch with search_vs_random.py's recipe, for the run's --seeds (unless the run trained
   it already: the search's argmax, say).
3. Both picks are compared with the run's random networks of that search (how many each beats) and with every
   random network of RUN and the --pool folders (same recipe) within +-5% of each pick's LUT latency: the
   latency band of a new pick is not the one its run drew random networks around.

Judgements and trainings are kept in RUN/select_again.json as they are made: an interrupted run continues
and a finished one only reports. Cost: a judgement at 16x16 on 31,000 images takes 20-60 s on one core
(mid-latency networks the longest), a training 10-60 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search_vs_random import SELECT, TOLERANCE, accuracies_by_label, load_splits, read_trainings  # noqa: E402
from supernet_ranking import RECIPE  # noqa: E402  (the settings two runs' trainings must share)
from search.select import JUDGES  # noqa: E402
from search.select import most_accurate as pick  # noqa: E402

STATE = "select_again.json"
STATE_FORMAT = 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a finished benchmarks/search_vs_random.py folder")
    p.add_argument("--select", type=int, default=SELECT, metavar="K",
                   help=f"candidates to judge, the search's own among them (default {SELECT}, search_vs_random.py's)")
    p.add_argument("--searches", default="", metavar="LABELS",
                   help="searches to judge again, separated by commas (default: every one in RUN/searches)")
    p.add_argument("--judge", choices=tuple(JUDGES), default=None,
                   help="judge every candidate with this search.run --select-judge instead (default: the search's "
                   "own, and its own judgements are kept)")
    p.add_argument("--judge-seeds", type=int, default=None, metavar="N",
                   help="the scratch judge's trainings per candidate, judged by their mean (search.run "
                   "--select-seeds; default: the search's own)")
    p.add_argument("--judge-finalists", type=int, default=None, metavar="F",
                   help="with --judge-seeds N > 1: every candidate trained from the first seed, only the F best by "
                   "it from the others, as search.run --select-finalists F judges (default 0: every candidate from "
                   "every seed); trainings of one candidate from one seed are kept and reused by any F and N")
    p.add_argument("--pool", type=Path, nargs="*", default=[], metavar="RUN",
                   help="more finished folders of the same recipe whose random networks join the comparison")
    args = p.parse_args(argv)
    if args.select < 2:
        p.error("--select must be >= 2")
    if args.judge_seeds is not None and args.judge_seeds < 1:
        p.error("--judge-seeds must be >= 1")
    if args.judge_finalists is not None and args.judge_finalists < 0:
        p.error("--judge-finalists must be >= 0")
    return args


def read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(f"{path}: not found: is {path.parent} a finished {what}?") from None
    except (OSError, ValueError) as e:
        raise SystemExit(f"{path}: cannot read it: {e}") from None


def settings(run: Path) -> dict[str, Any]:
    """RUN/run.json's settings (search_vs_random.py, lutnas 0.10 or later)."""
    saved = read_json(run / "run.json", "search_vs_random.py folder")
    try:
        return dict(saved["settings"])
    except (KeyError, TypeError):
        raise SystemExit(f"{run / 'run.json'}: no settings in it") from None


def accuracies(run: Path) -> dict[str, list[float]]:
    """Each label's test accuracies in RUN/trainings.csv, one per seed trained."""
    return accuracies_by_label(read_trainings(run / "trainings.csv"))


def random_means(run: Path, accs: dict[str, list[float]]) -> list[dict[str, Any]]:
    """The run's random networks with their LUT ms, group and mean accuracy over the seeds trained (``accs``)."""
    archs = read_json(run / "archs.json", "search_vs_random.py folder")
    return [{"group": a["group"], "blocks": a["blocks"], "lut_ms": a["lut_ms"],
             "acc": statistics.fmean(accs[a["label"]])}
            for a in archs if "/random" in a["label"] and accs.get(a["label"])]


def judge_key(how: Any) -> str:
    """Where select_again.json keeps another judge's judgements: its name, and ``xN`` for a scratch judge of N
    seeds (``scratch`` alone: one seed, as before --judge-seeds)."""
    return how.judge + (f"x{how.seeds}" if "seeds" in JUDGES[how.judge].settings and how.seeds != 1 else "")


def judge_more(folder: Path, k: int, state: dict[str, Any], save, judge: str | None = None,
               seeds: int | None = None, finalists: int | None = None
               ) -> tuple[int, list[dict[str, Any]], Any, dict[str, Any]]:
    """The search in ``folder`` judged on ``k`` candidates by ``judge`` (default: its own) with ``seeds`` (the
    scratch judge's trainings; default: the search's own) and ``finalists`` (those trained from every seed; default
    0: all): how many of them its own --select judged (taken from its arch.json; 0 with another judge), the ``k``
    judgements, the search's space and its selection; the others are kept in ``state["judged"]``, or
    ``state["judges"][judge_key(...)]`` for another judge (saved one by one); with finalists, each training in
    ``state["seeded"]`` (:func:`judge_finalists`)."""
    import torch

    from lut import load
    from search.checkpoint import restore_supernet
    from search.data import load_data
    from search.select import candidates_near, effective, judge_set, judge_settings

    arch = read_json(folder / "arch.json", "search")
    sel = (arch.get("search") or {}).get("selection")
    if not sel:
        raise SystemExit(f"{folder / 'arch.json'}: the search ran without --select: nothing to judge again")
    try:
        net, saved = restore_supernet(folder)
    except (OSError, ValueError) as e:
        raise SystemExit(f"{folder}: {e}") from None
    run, seed = saved["run"], saved["config"]["seed"]
    lut = Path(run["lut"])
    if not lut.is_file():
        raise SystemExit(f"{folder / 'search.json'}: its LUT {lut} is not there (run from the folder the "
                         "benchmark ran in)")
    try:
        matrix = load(lut).matrix(net.space)
    except (OSError, ValueError) as e:
        raise SystemExit(f"{lut}: {e}") from None
    cands = candidates_near(matrix, list(net.candidates), sel["argmax"], k, seed)
    own_how = judge_settings(run, saved["config"]["batch_size"])  # the search's own judge, as search.run judged
    how = judge_settings(run, saved["config"]["batch_size"], judge)
    if seeds is not None:
        if "seeds" not in JUDGES[how.judge].settings:
            raise SystemExit(f"{folder}: --judge-seeds is the scratch judge's (--judge scratch); this one judges "
                             f"with the {how.judge}")
        how = dataclasses.replace(how, seeds=seeds)
    if finalists is not None and "finalists" not in JUDGES[how.judge].settings:
        raise SystemExit(f"{folder}: --judge-finalists is the scratch judge's (--judge scratch); this one judges "
                         f"with the {how.judge}")
    # by default every candidate from every seed: a search's own judgements count only when its
    # --select-finalists kept all
    how = effective(dataclasses.replace(how, finalists=finalists or 0), len(cands))
    if how.finalists:
        judged = judge_finalists(folder, net, cands, matrix, run, seed, sel, own_how, how, state, save)
        return 0, judged, net.space, sel
    judge = how.judge
    if how == own_how:
        own = [j["blocks"] for j in sel["judged"]]
        if len(own) >= k:
            raise SystemExit(f"{folder / 'arch.json'}: its own --select judged {len(own)} networks already; ask for "
                             "more")
        if cands[:len(own)] != own:
            raise SystemExit(f"{folder / 'arch.json'}: its judged networks are not the first of --select {k}'s draw "
                             "(another lutnas drew them?)")
        kept, judged = state.setdefault("judged", []), [dict(j) for j in sel["judged"]]
    else:
        own, kept, judged = [], state.setdefault("judges", {}).setdefault(judge_key(how), []), []
    if [j["blocks"] for j in kept[:k - len(own)]] != cands[len(own):len(own) + len(kept)][:k - len(own)]:
        raise SystemExit(f"{folder.parent.parent / STATE}: its judgements of {folder.name} are not this search's "
                         "candidates (was the search run again?); move the file away to judge afresh")
    judged += kept
    todo = cands[len(judged):]
    if todo:
        torch.set_num_threads(int(run.get("threads") or 1))
        splits = load_data(run["data"], seed=seed, limit=run["limit"], spare=run["select_images"])
        test = judge_set(splits)
        net.train()
        for blocks in todo:
            acc = JUDGES[judge].score(net, blocks, splits, test, net.space.input_size, seed, how)
            row = {"blocks": blocks, "predicted_ms": float(matrix.predict(blocks)), "val_acc": acc}
            kept.append(row)
            judged.append(row)
            save()
            print(f"  [{folder.name}] {len(judged)}/{k} ({judge_key(how)}): {acc:.2f}% ({row['predicted_ms']:.3f} ms)",
                  file=sys.stderr, flush=True)
    return len(own), judged[:k], net.space, sel


def known_trainings(sel: dict[str, Any], own_how: Any, how: Any, state: dict[str, Any], seed: int
                    ) -> dict[str, float]:
    """Trainings of one candidate from one seed by ``how``'s judge and recipe (epochs, batch size) that a search
    and earlier runs of this script made, keyed ``"seed|blocks"``: the search's own judgements (each seed's in
    "accs", or the one of a one-seed judge) when it judged that way, and this script's one-seed judgements."""
    same = dataclasses.replace(own_how, seeds=1, finalists=0) == dataclasses.replace(how, seeds=1, finalists=0)
    rows = [(j, j.get("accs") or ([j["val_acc"]] if own_how.seeds == 1 else [])) for j in sel["judged"]] \
        if same else []
    if same and own_how.seeds == 1:
        rows += [(j, [j["val_acc"]]) for j in state.get("judged", [])]
    rows += [(j, [j["val_acc"]]) for j in state.get("judges", {}).get(how.judge, [])]  # judge_key of one seed
    return {f"{seed + i}|{' '.join(j['blocks'])}": acc for j, accs in rows for i, acc in enumerate(accs)}


def judge_finalists(folder: Path, net: Any, cands: list[list[str]], matrix: Any, run: dict[str, Any], seed: int,
                    sel: dict[str, Any], own_how: Any, how: Any, state: dict[str, Any], save
                    ) -> list[dict[str, Any]]:
    """``cands`` judged as search.run --select-finalists judges them (search.select.select): each trained from
    ``seed``, the ``how.finalists`` best by that (ties: the first) from the other ``how.seeds - 1`` seeds, their
    score the mean. Each training is kept in ``state["seeded"]`` under the judge and its recipe, so that other
    --judge-seeds and --judge-finalists reuse it, as they reuse the search's own and earlier one-seed ones; the
    judgements, as arch.json's selection holds them, in ``state["judges"]`` (``scratchx3f5``, say)."""
    import torch

    from search.data import load_data
    from search.select import finalists_of, judge_set

    recipe = f"{how.judge} epochs {how.epochs} batch {how.batch_size}"
    store = state.setdefault("seeded", {}).setdefault(recipe, {})
    for key, acc in known_trainings(sel, own_how, how, state, seed).items():
        store.setdefault(key, acc)
    once = dataclasses.replace(how, seeds=1, finalists=0)
    data: dict[str, Any] = {}
    label = f"{judge_key(how)}, finalists {how.finalists}"

    def trained(i: int, at: int) -> float:
        key = f"{at}|{' '.join(cands[i])}"
        if key not in store:
            if not data:
                torch.set_num_threads(int(run.get("threads") or 1))
                data["splits"] = load_data(run["data"], seed=seed, limit=run["limit"], spare=run["select_images"])
                data["test"] = judge_set(data["splits"])
                net.train()
            store[key] = JUDGES[how.judge].score(net, cands[i], data["splits"], data["test"], net.space.input_size,
                                                at, once)
            save()
            print(f"  [{folder.name}] #{i + 1} of {len(cands)}, seed {at} ({label}): {store[key]:.2f}% "
                  f"({float(matrix.predict(cands[i])):.3f} ms)", file=sys.stderr, flush=True)
        return store[key]

    judged = []
    for i, blocks in enumerate(cands):
        acc = trained(i, seed)
        judged.append({"blocks": blocks, "predicted_ms": float(matrix.predict(blocks)), "val_acc": acc, "accs": [acc]})
    for i in finalists_of(judged, how.finalists):  # search.select's rule
        accs = judged[i]["accs"]
        accs += [trained(i, seed + s) for s in range(1, how.seeds)]
        judged[i]["val_acc"] = float(sum(accs) / len(accs))
    state.setdefault("judges", {})[f"{judge_key(how)}f{how.finalists}"] = judged  # as arch.json's, the last K's
    save()
    return judged


def trained_by_run(run: Path, accs: dict[str, list[float]]) -> dict[str, list[float]]:
    """The run's own trainings by network (blocks joined by spaces): what a new pick need not be trained for."""
    archs = read_json(run / "archs.json", "search_vs_random.py folder")
    return {" ".join(a["blocks"]): accs[a["label"]] for a in archs if accs.get(a["label"])}


def train_pick(blocks: list[str], space: Any, folder: Path, recipe: dict[str, Any], seeds: int,
               state: dict[str, Any], save, known: dict[str, list[float]] | None = None) -> list[float]:
    """``blocks`` of ``space`` trained with search_vs_random.py's recipe (search.train, lr 0.2 per 256 images)
    once per seed (``known``'s accuracies when the run trained it for as many seeds)."""
    from search.archfile import make_arch
    from search.train import train_arch

    if len((known or {}).get(" ".join(blocks), [])) >= seeds:
        return known[" ".join(blocks)][:seeds]
    accs = state.setdefault("trained", {}).setdefault(" ".join(blocks), [])
    if len(accs) >= seeds:
        return accs[:seeds]
    splits = load_splits(recipe["data"], recipe["limit"], recipe["test_limit"])
    arch = make_arch(space, blocks, num_classes=splits.num_classes)
    batch = recipe["batch_size"]
    for seed in range(len(accs), seeds):
        result = train_arch(arch, splits, recipe["train_epochs"], batch, 0.2 * batch / 256, seed,
                            test_every_epoch=False)
        accs.append(result["test_acc"])
        save()
        print(f"  [{folder.name}] new pick, seed {seed}: {result['test_acc']:.2f}%", file=sys.stderr, flush=True)
    return accs


def beats(ms: float, acc: float, randoms: list[dict[str, Any]]) -> tuple[int, int]:
    """How many of ``randoms`` within +-5% of ``ms`` are less accurate than ``acc``, and how many there are."""
    near = [r["acc"] for r in randoms if abs(r["lut_ms"] / ms - 1) <= TOLERANCE]
    return sum(acc > a for a in near), len(near)


def pooled_text(ms: float, acc: float, randoms: list[dict[str, Any]]) -> str:
    won, near = beats(ms, acc, randoms)
    return f"{won} of {near}" + (f" ({won / near:.0%})" if near else "")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.pool = [p for p in dict.fromkeys(args.pool) if p.resolve() != args.run.resolve()]  # RUN counts once
    recipe = settings(args.run)
    for other in args.pool:
        theirs = settings(other)
        diff = [k for k in RECIPE if theirs.get(k) != recipe.get(k)]
        if diff:
            raise SystemExit(f"{other / 'run.json'}: another training recipe than {args.run}'s ({', '.join(diff)})")
    trainings = accuracies(args.run)
    own = random_means(args.run, trainings)
    pooled = own + [r for other in args.pool for r in random_means(other, accuracies(other))]
    pooled = list({tuple(r["blocks"]): r for r in pooled}.values())  # a network two runs drew counts once
    found = sorted(p.parent.name for p in (args.run / "searches").glob("*/arch.json"))
    names = [s for s in args.searches.split(",") if s] or found
    missing = [s for s in names if s not in found]
    if missing:
        raise SystemExit(f"{args.run / 'searches'}: no finished search {', '.join(missing)} (it holds "
                         f"{', '.join(found) or 'none'})")
    path = args.run / STATE
    state = read_json(path, "select_again.py state") if path.exists() else {"format": STATE_FORMAT}
    if state.get("format") != STATE_FORMAT:
        raise SystemExit(f"{path}: format {state.get('format')!r}, this script reads {STATE_FORMAT}")

    def save() -> None:
        from lutnas.files import write_atomic

        write_atomic(path, json.dumps(state, indent=1) + "\n")

    print(f"{args.run}: --select {args.select} against each search's own; random networks within "
          f"+-{TOLERANCE:.0%}: the run's own group, and {len(pooled)} pooled from {1 + len(args.pool)} run(s)")
    known = trained_by_run(args.run, trainings)
    for name in names:
        folder = args.run / "searches" / name
        mine = state.setdefault("searches", {}).setdefault(name, {})
        _, judged, space, sel = judge_more(folder, args.select, mine, save, args.judge, args.judge_seeds,
                                           args.judge_finalists)
        own_judge = sel.get("judge", "supernet")  # arch.json of lutnas 0.10 and before: the fine-tuned supernet
        first = pick(sel["judged"])
        best = pick(judged)
        group = [r for r in own if r["group"] == name]
        old_acc = statistics.fmean(trainings[name]) if trainings.get(name) else float("nan")
        old = sel["judged"][first]
        lines = [f"{name}: its pick (#{first + 1} of {len(sel['judged'])}) judged {old['val_acc']:.2f}%, "
                 f"{old['predicted_ms']:.3f} ms, {old['blocks'].count('skip')} skips: {old_acc:.2f}%, beats "
                 f"{sum(old_acc > r['acc'] for r in group)} of its {len(group)} random; "
                 f"pooled {pooled_text(old['predicted_ms'], old_acc, pooled)}"]
        other = f" --judge {args.judge}" if (args.judge or own_judge) != own_judge else ""
        more = (f" --judge-seeds {args.judge_seeds}" if args.judge_seeds is not None else "") + \
            (f" --judge-finalists {args.judge_finalists}" if args.judge_finalists is not None else "")
        again = f"--select {args.select}{other}{more}"
        new = judged[best]
        if new["blocks"] == old["blocks"]:
            lines.append(f"  {again}: the same pick (#{best + 1}, judged {new['val_acc']:.2f}%; {len(judged)} judged)")
        else:
            seeds = len(trainings.get(name, [])) or 3  # as many as the search's own pick had
            accs = train_pick(new["blocks"], space, folder, recipe, seeds, mine, save, known)
            acc = statistics.fmean(accs)
            lines.append(f"  {again}: #{best + 1} judged {new['val_acc']:.2f}%, "
                         f"{new['predicted_ms']:.3f} ms, {new['blocks'].count('skip')} skips: {acc:.2f}% "
                         f"({acc - old_acc:+.2f}), beats "
                         f"{sum(acc > r['acc'] for r in group)} of the same {len(group)}; "
                         f"pooled {pooled_text(new['predicted_ms'], acc, pooled)}")
        print("\n".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: what was judged and trained is kept; run the same command to continue", file=sys.stderr)
        sys.exit(130)
