"""How often the acceptance bars of `benchmarks/search_vs_random.py` can be met at all: the pick of a judge of
known noise, and of one that knows every network's true accuracy, against random networks measured as noisily
as the benchmark measures them.

    python benchmarks/bar_ceiling.py runs/svr-2[5-9] runs/svr-3[0-3]

The model (the one search_vs_random.perfect_judge_tau uses for the Kendall tau's ceiling), fitted to the
finished runs' own trainings:

- the networks of one latency band differ in true accuracy by a Gaussian of sd ``spread``;
- one training (one seed) measures a network with Gaussian noise of sd ``noise``, so the benchmark's mean of
  --seeds trainings with sd noise/sqrt(seeds) (--seeds read from the runs: the most common number of trainings
  of their random networks);
- a search hands --select candidates of that band to a judge; the judge measures each as noisily as
  ``judge_seeds`` trainings would (None: it knows the true accuracy, the oracle; 0: it knows nothing, a random
  pick) and picks the best it sees. The rows of --finalists F (lutnas 0.16; default: search_vs_random.py's 4)
  model the benchmark's own judge: each candidate measured once, the best F by that --judge-seeds - 1 times
  more, the finalist of the best mean picked (search.run --select-finalists). --judge-noise X scales every
  judge's noise per training (a judge that tests on fewer images is noisier: benchmarks/judge_images.py);
- the pick and the random networks are then measured as the benchmark measures them.

``noise`` is the pooled variance of each random network's seeds about its mean; ``spread`` what is left of the
variance of their means (about each run's group mean: each run and group has its own band) once the noise of a
mean is taken out. Each group type is fitted apart: the mid-target band (``target-mid``, 10 random networks a
run) and the FBNet-loss searches' fast corner (``fbnet-*``, 2 each). The front bar counts a search as on the
front when it is at least as accurate as the best random network no slower than it, which the benchmark's
default draws 2-4 of.

The model is a simplification: a judge's noise is not a training's (the scratch judge trains on other images
and tests on more), and candidates drawn near P_theta's argmax need not spread as random networks do. It gives
the scale: what a perfect judge would reach, and what the observed counts are worth.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any, NamedTuple, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from search_vs_random import BENCH_SELECT_FINALISTS, BENCH_SELECT_SEEDS  # noqa: E402
from search_vs_random import accuracies_by_label, read_trainings  # noqa: E402

DRAWS = 20000  # Monte Carlo draws per row: a probability to about +-0.7 points
W = 48  # the pick column
SEEN = "observed (the runs' summary.json)"
JUDGES = ((0, "a random pick"), (1, "judge as noisy as 1 training"), (3, "judge as noisy as 3 trainings"),
          (None, "oracle (knows the true accuracy)"))


class Fit(NamedTuple):
    """The Gaussian model of one group type: a training's seed noise and the networks' true spread (sd, points),
    from ``networks`` random networks in ``groups`` groups."""

    noise: float
    spread: float
    networks: int
    groups: int


def fit(groups: Sequence[Sequence[Sequence[float]]]) -> Fit:
    """The model fitted to ``groups``: each a list of networks, each a list of its accuracies, one per seed.
    Networks with fewer than 2 seeds and groups with fewer than 2 such networks are left out."""
    within, centred, used = [], [], 0
    for group in groups:
        nets = [list(accs) for accs in group if len(accs) >= 2]
        if len(nets) < 2:
            continue
        used += 1
        means = [statistics.fmean(a) for a in nets]
        centre = statistics.fmean(means)
        within += [statistics.variance(a) for a in nets]
        centred += [(m - centre, len(a), len(nets)) for m, a in zip(means, nets)]
    if not centred:
        raise ValueError("no group with 2 or more random networks of 2 or more seeds each")
    noise_var = statistics.fmean(within)
    # E[(m - group mean)^2] = (1 - 1/n) * (spread^2 + noise^2 / seeds) for a group of n networks
    spread_var = statistics.fmean(d * d / (1 - 1 / n) - noise_var / s for d, s, n in centred)
    return Fit(math.sqrt(noise_var), math.sqrt(max(0.0, spread_var)), len(centred), used)


def simulate(model: Fit, k: int, judge_seeds: int | None, randoms: int, truth_seeds: int = 3, draws: int = DRAWS,
             seed: int = 0, finalists: int = 0, judge_noise: float = 1.0) -> dict[str, Any]:
    """The pick of ``k`` candidates by a judge as noisy as ``judge_seeds`` trainings (None: none, the oracle; 0:
    a random pick) against ``randoms`` random networks, all measured by the mean of ``truth_seeds`` trainings:
    ``{"beaten": mean number beaten, "at_least": [P(beats >= j) for j in 0..randoms], "front": P(at least as
    accurate as the most accurate of them)}``. With ``finalists`` F (0 < F < k), the judge trains every candidate
    once and only the F best by that ``judge_seeds - 1`` times more, as search.run --select-finalists does, and
    picks the finalist of the best mean. ``judge_noise`` scales the judge's noise per training (a judge that tests
    on fewer images: benchmarks/judge_images.py)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    true = rng.normal(0.0, model.spread, size=(draws, k))
    noise = model.noise * judge_noise
    if judge_seeds is None:
        seen = true
    elif judge_seeds == 0:
        seen = rng.random(size=(draws, k))
    elif 0 < finalists < k and judge_seeds > 1:
        first = true + rng.normal(0.0, noise, size=(draws, k))
        rows, top = np.arange(draws)[:, None], np.argsort(-first, axis=1, kind="stable")[:, :finalists]
        more = true[rows, top] + rng.normal(0.0, noise / math.sqrt(judge_seeds - 1), size=(draws, finalists))
        seen = np.full((draws, k), -np.inf)
        seen[rows, top] = (first[rows, top] + (judge_seeds - 1) * more) / judge_seeds
    else:
        seen = true + rng.normal(0.0, noise / math.sqrt(judge_seeds), size=(draws, k))
    pick = true[np.arange(draws), seen.argmax(axis=1)]
    sd = model.noise / math.sqrt(truth_seeds)
    measured = pick + rng.normal(0.0, sd, size=draws)
    others = rng.normal(0.0, model.spread, size=(draws, randoms)) + rng.normal(0.0, sd, size=(draws, randoms))
    beaten = (measured[:, None] > others).sum(axis=1)
    counts = np.bincount(beaten, minlength=randoms + 1) / draws
    return {"beaten": float(beaten.mean()), "at_least": [float(counts[j:].sum()) for j in range(randoms + 1)],
            "front": float((measured >= others.max(axis=1)).mean())}


