"""What the supernet's judge does not see: which block choices the stand-alone accuracies reward or punish, against
what the judge rewards, over finished benchmark runs.

    python benchmarks/judge_blind_spots.py runs/svr-25 runs/svr-26 ... [--group target-mid]
        [--supernet target-mid] [--judge ft150@0.02] [--gap 0.25]

Each RUN is a finished `benchmarks/search_vs_random.py` folder (archs.json, trainings.csv, ranking.csv). For
the networks of --group in each run (target-mid: the searched one, the search's argmax and the random networks
of one latency band) it counts, per network, the layers whose block name holds each part of the candidates' names
(`k5_e1_g2` holds k5, e1 and g2; `skip` is its own part). For each part it gives Kendall tau between that count
and the networks' stand-alone accuracy (mean over seeds: the truth), and between the count and the judge's
accuracy (--judge of --supernet in ranking.csv: `weights`, or `ftN@LR` for the fine-tuned judge). A part that
the truth ranks by and the judge does not (the mean taus apart by --gap or more) is a blind spot: the judge
cannot pick networks by it. The report also gives the judge's own tau, and how well each count alone ranks the
networks: a count that ranks them better than the judge shows how much ranking the judge leaves out (it is not
a judge for a search: it is learned from these runs' trained networks).

Nothing is trained or judged: it reads the runs' files, in a second. Taus are per run (one latency band each),
then averaged, so differences between runs' bands do not count as ranking.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from search_vs_random import accuracies_by_label, kendall, read_ranking, read_trainings  # noqa: E402

GAP = 0.25  # mean taus (truth against judge) this far apart make a blind spot


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="finished benchmarks/search_vs_random.py folders")
    p.add_argument("--group", default="target-mid", help="the networks of one group (default target-mid)")
    p.add_argument("--supernet", default="target-mid", help="the judging search's supernet (default target-mid)")
    p.add_argument("--judge", default="ft150@0.02",
                   help="the judge in ranking.csv: weights, or ftN@LR (default ft150@0.02, the benchmark's)")
    p.add_argument("--gap", type=float, default=GAP,
                   help=f"mean taus this far apart (truth against judge) mark a blind spot (default {GAP:g})")
    args = p.parse_args(argv)
    if not args.gap >= 0:
        p.error(f"--gap must be >= 0, got {args.gap:g}")
    return args


def parts(block: str) -> list[str]:
    """The parts of a block's name: ``k5_e1_g2`` -> k5, e1, g2; ``skip`` -> skip."""
    return block.split("_")


def part_counts(blocks: Sequence[str]) -> dict[str, int]:
    """For each part of the blocks' names, how many layers hold it."""
    counts: dict[str, int] = {}
    for b in blocks:
        for p in parts(b):
            counts[p] = counts.get(p, 0) + 1
    return counts


