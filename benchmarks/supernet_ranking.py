"""How well each search's supernet ranks architectures, judged on the pooled architectures of several runs.

    python benchmarks/supernet_ranking.py runs/svr-2 runs/svr-4 runs/svr-5 [--out FILE.csv] [--threads N]
        [--supernet SEARCH_FOLDER ...] [--finetune-steps N [--finetune-lr LR]]

Each RUN is a finished `benchmarks/search_vs_random.py` folder (summary.json, archs.json, trainings.csv,
searches/*/checkpoint.pt). One run judges each supernet only on its own 14-17 architectures, whose
seed-against-seed repeatability differs from run to run (0.31-0.59 over all of a run's architectures), so
two runs' Kendall taus do not compare two search modes. Here every search's supernet judges the same
architectures, the union of the runs' (labels prefixed with the run's folder name), against the same
ground truth (each architecture's stand-alone accuracy, mean over seeds). The runs must share the
training recipe (data, images, test images, resolution, epochs, batch); otherwise they are refused.

Printed per supernet (with its search's mode and theta paths): Kendall tau over all pooled architectures
and over the pooled members of each group name (e.g. every run's target-mid group: architectures of one
latency, the ranking a search leans on), beside the same architectures' repeatability (mean tau between
two training seeds). Then the mean tau per search mode. Judgements are appended to --out (default
OUT/../supernet_ranking.csv beside the first run) as they are made, so an interrupted run continues.

--supernet adds the supernet of any finished `search.run` folder (e.g. one of the README's default length,
20 epochs on 10,000 images, beside the small setting's 8 on 5,000) as a judge of the same architectures;
it must search the runs' space at their resolution. It is named `extra:<folder name>`.

--finetune-steps N judges each architecture after training a copy of its supernet weights for N batches of 64
training images (search.checkpoint.finetune: search.train's optimizer, the rate a cosine from --finetune-lr to
0), the "short fine-tuning" estimator of one-shot NAS evaluations (e.g. Ning et al. 2021); those judges are
named `<supernet>+ftN@LR`, so their judgements sit beside the plain ones in the same CSV.

Cost: one judgement recomputes BatchNorm statistics on 1,024 images and tests 5,000 images at 16x16;
9 supernets x 51 architectures took 70 minutes on one core of the 2-core VM beside other work.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search_vs_random import accuracies_by_label, kendall, load_splits, seed_agreement  # noqa: E402
from search.select import FINETUNE_LR  # noqa: E402

RECIPE = ("data", "limit", "test_limit", "resolution", "train_epochs", "batch_size")
COLUMNS = ("supernet", "label", "supernet_acc")


class RankingError(Exception):
    """A run folder that cannot be pooled (missing files, another recipe)."""


def read_run(folder: Path) -> dict[str, Any]:
    """A finished search_vs_random folder: its settings, architectures, trainings and search folders."""
    need = [folder / n for n in ("summary.json", "archs.json", "trainings.csv")]
    for p in need:
        if not p.is_file():
            raise RankingError(f"{p}: missing (is {folder} a finished search_vs_random.py folder?)")
    settings = json.loads(need[0].read_text())["settings"]
    archs = json.loads(need[1].read_text())
    with need[2].open() as f:
        trainings = [{**r, "seed": int(r["seed"]), "test_acc": float(r["test_acc"])} for r in csv.DictReader(f)]
    searches = sorted(p.parent for p in (folder / "searches").glob("*/checkpoint.pt"))
    if not searches:
        raise RankingError(f"{folder / 'searches'}: no search folder with a checkpoint.pt")
    return {"name": folder.name, "settings": settings, "archs": archs, "trainings": trainings,
            "searches": searches}


def pool(runs: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The runs' architectures and trainings under labels prefixed with the run's name; refuses runs whose
    stand-alone recipe differs from the first's."""
    first = runs[0]
    for run in runs[1:]:
        diff = [k for k in RECIPE if run["settings"].get(k) != first["settings"].get(k)]
        if diff:
            pairs = ", ".join(f"{k} {run['settings'].get(k)} vs {first['settings'].get(k)}" for k in diff)
            raise RankingError(f"{run['name']}: trained with another recipe than {first['name']} ({pairs})")
    archs = [{**a, "label": f"{r['name']}:{a['label']}"} for r in runs for a in r["archs"]]
    trainings = [{**t, "label": f"{r['name']}:{t['label']}"} for r in runs for t in r["trainings"]]
    return archs, trainings


