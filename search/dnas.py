"""The DNAS trainer: alternate weight and architecture passes over a supernet, FBNet style.

The training data is split 80% for the weights w and 20% for theta. Warm-up
epochs train w only; then each epoch runs a w pass (SGD, cosine learning
rate) and a theta pass (Adam), each with the other frozen. A soft theta pass
mixes ``theta_paths`` candidates per layer drawn from P_theta (2, the hybrid
mode's default: ProxylessNAS's two paths, about the cost of a child step) or
every candidate (0, the soft mode's default: about the cost of the largest
network; measured to search no better, docs/search.md). The weights'
loss is the cross-entropy (the latency factor of the fbnet loss does not
depend on w and would only rescale its learning rate); theta's loss is the
chosen search loss of that cross-entropy and the LUT's expected latency under
P_theta (ProxylessNAS's latency term: exact, differentiable, no sampling
noise; the latency of a soft Gumbel mask at the paper's temperatures is that
of a much flatter distribution than P_theta, so a search steering it lands
far from its target), plus (optionally,
``entropy`` > 0) a weight times theta's mean per-layer entropy, ramped from 0
after the warm-up: it makes P_theta decide, so that the derived (argmax)
architecture's latency meets the expected latency the loss steered.

Every random draw comes from a generator seeded by (seed, epoch, purpose), so
an epoch replays identically after a resume and on every DDP rank (the Gumbel
samples agree across ranks; the data is sharded by rank).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from search.data import Splits, batches, num_batches
from search.torch_device import batch_to, eval_batch
from search.latency import LatencyTerm
from search.loss import search_loss
from search.config import LAT_UNITS, Dist, SearchConfig
from search.supernet import Supernet

RECALIBRATE_IMAGES = 1024  # images of the w split that re-estimate a judged path's BatchNorm statistics
RECALIBRATE_BATCH = 128


def theta_entropy(theta: torch.Tensor) -> torch.Tensor:
    """Mean over layers of the entropy (nats) of softmax(theta[l]); 0 for one-hot, ln K for uniform."""
    logp = theta.log_softmax(dim=1)
    return -(logp.exp() * logp).sum(dim=1).mean()


def generator(seed: int, epoch: int, purpose: int) -> torch.Generator:
    """A generator for one purpose of one epoch (0 data order of the w pass, 1 Gumbel w pass,
    2 Gumbel theta pass, 3 data order of the theta pass, 4 BatchNorm recalibration sample)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 101 + purpose)


@contextlib.contextmanager
def frozen(params: list[nn.Parameter]) -> Iterator[None]:
    """Within the block the parameters need no gradient (a theta step's backward then costs about a
    third less: no weight gradients, the slow part of a depthwise convolution's backward)."""
    before = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, before):
            p.requires_grad_(flag)


@dataclass
class State:
    """What a checkpoint holds: the supernet, optimizers, the epochs done and their metrics."""

    epoch: int = 0
    metrics: list[dict[str, Any]] = field(default_factory=list)


