"""Supernet training steps vs a plain child-network step: time, latency-term share, peak memory.

    python benchmarks/supernet_step.py [--space fbnet-cifar] [--resolution S] [--batch 64] [--steps 6]
                                       [--threads N] [--lut FILE] [--weights shared,independent] [--no-memory]

A search alternates two passes (search.dnas): the weights pass (SGD on w; 80% of the training data)
and the theta pass (Adam on theta; 20%). Each pass runs hard forwards (one sampled path) or soft ones
(the mixture of every candidate, or of --theta-paths drawn ones per layer), as the mode says
(search.supernet.MODES: hybrid = hard w pass + soft theta pass, the default, whose theta pass mixes 2
drawn candidates per layer by default, every candidate with --theta-paths 0). This times each kind of
step, for each way of holding the weights:

  <weights> w hard      Gumbel path, forward, CE, backward, SGD
  <weights> w soft      soft mask, mixture forward, CE, backward, SGD
  <weights> theta hard  straight-through path, forward, CE, expected latency, fbnet loss, backward (weights
                        frozen, as search.dnas does), Adam
  <weights> theta soft  soft mask, mixture forward, CE, expected latency, fbnet loss, backward (weights
                        frozen), Adam
  <weights> theta pair  the same over 2 candidates per layer drawn from P_theta (Gumbel top-2; the
                        hybrid mode's default theta step, --theta-paths 2)
  child                 a fresh ChildNet of the round's hard path (one untimed warm-up step), CE, SGD

Step times: one process, interleaved rounds (the order rotates every round), so drift on this
shared VM hits every variant alike; training runs in channels-last layout as search.run does.
Reported: median/min/max per variant, ratios to the child step (of the medians, and the median of
the per-round paired ratios), each mode's average step over an epoch (4 weights steps per theta
step), and the latency term's forward+backward time as a share of the hard step.

Peak memory: each variant runs in a fresh subprocess and reports its peak RSS, VmHWM from
/proc/self/status (resource.getrusage(RUSAGE_SELF).ru_maxrss where /proc is absent; on Linux
ru_maxrss carries the parent's peak across fork+exec, so it would report this process's peak).
A second subprocess only builds the same model, optimizers and batch; the difference is the
memory the training step adds (activations, gradients, optimizer state). The hard variants and the
child run the same architecture (the first Gumbel sample of uniform theta) for this measurement.

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
from search.dnas import frozen  # noqa: E402
from search.torch_device import batch_to, on_device  # noqa: E402
from search.latency import LatencyTerm  # noqa: E402
from search.layers import WEIGHTS  # noqa: E402
from search.loss import LossConfig, search_loss  # noqa: E402
from search.childnet import ChildNet  # noqa: E402
from search.space import Layer, Space, get_space  # noqa: E402
from search.supernet import Supernet, gumbel_mask  # noqa: E402

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
PASSES = ("w hard", "w soft", "theta hard", "theta soft", "theta pair")
HOW = {"hard": (False, 0), "soft": (True, 0), "pair": (True, 2)}  # kind -> (soft forward, drawn candidates)


class PassStep:
    """One step of one pass of a search, hard or soft, on a supernet holding its weights one way."""

    def __init__(self, net: Supernet, kind: str, term: LatencyTerm, seed: int) -> None:
        self.net, self.term = net, term
        self.purpose, how = kind.split()
        self.soft, self.paths = HOW[how]
        self.opt_w = torch.optim.SGD(net.weight_parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
        self.opt_theta = torch.optim.Adam(net.arch_parameters(), lr=0.01, weight_decay=5e-4)
        self.gen = torch.Generator().manual_seed(seed)
        self.cfg = LossConfig()
        # the fbnet loss needs LAT > 1: a network under 1 ms enters it in microseconds (as --lat-unit us)
        self.scale = 1.0 if float(term.fixed) > 1.0 else 1000.0

    def __call__(self, x: torch.Tensor, y: torch.Tensor, arch: torch.Tensor | None = None) -> torch.Tensor:
        """One step; ``arch`` fixes a hard step's architecture instead of sampling it."""
        if arch is None or self.soft:
            mask, index = self.net.sample(TAU, self.gen, self.soft, self.paths)
        else:
            soft = (self.net.theta / TAU).softmax(dim=1)
            mask, index = F.one_hot(arch, soft.shape[1]).to(soft.dtype) + (soft - soft.detach()), arch
        self.opt_w.zero_grad(set_to_none=True)
        self.opt_theta.zero_grad(set_to_none=True)
        if self.purpose == "w":
            F.cross_entropy(self.net(x, mask.detach(), index, self.soft), y).backward()
            self.opt_w.step()
        else:  # as search.dnas: the weights frozen (no weight gradients), the expected latency under P_theta
            with frozen(self.net.weight_parameters()):
                ce = F.cross_entropy(self.net(x, mask, index, self.soft), y)
                lat = self.term.expected(self.net.theta.softmax(dim=1))
                search_loss(ce, lat * self.scale, self.cfg).backward()
            self.opt_theta.step()
        return index


