"""Supernet training step vs a plain child-network step: time, latency-term share, peak memory.

    python benchmarks/supernet_step.py [--space fbnet-cifar] [--batch 64] [--steps 6] [--threads N]
                                       [--lut FILE] [--modes hard,soft] [--no-memory]

Step times: one process, interleaved rounds (the order rotates every round), so drift on this
shared VM hits every variant alike. A round runs one full supernet step per mode (Gumbel sample,
forward, CE, latency term, fbnet loss, backward, SGD on the weights, Adam on theta) and one step of
a fresh ChildNet of the architecture the hard supernet samples in that round (given one untimed
warm-up step; CE loss, SGD). Reported: median/min/max per variant, supernet/child ratios (of the
medians, and the median of the per-round paired ratios), and the latency term's forward+backward
time as a share of the hard step.

Peak memory: each variant runs in a fresh subprocess and reports its peak RSS, VmHWM from
/proc/self/status (resource.getrusage(RUSAGE_SELF).ru_maxrss where /proc is absent; on Linux
ru_maxrss carries the parent's peak across fork+exec, so it would report this process's peak).
A second subprocess only builds the same model, optimizers and batch; the difference is the
memory the training step adds (activations, gradients, optimizer state). All variants run the
same architecture (the first Gumbel sample of uniform theta) for this measurement.

Without --lut the latency term reads a synthetic matrix (net ms ~ MACs at 2 GMAC/s + 20 us per
block, stem/head likewise), so no measured LUT is needed.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lut.matrix import Matrix  # noqa: E402
from lut.names import parse_name  # noqa: E402
from search.latency import LatencyTerm  # noqa: E402
from search.loss import LossConfig, search_loss  # noqa: E402
from search.network import ChildNet  # noqa: E402
from search.space import Layer, Space, get_space  # noqa: E402
from search.supernet import MODES, Supernet, gumbel_mask  # noqa: E402

TAU = 5.0
MACS_PER_MS = 2e6  # synthetic device: 2 GMAC/s
BLOCK_MS = 0.02


# ---- the latency matrix -------------------------------------------------------------------------
def block_macs(layer: Layer, candidate: str) -> float:
    """Multiply-accumulates of a candidate at its layer (batch 1)."""
    b = parse_name(candidate)
    ho, wo = layer.out_hw
    if b.kind == "skip":
        return 0.0 if (layer.stride == 1 and layer.cin == layer.cout) else layer.cin * layer.cout * ho * wo
    mid = layer.cin * b.expansion
    return (layer.cin * mid * layer.h * layer.w / b.groups + mid * b.kernel ** 2 * ho * wo
            + mid * layer.cout * ho * wo / b.groups)


def synthetic_matrix(space: Space) -> Matrix:
    """A plausible LUT matrix without measuring anything: latency proportional to MACs."""
    table = np.array([[BLOCK_MS + block_macs(l, c) / MACS_PER_MS for c in space.candidates] for l in space.layers])
    s = space.input_size
    hh, ww, cin = space.final_shape
    stem_ms = BLOCK_MS + 3 * space.stem_channels * space.stem_kernel ** 2 * (s // space.stem_stride) ** 2 / MACS_PER_MS
    head_ms = BLOCK_MS + (cin * space.head_channels * hh * ww + space.head_channels * space.num_classes) / MACS_PER_MS
    return Matrix(space.name, space.candidates, tuple(l.candidates for l in space.layers), table,
                  stem_ms, head_ms, 0.05)


def load_matrix(space: Space, lut: Path | None) -> Matrix:
    """The measured LUT's matrix when given, else the synthetic one."""
    if lut is None:
        return synthetic_matrix(space)
    from lut import load

    return load(lut).matrix(space)


