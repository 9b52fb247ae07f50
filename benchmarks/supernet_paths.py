"""How fast a supernet's weights learn under different path-sampling rules (docs/search.md).

Trains the fbnet-cifar supernet's weights only (no theta) with SGD (momentum 0.9, Nesterov, weight
decay 1e-4, cosine learning rate), batch 64, and prints per epoch the running train accuracy and
the held-out accuracy (the theta split) of a few uniformly drawn paths, each judged with its
BatchNorm statistics recomputed:

  fixed      one path (the first allowed candidate everywhere), like training a plain child network
  uniform    a uniform random allowed candidate at every layer, every step (the search's warm-up)
  only<L>    the first allowed candidate everywhere except layer L, sampled uniformly every step

    python benchmarks/supernet_paths.py uniform                                  # shared weights, all 9
    python benchmarks/supernet_paths.py uniform --weights independent
    python benchmarks/supernet_paths.py uniform --allowed k3_e1,k3_e3,k3_e6,k5_e1,k5_e3,k5_e6
    python benchmarks/supernet_paths.py fixed
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search.data import batches, load_data  # noqa: E402
from search.checkpoint import path_accuracy  # noqa: E402
from search.torch_device import batch_to, on_device  # noqa: E402
from search.layers import WEIGHTS  # noqa: E402
from search.space import get_space  # noqa: E402
from search.supernet import Supernet  # noqa: E402

BATCH = 64


def choose(rule: str, allowed: list[int], layers: int, g: torch.Generator) -> torch.Tensor:
    """The candidate index per layer for one step under ``rule``."""
    pick = lambda n: torch.tensor(allowed)[torch.randint(0, len(allowed), (n,), generator=g)]  # noqa: E731
    if rule == "fixed":
        return torch.full((layers,), allowed[0])
    if rule == "uniform":
        return pick(layers)
    if rule.startswith("only") and rule[4:].isdigit():
        idx = torch.full((layers,), allowed[0])
        idx[int(rule[4:])] = pick(1)[0]
        return idx
    raise SystemExit(f"unknown rule {rule!r}: fixed, uniform or only<L>")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rule")
    p.add_argument("--weights", choices=tuple(WEIGHTS), default="shared")
    p.add_argument("--allowed", default=None, help="candidates to sample from, comma-separated (default: all)")
    p.add_argument("--data", default="fashion-mnist")
    p.add_argument("--limit", type=int, default=10000, help="training images (80%% train the weights)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--lr", type=float, default=0.05, help="SGD learning rate at batch 64 (default 0.05)")
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--judge", type=int, default=4, help="random paths judged after each epoch (default 4)")
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    space = get_space("fbnet-cifar", input_size=args.resolution)
    net = on_device(Supernet(space, 10, "hard", args.weights), "cpu")
    names = list(net.candidates)
    wanted = names if args.allowed is None else args.allowed.split(",")
    unknown = [c for c in wanted if c not in names]
    if unknown:
        raise SystemExit(f"unknown candidate(s) {', '.join(unknown)}; candidates: {', '.join(names)}")
    allowed = [names.index(c) for c in wanted]
    layers = len(net.layers)
    splits = load_data(args.data, seed=0, limit=args.limit)
    data = splits.train_w
    opt = torch.optim.SGD(net.weight_parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4, nesterov=True)
    total, step = args.epochs * (len(data) // BATCH), 0
    g = torch.Generator().manual_seed(1)
    print(f"rule {args.rule}, {args.weights} weights, candidates {','.join(wanted)}: fbnet-cifar at "
          f"{args.resolution}x{args.resolution}, {args.data} ({len(data)} images), batch {BATCH}, lr {args.lr}")
    for epoch in range(args.epochs):
        start, correct, seen = time.perf_counter(), 0, 0
        net.train()
        for x, y in batches(data, BATCH, args.resolution, shuffle=True, generator=torch.Generator().manual_seed(epoch),
                            drop_last=True):
            for group in opt.param_groups:
                group["lr"] = args.lr * 0.5 * (1 + math.cos(math.pi * step / total))
            step += 1
            idx = choose(args.rule, allowed, layers, g)
            logits = net(batch_to(x, "cpu"), F.one_hot(idx, len(names)).float(), idx)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
        judge = torch.Generator().manual_seed(99)
        accs = [path_accuracy(net, [names[i] for i in choose(args.rule, allowed, layers, judge).tolist()],
                              data, splits.train_theta, args.resolution) for _ in range(args.judge)]
        net.train()
        print(f"epoch {epoch + 1}: train acc {100 * correct / seen:.1f}%, held-out acc of {args.judge} paths "
              f"{', '.join(f'{a:.1f}%' for a in accs)} ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