class ChildStep:
    """A plain training step of one derived architecture: CE, backward, SGD."""

    def __init__(self, space: Space, choices: list[str]) -> None:
        self.net = on_device(ChildNet(space, choices, space.num_classes), "cpu")
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
    return (batch_to(torch.randn(size, 3, s, s, generator=g), "cpu"),
            torch.randint(0, space.num_classes, (size,), generator=g))


def first_arch(space: Space) -> torch.Tensor:
    """The first hard Gumbel sample of uniform theta (seed 0): the memory runs' common architecture."""
    theta = torch.zeros(len(space.layers), len(space.candidates))
    return gumbel_mask(theta, TAU, hard=True, generator=torch.Generator().manual_seed(0))[1]


# ---- timing (in this process) -----------------------------------------------------------------------
def time_steps(space: Space, term: LatencyTerm, weights: list[str], batch_size: int, steps: int,
               warmup: int) -> dict[str, list[float]]:
    """Seconds per step of every variant over interleaved rounds; the first ``warmup`` rounds are not kept.

    In each round the child is the architecture the first hard weights step is about to sample (read
    from a copy of its Gumbel generator), and every hard step runs that architecture too.
    """
    x, y = batch(space, batch_size, 0)
    torch.manual_seed(0)
    nets = {w: on_device(Supernet(space, space.num_classes, "hybrid", w), "cpu") for w in weights}
    variants = {f"{w} {kind}": PassStep(nets[w], kind, term, seed=1) for w in weights for kind in PASSES}
    lead = variants[f"{weights[0]} w hard"]
    times: dict[str, list[float]] = {name: [] for name in (*variants, "child")}
    for r in range(warmup + steps):
        ahead = torch.Generator()
        ahead.set_state(lead.gen.get_state())
        arch = gumbel_mask(lead.net.theta.detach(), TAU, hard=True, generator=ahead)[1]
        child = ChildStep(space, lead.net.choices(arch))
        child(x, y)  # untimed warm-up: lazy optimizer state, first-call allocations
        jobs: list[tuple[str, Callable[[], object]]] = [
            (name, lambda v=v: v(x, y, arch)) for name, v in variants.items()]
        jobs.append(("child", lambda: child(x, y)))
        jobs = jobs[r % len(jobs):] + jobs[:r % len(jobs)]
        for name, job in jobs:
            seconds, _ = timed(job)
            if r >= warmup:
                times[name].append(seconds)
        if r >= warmup:
            done = "  ".join(f"{n} {times[n][-1] * 1e3:.0f}" for n, _ in jobs)
            print(f"  round {r + 1 - warmup}/{steps} (ms): {done}", file=sys.stderr, flush=True)
    return times