class Searcher:
    """Runs a search epoch by epoch; the caller saves checkpoints and results."""

    def __init__(self, net: Supernet, latency: LatencyTerm, splits: Splits, cfg: SearchConfig,
                 input_size: int, dist: Dist = Dist(), wrap: Callable[[nn.Module], nn.Module] | None = None) -> None:
        cfg.check()
        self.net, self.latency, self.splits, self.cfg, self.size, self.dist = net, latency, splits, cfg, input_size, dist
        self.model = wrap(net) if wrap else net
        self.device = next(net.parameters()).device
        lr_w = cfg.lr_w * cfg.batch_size * dist.world / 256
        self.opt_w = torch.optim.SGD(net.weight_parameters(), lr=lr_w, momentum=cfg.momentum, weight_decay=cfg.wd_w)
        self.opt_theta = torch.optim.Adam(net.arch_parameters(), lr=cfg.lr_theta, weight_decay=cfg.wd_theta)
        self.steps_per_epoch = num_batches(splits.train_w, cfg.batch_size, drop_last=True, world=dist.world)
        total = max(1, self.steps_per_epoch * cfg.epochs)
        self.sched_w = torch.optim.lr_scheduler.LambdaLR(self.opt_w, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total)))
        self.state = State()

    # ---- checkpoints -------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs (tensors and plain values only: loads with weights_only=True)."""
        return {"format": "lutnas-search-checkpoint", "version": 1, "epoch": self.state.epoch,
                "metrics": self.state.metrics, "config": asdict(self.cfg), "net": self.net.state_dict(),
                "opt_w": self.opt_w.state_dict(), "opt_theta": self.opt_theta.state_dict(),
                "sched_w": self.sched_w.state_dict()}

    def load_state_dict(self, ckpt: dict[str, Any]) -> None:
        """Continue from a checkpoint written by ``state_dict``."""
        self.net.load_state_dict(ckpt["net"])
        self.opt_w.load_state_dict(ckpt["opt_w"])
        self.opt_theta.load_state_dict(ckpt["opt_theta"])
        self.sched_w.load_state_dict(ckpt["sched_w"])
        self.state = State(int(ckpt["epoch"]), list(ckpt["metrics"]))

    # ---- one epoch -----------------------------------------------------------------------------
    def tau(self, epoch: int) -> float:
        """Gumbel-softmax temperature of an epoch: tau0 * decay^epoch."""
        return self.cfg.tau * self.cfg.tau_decay ** epoch

    def entropy_weight(self, epoch: int) -> float:
        """The entropy term's weight in an epoch: 0 in the warm-up, rising linearly to ``entropy`` at the last."""
        searching = self.cfg.epochs - self.cfg.warmup
        if self.cfg.entropy == 0 or epoch < self.cfg.warmup or searching <= 0:
            return 0.0
        return self.cfg.entropy * (epoch - self.cfg.warmup + 1) / searching

    def run_epoch(self, progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Train one epoch (w pass, then theta pass after the warm-up); returns its metrics row."""
        epoch, cfg = self.state.epoch, self.cfg
        start = time.perf_counter()
        tau = self.tau(epoch)
        searching = epoch >= cfg.warmup
        self.model.train()
        w_loss, w_acc, n_w = self._w_pass(epoch, tau, progress)
        row: dict[str, Any] = {"epoch": epoch + 1, "phase": "search" if searching else "warmup", "tau": tau,
                               "train_loss": w_loss, "train_acc": w_acc}
        sampled = float("nan")
        if searching:
            sampled = self._theta_pass(epoch, tau, progress)
        val_loss, val_acc = self.evaluate()
        probs = self.net.probabilities()
        row.update(val_loss=val_loss, val_acc=val_acc, expected_ms=float(self.latency.expected(probs)),
                   sampled_ms=sampled, argmax_ms=self.latency.of(probs.argmax(dim=1)),
                   lr_w=self.opt_w.param_groups[0]["lr"], lr_theta=self.opt_theta.param_groups[0]["lr"],
                   seconds=time.perf_counter() - start)
        self.state.metrics.append(row)
        self.state.epoch += 1
        return row

    def _batches(self, data, epoch: int, purpose: int):
        it = batches(data, self.cfg.batch_size, self.size, shuffle=True, generator=generator(self.cfg.seed, epoch, purpose),
                     drop_last=True, rank=self.dist.rank, world=self.dist.world)
        return ((batch_to(x, self.device), y.to(self.device, non_blocking=True)) for x, y in it)

    def _w_pass(self, epoch: int, tau: float, progress) -> tuple[float, float, int]:
        gumbel = generator(self.cfg.seed, epoch, 1)
        total_loss = correct = seen = 0.0
        soft = self.net.soft("w")
        for x, y in self._batches(self.splits.train_w, epoch, 0):
            mask, index = self.net.sample(tau, gumbel, soft)
            logits = self.model(x, mask.detach(), index, soft)
            loss = F.cross_entropy(logits, y)
            self.opt_w.zero_grad(set_to_none=True)
            loss.backward()
            self.opt_w.step()
            self.sched_w.step()
            total_loss += float(loss.detach()) * len(y)
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
            if progress:
                progress(1)
        self.opt_theta.zero_grad(set_to_none=True)
        loss_sum, correct, seen = self._reduce(total_loss, correct, seen)
        return loss_sum / max(seen, 1), 100 * correct / max(seen, 1), int(seen)

    def _theta_pass(self, epoch: int, tau: float, progress) -> float:
        gumbel = generator(self.cfg.seed, epoch, 2)
        lat_sum = count = 0.0
        loss_cfg = self.cfg.loss_config()
        scale = LAT_UNITS[self.cfg.lat_unit] if self.cfg.loss == "fbnet" else 1.0
        gamma = self.entropy_weight(epoch)
        soft = self.net.soft("theta")
        with frozen(self.net.weight_parameters()):  # theta's backward skips the weights' gradients
            for x, y in self._batches(self.splits.train_theta, epoch, 3):
                mask, index = self.net.sample(tau, gumbel, soft, self.cfg.theta_paths if soft else 0)
                logits = self.model(x, mask, index, soft)
                lat = self.latency.expected(self.net.theta.softmax(dim=1))
                loss = search_loss(F.cross_entropy(logits, y), lat * scale, loss_cfg)
                if gamma:
                    loss = loss + gamma * theta_entropy(self.net.theta)
                self.opt_theta.zero_grad(set_to_none=True)
                loss.backward()
                self.opt_theta.step()
                lat_sum += self.latency.of(index)
                count += 1
                if progress:
                    progress(1)
        lat_sum, count, _ = self._reduce(lat_sum, count, 0.0)
        return lat_sum / max(count, 1)

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float]:
        """Loss and accuracy of the most likely architecture on the theta split (eval mode).

        Its BatchNorm statistics are first recomputed on RECALIBRATE_IMAGES images of the w split
        (``Supernet.recalibrate``): the running ones mix every path the search sampled.
        """
        index = self.net.probabilities().argmax(dim=1)
        self.recalibrate(index)
        mask = F.one_hot(index, self.net.theta.shape[1]).float()
        total = correct = seen = 0.0
        for x, y in batches(self.splits.train_theta, eval_batch(self.device), self.size, shuffle=False,
                            rank=self.dist.rank, world=self.dist.world):
            x, y = batch_to(x, self.device), y.to(self.device)
            logits = self.net(x, mask, index, soft=False)
            total += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += float((logits.argmax(1) == y).sum())
            seen += len(y)
        self.net.train()
        total, correct, seen = self._reduce(total, correct, seen)
        return total / max(seen, 1), 100 * correct / max(seen, 1)

    def recalibrate(self, index: torch.Tensor) -> None:
        """Recompute the BatchNorm statistics of architecture ``index`` on a fixed sample of the w split."""
        size = min(RECALIBRATE_BATCH, max(1, len(self.splits.train_w) // self.dist.world))
        count = max(1, RECALIBRATE_IMAGES // size)
        it = batches(self.splits.train_w, size, self.size, shuffle=True,
                     generator=generator(self.cfg.seed, self.state.epoch, 4), drop_last=True,
                     rank=self.dist.rank, world=self.dist.world)
        self.net.recalibrate(index, (batch_to(x, self.device) for x, _ in itertools.islice(it, count)))

    def _reduce(self, *values: float) -> tuple[float, ...]:
        if self.dist.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.device)
        torch.distributed.all_reduce(t)
        return tuple(float(v) for v in t)

    def steps(self) -> int:
        """Progress steps of the current epoch (w batches, plus theta batches once searching)."""
        n = self.steps_per_epoch
        if self.state.epoch >= self.cfg.warmup:
            n += num_batches(self.splits.train_theta, self.cfg.batch_size, drop_last=True, world=self.dist.world)
        return n