def search_mode(folder: Path) -> str:
    """The search's mode and theta pass as search.run resumes them from its search.json (settings it does not
    store filled in as then, the mode's theta paths where it holds none), e.g. 'hybrid, theta-paths 2'."""
    from search.runfolder import config_from, read_search_json
    from search.supernet import MODES

    config, _ = read_search_json(folder)
    cfg = config_from(config, str(folder / "search.json"))
    return f"{cfg.mode}, theta-paths {cfg.theta_paths}" if MODES[cfg.mode].theta_soft else cfg.mode


def judge_tail(finetune_steps: int, finetune_lr: float) -> str:
    """The suffix naming a fine-tuned judge (``+ftN@LR``; none for the supernet's plain weights)."""
    return f"+ft{finetune_steps}@{finetune_lr:g}" if finetune_steps else ""


def judges(runs: list[dict[str, Any]], extra: list[Path], tail: str = "") -> list[tuple[str, Path]]:
    """(name, search folder) of every supernet that judges: each run's searches, then the ``extra`` ones, the
    names ending in ``tail`` (:func:`judge_tail`)."""
    return ([(f"{run['name']}:{folder.name}{tail}", folder) for run in runs for folder in run["searches"]]
            + [(f"extra:{folder.name}{tail}", folder) for folder in extra])


