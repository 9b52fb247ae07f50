"""python -m search.run: FBNet differentiable architecture search with a measured LUT as the latency term."""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from search.torch_device import TRAIN_DEVICES
from search.loss import LOSSES
from search.select import (FINETUNE_STEPS, JUDGES, SELECT_EPOCHS, SELECT_FINALISTS, SELECT_IMAGES, SELECT_K,
                           SELECT_SEEDS)
from search.runfolder import RUN_FIELDS, check_resume, check_run, config_from, read_search_json, start

WEIGHT_CHOICES = ("shared", "independent")  # search.layers.WEIGHTS (torch), named here so --help stays light
MODE_CHOICES = ("hybrid", "hard", "soft")  # search.supernet.MODES, likewise

EPILOG = """\
examples:
  python -m search.run --lut lut/cpu.csv                                # fbnet-cifar on digits, fbnet loss;
                                                                        # the best of the argmax and 9 others
                                                                        # of its latency, judged by the
                                                                        # fine-tuned supernet (--select 10)
  python -m search.run --lut lut/cpu.csv --loss target --target-ms 1.5  # aim at a latency
  python -m search.run --lut lut/cpu.csv --select 0                     # the argmax of P_theta as it is
  python -m search.run --lut lut/cpu.csv --select-judge scratch         # judge the 10 by 3 epochs from scratch
  python -m search.run --resume runs/20261127-201500                    # continue an interrupted search
  torchrun --nproc_per_node=2 -m search.run --lut lut/cpu.csv           # DistributedDataParallel

Writes to --out: arch.json (blocks, predicted latency, LUT hash, theta probabilities, top-k, --select's judgements),
metrics.csv (a row per epoch), theta.png and curves.png, model.onnx of the derived architecture,
and checkpoint.pt after every epoch (Ctrl-C keeps it; --resume continues to the same result).
"""

