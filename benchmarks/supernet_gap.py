"""How far the supernet's judgement of its derived architecture is from that architecture trained alone.

    python benchmarks/supernet_gap.py runs/X [--threads 1] [--seeds 1] [--test]

A finished search's last metrics.csv row has val_acc: the derived (argmax) architecture with the
supernet's weights (BatchNorm statistics recomputed for its path) on the theta split. This trains
the same architecture (the folder's arch.json; its search's argmax where --select returned another)
from scratch with search.train's recipe (SGD,
Nesterov, cosine to 0, lr 0.2 per 256 images) on the same images the supernet's weights trained
on (the w split of the search's data, --limit and seed), for the search's number of epochs, and
evaluates it on the same theta split. It prints both accuracies and the gap (stand-alone minus
supernet), per seed and as a mean. --test also trains it as `python -m search.train --limit N`
does (the w and theta splits together, tested on the dataset's test split).

Cost: the architecture's training, --seeds times (a few minutes per seed for fbnet-cifar at 16x16 on
10,000 Fashion-MNIST images on one core).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LR_PER_256 = 0.2  # search.train's default


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("search", type=Path, help="a finished search's folder (search.json, metrics.csv, arch.json)")
    p.add_argument("--seeds", type=int, default=1, help="stand-alone trainings, seeds 0.. (default 1)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--test", action="store_true", help="also train on w+theta and test on the test split")
    args = p.parse_args(argv)
    if args.seeds < 1:
        p.error("--seeds must be >= 1")

    import torch

    from search.archfile import read_arch
    from search.data import load_data
    from search.results import read_metrics
    from search.train import train_arch

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        saved = json.loads((args.search / "search.json").read_text())
        config, run = saved["config"], saved["run"]
        rows = read_metrics(args.search / "metrics.csv")
        arch = read_arch(args.search / "arch.json")
    except (OSError, ValueError, KeyError) as e:
        sys.exit(f"{args.search}: not a finished search ({e})")
    if len(rows) != config["epochs"]:
        sys.exit(f"{args.search}: {len(rows)} of {config['epochs']} epochs done; finish it first")
    judged = float(rows[-1]["val_acc"])
    argmax = (arch.search.get("selection") or {}).get("argmax")
    if argmax and argmax != arch.blocks:  # --select picked another: metrics.csv's val_acc is the argmax's
        print(f"{args.search}: --select returned another architecture than the argmax; measuring the argmax "
              f"({' '.join(argmax)}), whose judgement metrics.csv holds")
        arch = dataclasses.replace(arch, blocks=list(argmax))
    epochs, batch = int(config["epochs"]), int(config["batch_size"])
    splits = load_data(run["data"], seed=int(config["seed"]), limit=run["limit"])
    same = SimpleNamespace(name=splits.name, train=splits.train_w, test=splits.train_theta,
                           num_classes=splits.num_classes)
    print(f"{args.search}: {arch.space.name} at {arch.space.input_size}x{arch.space.input_size}, "
          f"{sum(b == 'skip' for b in arch.blocks)} skips, {epochs} epochs, batch {batch}; w split "
          f"{len(splits.train_w)} images, theta split {len(splits.train_theta)}")
    print(f"supernet's weights (last epoch, theta split): {judged:.2f}%", flush=True)
    alone = []
    for seed in range(args.seeds):
        result = train_arch(arch, same, epochs, batch, LR_PER_256 * batch / 256, seed, test_every_epoch=False)
        alone.append(result["test_acc"])
        print(f"stand-alone seed {seed} (trained on the w split, tested on the theta split): "
              f"{alone[-1]:.2f}%  gap {alone[-1] - judged:+.2f} points", flush=True)
    mean = statistics.mean(alone)
    print(f"stand-alone mean {mean:.2f}% over {len(alone)} seed(s): the supernet judges its architecture "
          f"{mean - judged:.2f} points below")
    if args.test:
        result = train_arch(arch, splits, epochs, batch, LR_PER_256 * batch / 256, 0, test_every_epoch=False)
        print(f"as search.train --limit {run['limit']} (w+theta splits, test split), seed 0: "
              f"{result['test_acc']:.2f}%  gap {result['test_acc'] - judged:+.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
