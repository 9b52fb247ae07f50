"""python -m search.train: train an arch.json's network from scratch and report its test accuracy.

The derived architecture of a search (or any hand-written arch.json) is
trained on the whole training split (the search's w and theta parts
together) with SGD (momentum 0.9, Nesterov, weight decay 1e-4) and a
per-step cosine learning rate that decays to 0, then evaluated on the test
split after every epoch. Seeded and deterministic on the CPU: the same seed,
data and thread count give the same numbers.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from search.archfile import Arch, read_arch, write_arch
from search.export import OneLineParser
from search.torch_device import TRAIN_DEVICES, eval_batch
from search.results import TRAIN_COLUMNS, default_out_dir, write_rows

MOMENTUM = 0.9
WEIGHT_DECAY = 1e-4

EPILOG = """\
examples:
  python -m search.train --arch runs/X/arch.json                        # digits, 30 epochs
  python -m search.train --arch runs/X/arch.json --data fashion-mnist --epochs 10 --out runs/X/train
  python -m search.export --arch runs/X/train/arch.json --weights runs/X/train/weights.pt --out model.onnx

Writes to --out: weights.pt (the state dict, torch.save; load with weights_only=True),
train.csv (a row per epoch: epoch, loss, train_acc, test_acc, seconds) and arch.json
(the architecture with the data's number of classes, for search.export --weights).
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = OneLineParser(prog="python -m search.train", description=__doc__, epilog=EPILOG,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", type=Path, required=True, help="arch.json (from search.run or by hand)")
    p.add_argument("--data", default="digits",
                   help="digits (default, bundled), fashion-mnist[:DIR], cifar10:DIR or folder:DIR; "
                        "images are resized to the space's input size")
    p.add_argument("--epochs", type=int, default=30, help="training epochs (default 30)")
    p.add_argument("--batch-size", type=int, default=64, help="images per step (default 64)")
    p.add_argument("--lr", type=float, default=0.2,
                   help="initial SGD learning rate per 256 images, scaled linearly with --batch-size and "
                        "cosine-decayed to 0 over the run (default 0.2: 0.05 at batch 64; 0.1 per 64 images "
                        "made the first epoch diverge on digits)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialization, data order and split (default 0)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help="use at most N training images (the test split is kept whole)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="result folder (default runs/<UTC timestamp>)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="torch CPU threads (results are reproducible for the same N)")
    p.add_argument("--train-device", choices=TRAIN_DEVICES, default="cpu",
                   help="where to train (default cpu; cuda results are not bitwise reproducible)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an earlier training's weights.pt, train.csv and arch.json in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


TRAIN_OUTPUTS = ("weights.pt", "train.csv", "arch.json")


def check_out(out: Path, arch_path: Path, overwrite: bool) -> None:
    """ValueError unless ``out`` can take this training's results without losing anything: a search's
    folder (search.json) is never written into, an earlier training only with ``overwrite``."""
    if (out / "search.json").exists():
        raise ValueError(f"{out} holds a search (search.json): train into a folder of its own, "
                         f"e.g. --out {out / 'train'}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out}: not a folder")
    earlier = [name for name in TRAIN_OUTPUTS if (out / name).exists()
               and not (name == "arch.json" and (out / name).resolve() == arch_path.resolve())]
    if earlier and not overwrite:
        raise ValueError(f"{out} already holds {', '.join(earlier)}: pass --overwrite to replace them, "
                         f"or choose another --out")


def _check(epochs: int, batch_size: int, lr: float, limit: int | None = None, threads: int | None = None) -> None:
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}")
    if batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {batch_size}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"--lr must be a positive number, got {lr}")
    if limit is not None and limit < 1:
        raise ValueError(f"--limit must be >= 1, got {limit}")
    if threads is not None and threads < 1:
        raise ValueError(f"--threads must be >= 1, got {threads}")


def train_arch(arch: Arch, splits: Any, epochs: int, batch_size: int = 64, lr: float = 0.05, seed: int = 0, *,
               weight_decay: float = WEIGHT_DECAY, momentum: float = MOMENTUM,
               on_epoch: Callable[[dict[str, Any]], None] | None = None,
               on_step: Callable[[int], None] | None = None, device: Any = "cpu",
               test_every_epoch: bool = True) -> dict[str, Any]:
    """Train ``arch``'s ChildNet from scratch on ``splits.train``; test on ``splits.test`` every epoch
    (or only after the last one, when not ``test_every_epoch``; the other rows' test_acc is then NaN).

    Returns ``dict(test_acc=<last epoch's %>, test_images=N, history=[row per epoch], model=<nn.Module>)``;
    a history row has epoch, loss, train_acc, test_acc, seconds (``search.results.TRAIN_COLUMNS``).
    """
    import torch
    import torch.nn.functional as F

    from search.data import batches, num_batches
    from search.torch_device import batch_to, on_device
    from search.childnet import ChildNet

    _check(epochs, batch_size, lr)
    train, size = splits.train, arch.space.input_size
    if len(train) == 0:
        raise ValueError(f"{splits.name}: no training images")
    drop_last = len(train) >= batch_size  # a lone tail batch makes BatchNorm statistics noisy
    steps = num_batches(train, batch_size, drop_last=drop_last)
    torch.manual_seed(seed)
    model = on_device(ChildNet(arch.space, arch.blocks, splits.num_classes), device)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, nesterov=True, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: 0.5 * (1 + math.cos(math.pi * step / (epochs * steps))))
    order = torch.Generator().manual_seed(seed)
    history: list[dict[str, Any]] = []
    test_acc = 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        total = correct = seen = 0.0
        for x, y in batches(train, batch_size, size, shuffle=True, generator=order, drop_last=drop_last):
            x, y = batch_to(x, device), y.to(device, non_blocking=True)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
            if on_step:
                on_step(1)
        if test_every_epoch or epoch == epochs - 1:
            test_acc = evaluate(model, splits.test, size, device)
        row = {"epoch": epoch + 1, "loss": total / max(seen, 1), "train_acc": 100 * correct / max(seen, 1),
               "test_acc": test_acc if test_every_epoch or epoch == epochs - 1 else math.nan,
               "seconds": time.perf_counter() - start}
        history.append(row)
        if on_epoch:
            on_epoch(row)
    return {"test_acc": test_acc, "test_images": len(splits.test), "history": history,
            "model": model.to(device="cpu", memory_format=torch.contiguous_format)}


def evaluate(model: Any, data: Any, input_size: int, device: Any = "cpu", batch_size: int | None = None) -> float:
    """Top-1 accuracy (%) of ``model`` on ``data`` in eval mode (the model is left in eval mode), ``batch_size``
    images at a time (default :func:`eval_batch` of ``device``)."""
    import torch

    from search.data import batches
    from search.torch_device import batch_to

    model.eval()
    correct = seen = 0
    with torch.no_grad():
        for x, y in batches(data, batch_size or eval_batch(device), input_size, shuffle=False):
            correct += int((model(batch_to(x, device)).argmax(1) == y.to(device)).sum())
            seen += len(y)
    return 100.0 * correct / max(seen, 1)


def save_weights(model: Any, path: Path) -> Path:
    """The state dict, torch.save'd atomically (search.torchfile.save_torch_file)."""
    from search.torchfile import save_torch_file

    return save_torch_file(model.state_dict(), path)


def run(args: argparse.Namespace) -> int:
    """Load, train, write results, report."""
    _check(args.epochs, args.batch_size, args.lr, args.limit, args.threads)
    arch = read_arch(args.arch)
    out = args.out or default_out_dir()
    check_out(out, args.arch, args.overwrite)
    import torch

    from search.data import load_data, num_batches

    if args.threads:
        torch.set_num_threads(args.threads)
    from search.torch_device import train_device

    device = train_device(args.train_device)
    splits = load_data(args.data, seed=args.seed, limit=args.limit)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot write to {out}: {e.strerror or e}") from None
    if arch.num_classes is not None and arch.num_classes != splits.num_classes:
        print(f"note: {args.arch} says {arch.num_classes} classes; {splits.name} has {splits.num_classes}, "
              f"training with {splits.num_classes}", file=sys.stderr)
    lr = args.lr * args.batch_size / 256
    print(f"training {arch.space.name} ({len(arch.blocks)} layers) on {splits.name}: "
          f"{len(splits.train)} training / {len(splits.test)} test images, {splits.num_classes} classes, "
          f"{args.epochs} epochs, batch {args.batch_size}, lr {lr:g} ({args.lr:g} per 256 images), seed {args.seed}")
    from tqdm import tqdm

    steps = num_batches(splits.train, args.batch_size, drop_last=len(splits.train) >= args.batch_size)
    bar = tqdm(total=steps, unit="step", file=sys.stderr, leave=False, disable=True if args.quiet else None)

    def on_epoch(row: dict[str, Any]) -> None:
        bar.reset()
        tqdm.write(f"epoch {row['epoch']}/{args.epochs}: loss {row['loss']:.4f} train acc {row['train_acc']:.2f}% "
                   f"test acc {row['test_acc']:.2f}% ({row['seconds']:.1f} s)", file=sys.stdout)

    try:
        result = train_arch(arch, splits, args.epochs, args.batch_size, lr, args.seed,
                            on_epoch=on_epoch, on_step=bar.update, device=device)
    finally:
        bar.close()
    save_weights(result["model"], out / "weights.pt")
    write_rows(result["history"], out / "train.csv", TRAIN_COLUMNS)
    arch_out = out / "arch.json"
    if arch_out.resolve() != args.arch.resolve():  # never overwrite the search's own arch.json
        write_arch(replace(arch, num_classes=splits.num_classes,
                           search={**arch.search, "trained": {
                               "data": args.data, "epochs": args.epochs, "batch_size": args.batch_size,
                               "lr": lr, "lr_per_256": args.lr, "seed": args.seed, "limit": args.limit,
                               "test_acc": result["test_acc"]}}),
                   arch_out)
    print(f"wrote {out / 'weights.pt'}, {out / 'train.csv'}" + (f", {arch_out}" if arch_out.exists() else ""))
    print(f"test accuracy: {result['test_acc']:.2f}% ({result['test_images']} images)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors, exit 2 on bad input, no tracebacks."""
    from lutnas.cli import guarded

    args = build_parser().parse_args(argv)
    return guarded(run, args)


if __name__ == "__main__":
    sys.exit(main())
