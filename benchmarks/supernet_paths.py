"""How fast a hard-mode supernet's weights learn under different path-sampling rules.

Trains the fbnet-cifar supernet's weights only (no theta) on digits, with SGD (momentum 0.9,
Nesterov, weight decay 1e-4, cosine lr) and prints train accuracy per epoch, for one rule:

  fixed      one path (candidate 0 everywhere), like training a plain child network
  uniform    a uniform random candidate at every layer, every step (the search's warm-up)
  only<L>    candidate 0 everywhere except layer L, which is sampled uniformly every step

Usage: python benchmarks/supernet_paths.py RULE [--epochs N] [--lr LR] [--resolution S]
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F

from search.data import batches, load_data
from search.space import get_space
from search.supernet import Supernet


def choose(rule: str, layers: int, candidates: int, g: torch.Generator) -> torch.Tensor:
    """The candidate index per layer for one step under ``rule``."""
    if rule == "fixed":
        return torch.zeros(layers, dtype=torch.long)
    if rule == "uniform":
        return torch.randint(0, candidates, (layers,), generator=g)
    if rule.startswith("only"):
        idx = torch.zeros(layers, dtype=torch.long)
        idx[int(rule[4:])] = int(torch.randint(0, candidates, (1,), generator=g))
        return idx
    raise SystemExit(f"unknown rule {rule!r}: fixed, uniform or only<L>")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rule")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--lr", type=float, default=0.02, help="SGD learning rate at batch 32 (default 0.02)")
    p.add_argument("--resolution", type=int, default=16)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    space = get_space("fbnet-cifar", input_size=args.resolution)
    net = Supernet(space, 10, "hard")
    layers, k = len(net.layers), len(net.candidates)
    data = load_data("digits").train_w
    opt = torch.optim.SGD(net.weight_parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4, nesterov=True)
    per_epoch = len(data) // 32
    total, step = args.epochs * per_epoch, 0
    g = torch.Generator().manual_seed(1)
    print(f"rule {args.rule}: fbnet-cifar at {args.resolution}x{args.resolution}, digits, batch 32, lr {args.lr}")
    for epoch in range(args.epochs):
        start, correct, seen = time.perf_counter(), 0, 0
        for x, y in batches(data, 32, args.resolution, shuffle=True, generator=torch.Generator().manual_seed(epoch),
                            drop_last=True):
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / total))
            step += 1
            idx = choose(args.rule, layers, k, g)
            logits = net(x, F.one_hot(idx, k).float(), idx)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        print(f"epoch {epoch + 1}: train acc {100 * correct / seen:.1f}% ({time.perf_counter() - start:.1f} s)",
              flush=True)


if __name__ == "__main__":
    main()