# ---- the variants ---------------------------------------------------------------------------------
class SupernetStep:
    """A full search step of a supernet: both optimizers, the fbnet loss with the latency term."""

    def __init__(self, space: Space, mode: str, term: LatencyTerm, seed: int) -> None:
        self.net = Supernet(space, space.num_classes, mode)
        self.term = term
        self.opt_w = torch.optim.SGD(self.net.weight_parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        self.opt_theta = torch.optim.Adam(self.net.arch_parameters(), lr=0.01, weight_decay=5e-4)
        self.gen = torch.Generator().manual_seed(seed)
        self.cfg = LossConfig()
        # the fbnet loss needs LAT > 1: a network under 1 ms enters it in microseconds (as --lat-unit us)
        self.scale = 1.0 if float(term.fixed) > 1.0 else 1000.0

    def __call__(self, x: torch.Tensor, y: torch.Tensor, arch: torch.Tensor | None = None) -> torch.Tensor:
        """One step; ``arch`` fixes the architecture (a straight-through one-hot of it) instead of sampling."""
        if arch is None:
            mask, index = self.net.sample(TAU, self.gen)
        else:
            soft = (self.net.theta / TAU).softmax(dim=1)
            mask, index = F.one_hot(arch, soft.shape[1]).to(soft.dtype) + (soft - soft.detach()), arch
        loss = search_loss(F.cross_entropy(self.net(x, mask, index), y), self.term(mask) * self.scale, self.cfg)
        self.opt_w.zero_grad(set_to_none=True)
        self.opt_theta.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_w.step()
        self.opt_theta.step()
        return index


class ChildStep:
    """A plain training step of one derived architecture: CE, backward, SGD."""

    def __init__(self, space: Space, choices: list[str]) -> None:
        self.net = ChildNet(space, choices, space.num_classes)
        self.opt = torch.optim.SGD(self.net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        loss = F.cross_entropy(self.net(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def batch(space: Space, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    s = space.input_size
    return torch.randn(size, 3, s, s, generator=g), torch.randint(0, space.num_classes, (size,), generator=g)


def first_arch(space: Space) -> torch.Tensor:
    """The first hard Gumbel sample of uniform theta (seed 0): the memory runs' common architecture."""
    theta = torch.zeros(len(space.layers), len(space.candidates))
    return gumbel_mask(theta, TAU, hard=True, generator=torch.Generator().manual_seed(0))[1]


# ---- timing (in this process) -----------------------------------------------------------------------
def time_steps(space: Space, term: LatencyTerm, modes: list[str], batch_size: int, steps: int,
               warmup: int) -> dict[str, list[float]]:
    """Seconds per step of every variant over interleaved rounds; the first ``warmup`` rounds are not kept.

    In each round the child is the architecture the hard supernet is about to sample (read from a
    copy of its Gumbel generator), so the hard step and the child step run the same blocks.
    """
    x, y = batch(space, batch_size, 0)
    torch.manual_seed(0)
    supernets = {m: SupernetStep(space, m, term, seed=1) for m in modes}
    hard = supernets.get("hard") or SupernetStep(space, "hard", term, seed=1)
    if "soft" not in modes:  # run every candidate once, so no variant pays a first call of a shape
        prime = Supernet(space, space.num_classes, "soft")
        F.cross_entropy(prime(x, *prime.sample(TAU)), y).backward()
        del prime
    times: dict[str, list[float]] = {m: [] for m in modes}
    times["child"] = []
    for r in range(warmup + steps):
        ahead = torch.Generator()
        ahead.set_state(hard.gen.get_state())
        arch = gumbel_mask(hard.net.theta.detach(), TAU, hard=True, generator=ahead)[1]
        child = ChildStep(space, hard.net.choices(arch))
        child(x, y)  # untimed warm-up: lazy optimizer state, first-call allocations
        jobs: list[tuple[str, Callable[[], object]]] = [(m, lambda m=m: supernets[m](x, y)) for m in modes]
        jobs.append(("child", lambda: child(x, y)))
        jobs = jobs[r % len(jobs):] + jobs[:r % len(jobs)]
        for name, job in jobs:
            seconds, index = timed(job)
            if name == "hard" and not torch.equal(index, arch):
                raise RuntimeError("the hard step sampled another architecture than its child's")
            if r >= warmup:
                times[name].append(seconds)
        if r >= warmup:
            done = "  ".join(f"{n} {times[n][-1] * 1e3:.0f} ms" for n, _ in jobs)
            print(f"  round {r + 1 - warmup}/{steps}: {done}", file=sys.stderr, flush=True)
    return times


def time_latency_term(space: Space, term: LatencyTerm, reps: int = 300) -> tuple[float, float]:
    """Median seconds of (Gumbel sample) and of (latency term forward + backward to theta)."""
    net = Supernet(space, space.num_classes, "hard")
    gen = torch.Generator().manual_seed(0)
    sample, lat = [], []
    for _ in range(reps):
        t_s, (mask, _) = timed(lambda: net.sample(TAU, gen))
        t_l, _ = timed(lambda: term(mask).backward())
        net.theta.grad = None
        sample.append(t_s)
        lat.append(t_l)
    return statistics.median(sample), statistics.median(lat)


# ---- peak memory (fresh subprocesses) ------------------------------------------------------------------
def worker(args: argparse.Namespace) -> None:
    """Build one variant (and run ``--mem-steps`` steps unless --build-only); print its peak RSS as JSON."""
    if args.threads:
        torch.set_num_threads(args.threads)
    space = get_space(args.space)
    term = LatencyTerm(load_matrix(space, args.lut))
    x, y = batch(space, args.batch, 0)
    arch = first_arch(space)
    torch.manual_seed(0)
    if args.worker == "child":
        step = ChildStep(space, [space.candidates[i] for i in arch.tolist()])
        run = lambda: step(x, y)  # noqa: E731
    else:
        sstep = SupernetStep(space, args.worker, term, seed=1)
        run = lambda: sstep(x, y, arch if args.worker == "hard" else None)  # noqa: E731
    if not args.build_only:
        for _ in range(args.mem_steps):
            run()
    print(json.dumps({"peak_mb": peak_mb()}))


def peak_mb() -> float:
    """This process's peak resident memory (MB): VmHWM, else ru_maxrss.

    ru_maxrss survives fork+exec (a worker started by a big parent reports at least the parent's
    peak), while VmHWM belongs to the address space that exec creates anew.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss(args: argparse.Namespace, variant: str, build_only: bool) -> float:
    cmd = [sys.executable, __file__, "--worker", variant, "--space", args.space, "--batch", str(args.batch),
           "--mem-steps", str(args.mem_steps)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.lut:
        cmd += ["--lut", str(args.lut)]
    if build_only:
        cmd.append("--build-only")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"memory worker {variant} failed:\n{proc.stderr.strip()}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["peak_mb"])


# ---- report ---------------------------------------------------------------------------------------
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="fbnet-cifar", help="space name or file (default fbnet-cifar)")
    p.add_argument("--batch", type=int, default=64, help="images per step (default 64)")
    p.add_argument("--steps", type=int, default=6, help="timed rounds (default 6)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--lut", type=Path, default=None, help="a measured LUT instead of the synthetic matrix")
    p.add_argument("--modes", default=",".join(MODES), help="supernet modes to run (default hard,soft)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--mem-steps", type=int, default=2, help="steps each memory subprocess runs (default 2)")
    p.add_argument("--worker", choices=(*MODES, "child"), help=argparse.SUPPRESS)
    p.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        sys.exit(f"unknown mode(s) {', '.join(unknown)}; modes: {', '.join(MODES)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    space = get_space(args.space)
    matrix = load_matrix(space, args.lut)
    term = LatencyTerm(matrix)
    print(f"space {space.name}: {len(space.layers)} layers x {len(space.candidates)} candidates, "
          f"input {space.input_size}x{space.input_size}, {space.num_classes} classes, batch {args.batch}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"latency term: {'LUT ' + str(args.lut) if args.lut else 'synthetic matrix'}; "
          f"uniform expected LAT {float(term.expected(torch.full(matrix.shape, 1 / matrix.shape[1]))):.2f} ms"
          f"{'' if float(term.fixed) > 1.0 else ' (fbnet loss takes LAT in us: the fixed part is under 1 ms)'}")
    print(f"timing {args.steps} interleaved rounds after {args.warmup} warm-up ...", flush=True)
    times = time_steps(space, term, modes, args.batch, args.steps, args.warmup)
    t_sample, t_lat = time_latency_term(space, term)

    names = [*modes, "child"]
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    paired = {k: statistics.median(a / c for a, c in zip(times[k], times["child"])) for k in names}
    print()
    print(f"{'step':<14}{'median ms':>11}{'min ms':>9}{'max ms':>9}{'x child (medians)':>19}{'x child (paired)':>18}")
    for name in names:
        label = f"supernet {name}" if name in MODES else "child"
        print(f"{label:<14}{med[name] * 1e3:>11.0f}{best[name] * 1e3:>9.0f}{max(times[name]) * 1e3:>9.0f}"
              f"{med[name] / med['child']:>19.2f}{paired[name]:>18.2f}")
    print("(paired: median over rounds of the step's time / the same round's child step, same architecture)")
    if "hard" in med:
        hard_s = med["hard"]
        print(f"latency term fwd+bwd: {t_lat * 1e6:.0f} us = {100 * t_lat / hard_s:.4f}% of the hard step; "
              f"Gumbel sample: {t_sample * 1e6:.0f} us = {100 * t_sample / hard_s:.4f}%")
        ratio = max(med["hard"] / med["child"], paired["hard"])
        print(f"acceptance (hard step <= 1.5x child at batch {args.batch}): {ratio:.2f}x (the larger of the two "
              f"ratios) -> {'PASS' if ratio <= 1.5 else 'FAIL'}")

    if args.no_memory:
        return
    print()
    print(f"peak memory: peak RSS (VmHWM) of a fresh subprocess per variant ({args.mem_steps} steps of the same "
          f"architecture), and 'step' = that minus a subprocess that only builds the model, optimizers and batch",
          flush=True)
    rows = {}
    for name in (*modes, "child"):
        total, build = peak_rss(args, name, False), peak_rss(args, name, True)
        rows[name] = (total, build, total - build)
    print(f"{'variant':<14}{'peak MB':>9}{'build MB':>10}{'step MB':>9}{'step x child':>14}{'peak x child':>14}")
    child_step = rows["child"][2]
    for name, (total, build, step) in rows.items():
        label = f"supernet {name}" if name in MODES else "child"
        step_ratio = f"{step / child_step:.2f}" if child_step > 0 else "n/a"
        print(f"{label:<14}{total:>9.0f}{build:>10.0f}{step:>9.0f}{step_ratio:>14}{total / rows['child'][0]:>14.2f}")


if __name__ == "__main__":
    main()