def read_groups(runs: Sequence[Path]) -> dict[str, list[list[list[float]]]]:
    """The random networks' accuracies of each finished run, by group type (``target-mid``, ``fbnet``): a list
    of groups (one per run and search), each a list of networks' accuracies per seed."""
    kinds: dict[str, list[list[list[float]]]] = {"target-mid": [], "fbnet": []}
    for run in runs:
        path = run / "archs.json"
        try:
            archs = json.loads(path.read_text())
        except FileNotFoundError:
            raise SystemExit(f"{path}: not found: is {run} a finished benchmarks/search_vs_random.py folder?") from None
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: cannot read it: {e}") from None
        accs = accuracies_by_label(read_trainings(run / "trainings.csv"))
        by_group: dict[str, list[list[float]]] = {}
        for a in archs:
            if not a.get("searched") and not a.get("argmax") and accs.get(a["label"]):
                by_group.setdefault(a["group"], []).append(accs[a["label"]])
        for group, nets in by_group.items():
            kinds["target-mid" if group == "target-mid" else "fbnet"].append(nets)
    return kinds


def truth_seeds(kinds: dict[str, list[list[list[float]]]]) -> int:
    """How many trainings the benchmark averaged per network (its --seeds): the most common count among the runs'
    random networks (3 by default; a network cut short by an interrupted run has fewer)."""
    counts = Counter(len(accs) for groups in kinds.values() for group in groups for accs in group)
    return counts.most_common(1)[0][0] if counts else 3


def observed(runs: Sequence[Path]) -> dict[str, list[dict[str, Any]]]:
    """Each run's summary.json groups, by group type (runs without a summary are left out)."""
    kinds: dict[str, list[dict[str, Any]]] = {"target-mid": [], "fbnet": []}
    for run in runs:
        try:
            groups = json.loads((run / "summary.json").read_text())["groups"]
        except (OSError, ValueError, KeyError):
            continue
        for label, g in groups.items():
            kinds["target-mid" if label == "target-mid" else "fbnet"].append(g)
    return kinds


def finalist_judges(judge_seeds: int, finalists: Sequence[int]) -> list[tuple[int, str, int]]:
    """(seeds, row name, finalists) of each --finalists judge: ``judge_seeds`` trainings for its best F by one."""
    return [(judge_seeds, f"{judge_seeds} seeds for the best {f} by one", f) for f in finalists]


