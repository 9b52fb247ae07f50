"""How many images the scratch judge should test on: what its testing costs, and how much noise fewer images add.

    python benchmarks/judge_images.py runs/svr-37/searches/target-mid [--candidates 2] [--spare 0,5000,10000,30000]

FOLDER is a finished `search.run --select K --select-judge scratch` search. Its judge (search.select.judge_scratch)
trains each candidate --select-epochs epochs on the weights' split, then tests it on the theta split and on
--select-images spare training images. This trains the --candidates most accurate of its judged candidates again
with the judge's recipe (the search's seed, data, batch and --threads), times the training and the testing, and
counts on which of the judged images the candidates disagree (one right, the other wrong).

Two candidates tested on the same n images differ by their true gap plus a sampling error of sd about
sqrt(d / n) (d: the share of images on which they disagree). The judge's other noise is its training seed's: sd
``seed_sd``, pooled over the search's finalists (the candidates arch.json records several seeds of; absent for
a judge of one seed). Per row of --spare: the testing's seconds (measured on all the judged images, scaled to the
row's), a judgement's seconds, the sampling error of a gap, and the judge's whole noise per training against the
last row's: sqrt(2 seed_sd^2 + d / n) over the same at the last row's n.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPARE = (0, 5000, 10000, 30000)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", type=Path, help="a finished search.run folder judged by --select-judge scratch")
    p.add_argument("--candidates", type=int, default=2, metavar="N",
                   help="the N most accurate judged candidates to train again (default 2)")
    p.add_argument("--spare", default=",".join(map(str, SPARE)), metavar="N,...",
                   help="--select-images values to report, separated by commas (default "
                        f"{','.join(map(str, SPARE))}); the candidates are tested on the theta split and the largest")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: the search's --threads)")
    args = p.parse_args(argv)
    try:
        args.spare_values = sorted({int(v) for v in args.spare.split(",") if v.strip()})
    except ValueError:
        p.error(f"--spare must be whole numbers separated by commas, got {args.spare!r}")
    if not args.spare_values or args.spare_values[0] < 0:
        p.error(f"--spare must be whole numbers >= 0, got {args.spare!r}")
    if args.candidates < 2:
        p.error("--candidates must be >= 2 (a disagreement needs two)")
    if args.threads is not None and args.threads < 1:
        p.error("--threads must be >= 1")
    return args


def read_search(folder: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """search.json's run and config and arch.json's selection of a finished scratch-judged search, or a one-line
    SystemExit naming the file and what is wrong."""
    docs = {}
    for name in ("search.json", "arch.json"):
        path = folder / name
        try:
            docs[name] = json.loads(path.read_text())
        except FileNotFoundError:
            raise SystemExit(f"{path}: not found: is {folder} a finished search.run folder?") from None
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: cannot read it: {e}") from None
    try:
        run, config = docs["search.json"]["run"], docs["search.json"]["config"]
        selection = docs["arch.json"]["search"]["selection"]
        if not isinstance(selection, dict) or not isinstance(selection.get("judged"), list):
            raise TypeError(selection)
    except (KeyError, TypeError):
        raise SystemExit(f"{folder / 'arch.json'}: no --select judgements in it (a search of --select 0?)") from None
    if selection.get("judge") != "scratch":
        raise SystemExit(f"{folder / 'arch.json'}: judged by the {selection.get('judge')} judge, not scratch")
    return run, config, selection


def seed_sd(judged: Sequence[dict[str, Any]]) -> float | None:
    """The judge's training-seed noise (sd, points): the pooled variance of the candidates judged from several
    seeds (arch.json's "accs"), or None where none was."""
    variances = [statistics.variance(j["accs"]) for j in judged if len(j.get("accs", ())) >= 2]
    return math.sqrt(statistics.fmean(variances)) if variances else None


def disagreement(correct: Sequence[Any]) -> float:
    """The mean share of images on which two of the candidates disagree (one right, the other wrong), over every
    pair; ``correct``: one boolean tensor per candidate, over the same images."""
    pairs = list(itertools.combinations(correct, 2))
    return statistics.fmean(float((a != b).float().mean()) for a, b in pairs)


def noise_rows(spare: Sequence[int], theta: int, d: float, sd: float | None, train_s: float,
               test_s_per_image: float) -> list[dict[str, Any]]:
    """One row per --select-images value: the judged images (theta split + spare), the testing's and a
    judgement's seconds, the sampling error of a gap between two candidates (sd, points), and the judge's whole
    noise per training against the last row's (None without ``sd``)."""
    def gap_var(n: int) -> float:
        return 1e4 * d / n

    last = theta + spare[-1]
    rows = []
    for s in spare:
        n = theta + s
        test_s = n * test_s_per_image
        factor = (math.sqrt((2 * sd * sd + gap_var(n)) / (2 * sd * sd + gap_var(last))) if sd is not None else None)
        rows.append({"spare": s, "images": n, "test_s": test_s, "judgement_s": train_s + test_s,
                     "test_share": test_s / (train_s + test_s), "gap_sd": math.sqrt(gap_var(n)),
                     "noise_factor": factor})
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    lines = [f"{'--select-images':>15} {'judged':>7} {'test s':>7} {'judgement s':>12} {'testing':>8} "
             f"{'gap sd (test sampling)':>23} {'judge noise':>12}"]
    for r in rows:
        factor = "?" if r["noise_factor"] is None else f"{r['noise_factor']:.2f}x"
        lines.append(f"{r['spare']:>15} {r['images']:>7} {r['test_s']:>7.1f} {r['judgement_s']:>12.1f} "
                     f"{r['test_share']:>8.0%} {r['gap_sd']:>23.2f} {factor:>12}")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run, config, selection = read_search(args.folder)
    import torch

    from search.archfile import make_arch, read_arch
    from search.data import batches, load_data
    from search.select import SCRATCH_LR, held_out, judge_set
    from search.torch_device import batch_to, eval_batch
    from search.train import train_arch

    torch.set_num_threads(args.threads or run.get("threads") or 1)
    space = read_arch(args.folder / "arch.json").space
    judged = sorted(selection["judged"], key=lambda j: -j["val_acc"])[:args.candidates]
    if len(judged) < 2:
        raise SystemExit(f"{args.folder / 'arch.json'}: {len(judged)} judged candidate: a disagreement needs two")
    splits = load_data(run["data"], seed=config["seed"], limit=run["limit"], spare=max(args.spare_values))
    test = judge_set(splits)
    data = dataclasses.replace(held_out(splits, test), test=test.subset(slice(0, 0)))  # tested below, timed
    epochs, batch = int(run.get("select_epochs") or 3), int(config["batch_size"])
    train_s, test_s, correct = [], [], []
    for j in judged:
        arch = make_arch(space, j["blocks"], num_classes=splits.num_classes)
        start = time.perf_counter()
        model = train_arch(arch, data, epochs, batch, SCRATCH_LR * batch / 256, config["seed"],
                           test_every_epoch=False)["model"]
        train_s.append(time.perf_counter() - start)
        model = model.to(memory_format=torch.channels_last).eval()
        start = time.perf_counter()
        with torch.no_grad():
            right = [model(batch_to(x, "cpu")).argmax(1) == y
                     for x, y in batches(test, eval_batch("cpu"), space.input_size, shuffle=False)]
        test_s.append(time.perf_counter() - start)
        correct.append(torch.cat(right))
        again = 100 * float(correct[-1].float().mean())
        print(f"{' '.join(j['blocks'])}: its first seed judged {j.get('accs', [j['val_acc']])[0]:.2f}%, again "
              f"{again:.2f}% on {len(test):,} images; trained {epochs} epoch{'s' * (epochs != 1)} on "
              f"{len(data.train_w):,} images in {train_s[-1]:.1f} s, tested in {test_s[-1]:.1f} s", flush=True)
    d, sd = disagreement(correct), seed_sd(selection["judged"])
    theta = len(splits.train_theta)
    print(f"they disagree on {100 * d:.2f}% of the {len(test):,} judged images; the judge's seed noise: "
          + (f"sd {sd:.2f} points (its finalists' seeds, pooled)" if sd is not None else "unknown (one seed)"))
    rows = noise_rows(args.spare_values, theta, d, sd, statistics.fmean(train_s),
                      sum(test_s) / (len(test_s) * len(test)))
    print("\n".join(format_rows(rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