RESUME_FLAGS = frozenset({"resume", "quiet", "select_jobs"})  # the flags that may accompany --resume


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m search.run", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lut", type=Path, default=Path("lut/cpu.csv"), help="latency LUT (default lut/cpu.csv)")
    p.add_argument("--space", default="fbnet-cifar", help="fbnet, fbnet-cifar or a space file (default fbnet-cifar)")
    p.add_argument("--width-mult", type=float, default=None, help="width multiplier of a built-in space")
    p.add_argument("--resolution", type=int, default=None, help="input resolution of a built-in space")
    p.add_argument("--data", default="digits",
                   help="digits (default, bundled), fashion-mnist[:DIR], cifar10:DIR or folder:DIR")
    p.add_argument("--limit", type=int, default=None, help="use at most this many training images")
    p.add_argument("--epochs", type=int, default=20,
                   help="search epochs (default 20: the README's main job, digits at 32x32, takes about 7 "
                        "minutes on 2 cores with --select 10's judging)")
    p.add_argument("--warmup-epochs", type=int, default=None,
                   help="epochs that train weights only, before theta moves (default 50%% of --epochs)")
    p.add_argument("--batch-size", type=int, default=64, help="images per step and process (default 64)")
    p.add_argument("--mode", choices=MODE_CHOICES, default="hybrid",
                   help="hybrid (default): the weights train on one sampled path per step, theta on a "
                        "Gumbel-weighted mixture of candidates (its gradient compares them; see "
                        "--theta-paths); hard: one "
                        "path in both passes (cheapest, but theta's gradient cannot tell candidates apart); "
                        "soft: the mixture in both passes (the paper)")
    p.add_argument("--theta-paths", type=int, default=None, metavar="K",
                   help="candidates per layer that a soft theta pass mixes, drawn from P_theta without "
                        "replacement; 0: every candidate (default in soft mode, the paper); default in hybrid "
                        "mode 2 (ProxylessNAS's two paths: an epoch's average step 1.12x a child's step, 1.57x "
                        "with 0; its mid-target searches picked the same network and ranked architectures as well, "
                        "its FBNet-loss supernets ranked distant latencies worse in one run: docs/search.md)")
    p.add_argument("--weights", choices=WEIGHT_CHOICES, default="shared",
                   help="shared (default): a layer's candidates share one superkernel (3x3 = centre of 5x5, "
                        "e1/e3 = leading channels of e6), so the supernet trains like one network; "
                        "independent: every candidate has its own weights (the FBNet paper)")
    p.add_argument("--loss", choices=tuple(LOSSES), default="fbnet",
                   help="fbnet: CE*alpha*(log LAT)^beta; target: CE + lambda*max(0, LAT/T - 1) (a ceiling); "
                        "target-abs: CE + lambda*|LAT/T - 1| (TuNAS: lands on T from both sides); none: CE only")
    p.add_argument("--alpha", type=float, default=0.2, help="fbnet loss alpha (default 0.2)")
    p.add_argument("--beta", type=float, default=0.6, help="fbnet loss beta (default 0.6)")
    p.add_argument("--target-ms", type=float, default=None, help="latency target T in ms (target losses)")
    p.add_argument("--lambda", dest="lam", type=float, default=5.0, help="target losses' weight (default 5.0)")
    p.add_argument("--lat-unit", choices=("auto", "ms", "us"), default="auto",
                   help="unit of LAT inside the fbnet loss's log: ms as the paper, us for networks of a few ms "
                        "where log LAT would be small or negative; auto (default) takes ms when every "
                        "network of the space is above e ms, else us")
    p.add_argument("--lr-w", type=float, default=0.1, help="SGD learning rate per 256 images (default 0.1)")
    p.add_argument("--lr-theta", type=float, default=0.1,
                   help="Adam learning rate of theta (default 0.1: a search of tens of epochs has a few hundred "
                        "theta steps; the paper's 0.01 leaves theta near uniform in them)")
    p.add_argument("--tau", type=float, default=1.0,
                   help="Gumbel-softmax temperature of the soft forwards (default 1.0: theta's cross-entropy "
                        "gradient then has the scale of the expected latency's; the paper's 5.0 damps it 5x)")
    p.add_argument("--tau-decay", type=float, default=1.0,
                   help="temperature factor per epoch (default 1.0; the paper: --tau 5 --tau-decay 0.956)")
    p.add_argument("--entropy", type=float, default=0.3,
                   help="weight of theta's mean per-layer entropy in theta's loss, ramped linearly from 0 after "
                        "the warm-up to this value at the last epoch (default 0.3: theta decides, so the argmax "
                        "architecture lands where the expected latency is and the supernet ends up training "
                        "it; 0 is the paper's loss)")
    p.add_argument("--top-k", type=int, default=5, help="most likely architectures listed in arch.json")
    p.add_argument("--select", type=int, default=SELECT_K, metavar="K",
                   help="after the last epoch, judge the argmax and K-1 architectures within +-5%% of its LUT "
                   "latency (--select-judge; by default with the supernet, each fine-tuned --select-steps batches), "
                   "tested on the theta split and --select-images more, "
                   f"and return the most accurate (search.select; default {SELECT_K}, about 9 minutes at 32x32 "
                   "on 2 cores; 0: return the argmax as it is)")
    p.add_argument("--select-judge", choices=tuple(JUDGES), default="supernet",
                   help="how --select judges: supernet (default): a copy of the supernet's weights fine-tuned "
                        "--select-steps batches; scratch: each architecture trained from scratch --select-epochs "
                        "epochs on the weights' split, --select-seeds times (the FBNet paper's last step, "
                        "shortened)")
    p.add_argument("--select-steps", type=int, default=FINETUNE_STEPS, metavar="N",
                   help=f"fine-tuning batches per judged architecture of --select (default {FINETUNE_STEPS})")
    p.add_argument("--select-epochs", type=int, default=SELECT_EPOCHS, metavar="N",
                   help=f"training epochs per judged architecture of --select-judge scratch (default {SELECT_EPOCHS})")
    p.add_argument("--select-seeds", type=int, default=SELECT_SEEDS, metavar="N",
                   help=f"trainings per judged architecture of --select-judge scratch, from seeds --seed to "
                        f"--seed + N - 1; it is judged by their mean accuracy (default {SELECT_SEEDS}; each seed "
                        f"costs one training per candidate)")
    p.add_argument("--select-finalists", type=int, default=SELECT_FINALISTS, metavar="F",
                   help=f"with --select-seeds N > 1: every candidate is trained from the first seed, and only the F "
                        f"best by it from the other N - 1; the pick is the finalist of the best mean (default "
                        f"{SELECT_FINALISTS}: 20 trainings instead of 30 at --select 10 --select-seeds 3; 0: every "
                        f"candidate from every seed, as before lutnas 0.13)")
    p.add_argument("--select-images", type=int, default=SELECT_IMAGES, metavar="N",
                   help=f"training images outside --limit, never loaded by the search, that --select tests on "
                        f"beside the theta split (default {SELECT_IMAGES}; fewer when the data holds fewer, none "
                        f"without --limit; 0: the theta split alone, as before lutnas 0.9)")
    p.add_argument("--select-jobs", type=int, default=1, metavar="N",
                   help="judge N candidates of --select-judge scratch at a time, each in a worker process with "
                        "--threads torch threads (default 1: one at a time in the search's process; the same "
                        "results either way; e.g. --threads 1 --select-jobs 2 on 2 cores; CPU only, and allowed "
                        "with --resume)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--threads", type=int, default=None, help="torch threads per process")
    p.add_argument("--train-device", choices=TRAIN_DEVICES, default="cpu",
                   help="where the supernet trains (default cpu; cuda: bitwise reproducibility is not promised, "
                        "and torchrun uses nccl with one GPU per process)")
    p.add_argument("--out", type=Path, default=None, help="result folder (default runs/<UTC timestamp>)")
    p.add_argument("--resume", type=Path, default=None, metavar="DIR",
                   help="continue the search in DIR from its last checkpoint (or from the start, when it was "
                        "stopped before one), with the settings in DIR/search.json; other flags are refused, and "
                        "so is a LUT whose content changed since the search started")
    p.add_argument("--overwrite", action="store_true",
                   help="start again in an --out that holds a search (its search files are removed, nothing else)")
    p.add_argument("--no-export", dest="export", action="store_false", help="skip model.onnx")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def given_flags(argv: list[str] | None) -> set[str]:
    """The destinations of the options given on the command line (whatever their values)."""
    p = build_parser()
    for action in p._actions:
        action.default = argparse.SUPPRESS
    return set(vars(p.parse_args(argv)))