def report(runs: Sequence[Path], ks: Sequence[int], draws: int, finalists: Sequence[int] = (),
           judge_seeds: int = 3, judge_noise: float = 1.0) -> list[str]:
    groups, seen = read_groups(runs), observed(runs)
    seeds = truth_seeds(groups)
    lines = [f"every network measured by the mean of {seeds} training{'s' * (seeds != 1)}, as these runs measured "
             "most of their random networks (--seeds)", ""]
    if judge_noise != 1.0:
        lines[1:1] = [f"every judge's noise per training {judge_noise:g}x a training's (--judge-noise)"]
    judges = [(j, name, 0) for j, name in JUDGES] + finalist_judges(judge_seeds, finalists)
    mid = fit(groups["target-mid"])
    lines += [f"target-mid: {mid.networks} random networks in {mid.groups} run{'s' * (mid.groups != 1)}: a "
              f"training's seed noise sd {mid.noise:.2f} points, the networks' true spread sd {mid.spread:.2f}",
              f"  {'pick':<{W}}{'beats of 10':>12}{'>=8 of 10':>11}"]
    for k in ks:
        for judge, name, f in judges:
            if judge == 0 and k != ks[0]:
                continue  # a random pick does not depend on k
            r = simulate(mid, k, judge, 10, truth_seeds=seeds, draws=draws, finalists=f, judge_noise=judge_noise)
            what = name if judge == 0 else f"{name}, --select {k}"
            lines.append(f"  {what:<{W}}{r['beaten']:>12.2f}{r['at_least'][8]:>11.0%}")
    if seen["target-mid"]:
        beats = [g["beats"] for g in seen["target-mid"] if g.get("randoms") == 10]
        if beats:
            runs_seen = f"{len(beats)} run{'s' * (len(beats) != 1)}"
            lines.append(f"  {SEEN:<{W}}{statistics.fmean(beats):>12.2f}"
                         f"{sum(b >= 8 for b in beats) / len(beats):>11.0%}  ({runs_seen})")
    if any(len(g) >= 2 for g in groups["fbnet"]):
        fast = fit(groups["fbnet"])
        lines += ["", f"fbnet-*: {fast.networks} random networks in {fast.groups} group{'s' * (fast.groups != 1)}: "
                  f"seed noise sd "
                  f"{fast.noise:.2f}, true spread sd {fast.spread:.2f}",
                  f"  {'pick':<{W}}{'on the front of 2':>18}{'of 4':>7}"]
        for k in ks:
            for judge, name, f in judges:
                if judge == 0 and k != ks[0]:
                    continue
                two, four = (simulate(fast, k, judge, m, truth_seeds=seeds, draws=draws, finalists=f,
                                      judge_noise=judge_noise)["front"] for m in (2, 4))
                what = name if judge == 0 else f"{name}, --select {k}"
                lines.append(f"  {what:<{W}}{two:>18.0%}{four:>7.0%}")
        on = [g["on_or_above_front"] for g in seen["fbnet"] if g.get("on_or_above_front") is not None]
        if on:
            lines.append(f"  {SEEN:<{W}}{sum(on) / len(on):>18.0%}  "
                         f"({sum(on)} of {len(on)} searches, against 2-4 random networks each)")
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="finished benchmarks/search_vs_random.py folders")
    p.add_argument("--select", default="10,20", metavar="K,...",
                   help="candidates per search to model, separated by commas (default 10,20)")
    p.add_argument("--draws", type=int, default=DRAWS, help=f"Monte Carlo draws per row (default {DRAWS})")
    p.add_argument("--finalists", default=str(BENCH_SELECT_FINALISTS), metavar="F,...",
                   help="rows for a judge of --judge-seeds seeds that trains every candidate once and only its best F "
                   "by that from the others (search.run --select-finalists), separated by commas (default "
                   f"{BENCH_SELECT_FINALISTS}: search_vs_random.py's; '' none)")
    p.add_argument("--judge-seeds", type=int, default=BENCH_SELECT_SEEDS, metavar="N",
                   help=f"those judges' seeds (default {BENCH_SELECT_SEEDS}: search_vs_random.py's)")
    p.add_argument("--judge-noise", type=float, default=1.0, metavar="X",
                   help="every judge's noise per training, as a multiple of a training's (default 1; e.g. a judge "
                   "that tests on fewer images: benchmarks/judge_images.py's 'judge noise')")
    args = p.parse_args(argv)
    try:
        finalists = [int(f) for f in args.finalists.split(",") if f.strip()]
    except ValueError:
        p.error(f"--finalists: not a list of numbers: {args.finalists!r}")
    if any(f < 1 for f in finalists) or args.judge_seeds < 2:
        p.error("--finalists: each F must be >= 1, and --judge-seeds >= 2")
    if not args.judge_noise > 0:
        p.error("--judge-noise must be > 0")
    try:
        ks = [int(k) for k in args.select.split(",") if k]
    except ValueError:
        p.error(f"--select: not a list of numbers: {args.select!r}")
    if not ks or min(ks) < 1:
        p.error("--select: each K must be >= 1")
    if args.draws < 100:
        p.error("--draws must be >= 100")
    try:
        print("\n".join(report(list(dict.fromkeys(args.runs)), ks, args.draws, finalists, args.judge_seeds,
                               args.judge_noise)))
    except ValueError as e:
        raise SystemExit(f"{', '.join(map(str, args.runs))}: {e}") from None
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # its output piped into `head`: stop quietly (Python's docs, "Note on SIGPIPE")
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