def read_rows(path: Path, reader: Callable[[Path], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``reader(path)`` (search_vs_random.py's own readers); SystemExit naming the file when it is missing or
    malformed."""
    if not path.is_file():
        raise SystemExit(f"{path}: not found: is {path.parent} a finished search_vs_random.py folder?")
    try:
        return reader(path)
    except OSError as e:
        raise SystemExit(f"{path}: cannot read it ({e.strerror})") from None
    except KeyError as e:
        raise SystemExit(f"{path}: no {e} column") from None
    except (ValueError, TypeError) as e:
        raise SystemExit(f"{path}: {e}") from None


def run_networks(run: Path, group: str, supernet: str, judge: str) -> list[dict[str, Any]]:
    """The group's networks of one run that were trained and judged: blocks, truth (mean accuracy over seeds) and
    the judge's accuracy."""
    try:
        archs = json.loads((run / "archs.json").read_text())
        archs = [(a["label"], a["group"], list(a["blocks"])) for a in archs]
    except FileNotFoundError:
        raise SystemExit(f"{run / 'archs.json'}: not found: is {run} a finished search_vs_random.py folder?") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"{run / 'archs.json'}: not a search_vs_random.py archs.json ({e})") from None
    accs = accuracies_by_label(read_rows(run / "trainings.csv", read_trainings))
    judged = {r["label"]: r["supernet_acc"] for r in read_rows(run / "ranking.csv", read_ranking)
              if r["supernet"] == supernet and r["judge"] == judge}
    return [{"label": label, "blocks": blocks, "truth": statistics.fmean(accs[label]), "judge": judged[label]}
            for label, g, blocks in archs if g == group and accs.get(label) and label in judged]


def part_taus(networks: list[dict[str, Any]], names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """For each part in ``names``: Kendall tau of its count (layers holding it) against the truth and against the
    judge, and whether the count varies; a count that is the same in every network ranks none of them: 0."""
    counts = [part_counts(n["blocks"]) for n in networks]
    truth = [n["truth"] for n in networks]
    judge = [n["judge"] for n in networks]
    out = {}
    for p in names:
        x = [c.get(p, 0) for c in counts]
        varies = len(set(x)) > 1
        out[p] = {"truth": kendall(x, truth) if varies else 0.0, "judge": kendall(x, judge) if varies else 0.0,
                  "varies": varies}
    return out


def mean(values: list[float]) -> float:
    """Mean of the values that are numbers (nan when none is)."""
    kept = [v for v in values if not math.isnan(v)]
    return statistics.fmean(kept) if kept else math.nan


def report(per_run: dict[str, list[dict[str, Any]]], gap: float) -> list[str]:
    """The printed lines: each run's judge tau and part taus, their means, the blind spots and the best count."""
    names = sorted({p for nets in per_run.values() for n in nets for p in part_counts(n["blocks"])})
    taus = {run: part_taus(nets, names) for run, nets in per_run.items()}
    judge_tau = {run: kendall([n["judge"] for n in nets], [n["truth"] for n in nets]) for run, nets in per_run.items()}
    width = max(len(r) for r in per_run)
    lines = ["Kendall tau of each part's count (layers holding it) against the truth (stand-alone accuracy) "
             "and against the judge, per run; the judge's own tau first; -: the count is the same in every "
             "network (0 in the means)"]
    lines.append(f"{'run':<{width}}  {'n':>3}  {'judge':>6}  " + "  ".join(f"{p:>13}" for p in names))
    lines.append(f"{'':<{width}}  {'':>3}  {'':>6}  " + "  ".join(f"{'truth judge':>13}" for _ in names))

    def pair(t: dict[str, Any]) -> str:
        return f"{'-':>6} {'-':>6}" if not t.get("varies", True) else f"{t['truth']:>6.2f} {t['judge']:>6.2f}"

    for run, nets in per_run.items():
        lines.append(f"{run:<{width}}  {len(nets):>3}  {judge_tau[run]:>6.2f}  "
                     + "  ".join(pair(taus[run][p]) for p in names))
    means = {p: {k: statistics.fmean(taus[r][p][k] for r in taus) for k in ("truth", "judge")} for p in names}
    lines.append(f"{'mean':<{width}}  {'':>3}  {mean(list(judge_tau.values())):>6.2f}  "
                 + "  ".join(pair(means[p]) for p in names))
    spots = [p for p in names if abs(means[p]["truth"] - means[p]["judge"]) >= gap]
    for p in spots:
        t = means[p]
        varies = [taus[r][p]["truth"] for r in taus if taus[r][p]["varies"]]
        signs = sum(1 for v in varies if v * t["truth"] > 0)
        lines.append(f"blind spot: {p}: the truth ranks by its count at {t['truth']:+.2f} (same sign in {signs} of "
                     f"the {len(varies)} runs where its count varies), the judge at {t['judge']:+.2f}")
    if not spots:
        lines.append(f"no blind spot: every part's mean taus are within {gap:g} of each other")
    ranked = [(abs(means[p]["truth"]), p) for p in names if not math.isnan(means[p]["truth"])]
    if ranked:
        best = min(ranked, key=lambda t: (-t[0], t[1]))[1]  # the first in name order on ties
        sign = "more" if means[best]["truth"] > 0 else "fewer"
        judge = mean(list(judge_tau.values()))
        verdict = "better than" if abs(means[best]["truth"]) > judge else "no better than"
        lines.append(f"the best single count: {sign} {best} layers ranks the networks at "
                     f"{abs(means[best]['truth']):.2f} on average, {verdict} the judge ({judge:.2f})")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    per_run = {}
    names = [r.name for r in args.runs]
    for run in dict.fromkeys(args.runs):
        nets = run_networks(run, args.group, args.supernet, args.judge)
        if len(nets) < 3:
            raise SystemExit(f"{run}: {len(nets)} networks of group {args.group!r} with trainings and a judgement "
                             f"by {args.supernet}'s {args.judge}: at least 3 are needed (see its ranking.csv)")
        per_run[run.name if names.count(run.name) == 1 else str(run)] = nets
    print("\n".join(report(per_run, args.gap)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