def _settings(args: argparse.Namespace, given: set[str] | None = None):
    """(SearchConfig, run settings, out dir) from the arguments, or from DIR/search.json on --resume."""
    from search.config import SearchConfig

    if args.resume:
        extra = sorted((given or set()) - RESUME_FLAGS)
        if extra:
            flags = ", ".join("--" + name.replace("_", "-") for name in extra)
            raise ValueError(f"{flags}: not allowed with --resume (the search in {args.resume} continues with "
                             f"the settings in its search.json); start a new search to change them")
        config, run = read_search_json(args.resume)
        cfg = config_from(config, str(args.resume / "search.json"))
        check_run(run)
        return cfg, run, args.resume
    names = {f.name for f in fields(SearchConfig)}
    cfg = SearchConfig(**{k: v for k, v in vars(args).items() if k in names and k != "warmup_epochs"},
                       warmup_epochs=args.warmup_epochs)
    cfg.check()
    run = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k in RUN_FIELDS}
    check_run(run)
    if args.out is None:
        from search.results import default_out_dir

        out = default_out_dir()
    else:
        out = args.out
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: not a folder")
    if (out / "search.json").exists() and not args.overwrite:
        raise ValueError(f"{out} already holds a search: continue it with --resume {out}, start it again with "
                         f"--overwrite, or choose another --out")
    return cfg, run, out