def time_latency_term(space: Space, term: LatencyTerm, reps: int = 300) -> tuple[float, float]:
    """Median seconds of (Gumbel sample) and of (latency term forward + backward to theta)."""
    net = Supernet(space, space.num_classes)
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
    space = get_space(args.space, None, args.resolution)
    term = LatencyTerm(load_matrix(space, args.lut))
    x, y = batch(space, args.batch, 0)
    arch = first_arch(space)
    torch.manual_seed(0)
    if args.worker == "child":
        step = ChildStep(space, [space.candidates[i] for i in arch.tolist()])
        run = lambda: step(x, y)  # noqa: E731
    else:
        weights, kind = args.worker.split(" ", 1)
        sstep = PassStep(on_device(Supernet(space, space.num_classes, "hybrid", weights), "cpu"), kind, term, seed=1)
        run = lambda: sstep(x, y, arch)  # noqa: E731
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
    if args.resolution:
        cmd += ["--resolution", str(args.resolution)]
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
W_STEPS_PER_THETA_STEP = 4  # the weights pass takes 80% of the training data, theta's 20%
MODE_STEPS = (("hybrid (default, 2 paths)", "hard", "pair"), ("hybrid --theta-paths 0", "hard", "soft"),
              ("hard", "hard", "hard"), ("soft", "soft", "soft"))  # (mode, weights step, theta step)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="fbnet-cifar", help="space name or file (default fbnet-cifar)")
    p.add_argument("--resolution", type=int, default=None, help="input resolution of a built-in space")
    p.add_argument("--batch", type=int, default=64, help="images per step (default 64)")
    p.add_argument("--steps", type=int, default=6, help="timed rounds (default 6)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--lut", type=Path, default=None, help="a measured LUT instead of the synthetic matrix")
    p.add_argument("--weights", default=",".join(WEIGHTS),
                   help=f"ways of holding the weights to run (default {','.join(WEIGHTS)})")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    p.add_argument("--mem-steps", type=int, default=2, help="steps each memory subprocess runs (default 2)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    weights = [w for w in args.weights.split(",") if w]
    unknown = [w for w in weights if w not in WEIGHTS]
    if unknown or not weights:
        sys.exit(f"unknown weights {', '.join(unknown)}; known: {', '.join(WEIGHTS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        space = get_space(args.space, None, args.resolution)
        matrix = load_matrix(space, args.lut)
    except (ValueError, OSError) as e:  # an unknown space, an unreadable or malformed LUT (LUTError)
        sys.exit(f"supernet_step: {e}")
    term = LatencyTerm(matrix)
    print(f"space {space.name}: {len(space.layers)} layers x {len(space.candidates)} candidates, "
          f"input {space.input_size}x{space.input_size}, {space.num_classes} classes, batch {args.batch}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), channels-last")
    print(f"latency term: {'LUT ' + str(args.lut) if args.lut else 'synthetic matrix'}; "
          f"uniform expected LAT {float(term.expected(torch.full(matrix.shape, 1 / matrix.shape[1]))):.2f} ms"
          f"{'' if float(term.fixed) > 1.0 else ' (fbnet loss takes LAT in us: the fixed part is under 1 ms)'}")
    print(f"timing {args.steps} interleaved rounds after {args.warmup} warm-up ...", flush=True)
    times = time_steps(space, term, weights, args.batch, args.steps, args.warmup)
    t_sample, t_lat = time_latency_term(space, term)

    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    paired = {k: statistics.median(a / c for a, c in zip(times[k], times["child"])) for k in times}
    print()
    print(f"{'step':<24}{'median ms':>11}{'min ms':>9}{'max ms':>9}{'x child (medians)':>19}{'x child (paired)':>18}")
    for name in times:
        print(f"{name:<24}{med[name] * 1e3:>11.0f}{best[name] * 1e3:>9.0f}{max(times[name]) * 1e3:>9.0f}"
              f"{med[name] / med['child']:>19.2f}{paired[name]:>18.2f}")
    print("(paired: median over rounds of the step's time / the same round's child step, same architecture)")
    print()
    print(f"a mode's average step over an epoch ({W_STEPS_PER_THETA_STEP} weights steps per theta step), "
          f"x the child step (medians):")
    for w in weights:
        for mode, w_how, theta_how in MODE_STEPS:
            step = (W_STEPS_PER_THETA_STEP * med[f"{w} w {w_how}"] + med[f"{w} theta {theta_how}"]) \
                / (W_STEPS_PER_THETA_STEP + 1)
            pair = (W_STEPS_PER_THETA_STEP * paired[f"{w} w {w_how}"] + paired[f"{w} theta {theta_how}"]) \
                / (W_STEPS_PER_THETA_STEP + 1)
            print(f"  {w:<12} {mode:<26} {step * 1e3:>7.0f} ms  {step / med['child']:.2f}x (paired {pair:.2f}x)")
    hard_s = med[f"{weights[0]} w hard"]
    print(f"latency term fwd+bwd: {t_lat * 1e6:.0f} us = {100 * t_lat / hard_s:.4f}% of the hard weights step; "
          f"Gumbel sample: {t_sample * 1e6:.0f} us = {100 * t_sample / hard_s:.4f}%")

    if args.no_memory:
        return
    print()
    print(f"peak memory: peak RSS (VmHWM) of a fresh subprocess per variant ({args.mem_steps} steps; hard "
          f"steps on the child's architecture), and 'step' = that minus a subprocess that only builds the "
          f"model, optimizers and batch", flush=True)
    rows = {}
    for name in times:
        total, build = peak_rss(args, name, False), peak_rss(args, name, True)
        rows[name] = (total, build, total - build)
    print(f"{'variant':<24}{'peak MB':>9}{'build MB':>10}{'step MB':>9}{'step x child':>14}{'peak x child':>14}")
    child_step = rows["child"][2]
    for name, (total, build, step) in rows.items():
        step_ratio = f"{step / child_step:.2f}" if child_step > 0 else "n/a"
        print(f"{name:<24}{total:>9.0f}{build:>10.0f}{step:>9.0f}{step_ratio:>14}{total / rows['child'][0]:>14.2f}")


if __name__ == "__main__":
    main()
