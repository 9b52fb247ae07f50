"""Searched architectures against random ones of the same latency, trained the same way (Yu et al. 2020).

    python benchmarks/search_vs_random.py --out runs/svr            # the small setting: about 35-60 min on 2 cores
    python benchmarks/search_vs_random.py --out runs/svr-gpu --train-device cuda --limit 60000 \\
        --search-epochs 30 --train-epochs 15 --resolution 32 --jobs 4    # a larger one where a GPU exists

Steps (each is kept in --out, so a second run with the same --out continues where one stopped; OUT/run.json
records the settings the results depend on, and a second run with others stops before it runs anything):

1. The LUT: --lut, or `profiler.run --device cpu --space fbnet-cifar --resolution R` into OUT/lut.csv.
2. Searches (`python -m search.run`, each with its folder under OUT/searches/): `target-abs` with a
   latency target in the middle of the space's LUT range, and the FBNet loss at each --betas value;
   each with search.run's --select (20 here since lutnas 0.10.4; search.run's default is 10), judged by training
   each candidate from scratch, the best 4 by the first seed from 3 seeds (--select-judge scratch --select-seeds 3
   --select-finalists 4, the default here since lutnas 0.14, with 5 finalists before 0.16; search.run's default
   judge is the fine-tuned supernet), tested on the theta split and 5,000 spare images (--select-images: 30,000
   for the fine-tuned supernet judge, and for both before 0.16). A search whose pick is not its argmax
   has the argmax trained beside it, so one run compares the two (benchmarks/select_again.py judges a
   finished run's searches again with more candidates).
3. Random architectures: for each searched one, --randoms (the mid-target search) or --front-randoms
   (the others) from the architectures within +-5% of its LUT latency, one drawn uniformly from each of
   that many equal slices of the band's latency (--draw stratified, search.sampling.stratified_near_latency;
   --draw uniform, the only way before lutnas 0.10.1, draws uniformly from the band, which near the fast
   corner holds more slower architectures than faster ones), written to OUT/archs.json. Each search's
   group is drawn as soon as that search ends, and its trainings (step 4) run in the --jobs slots the
   searches leave free (since lutnas 0.14: before, every training waited for the slowest search).
4. Every architecture trained from scratch with search.train's recipe (SGD, Nesterov, cosine, lr 0.2
   per 256 images) on the same training images for --train-epochs, once per seed (--seeds), --jobs
   trainings at a time; test accuracy on the dataset's own test split (--test-limit: all 10,000 of
   Fashion-MNIST's since lutnas 0.10, a fixed 5,000-image sample before). OUT/trainings.csv.
5. The supernet's ranking: each architecture judged with the supernet weights of the mid-target search
   (--rank-with; 'all' adds the FBNet-loss searches') with BatchNorm statistics recomputed for its path,
   against its stand-alone accuracy: Kendall tau, in OUT/ranking.csv, beside the tau a judge that knew
   the true accuracies would score against the seed means (their noise is the ceiling). A second judge
   (--finetune-steps, default 150, search.run's --select-steps) first trains a copy of the architecture's
   supernet weights for that many batches of the training images (search.checkpoint.finetune): it ranked
   the mid-latency networks of seven runs at 0.31-0.59 (50 batches: 0.09-0.40; the weights as they are:
   -0.06-0.39), while 50 steps from a fresh initialisation ranked svr-8's at 0.38. Each judgement is a job
   of the trainings' pool, queued behind the trainings once every search has ended (since lutnas 0.15).
6. The report: a table (architecture, LUT ms, skips, accuracy mean +- std over seeds, rank of the
   searched one among its group), OUT/summary.json and OUT/search_vs_random.png (accuracy against
   LUT latency, searched architectures marked).

The small setting (defaults): Fashion-MNIST (Debian's dataset-fashion-mnist), 5,000 training images
at 16x16, searches of 10 epochs (5 warm-up: half, search.run's own default share; 8 with 3 warm-up
before lutnas 0.10.3), 3 seeds x 3 epochs per architecture, 10 random
architectures beside the mid-target search and 2 beside each of two FBNet-loss searches: 3 searches
and 51 trainings (up to 60 with --select's argmaxes). With the fine-tuned judge of lutnas 0.13 and
before, within 60 minutes with 2 jobs on a quiet 2-core CPU and up to 80 beside other work (the scratch
judge's times: below; runs/svr-2 on this project's build VM, shared with other work: 14 min of
searches, 56 of trainings, 8 of supernet ranking). On a quiet VM with a LUT profiled 2026-12-01
(runs/svr-8) searches and trainings took 24 minutes; the fine-tuned judge adds about 40 s per judgement
at 150 batches (about 15 s at 50; 20 architectures in the default setting). --select 10 (the default
since lutnas 0.7) adds the same 10 judgements to each search and 3 trainings for each search whose pick
is not its argmax: svr-16, the default setting of lutnas 0.7 (50
batches, every supernet judging), took 51 minutes; svr-17, that of 0.8 (150 batches, target-mid's
supernet judging), 53 minutes, partly beside the test suite; svr-25, that of 0.10.2 (30,000 spare
images), 34.5 minutes alone on a quieter, faster 2-core VM (AMD EPYC, 2026-12-06; its LUT's latencies are
about half the earlier VM's); svr-28 to svr-30, that of 0.10.3 (10-epoch searches), 28.5-35.4 minutes there.
--select 20 (0.10.4) adds 10 more judgements to each search: svr-32, the first run of 0.10.4, took 43.6 minutes
there, the mid-target search's 20 judgements the longest part of its searches (docs/search.md, "svr-32").
The scratch judge of 3 seeds (the default since 0.14) trains 30 candidates per search instead of fine-tuning
20: svr-34 and svr-35 took 69-78 minutes there beside other work; svr-36 (lutnas 0.13.1's schedule, before the
searches and trainings overlapped) 85 minutes alone on a slower 2-core VM (its LUT's mid-range 0.533 ms,
as VM A's): its mid-target search 47, the trainings 26, the ranking 13; the 0.14 schedule on the same durations
about 82. Since lutnas 0.15 evaluations run at 64 images per CPU thread (1.2-2.1x faster than 256), each
search's scratch judge trains --select-jobs (default --jobs) candidates at a time, and the ranking's judgements
run as jobs in the training pool: svr-37 took 68.6 minutes alone on that slow VM, both cores busy nearly
throughout (134 CPU-minutes), so on it the small setting's 60 minutes hold only for `--select-judge supernet`
(the 0.13 defaults); about 40 is estimated on the faster VM (not measured) (docs/search.md, "The small
setting's time"). Since lutnas 0.16 the scratch judge tests on 5,000 spare images instead of 30,000 (testing was
a third of each judgement) and trains 4 finalists from every seed instead of 5: svr-38 took 56.3 minutes alone
on the slow VM (110 CPU-minutes; docs/search.md, "The small setting in 60 minutes").
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Iterable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search.sampling import near_latency, stratified_near_latency  # noqa: E402  (numpy only)
from search.select import FINETUNE_LR, FINETUNE_STEPS, JUDGES, SELECT_K  # noqa: E402  (no torch: --help stays light)
from search.select import SELECT_FINALISTS, SELECT_SEEDS  # noqa: E402
from search.select import SELECT_IMAGES as RUN_SELECT_IMAGES  # noqa: E402

TOLERANCE = 0.05
# --select of every search (search.run's default: SELECT_K, 10): 20 judged networks instead of 10. A search's
# candidates are one seeded stream, so --select 20 judges --select 10's and 10 more: judged again so on the finished
# runs svr-25 to svr-31 (benchmarks/select_again.py), 3 of 7 mid-target searches picked another network, which
# trained 1.51 and 0.74 points better (beating 10 of 10 random ones where the first picks beat 4 and 7; one network,
# svr-26 and svr-29 share a seed) and 0.03 worse (6 where 7); 1 of 8 FBNet-loss searches, +0.08. About 7 more
# minutes per run (svr-32: 43.6), mostly the mid-target's (docs/search.md, "--select 20")
SELECT = 20
# --select-images of every search, by --select-judge (search.run's default: RUN_SELECT_IMAGES). The fine-tuned
# supernet judge ranked the mid-latency networks better on 30,000 spare images than on 5,000 in seven runs of seven
# (Kendall tau +0.01 to +0.12, mean +0.09; docs/search.md, "30,000 spare images"), at about 12 s more per judged
# network at 16x16. The scratch judge's noise is its training seed's, not its test images': on 6,000 judged images
# instead of 31,000 the test sampling of the gap between svr-37's two best mid-latency candidates grows from sd 0.16
# to 0.37 points (they disagree on 8.2% of the images), the judge's whole noise per training by 6% (its seed noise:
# sd 0.69), while testing was 35% of its judgement's time (26 of 75 s; benchmarks/judge_images.py). So it tests on
# search.run's own 5,000 since lutnas 0.16 (docs/search.md, "The small setting in 60 minutes")
SELECT_IMAGES = {"supernet": 30000, "scratch": RUN_SELECT_IMAGES}
# --select-judge and --select-seeds of every search (search.run's defaults: the fine-tuned supernet; 1 seed): each
# candidate trained from scratch, the best 4 (5 before 0.16) by the first seed (--select-finalists) from 3 seeds. In
# the FBNet-loss searches' fast corner the fine-tuned supernet's picks lay on the random networks' front in 5 of 18
# searches (svr-25 to svr-33), about as often as a random pick; the scratch judge's in 7 of 10, and its mid-target
# picks beat 10 of 10 random networks in svr-34, svr-35 and svr-36 (docs/search.md, "The scratch judge as the
# benchmark's default"), at about twice the judging time
SELECT_JUDGE = "scratch"
BENCH_SELECT_SEEDS = 3
# --select-finalists of every search judged by several seeds: 4 since lutnas 0.16 (search.run's default,
# SELECT_FINALISTS, 5), 28 trainings a search instead of 30, to fit the small setting in 60 minutes on a slow 2-core VM
BENCH_SELECT_FINALISTS = 4
# all 10,000 of Fashion-MNIST's test images: the networks of one latency band lie within 1-2 points, and two samples
# of 5,000 images (the default before lutnas 0.10) ranked the same networks up to 0.48 apart in Kendall tau
TEST_LIMIT = 10000
# --draw: how the random architectures are drawn from the band. Uniformly over its architectures (before lutnas
# 0.10.1), the FBNet-loss searches' random neighbours were 0.4-4.7% slower than them (mean +2.7%, twelve groups of
# svr-8 to svr-20); one per equal latency slice, two of them at 0.153-0.221 ms lie +0.6-1.1% above on average
# (100 draws each on lut/cpu-r16.csv, against +2.3-3.2% uniformly), ten at the mid-point -0.0% (-0.7%)
# Each draw with its group's seed: (--seed, group) for the stratified draw, so that runs of consecutive seeds draw
# apart; --seed + group for the uniform one, as lutnas 0.10.1 and before drew it (seed s's group 2 was seed s + 1's 1)
DRAWS = {"uniform": (near_latency, lambda seed, group: seed + group),
         "stratified": (stratified_near_latency, lambda seed, group: [seed, group])}
DRAW = "stratified"
TRAIN_COLUMNS = ("label", "seed", "test_acc", "seconds")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="result folder (a second run continues it)")
    p.add_argument("--lut", type=Path, default=None, help="LUT of the space at --resolution (default: profile one)")
    p.add_argument("--data", default="fashion-mnist", help="dataset spec (default fashion-mnist)")
    p.add_argument("--limit", type=int, default=5000, help="training images (default 5000)")
    p.add_argument("--test-limit", type=int, default=TEST_LIMIT,
                   help=f"test images: a fixed stratified sample of the test split, or all of it when it holds no "
                   f"more (default {TEST_LIMIT}: all of Fashion-MNIST's; 5000 before lutnas 0.10)")
    p.add_argument("--resolution", type=int, default=16, help="input resolution of fbnet-cifar (default 16)")
    p.add_argument("--search-epochs", type=int, default=10,
                   help="epochs per search (default 10; 8 before lutnas 0.10.3)")
    p.add_argument("--warmup-epochs", type=int, default=5,
                   help="warm-up epochs per search (default 5; 3 before lutnas 0.10.3)")
    p.add_argument("--betas", default="0.6,1.5", help="FBNet-loss beta values, one search each (default 0.6,1.5)")
    p.add_argument("--randoms", type=int, default=10, help="random architectures beside the mid-target search")
    p.add_argument("--front-randoms", type=int, default=2, help="random architectures beside each other search")
    p.add_argument("--train-epochs", type=int, default=3, help="training epochs per architecture (default 3)")
    p.add_argument("--seeds", type=int, default=3, help="trainings per architecture (default 3)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size of searches and trainings (default 64)")
    p.add_argument("--jobs", type=int, default=2, help="searches / trainings at a time (default 2)")
    p.add_argument("--train-device", choices=("cpu", "cuda"), default="cpu", help="where to train (default cpu)")
    p.add_argument("--seed", type=int, default=0, help="seed of the searches and the random draws (default 0)")
    p.add_argument("--draw", choices=sorted(DRAWS), default=DRAW,
                   help="how the random architectures are drawn from the +-5%% band: 'stratified' (the default "
                   "since lutnas 0.10.1), one from each of N equal slices of its latency, so that their mean "
                   "latency is near the searched one's; 'uniform' (before), uniformly from the band's architectures, "
                   "which near the fast corner are mostly slower than the searched one")
    p.add_argument("--select", type=int, default=SELECT, metavar="K",
                   help="search.run --select K for every search: the argmax and K-1 architectures of its latency "
                   "judged (--select-judge), the best returned; the argmax is then trained beside it "
                   f"(default {SELECT} since lutnas 0.10.4; before, search.run's default, {SELECT_K}; 0: the argmax "
                   "as it is)")
    p.add_argument("--select-judge", choices=tuple(JUDGES), default=SELECT_JUDGE,
                   help="search.run --select-judge for every search: scratch (default since lutnas 0.14: each "
                   "candidate trained from scratch for search.run's --select-epochs, 3, on the search's weights "
                   "split), or supernet (the default before: the supernet's weights fine-tuned --finetune-steps "
                   "batches; about as long per candidate at 16x16, and search.run's own default)")
    p.add_argument("--select-seeds", type=int, default=BENCH_SELECT_SEEDS, metavar="N",
                   help=f"search.run --select-seeds N for every search judged by --select-judge scratch: each "
                   f"candidate trained from the first seed, the best --select-finalists of them N - 1 times more "
                   f"(seeds --seed to --seed + N - 1), judged by the mean (default {BENCH_SELECT_SEEDS} since "
                   f"lutnas 0.14; search.run's, and this script's before, {SELECT_SEEDS}; the supernet judge has "
                   f"none, recorded as {SELECT_SEEDS})")
    p.add_argument("--select-finalists", type=int, default=BENCH_SELECT_FINALISTS, metavar="F",
                   help=f"search.run --select-finalists F with --select-seeds N > 1: only the F best candidates by "
                   f"the first seed are trained from the others (default {BENCH_SELECT_FINALISTS} since lutnas 0.16; "
                   f"before, search.run's default, {SELECT_FINALISTS}; 0: every candidate, as before lutnas 0.13)")
    p.add_argument("--select-images", type=int, default=None, metavar="N",
                   help="search.run --select-images N for every search: spare training images outside --limit that "
                   "--select tests on beside the theta split (default by --select-judge: "
                   + ", ".join(f"{n:,} for {j}" for j, n in SELECT_IMAGES.items())
                   + "; the fine-tuned supernet judge ranks better on more, the scratch judge's noise is its "
                   "training's; before lutnas 0.16, 30,000 for both; 0: the theta split alone, as before lutnas 0.9)")
    p.add_argument("--select-jobs", type=int, default=None, metavar="N",
                   help="search.run --select-jobs N for every search judged by --select-judge scratch on the CPU: "
                   "N candidates trained at a time, each in a worker with the search's threads (default: --jobs, "
                   "since lutnas 0.15, so that the mid-target search's judging, the longest part of a run, uses "
                   "the cores the other searches leave idle; it changes no result)")
    p.add_argument("--finetune-steps", type=int, default=FINETUNE_STEPS, metavar="N",
                   help="the second judge of the supernet's ranking: fine-tune a copy of each architecture's "
                   f"supernet weights N batches before testing it (default {FINETUNE_STEPS}; 0: only the weights "
                   "as they are)")
    p.add_argument("--finetune-lr", type=float, default=FINETUNE_LR,
                   help=f"that fine-tuning's first rate (default {FINETUNE_LR:g})")
    p.add_argument("--rank-with", default="target-mid", metavar="LABELS",
                   help="the searches whose supernets judge the ranking, separated by commas, or 'all' (default "
                   "target-mid: a fine-tuned judge costs about 40 s per architecture at 150 batches, and the "
                   "supernets of one run judge alike once fine-tuned); e.g. `--rank-with target-mid "
                   "--finetune-steps 300` adds a 300-batch judge to a finished run")
    args = p.parse_args(argv)
    if args.finetune_steps < 0 or not args.finetune_lr > 0:
        p.error("--finetune-steps must be >= 0 and --finetune-lr > 0")
    for name in ("limit", "test_limit", "resolution", "search_epochs", "train_epochs", "seeds", "batch_size", "jobs",
                 "select_seeds"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    args.select_jobs = args.jobs if args.select_jobs is None else args.select_jobs
    if args.select_images is None:
        args.select_images = SELECT_IMAGES[args.select_judge]
    if args.select_jobs < 1:
        p.error("--select-jobs must be >= 1")
    for name in ("select", "select_images", "finetune_steps", "select_finalists"):
        if getattr(args, name) < 0:
            p.error(f"--{name.replace('_', '-')} must be >= 0")
    args.select_seeds = recorded_seeds(args.select_judge, args.select_seeds)
    if (args.select_seeds == 1 or args.select_finalists >= args.select
            or "finalists" not in JUDGES[args.select_judge].settings):
        args.select_finalists = 0  # every candidate is a finalist (a folder records what its searches did)
    if not 0 <= args.warmup_epochs < args.search_epochs:
        p.error("--warmup-epochs must be >= 0 and below --search-epochs")
    try:
        args.beta_values = [float(b) for b in args.betas.split(",") if b]
    except ValueError:
        p.error(f"--betas must be numbers separated by commas, got {args.betas!r}")
    return args


def recorded_seeds(judge: str, seeds: int) -> int:
    """--select-seeds as a folder records it: ``seeds`` for a judge that trains seeds, 1 for one that has none
    (the fine-tuned supernet), whatever was given, so a folder records what its searches did."""
    return seeds if judge not in JUDGES or "seeds" in JUDGES[judge].settings else SELECT_SEEDS


def say(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


# ---- 0. the folder's settings ------------------------------------------------------------------------------
RUN_FILE = "run.json"
RUN_FORMAT = 1
# the settings a folder's searches, draws and trainings depend on: a second run on the same --out passes the same
# ones (--seeds may grow; --jobs, --train-device, the LUT's path and the ranking's judges may change)
KEPT = ("data", "limit", "test_limit", "resolution", "search_epochs", "warmup_epochs", "beta_values", "randoms",
        "front_randoms", "train_epochs", "batch_size", "seed", "select", "select_images", "draw", "select_judge",
        "select_seeds", "select_finalists")
# a setting added after run.json: the value a folder that does not record it was run with
BEFORE = {"draw": "uniform", "select_judge": "supernet", "select_seeds": SELECT_SEEDS, "select_finalists": 0}
# what a finished folder from before run.json (lutnas 0.10) recorded truthfully in its summary.json: a run
# reported again records today's --select and --select-images defaults there, not its searches' own
LEGACY_KEPT = tuple(k for k in KEPT if k not in ("select", "select_images", "select_judge", "select_seeds",
                                                  "select_finalists"))


def _flag(name: str, value: Any) -> str:
    """A setting as its command-line flag, e.g. ``--betas 0.6,1.5``."""
    if name == "beta_values":
        return "--betas " + (",".join(f"{b:g}" for b in value) or "''")
    return f"--{name.replace('_', '-')} {value}"


def check_folder(args: argparse.Namespace) -> None:
    """Create --out and record a new one's settings in OUT/run.json; stop with one line, before anything runs,
    when a folder that holds one (or a finished folder from before it: its summary.json) was started with other
    settings of :data:`KEPT` (a continued run would mix, say, accuracies on two test samples)."""
    from lutnas.files import write_atomic

    args.out.mkdir(parents=True, exist_ok=True)
    path, summary = args.out / RUN_FILE, args.out / "summary.json"
    now = {k: getattr(args, k) for k in KEPT}
    if path.exists() or summary.exists():
        source = path if path.exists() else summary
        try:
            saved = json.loads(source.read_text())
            then = saved["settings"]
            keys = KEPT if source == path else LEGACY_KEPT
            if source == path and saved.get("format") != RUN_FORMAT:
                raise ValueError(f"format {saved.get('format')!r}, this script reads {RUN_FORMAT}")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"{source}: not a search_vs_random settings file ({e})") from None
        then = {**BEFORE, **then}
        then["select_seeds"] = recorded_seeds(then["select_judge"], then["select_seeds"])  # 0.12, 0.13: as given
        diff = [k for k in keys if k in then and then[k] != now[k]]
        if diff:
            def show(settings: dict[str, Any]) -> str:
                return " ".join(_flag(k, settings[k]) for k in diff)
            raise SystemExit(f"{source}: {args.out} was started with {show(then)}, not {show(now)}: pass the "
                             "same settings to continue it, or another --out")
        return
    if any((args.out / n).exists() for n in ("archs.json", "trainings.csv", "ranking.csv", "searches")):
        say(f"[continue] {args.out} was started before {RUN_FILE} (lutnas 0.10): its settings are not checked")
        return
    write_atomic(path, json.dumps({"format": RUN_FORMAT, "settings": now}, indent=1) + "\n")


# ---- 1. the LUT -----------------------------------------------------------------------------------
def ensure_lut(args: argparse.Namespace) -> Path:
    if args.lut is not None:
        return args.lut
    path = args.out / "lut.csv"
    cmd = [sys.executable, "-m", "profiler.run", "--device", "cpu", "--space", "fbnet-cifar", "--resolution",
           str(args.resolution), "--out", str(path), "--resume", "--quiet"]
    say(f"[lut] {' '.join(cmd[1:])}")
    subprocess.run(cmd, cwd=ROOT, check=True)
    return path


# ---- 2. searches ----------------------------------------------------------------------------------
def search_plan(args: argparse.Namespace, target_ms: float) -> dict[str, list[str]]:
    """label -> search.run arguments of each search."""
    plan = {"target-mid": ["--loss", "target-abs", "--target-ms", f"{target_ms:.4f}"]}
    for beta in args.beta_values:
        plan[f"fbnet-b{beta:g}"] = ["--loss", "fbnet", "--beta", f"{beta:g}"]
    return plan


def select_args(args: argparse.Namespace) -> list[str]:
    """search.run's --select arguments (always given: 0 turns off search.run's default) and its judge's own
    settings (JUDGES): the fine-tuned judge fine-tunes as the ranking step's second judge does, the scratch judge
    trains --select-seeds times, the rest for --select-finalists of them (its --select-epochs: search.run's)."""
    if not args.select:
        return ["--select", "0"]
    values = {"steps": args.finetune_steps or None, "seeds": args.select_seeds, "finalists": args.select_finalists}
    own = [part for name in JUDGES[args.select_judge].settings if values.get(name) is not None
           for part in (f"--select-{name}", str(values[name]))]
    return ["--select", str(args.select), "--select-images", str(args.select_images), "--select-judge",
            args.select_judge, *own]


def search_command(args: argparse.Namespace, lut: Path, plan: dict[str, list[str]], label: str) -> list[str]:
    """The search.run command of one search: a new one, or ``--resume`` of one that started."""
    folder = args.out / "searches" / label
    jobs = judging(args)
    if (folder / "search.json").exists():
        return [sys.executable, "-m", "search.run", "--resume", str(folder), *jobs]
    return [sys.executable, "-m", "search.run", "--lut", str(lut), "--space", "fbnet-cifar", "--resolution",
            str(args.resolution), "--data", args.data, "--limit", str(args.limit), "--epochs", str(args.search_epochs),
            "--warmup-epochs", str(args.warmup_epochs), "--batch-size", str(args.batch_size), "--seed", str(args.seed),
            "--threads", str(threads_per_job(args)), "--train-device", args.train_device, "--no-export", "--quiet",
            *select_args(args), *jobs, *plan[label], "--out", str(folder)]


def judging(args: argparse.Namespace) -> list[str]:
    """search.run's --select-jobs, where its judge trains candidates in workers (search.select.judging_jobs: the
    scratch judge, on the CPU)."""
    from search.select import judging_jobs

    if args.select and judging_jobs(args.select_judge, args.train_device, args.select_jobs) > 1:
        return ["--select-jobs", str(args.select_jobs)]
    return []


def start_search(args: argparse.Namespace, lut: Path, plan: dict[str, list[str]], label: str) -> subprocess.Popen:
    """Start one search (resumed where it stopped), its output into OUT/searches/LABEL.log."""
    cmd = search_command(args, lut, plan, label)
    (args.out / "searches").mkdir(parents=True, exist_ok=True)
    say(f"[search {label}] {' '.join(cmd[3:])}")
    log = open(args.out / "searches" / f"{label}.log", "a")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


# ---- 3. random architectures ----------------------------------------------------------------------------
def draw_group(args: argparse.Namespace, matrix: Any, index: int, label: str, blocks: list[str],
               argmax: list[str] | None = None) -> list[dict[str, Any]]:
    """The ``index``-th search's architecture and its random neighbours in latency, drawn with that search's own
    seed (so the groups can be drawn in any order, each as soon as its search ends). A search whose --select
    picked another architecture than its argmax has that argmax trained beside it (``"argmax": true``, not one of
    the random ones), so one run compares the two."""
    cands = list(matrix.candidates)
    ms = matrix.predict(blocks)
    archs = [{"label": label, "group": label, "searched": True, "blocks": blocks, "lut_ms": ms}]
    known = [blocks] if argmax in (None, blocks) else [blocks, argmax]
    if len(known) == 2:
        archs.append({"label": f"{label}/argmax", "group": label, "searched": False, "argmax": True,
                      "blocks": argmax, "lut_ms": matrix.predict(argmax)})
    n = args.randoms if label == "target-mid" else args.front_randoms
    if n:
        draw, group_seed = DRAWS[args.draw]
        drawn = draw(matrix.latency_ms, matrix.fixed_ms, ms, n, tolerance=TOLERANCE, seed=group_seed(args.seed, index),
                     exclude=[[cands.index(b) for b in k] for k in known], allow_fewer=True)
        if len(drawn) < n:  # a search at a corner of the space: its band holds few architectures
            say(f"[draw] {label}: only {len(drawn)} other architectures lie within +-{TOLERANCE:.0%} of its "
                f"{ms:.3f} ms; comparing with those")
        for j, idx in enumerate(drawn):
            rb = [cands[k] for k in idx]
            archs.append({"label": f"{label}/random{j + 1}", "group": label, "searched": False, "blocks": rb,
                          "lut_ms": matrix.predict(rb)})
    return archs


def draw_archs(args: argparse.Namespace, matrix: Any, searched: dict[str, list[str]],
               argmax: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Every search's group (:func:`draw_group`), in the order of ``searched``; kept in OUT/archs.json."""
    path = args.out / "archs.json"
    if path.exists():
        return json.loads(path.read_text())
    archs = [a for i, (label, blocks) in enumerate(searched.items())
             for a in draw_group(args, matrix, i, label, blocks, (argmax or {}).get(label))]
    write_archs(path, archs)
    return archs


def write_archs(path: Path, archs: list[dict[str, Any]]) -> None:
    """OUT/archs.json, written atomically (lutnas.files)."""
    from lutnas.files import write_atomic

    write_atomic(path, json.dumps(archs, indent=1) + "\n")


# ---- 4. trainings ----------------------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def load_splits(data: str, limit: int, test_limit: int) -> Any:
    """The training images every search and training uses, and the test images: the whole test split, or a fixed
    stratified sample of ``test_limit`` of them when it holds more."""
    import dataclasses

    import torch

    from search.data import load_data
    from search.data import stratified_take

    splits = load_data(data, seed=0, limit=limit)
    if test_limit < len(splits.test):
        keep = stratified_take(splits.test.labels, test_limit, torch.Generator().manual_seed(0))
        splits = dataclasses.replace(splits, test=splits.test.subset(keep))
    return splits


def _init_worker(data: str, limit: int, test_limit: int, threads: int) -> None:
    import torch

    torch.set_num_threads(threads)
    _WORKER["splits"] = load_splits(data, limit, test_limit)


def _train(task: dict[str, Any]) -> dict[str, Any]:
    from search.archfile import make_arch
    from search.torch_device import train_device
    from search.space import get_space
    from search.train import train_arch

    splits = _WORKER["splits"]
    space = get_space("fbnet-cifar", None, task["resolution"])
    arch = make_arch(space, task["blocks"], num_classes=splits.num_classes)
    start = time.perf_counter()
    result = train_arch(arch, splits, task["epochs"], task["batch_size"], 0.2 * task["batch_size"] / 256,
                        task["seed"], device=train_device(task["device"]), test_every_epoch=False)
    return {"label": task["label"], "seed": task["seed"], "test_acc": result["test_acc"],
            "seconds": time.perf_counter() - start}


def _rank(task: dict[str, Any]) -> dict[str, Any]:
    """One ranking judgement in a training worker: the architecture with the search's supernet weights (restored
    once per worker), fine-tuned ``steps`` batches (0: as they are), on the worker's images."""
    from search.checkpoint import path_accuracy, restore_supernet

    splits = _WORKER["splits"]
    nets = _WORKER.setdefault("supernets", {})
    if task["folder"] not in nets:
        nets[task["folder"]] = restore_supernet(Path(task["folder"]))[0]
    net = nets[task["folder"]]
    start = time.perf_counter()
    acc = path_accuracy(net, task["blocks"], splits.train, splits.test, net.space.input_size,
                        finetune_steps=task["steps"], finetune_lr=task["lr"])
    return {"supernet": task["supernet"], "judge": task["judge"], "label": task["label"], "supernet_acc": acc,
            "seconds": time.perf_counter() - start}


def read_trainings(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open() as f:
        return [{"label": r["label"], "seed": int(r["seed"]), "test_acc": float(r["test_acc"]),
                 "seconds": float(r["seconds"])} for r in csv.DictReader(f)]


def accuracies_by_label(trainings: Iterable[dict[str, Any]]) -> dict[str, list[float]]:
    """Each label's test accuracies (``read_trainings``' rows), one per seed trained, in the file's order."""
    accs: dict[str, list[float]] = {}
    for r in trainings:
        accs.setdefault(r["label"], []).append(r["test_acc"])
    return accs


def write_trainings(rows: list[dict[str, Any]], path: Path) -> None:
    from lutnas import files

    buf = io.StringIO()
    w = csv.DictWriter(buf, TRAIN_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    files.write_atomic(path, buf.getvalue())


def threads_per_job(args: argparse.Namespace) -> int:
    return max(1, (os.cpu_count() or 1) // args.jobs) if args.train_device == "cpu" else 1


def training_pool(args: argparse.Namespace) -> ProcessPoolExecutor:
    """The trainings' worker processes (spawned, each with the images loaded once and its share of the threads)."""
    return ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"), initializer=_init_worker,
                               initargs=(args.data, args.limit, args.test_limit, threads_per_job(args)))


def searched_blocks(folder: Path) -> tuple[list[str], list[str] | None]:
    """A finished search's architecture and, where --select picked another, its argmax (OUT/.../arch.json)."""
    found = json.loads((folder / "arch.json").read_text())
    selection = (found.get("search") or {}).get("selection")
    return found["blocks"], (selection["argmax"] if selection else None)


POLL_S = 2.0  # how often the running searches are looked at


def search_and_train(args: argparse.Namespace, lut: Path, plan: dict[str, list[str]], matrix: Any,
                     start: Callable[..., Any] = start_search, pool: Callable[..., Any] = training_pool,
                     train: Callable[[dict[str, Any]], dict[str, Any]] = _train,
                     rank: Callable[[dict[str, Any]], dict[str, Any]] | None = None
                     ) -> tuple[dict[str, Path], list[dict[str, Any]], list[dict[str, Any]]]:
    """Steps 2 to 4 on --jobs slots: every search (run, resumed, or skipped when finished), each search's group
    drawn as soon as that search ends (:func:`draw_group`), and each training of a drawn group run in a slot that
    no search waits for (a search not yet started goes first: its group's trainings wait for it). Before lutnas
    0.14 every training waited for every search, and one slot stood idle while the slowest search ended (in
    svr-36 the mid-target search's --select, 23 minutes after the other two). ``start``, ``pool`` and ``train``
    start a search, make the trainings' executor and run one training (tests pass stand-ins). With ``rank``
    (:func:`_rank`, as main passes it), step 5's judgements (:func:`ranking_tasks`) join the queue once every
    search has ended, behind the trainings, each as one job, and land in OUT/ranking.csv (since lutnas 0.15:
    before, the ranking waited for every training and ran alone).

    Returns each search's folder, the architectures (OUT/archs.json: written once every group is drawn, in the
    plan's order, as :func:`draw_archs` writes them) and the trainings (OUT/trainings.csv, rewritten after each).
    A failed search or training stops the running searches (a search resumes where it stopped) and the run, with
    one line, once the trainings under way are written."""
    folders = {label: args.out / "searches" / label for label in plan}
    path, tpath = args.out / "archs.json", args.out / "trainings.csv"
    saved = json.loads(path.read_text()) if path.exists() else None
    rows = read_trainings(tpath)
    done = {(r["label"], r["seed"]) for r in rows}
    groups: dict[str, list[dict[str, Any]]] = {}
    queue: list[dict[str, Any]] = []
    rpath = args.out / "ranking.csv"
    ranked = read_ranking(rpath)
    ranking_queued = rank is None

    def rank_when_drawn() -> None:
        nonlocal ranking_queued
        if ranking_queued or len(groups) < len(plan):
            return
        ranking_queued = True
        tasks = ranking_tasks(args, folders, [a for label in plan for a in groups[label]], ranked)
        queue.extend(tasks)
        if tasks:
            say(f"[rank] {len(tasks)} judgements with the supernets to run, as jobs behind the trainings")

    def drawn(label: str) -> None:
        if saved is not None:
            groups[label] = [a for a in saved if a["group"] == label]
        else:
            index = list(plan).index(label)
            groups[label] = draw_group(args, matrix, index, label, *searched_blocks(folders[label]))
        tasks = [{"label": a["label"], "blocks": a["blocks"], "seed": s, "epochs": args.train_epochs,
                  "batch_size": args.batch_size, "resolution": args.resolution, "device": args.train_device}
                 for s in range(args.seeds) for a in groups[label] if (a["label"], s) not in done]
        queue.extend(tasks)
        if tasks:
            say(f"[train] {label}: {len(tasks)} trainings to run ({args.jobs} at a time with the searches)")
        rank_when_drawn()

    pending = [label for label in plan if not (folders[label] / "arch.json").exists()]
    for label in plan:
        if label not in pending:
            drawn(label)
    searches: dict[str, Any] = {}
    futures: dict[Any, dict[str, Any]] = {}  # a running training -> its task
    seconds: list[float] = []
    failure = None

    def stop(why: str) -> None:
        nonlocal failure
        failure = failure or why
        pending.clear()
        queue.clear()
        for other in searches.values():
            other.terminate()  # resumable: a second run continues it

    if pending or queue:
        with pool(args) as executor:
            while pending or searches or queue or futures:
                while pending and len(searches) + len(futures) < args.jobs:
                    label = pending.pop(0)
                    searches[label] = start(args, lut, plan, label)
                while queue and not pending and len(searches) + len(futures) < args.jobs:
                    task = queue.pop(0)
                    futures[executor.submit(rank if "judge" in task else train, task)] = task
                finished: set[Any] = set()
                if futures:
                    finished = wait(futures, timeout=POLL_S, return_when=FIRST_COMPLETED).done
                else:
                    time.sleep(POLL_S)
                for f in finished:
                    task = futures.pop(f)
                    if "judge" in task:
                        try:
                            judged = f.result()
                        except Exception as e:  # noqa: BLE001
                            stop(f"ranking {task['label']} with the supernet of {task['supernet']} "
                                 f"({task['judge']}) failed: {type(e).__name__}: {e}")
                            continue
                        ranked.append({k: judged[k] for k in RANKING_COLUMNS})
                        write_ranking(rpath, ranked)
                        say(f"[rank] {task['label']} with the supernet of {task['supernet']}, {task['judge']}: "
                            f"{judged['supernet_acc']:.2f}% ({judged['seconds']:.0f} s); "
                            f"{len(queue) + len(futures)} jobs left")
                        continue
                    try:
                        rows.append(f.result())
                    except Exception as e:  # noqa: BLE001  (a worker's error or its death, as one line)
                        stop(f"training {task['label']} seed {task['seed']} failed: {type(e).__name__}: {e}")
                        continue
                    write_trainings(rows, tpath)
                    r = rows[-1]
                    seconds.append(r["seconds"])
                    left = sum("judge" not in t for t in [*queue, *futures.values()])  # trainings, not rankings
                    more = " and the running searches' groups" if searches or pending else ""
                    say(f"[train] {r['label']} seed {r['seed']}: {r['test_acc']:.2f}% ({r['seconds']:.0f} s); "
                        f"{left} left{more}, about {statistics.fmean(seconds) * left / args.jobs / 60:.0f} min")
                for label, proc in list(searches.items()):
                    if proc.poll() is None:
                        continue
                    del searches[label]
                    if proc.returncode != 0:
                        stop(f"search {label} failed (exit {proc.returncode}): see "
                             f"{args.out / 'searches' / (label + '.log')}")
                    elif failure is None:
                        say(f"[search {label}] done")
                        drawn(label)
    if failure:
        raise SystemExit(failure)
    archs = [a for label in plan for a in groups[label]]
    if saved is None:
        write_archs(path, archs)
    return folders, archs, rows


# ---- 5. the supernet's ranking ------------------------------------------------------------------------
RANKING_COLUMNS = ("supernet", "judge", "label", "supernet_acc")
PLAIN_JUDGE = "weights"  # the supernet's weights as they are, BatchNorm statistics recomputed


def judge_names(args: argparse.Namespace) -> list[str]:
    """The judges of the ranking step: the weights as they are, and fine-tuned ones when asked."""
    tuned = [f"ft{args.finetune_steps}@{args.finetune_lr:g}"] if args.finetune_steps else []
    return [PLAIN_JUDGE, *tuned]


def read_ranking(path: Path) -> list[dict[str, Any]]:
    """OUT/ranking.csv's judgements (a file from before the judge column holds the plain judge's)."""
    if not path.exists():
        return []
    with path.open() as f:
        return [{**r, "judge": r.get("judge") or PLAIN_JUDGE, "supernet_acc": float(r["supernet_acc"])}
                for r in csv.DictReader(f)]


def rank_with(args: argparse.Namespace, searches: Iterable[str]) -> list[str]:
    """The searches named by --rank-with (all of ``searches`` for 'all'); a name that is not one of them stops the
    run (checked before anything is searched or trained)."""
    searches = list(searches)
    if args.rank_with == "all":
        return searches
    names = [n for n in args.rank_with.split(",") if n]
    unknown = [n for n in names if n not in searches]
    if unknown or not names:
        raise SystemExit(f"--rank-with: {', '.join(unknown) or 'no search named'}: not a search of this run "
                         f"(its searches: {', '.join(searches)})")
    return names


def ranking_tasks(args: argparse.Namespace, folders: dict[str, Path], archs: list[dict[str, Any]],
                  ranked: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Step 5's judgements not yet in ``ranked`` (OUT/ranking.csv's rows), one job each for :func:`_rank`: every
    architecture with each --rank-with search's supernet, by each judge (:func:`judge_names`), in the order
    :func:`supernet_ranking` judges them."""
    done = {(r["supernet"], r["judge"], r["label"]) for r in ranked}
    return [{"supernet": search, "folder": str(folders[search]), "judge": judge, "label": a["label"],
             "blocks": a["blocks"], "steps": 0 if judge == PLAIN_JUDGE else args.finetune_steps,
             "lr": args.finetune_lr}
            for judge in judge_names(args) for search in rank_with(args, folders) for a in archs
            if (search, judge, a["label"]) not in done]


def supernet_ranking(args: argparse.Namespace, folders: dict[str, Path], archs: list[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """Accuracy of each architecture with each search's supernet weights, by each judge (OUT/ranking.csv,
    rewritten after each judgement, so an interrupted run continues), in this process: what
    :func:`search_and_train`'s jobs left (nothing, once they ended)."""
    path = args.out / "ranking.csv"
    rows = read_ranking(path)
    tasks = ranking_tasks(args, folders, archs, rows)
    if not tasks:
        return rows
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    _WORKER["splits"] = load_splits(args.data, args.limit, args.test_limit)  # this process, as a worker
    start = time.perf_counter()
    for task in tasks:
        judged = _rank(task)
        rows.append({k: judged[k] for k in RANKING_COLUMNS})
        write_ranking(path, rows)
    say(f"[rank] {len(tasks)} judgements with the supernets ({time.perf_counter() - start:.0f} s)")
    return rows


def write_ranking(path: Path, rows: list[dict[str, Any]]) -> None:
    """OUT/ranking.csv, written atomically (lutnas.files)."""
    from lutnas.files import write_atomic

    buf = io.StringIO()
    w = csv.DictWriter(buf, RANKING_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_atomic(path, buf.getvalue())


def kendall(xs: list[float], ys: list[float]) -> float:
    from scipy.stats import kendalltau

    return float(kendalltau(xs, ys).statistic) if len(xs) >= 3 else math.nan


def beats_interval(searched: str, randoms: list[str], accs: dict[str, list[float]], draws: int = 2000
                   ) -> tuple[int, int]:
    """5th and 95th percentile of how many of ``randoms`` the searched architecture beats when each
    architecture's seeds (``accs``: label -> accuracy per seed) are resampled with replacement (a bootstrap
    over seeds): how far the count "beats N of M" would move with other training seeds."""
    import numpy as np

    if not randoms or any(len(accs.get(label, [])) == 0 for label in [searched, *randoms]):
        return (0, 0)
    rng = np.random.default_rng(0)

    def means(label: str) -> np.ndarray:
        vals = np.asarray(accs[label])
        return vals[rng.integers(0, len(vals), size=(draws, len(vals)))].mean(axis=1)

    mine = means(searched)
    counts = sum((mine > means(label)).astype(int) for label in randoms)
    return int(np.percentile(counts, 5)), int(np.percentile(counts, 95))


def seed_agreement(labels: list[str], trainings: list[dict[str, Any]]) -> float:
    """Mean Kendall tau between two seeds' accuracies over ``labels``, over every pair of seeds that trained
    all of them: how far the stand-alone ranking of single trainings repeats itself. The mean over seeds that
    a supernet is scored against repeats better; :func:`perfect_judge_tau` gives that ceiling."""
    by_seed: dict[int, dict[str, float]] = {}
    for r in trainings:
        by_seed.setdefault(int(r["seed"]), {})[r["label"]] = r["test_acc"]
    complete = [accs for _, accs in sorted(by_seed.items()) if all(label in accs for label in labels)]
    taus = [kendall([a[label] for label in labels], [b[label] for label in labels])
            for i, a in enumerate(complete) for b in complete[i + 1:]]
    taus = [t for t in taus if not math.isnan(t)]
    return statistics.fmean(taus) if taus else math.nan


def perfect_judge_tau(labels: list[str], accs: dict[str, list[float]], draws: int = 4000) -> float:
    """The Kendall tau that a judge knowing each architecture's true accuracy would score, on average, against
    the mean over seeds that the benchmark measures: the ceiling of a supernet's tau on ``labels``. A Gaussian
    model: each mean carries its seeds' noise (variance s^2/k) and the true accuracies spread by what is left of
    the means' variance once that noise is taken out (none left: a ceiling of about 0). ``accs``: label ->
    accuracy per seed, as :func:`beats_interval` takes it."""
    import numpy as np

    per = {label: accs.get(label, []) for label in labels}
    if len(labels) < 3 or any(len(v) < 2 for v in per.values()):
        return math.nan
    means = np.array([statistics.fmean(per[label]) for label in labels])
    noise = np.array([statistics.variance(per[label]) / len(per[label]) for label in labels])
    spread = max(0.0, float(means.var(ddof=1) - noise.mean()))
    rng = np.random.default_rng(0)
    true = rng.normal(0.0, math.sqrt(spread), (draws, len(labels)))
    seen = true + rng.normal(0.0, 1.0, (draws, len(labels))) * np.sqrt(noise)
    i, j = np.triu_indices(len(labels), 1)
    agree = np.sign(true[:, i] - true[:, j]) * np.sign(seen[:, i] - seen[:, j])
    return float(agree.mean())


# ---- 6. report ----------------------------------------------------------------------------------------------
def summarize(args: argparse.Namespace, archs: list[dict[str, Any]], trainings: list[dict[str, Any]],
              ranking: list[dict[str, Any]], target_ms: float) -> dict[str, Any]:
    accs = accuracies_by_label(trainings)
    for a in archs:
        vals = accs.get(a["label"], [])
        a["acc_mean"] = statistics.fmean(vals) if vals else math.nan
        a["acc_std"] = statistics.stdev(vals) if len(vals) > 1 else math.nan
        a["seeds"] = len(vals)
        a["skips"] = a["blocks"].count("skip")
    groups = {}
    for label in dict.fromkeys(a["group"] for a in archs):
        members = [a for a in archs if a["group"] == label]
        searched = next(a for a in members if a["searched"])
        randoms = [a for a in members if not a["searched"] and not a.get("argmax")]
        beaten = sum(searched["acc_mean"] > r["acc_mean"] for r in randoms)
        groups[label] = {"searched_acc": searched["acc_mean"], "lut_ms": searched["lut_ms"],
                         "skips": searched["skips"], "randoms": len(randoms), "beats": beaten,
                         "rank": 1 + sum(r["acc_mean"] > searched["acc_mean"] for r in randoms),
                         "beats_90": beats_interval(searched["label"], [r["label"] for r in randoms], accs),
                         "random_acc_mean": statistics.fmean(r["acc_mean"] for r in randoms) if randoms else math.nan,
                         # near a corner of the space more architectures lie above its latency than below
                         "random_ms_mean": statistics.fmean(r["lut_ms"] for r in randoms) if randoms else math.nan,
                         "random_skips": [r["skips"] for r in randoms]}
        before = next((a for a in members if a.get("argmax")), None)
        if before is not None:  # --select picked another: how its argmax fares against the same random ones
            groups[label].update(argmax_acc=before["acc_mean"], argmax_ms=before["lut_ms"],
                                 argmax_beats=sum(before["acc_mean"] > r["acc_mean"] for r in randoms))
    # the random architectures' accuracy-latency front: best accuracy at or below each latency (+TOLERANCE)
    randoms = sorted((a for a in archs if not a["searched"] and not a.get("argmax")), key=lambda a: a["lut_ms"])
    for label, g in groups.items():
        no_slower = [r["acc_mean"] for r in randoms if r["lut_ms"] <= g["lut_ms"] * (1 + TOLERANCE)]
        g["front_acc"] = max(no_slower) if no_slower else math.nan
        g["on_or_above_front"] = bool(g["searched_acc"] >= g["front_acc"]) if no_slower else None
    by_label = {a["label"]: a for a in archs}
    by_judge: dict[str, dict[str, Any]] = {}
    for judge in dict.fromkeys(r["judge"] for r in ranking):
        taus = by_judge.setdefault(judge, {})
        for search in groups:
            rows = [r for r in ranking if r["supernet"] == search and r["judge"] == judge]
            if not rows:  # this judge did not judge with this search's supernet (--rank-with)
                continue
            own = [r for r in rows if by_label[r["label"]]["group"] == search]
            taus[search] = {
                "group": kendall([r["supernet_acc"] for r in own], [by_label[r["label"]]["acc_mean"] for r in own]),
                "all": kendall([r["supernet_acc"] for r in rows], [by_label[r["label"]]["acc_mean"] for r in rows]),
                "n_group": len(own), "n_all": len(rows),
                "seeds_group": seed_agreement([r["label"] for r in own], trainings),
                "seeds_all": seed_agreement([r["label"] for r in rows], trainings),
                "ceiling_group": perfect_judge_tau([r["label"] for r in own], accs),
                "ceiling_all": perfect_judge_tau([r["label"] for r in rows], accs)}
    return {"settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "target_ms": target_ms, "groups": groups, "kendall_tau": by_judge.pop(PLAIN_JUDGE, {}),
            "kendall_tau_by_judge": by_judge, "archs": archs}


def format_report(summary: dict[str, Any]) -> list[str]:
    lines = [f"{'architecture':<22}{'LUT ms':>8}{'skips':>6}{'accuracy %':>17}{'seeds':>6}"]
    for a in summary["archs"]:
        mark = " <- searched" if a["searched"] else " <- the search's argmax (before --select)" if a.get("argmax") else ""
        acc = f"{a['acc_mean']:.2f} +- {a['acc_std']:.2f}" if a["seeds"] > 1 else f"{a['acc_mean']:.2f}"
        lines.append(f"{a['label']:<22}{a['lut_ms']:>8.3f}{a['skips']:>6}{acc:>17}{a['seeds']:>6}{mark}")
    lines.append("")
    for label, g in summary["groups"].items():
        front = ("on or above" if g["on_or_above_front"] else "below") if g["on_or_above_front"] is not None else "n/a"
        lines.append(f"{label}: {g['lut_ms']:.3f} ms, {g['skips']} skips, {g['searched_acc']:.2f}%; more accurate "
                     f"than {g['beats']} of {g['randoms']} random architectures within +-{TOLERANCE:.0%} "
                     f"({g['beats_90'][0]}-{g['beats_90'][1]} with other training seeds, 90% bootstrap; "
                     f"rank {g['rank']} of {g['randoms'] + 1}; their mean {g['random_acc_mean']:.2f}% at "
                     f"{g['random_ms_mean'] / g['lut_ms'] - 1:+.1%} latency, skips "
                     f"{g['random_skips']}); {front} the random front ({g['front_acc']:.2f}%)")
        if "argmax_acc" in g:
            lines.append(f"  {label} before --select (the argmax of P_theta): {g['argmax_ms']:.3f} ms, "
                         f"{g['argmax_acc']:.2f}%; more accurate than {g['argmax_beats']} of {g['randoms']}")
    judges = [(PLAIN_JUDGE, summary["kendall_tau"]), *summary.get("kendall_tau_by_judge", {}).items()]
    for judge, taus in judges:
        how = "" if judge == PLAIN_JUDGE else f" fine-tuned ({judge.replace('ft', '').replace('@', ' steps at lr ')})"
        for label, t in taus.items():
            lines.append(f"Kendall tau, supernet of {label}{how} vs stand-alone: {t['group']:.2f} on its "
                         f"{t['n_group']} architectures, {t['all']:.2f} on all {t['n_all']} (seed against seed, the "
                         f"ranking's own repeatability: {t['seeds_group']:.2f} and {t['seeds_all']:.2f}; a judge "
                         f"that knew the true accuracies: about {t['ceiling_group']:.2f} and "
                         f"{t['ceiling_all']:.2f})")
    return lines


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    archs = summary["archs"]
    rnd = [a for a in archs if not a["searched"] and not a.get("argmax")]
    ax.errorbar([a["lut_ms"] for a in rnd], [a["acc_mean"] for a in rnd],
                yerr=[0 if math.isnan(a["acc_std"]) else a["acc_std"] for a in rnd], fmt="o", color="0.6",
                ms=4, label="random (same latency +-5%)")
    for a in (a for a in archs if a.get("argmax")):
        ax.errorbar([a["lut_ms"]], [a["acc_mean"]], yerr=[0 if math.isnan(a["acc_std"]) else a["acc_std"]],
                    fmt="x", ms=9, label=f"{a['group']}'s argmax before --select")
    for a in (a for a in archs if a["searched"]):
        ax.errorbar([a["lut_ms"]], [a["acc_mean"]], yerr=[0 if math.isnan(a["acc_std"]) else a["acc_std"]],
                    fmt="*", ms=12, label=f"searched: {a['label']}")
    ax.set_xlabel("LUT latency (ms)")
    ax.set_ylabel("test accuracy (%), mean +- std over seeds")
    s = summary["settings"]
    ax.set_title(f"{s['data']}, {s['limit']} images, {s['resolution']}x{s['resolution']}, "
                 f"{s['train_epochs']} epochs x {s['seeds']} seeds", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_folder(args)  # creates --out
    start = time.perf_counter()
    from lut import load
    from search.sampling import mid_latency
    from search.space import get_space

    lut = ensure_lut(args)
    space = get_space("fbnet-cifar", None, args.resolution)
    matrix = load(lut).matrix(space)
    target = mid_latency(matrix.latency_ms, matrix.fixed_ms)
    say(f"[plan] LUT range mid-point {target:.3f} ms")
    plan = search_plan(args, target)
    rank_with(args, plan)
    folders, archs, trainings = search_and_train(args, lut, plan, matrix, rank=_rank)
    ranking = supernet_ranking(args, folders, archs)
    summary = summarize(args, archs, trainings, ranking, target)
    summary["minutes"] = (time.perf_counter() - start) / 60
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    plot(summary, args.out / "search_vs_random.png")
    print("\n".join(format_report(summary)))
    print(f"wrote {args.out / 'summary.json'} and {args.out / 'search_vs_random.png'} "
          f"({summary['minutes']:.0f} min in this run)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted: what finished is kept; run the same command again to continue")
        sys.exit(130)