def _check_splits(splits, cfg, world: int, data: str) -> None:
    """ValueError when a part of the training data cannot fill one batch (the search would silently do nothing)."""
    need = cfg.batch_size * world
    parts = [("weights' (w)", splits.train_w)] + ([("theta", splits.train_theta)] if cfg.warmup < cfg.epochs else [])
    for name, part in parts:
        if len(part) < need:
            raise ValueError(f"{data}: the {name} part of the training data has {len(part)} images, fewer than one "
                             f"batch of {need}: raise --limit or lower --batch-size")


def _dist(device):
    from search.config import Dist

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size())


def search(args: argparse.Namespace) -> int:
    """Run (or resume) a search; returns the exit code."""
    import numpy as np
    import torch

    from lut import load
    from search.data import load_data
    from search.checkpoint import save_checkpoint
    from search.dnas import Searcher
    from search.latency import LatencyTerm
    from search.space import get_space
    from search.supernet import Supernet

    cfg, run, out = _settings(args, getattr(args, "given", None))
    if args.select_jobs < 1:
        raise ValueError(f"--select-jobs must be >= 1, got {args.select_jobs}")
    lut = load(run["lut"])
    lut_hash = lut.content_hash()
    ckpt = check_resume(out, cfg, run, lut_hash) if args.resume else None
    run = {**run, "lut_hash": lut_hash}
    space = get_space(run["space"], run["width_mult"], run["resolution"])
    matrix = lut.matrix(space)  # MissingKeysError names the keys and the profiler command
    if not (np.isfinite(matrix.latency_ms).all() and math.isfinite(matrix.fixed_ms)):
        raise ValueError(f"{run['lut']}: latencies that are not finite numbers (check it with python -m lut validate)")
    if cfg.lat_unit == "auto":
        fastest = matrix.fixed_ms + float(matrix.latency_ms.min(axis=1).sum())
        cfg.lat_unit = "ms" if fastest > math.e else "us"
    from search.torch_device import train_device

    device = train_device(run.get("train_device", "cpu"))
    dist = _dist(device)
    say = (lambda *a: print(*a, file=sys.stderr)) if dist.main else (lambda *a: None)
    from search.select import unused_settings

    unused = unused_settings(run["select_judge"], getattr(args, "given", None) or set()) if run["select"] else []
    if unused:
        say(f"warning: {', '.join(unused)}: not a setting of --select-judge {run['select_judge']}, so unused")
    from search.select import judging_jobs

    if args.select_jobs > 1 and run["select"] and judging_jobs(run["select_judge"], device, args.select_jobs) == 1:
        say(f"warning: --select-jobs {args.select_jobs}: --select-judge {run['select_judge']} on "
            f"{device.type} judges one at a time, so unused")
    if len(lut.environments()) > 1:
        say(f"warning: {run['lut']} mixes measurement environments "
            f"({'; '.join('/'.join(map(str, e)) for e in lut.environments())})")
    if run["threads"]:
        torch.set_num_threads(run["threads"])
    splits = load_data(run["data"], seed=cfg.seed, limit=run["limit"],
                       spare=run["select_images"] if run["select"] else 0)
    _check_splits(splits, cfg, dist.world, run["data"])
    torch.manual_seed(cfg.seed)
    from search.torch_device import on_device

    net = on_device(Supernet(space, splits.num_classes, cfg.mode, cfg.weights), device)
    latency = LatencyTerm(matrix).to(device)
    wrap = None
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        ids = [device.index] if device.type == "cuda" else None
        wrap = lambda m: DistributedDataParallel(m, device_ids=ids, find_unused_parameters=True)  # noqa: E731
    searcher = Searcher(net, latency, splits, cfg, space.input_size, dist, wrap)
    if ckpt is not None:
        searcher.load_state_dict(ckpt)
        say(f"resuming {out} after epoch {searcher.state.epoch} of {cfg.epochs}")
    elif args.resume:
        say(f"resuming {out}: it stopped before its first epoch ended, so it starts from the beginning")
    elif dist.main:
        start(out, cfg, run, args.overwrite)
    from search.derive import write_outputs
    from search.results import write_metrics

    try:
        while searcher.state.epoch < cfg.epochs:
            row = _epoch(searcher, args.quiet or not dist.main)
            if dist.main:
                save_checkpoint(searcher, out)
                write_metrics(searcher.state.metrics, out / "metrics.csv")
                say(f"epoch {row['epoch']}/{cfg.epochs} {row['phase']}: tau {row['tau']:.3f} "
                    f"train acc {row['train_acc']:.1f}% val acc {row['val_acc']:.1f}% "
                    f"expected LAT {row['expected_ms']:.3f} ms argmax LAT {row['argmax_ms']:.3f} ms")
        _check_theta_agrees(searcher, dist, say)
        if dist.main:
            selection = _select(searcher, matrix, run, cfg, args.quiet, say, args.select_jobs)  # on its device
            net.cpu()
            arch_path = write_outputs(searcher, space, matrix, lut, run, cfg, out, selection)
            print(f"wrote {arch_path}")
    except KeyboardInterrupt:
        say(f"\ninterrupted after epoch {searcher.state.epoch}; continue with: python -m search.run --resume {out}")
        return 130
    if dist.world > 1:
        torch.distributed.destroy_process_group()
    return 0