def check_extra(folder: Path, runs: list[dict[str, Any]], archs: list[dict[str, Any]]) -> None:
    """Refuses an extra search folder whose supernet cannot judge the pooled architectures."""
    if not (folder / "checkpoint.pt").is_file():
        raise RankingError(f"{folder}: no checkpoint.pt (is it a search.run folder?)")
    try:
        run = json.loads((folder / "search.json").read_text())["run"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise RankingError(f"{folder / 'search.json'}: cannot read the search's settings: {e}") from None
    want = runs[0]["settings"]["resolution"]
    if run.get("resolution") != want:
        raise RankingError(f"{folder}: searched at resolution {run.get('resolution')}, the runs' architectures "
                           f"were trained at {want}")
    layers = {len(a["blocks"]) for a in archs}
    from search.space import get_space
    space = get_space(run["space"], run.get("width_mult"), run.get("resolution"))
    if layers != {len(space.layers)}:
        raise RankingError(f"{folder}: its space {run['space']} has {len(space.layers)} searchable layers, the "
                           f"runs' architectures {sorted(layers)}")


def judge(runs: list[dict[str, Any]], archs: list[dict[str, Any]], out: Path, threads: int | None,
          extra: list[Path] = (), finetune_steps: int = 0, finetune_lr: float = FINETUNE_LR
          ) -> list[dict[str, Any]]:
    """Each search's supernet's accuracy on every pooled architecture (appended to ``out``, resumed); with
    ``finetune_steps``, each architecture's weights fine-tuned that many batches first."""
    import torch
    from tqdm import tqdm

    from search.checkpoint import path_accuracy, restore_supernet

    if threads:
        torch.set_num_threads(threads)
    done: dict[tuple[str, str], float] = {}
    if out.exists():
        with out.open() as f:
            done = {(r["supernet"], r["label"]): float(r["supernet_acc"]) for r in csv.DictReader(f)}
    s = runs[0]["settings"]
    splits = None
    new = not out.exists()
    with out.open("a", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        if new:
            w.writerow(COLUMNS)
        for name, folder in judges(runs, list(extra), judge_tail(finetune_steps, finetune_lr)):
            todo = [a for a in archs if (name, a["label"]) not in done]
            if not todo:
                continue
            if splits is None:
                splits = load_splits(s["data"], s["limit"], s["test_limit"])
            net, _ = restore_supernet(folder)
            for a in tqdm(todo, desc=name, unit="arch", file=sys.stderr):
                acc = path_accuracy(net, a["blocks"], splits.train, splits.test, net.space.input_size,
                                    finetune_steps=finetune_steps, finetune_lr=finetune_lr)
                w.writerow([name, a["label"], acc])
                f.flush()
                done[(name, a["label"])] = acc
    return [{"supernet": k[0], "label": k[1], "supernet_acc": v} for k, v in done.items()]


def report(runs: list[dict[str, Any]], archs: list[dict[str, Any]], trainings: list[dict[str, Any]],
           judged: list[dict[str, Any]], extra: list[Path] = (), tail: str = "") -> list[str]:
    """Per supernet: tau over all pooled architectures and per group name; then the mean per mode."""
    mean = {k: statistics.fmean(v) for k, v in accuracies_by_label(trainings).items()}
    groups = sorted({a["group"] for a in archs})
    sets = {"all": [a["label"] for a in archs if a["label"] in mean]}
    sets.update({g: [a["label"] for a in archs if a["group"] == g and a["label"] in mean] for g in groups})
    lines = [f"{len(sets['all'])} architectures of {', '.join(r['name'] for r in runs)}; repeatability (seed "
             "against seed): " + ", ".join(f"{k} {seed_agreement(v, trainings):.2f} (n={len(v)})"
                                            for k, v in sets.items())]
    acc = {(r["supernet"], r["label"]): r["supernet_acc"] for r in judged}
    by_mode: dict[str, list[float]] = {}
    lines.append(f"{'supernet':<32}{'mode':<26}" + "".join(f"{k:>13}" for k in sets))
    for name, folder in judges(runs, list(extra), tail):
        mode = search_mode(folder)
        taus = []
        for labels in sets.values():
            have = [lab for lab in labels if (name, lab) in acc]
            taus.append(kendall([acc[(name, lab)] for lab in have], [mean[lab] for lab in have]))
        if not math.isnan(taus[0]) and not name.startswith("extra:"):
            by_mode.setdefault(mode, []).append(taus[0])
        lines.append(f"{name:<32}{mode:<26}" + "".join(f"{t:>13.2f}" for t in taus))
    lines.append("mean tau over all pooled architectures, per mode: "
                 + "; ".join(f"{m}: {statistics.fmean(v):.2f} ({len(v)} supernets)" for m, v in by_mode.items()))
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="finished search_vs_random.py folders")
    p.add_argument("--out", type=Path, default=None, help="judgements CSV (default: supernet_ranking.csv "
                   "beside the first run's folder)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--supernet", type=Path, action="append", default=[], metavar="SEARCH_FOLDER",
                   help="also judge with this finished search.run folder's supernet (repeatable; not counted "
                   "in the per-mode means)")
    p.add_argument("--finetune-steps", type=int, default=0, metavar="N",
                   help="judge each architecture after training a copy of its supernet weights N batches of 64 "
                   "training images (SGD, cosine from --finetune-lr; judges named '+ftN@LR'; default 0: the weights "
                   "as they are)")
    p.add_argument("--finetune-lr", type=float, default=FINETUNE_LR,
                   help=f"fine-tuning's first rate (default {FINETUNE_LR:g})")
    args = p.parse_args(argv)
    if args.finetune_steps < 0 or not args.finetune_lr > 0:
        p.error("--finetune-steps must be >= 0 and --finetune-lr > 0")
    try:
        runs = [read_run(r) for r in args.runs]
        archs, trainings = pool(runs)
        for folder in args.supernet:
            check_extra(folder, runs, archs)
    except (RankingError, OSError, json.JSONDecodeError, KeyError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = args.out or args.runs[0].parent / "supernet_ranking.csv"
    judged = judge(runs, archs, out, args.threads, args.supernet, args.finetune_steps, args.finetune_lr)
    print("\n".join(report(runs, archs, trainings, judged, args.supernet,
                                 judge_tail(args.finetune_steps, args.finetune_lr))))
    print(f"judgements in {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: the judgements made are kept; run the same command again to continue", file=sys.stderr)
        sys.exit(130)
