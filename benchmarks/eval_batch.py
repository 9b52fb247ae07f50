"""Test-set evaluation time by batch size: which batch ``search.train.evaluate`` should use on the CPU.

    python benchmarks/eval_batch.py [--resolution 16] [--threads 1] [--batches 16,32,64,128,256]
                                    [--images 5000] [--archs 3] [--rounds 3] [--arch FILE ...]

Every test accuracy of the search's judges and of benchmarks/search_vs_random.py's trainings comes from
``evaluate`` (eval mode, no gradients, channels-last as training). Its batch changes no accuracy (eval-mode
BatchNorm treats each image alone) but changes the time: a smaller batch keeps a layer's activations in the
core's cache. This times ``evaluate`` of --archs uniformly drawn architectures of fbnet-cifar (seeds 0, 1, ...;
plus each --arch file) on --images Fashion-MNIST test images (the digits bundled with the package where
Debian's dataset-fashion-mnist is absent), at each batch, in interleaved rounds (the order rotates every round,
so drift on a shared VM hits every batch alike). Prints each architecture's median seconds per 10,000 images
at each batch, its ratio to batch 256 (lutnas' batch before 0.15) and to the default
(``search.torch_device.eval_batch``), and checks that every batch counts the same images correct.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search.archfile import make_arch, read_arch  # noqa: E402
from search.childnet import ChildNet  # noqa: E402
from search.data import batches, load_data  # noqa: E402
from search.space import get_space  # noqa: E402
from search.torch_device import batch_to, on_device  # noqa: E402
from search.torch_device import eval_batch  # noqa: E402
from search.train import evaluate  # noqa: E402

OLD_BATCH = 256


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--resolution", type=int, default=16, help="input size of fbnet-cifar (default 16)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1, as the benchmark's workers)")
    p.add_argument("--batches", default="16,32,64,128,256", help="batch sizes to time (default 16,32,64,128,256)")
    p.add_argument("--images", type=int, default=5000, help="test images per evaluation (default 5000)")
    p.add_argument("--archs", type=int, default=3, help="uniformly drawn architectures (default 3)")
    p.add_argument("--arch", type=Path, action="append", default=[], help="an arch.json to time as well")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    args = p.parse_args(argv)
    try:
        args.batch_list = [int(b) for b in args.batches.split(",")]
    except ValueError:
        p.error(f"--batches: not a comma-separated list of integers: {args.batches!r}")
    if not args.batch_list or min(args.batch_list) < 1 or min(args.images, args.rounds, args.threads) < 1:
        p.error("--batches, --images, --rounds and --threads must be >= 1")
    return args


def load_test(images: int):  # noqa: ANN201 (an ImageSet)
    """``images`` test images of Fashion-MNIST, or of the bundled digits where it is not installed."""
    try:
        splits = load_data("fashion-mnist", seed=0)
    except ValueError:
        splits = load_data("digits", seed=0)
    return splits.name, splits.test.subset(slice(0, images)), splits.num_classes


def warmed(arch, test, classes: int) -> torch.nn.Module:  # noqa: ANN001
    """The architecture's ChildNet with BatchNorm statistics from 10 training-mode batches (not the init's)."""
    torch.manual_seed(0)
    model = on_device(ChildNet(arch.space, arch.blocks, classes), "cpu")
    model.train()
    with torch.no_grad():
        for x, _ in batches(test, 64, arch.space.input_size, shuffle=False):
            model(batch_to(x, "cpu"))
    return model


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    space = get_space("fbnet-cifar", None, args.resolution)
    name, test, classes = load_test(args.images)
    archs = []
    for seed in range(args.archs):
        rng = np.random.default_rng(seed)
        archs.append((f"uniform{seed}", make_arch(space, [str(rng.choice(space.candidates)) for _ in space.layers])))
    for path in args.arch:
        archs.append((path.name, make_arch(space, read_arch(path).blocks)))
    default = eval_batch("cpu")
    print(f"evaluate() on {len(test)} {name} test images at {args.resolution}x{args.resolution}, "
          f"torch {torch.__version__}, {args.threads} thread(s), {args.rounds} rounds; default batch {default}")
    sizes = list(dict.fromkeys(args.batch_list + [OLD_BATCH, default]))
    print(f"{'architecture':<14}" + "".join(f"{b:>9}" for b in sizes) + f"  {'best':>5}  {'256/best':>8}  "
          f"{'256/default':>11}")
    for label, arch in archs:
        model = warmed(arch, test, classes)
        times: dict[int, list[float]] = {b: [] for b in sizes}
        correct: dict[int, float] = {}
        for r in range(args.rounds):
            for b in sizes[r % len(sizes):] + sizes[:r % len(sizes)]:
                start = time.perf_counter()
                correct[b] = evaluate(model, test, args.resolution, "cpu", batch_size=b)
                times[b].append(time.perf_counter() - start)
        if len(set(correct.values())) != 1:
            print(f"{label}: accuracies differ by batch: {correct}", file=sys.stderr)
            return 1
        med = {b: statistics.median(t) * 10000 / len(test) for b, t in times.items()}
        best = min(med, key=med.get)
        print(f"{label:<14}" + "".join(f"{med[b]:>8.2f}s" for b in sizes)
              + f"  {best:>5}  {med[OLD_BATCH] / med[best]:>7.2f}x  {med[OLD_BATCH] / med[default]:>10.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