def _epoch(searcher, quiet: bool) -> dict[str, Any]:
    from tqdm import tqdm

    with tqdm(total=searcher.steps(), desc=f"epoch {searcher.state.epoch + 1}", unit="step", disable=quiet,
              file=sys.stderr, leave=False) as bar:
        return searcher.run_epoch(bar.update)


def _select(searcher, matrix, run: dict[str, Any], cfg, quiet: bool, say, jobs: int = 1) -> dict[str, Any] | None:
    """search.select's pick when --select asks for one (None: the argmax is the result), ``jobs`` judgements at a
    time where the judge can."""
    if not run.get("select"):
        return None
    from tqdm import tqdm

    from search.derive import argmax_choices
    from search.select import describe, judge_settings, most_accurate, select, trainings

    net = searcher.net
    base = argmax_choices(net.probabilities(), list(net.candidates))
    how = judge_settings(run, cfg.batch_size)
    with tqdm(total=trainings(how, run["select"]), desc="select", unit="judgement", disable=quiet, file=sys.stderr,
              leave=False) as bar:
        def planned(n: int) -> None:  # fewer than --select asks where the latency band holds fewer
            bar.total = n
            bar.refresh()

        picked = select(net, matrix, searcher.splits, net.space.input_size, base, run["select"], seed=cfg.seed,
                        progress=bar.update, how=how, planned=planned, jobs=jobs)
    judged = picked["judged"]
    best = judged[most_accurate(judged)]
    which = "the argmax" if picked["blocks"] == base else f"{matrix.predict(picked['blocks']):.3f} ms"
    once = " (its first seed: not a finalist)" if len(judged[0].get("accs", ())) < len(best.get("accs", ())) else ""
    say(f"select: {len(judged)} architecture{'s' * (len(judged) != 1)} of {matrix.predict(base):.3f} ms +-5% judged "
        f"({describe(how)}) on {picked['images']:,} held-out images; the argmax scored "
        f"{judged[0]['val_acc']:.1f}%{once}, the pick {best['val_acc']:.1f}% ({which})")
    return picked


def _check_theta_agrees(searcher, dist, say) -> None:
    """In a DDP job, verify theta is identical on every rank (it must be: averaged gradients, same Adam)."""
    if dist.world == 1:
        return
    import torch

    theta = searcher.net.theta.detach().clone()
    gathered = [torch.empty_like(theta) for _ in range(dist.world)]
    torch.distributed.all_gather(gathered, theta)
    diff = max(float((g - gathered[0]).abs().max()) for g in gathered)
    if diff != 0.0:
        raise RuntimeError(f"theta differs between ranks by {diff}")
    say(f"theta identical on {dist.world} ranks")


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors, exit 2 on bad input, no tracebacks."""
    args = build_parser().parse_args(argv)
    args.given = given_flags(argv)
    from lutnas.cli import guarded

    return guarded(search, args)


if __name__ == "__main__":
    sys.exit(main())
