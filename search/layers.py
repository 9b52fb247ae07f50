"""A searchable layer of the supernet: its candidates, with independent or shared weights.

Two ways to hold the candidates of one layer (``WEIGHTS`` registry):

- ``independent``: one stand-alone module per candidate (the FBNet paper's
  supernet). Resampling a layer hands the next layer an unrelated feature
  basis each step, which kept this supernet at chance accuracy in hard mode.
- ``shared`` (default; Single-Path NAS, Stamoulis et al. 2019, and the
  shared superkernel of FBNetV2): the inverted-residual candidates of a layer
  share one 1x1 expansion weight of the largest expansion, one depthwise
  kernel of the largest size, one 1x1 projection weight and the BatchNorms
  after each. ``k3`` uses the centre 3x3 of the 5x5 kernel, ``e1``/``e3``
  the leading ``cin * e`` channels of ``e6``, and a ``_g<G>`` candidate the
  block-diagonal blocks of the 1x1 weights, its expansion rows taken in the
  order that its channel shuffle undoes, so that after the shuffle expanded
  channel ``j`` is the dense candidates' channel ``j``. ``skip`` keeps its
  own 1x1 projection where the shape changes, and shares the projection's
  BatchNorm, so every candidate hands the next layer features of the same
  per-channel scale. Measured on Fashion-MNIST (fbnet-cifar at 16x16, one
  epoch of uniform sampling, docs/search.md): the shuffle order lifted train
  accuracy from 20% to 31%, shared BatchNorms to 33-35%.

Every candidate computes exactly what its stand-alone block computes with
the sliced weights (``block(i)`` builds that block). Shared BatchNorm
statistics mix the candidates, so an architecture is judged after
``Supernet.recalibrate`` re-estimates them for its path.

A layer runs candidate ``i`` with ``run(i, x)``, the soft relaxation over all
candidates weighted by a mask row with ``mix(weights, x)``, has ``len()`` candidates,
gives candidate ``i``'s stand-alone module with ``block(i)`` and the
BatchNorms it runs through with ``norms(i)``.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lut.names import parse_name
from lutnas.registry import Registry
from search.blocks import IRBlock, Skip, build_module, channel_shuffle
from search.space import Layer


def running(weights: Tensor, active: list[bool] | None = None) -> list[bool]:
    """Which candidates a mixture runs: those whose weight is not exactly 0 (``active``, when the caller
    has already read that off the mask, saves a device sync per layer). ValueError when none is."""
    active = weights.detach().ne(0).tolist() if active is None else active
    if len(active) != len(weights):
        raise ValueError(f"{len(active)} running flags for a mask row of {len(weights)} candidates")
    if not any(active):
        raise ValueError("a mixture needs at least one candidate with a weight other than 0")
    return active


class IndependentLayer(nn.ModuleList):
    """One stand-alone module per candidate (``layer[i]`` is candidate i's module)."""

    def __init__(self, layer: Layer, candidates: Sequence[str]) -> None:
        super().__init__(build_module(layer.key(c)).train() for c in candidates)

    def run(self, i: int, x: Tensor) -> Tensor:
        """Candidate ``i``'s output."""
        return self[i](x)

    def mix(self, weights: Tensor, x: Tensor, active: list[bool] | None = None) -> Tensor:
        """``sum_i weights[i] * op_i(x)``: the paper's soft relaxation (every candidate with a weight
        other than exactly 0 runs; ``active``: see ``running``)."""
        on = [i for i, a in enumerate(running(weights, active)) if a]
        out = weights[on[0]] * self[on[0]](x)
        for i in on[1:]:
            out = out + weights[i] * self[i](x)
        return out

    def block(self, i: int) -> nn.Module:
        """Candidate ``i``'s module (the module itself: its weights are its own)."""
        return self[i]

    def norms(self, i: int) -> list[nn.BatchNorm2d]:
        """The BatchNorms candidate ``i`` runs through (its own)."""
        return [m for m in self[i].modules() if isinstance(m, nn.BatchNorm2d)]


def group_blocks(weight: Tensor, groups: int) -> Tensor:
    """The block-diagonal part of a dense 1x1 weight (O, I, 1, 1) as a grouped conv's (O, I/G, 1, 1)."""
    if groups == 1:
        return weight
    o, i = weight.shape[0] // groups, weight.shape[1] // groups
    return torch.cat([weight[g * o:(g + 1) * o, g * i:(g + 1) * i] for g in range(groups)], dim=0)


def shuffle_order(channels: int, groups: int) -> list[int]:
    """Where a channel shuffle of ``groups`` moves each of ``channels``: channel c goes to position order[c].

    ``order[c] = (c % (C / G)) * G + c // (C / G)`` (ShuffleNet's view-transpose-reshape). Taking
    rows ``order`` of a weight makes row ``p`` of the shared weight land at position ``p`` after it.
    """
    per = channels // groups
    return [(c % per) * groups + c // per for c in range(channels)]


class SlicedBatchNorm2d(nn.BatchNorm2d):
    """A BatchNorm over a prefix of its channels: an input of C channels uses (and updates) the first C."""

    def forward(self, x: Tensor) -> Tensor:  # nn.BatchNorm2d's forward (affine, tracking statistics), sliced
        c = x.shape[1]
        factor = 0.0
        if self.training:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        return F.batch_norm(x, self.running_mean[:c], self.running_var[:c], self.weight[:c], self.bias[:c],
                            self.training, factor, self.eps)


class SharedLayer(nn.Module):
    """The candidates of one layer over one superkernel and shared BatchNorms (see the module docstring)."""

    def __init__(self, layer: Layer, candidates: Sequence[str]) -> None:
        super().__init__()
        self.cin, self.cout, self.stride = layer.cin, layer.cout, layer.stride
        self.names = tuple(candidates)
        self.specs = [parse_name(c) for c in self.names]
        for name, b in zip(self.names, self.specs):
            if b.kind == "ir":
                for what, c in (("input", layer.cin), ("expanded", layer.cin * b.expansion), ("output", layer.cout)):
                    if c % b.groups:
                        raise ValueError(f"layer {layer.index} {name}: groups {b.groups} do not divide "
                                         f"the {what} channels {c}")
            elif b.kind != "skip":
                raise ValueError(f"layer {layer.index}: {name!r} is not a searchable candidate")
        irs = [b for b in self.specs if b.kind == "ir"]
        self.kmax = max((b.kernel for b in irs), default=1)
        self.mid_max = layer.cin * max((b.expansion for b in irs), default=1)
        self.residual = layer.stride == 1 and layer.cin == layer.cout
        self.expand = nn.Parameter(torch.empty(self.mid_max, layer.cin, 1, 1))
        self.depthwise = nn.Parameter(torch.empty(self.mid_max, 1, self.kmax, self.kmax))
        self.project = nn.Parameter(torch.empty(layer.cout, self.mid_max, 1, 1))
        has_proj = any(b.kind == "skip" for b in self.specs) and not self.residual
        self.skip = nn.Parameter(torch.empty(layer.cout, layer.cin, 1, 1)) if has_proj else None
        for p in (self.expand, self.depthwise, self.project, self.skip):  # nn.Conv2d's initialization
            if p is not None:
                nn.init.kaiming_uniform_(p, a=math.sqrt(5))
        self.dense = [i for i, b in enumerate(self.specs) if b.kind == "ir" and b.groups == 1]
        self.bn_expand = SlicedBatchNorm2d(self.mid_max)
        self.bn_depthwise = SlicedBatchNorm2d(self.mid_max)
        self.bn_project = nn.BatchNorm2d(layer.cout)
        if self.residual:  # start as the identity, as the stand-alone block does
            nn.init.zeros_(self.bn_project.weight)

    def __len__(self) -> int:
        return len(self.names)

    def norms(self, i: int) -> list[nn.BatchNorm2d]:
        """The (shared) BatchNorms candidate ``i`` runs through."""
        if self.specs[i].kind == "skip":
            return [] if self.skip is None else [self.bn_project]
        return [self.bn_expand, self.bn_depthwise, self.bn_project]

    def weights(self, i: int) -> tuple[Tensor, Tensor, Tensor]:
        """Candidate ``i``'s (expand, depthwise, project) conv weights, shaped as its stand-alone convs'."""
        b = self.specs[i]
        if b.kind != "ir":
            raise ValueError(f"{self.names[i]!r} has no inverted-residual weights")
        mid, off = self.cin * b.expansion, (self.kmax - b.kernel) // 2
        expand = self.expand[:mid]
        if b.groups > 1:
            expand = expand[shuffle_order(mid, b.groups)]
        return (group_blocks(expand, b.groups),
                self.depthwise[:mid, :, off:off + b.kernel, off:off + b.kernel],
                group_blocks(self.project[:, :mid], b.groups))

    def run(self, i: int, x: Tensor) -> Tensor:
        """Candidate ``i``'s output: its stand-alone block's computation with the sliced weights."""
        if self.specs[i].kind == "skip":
            return x if self.skip is None else self.bn_project(F.conv2d(x, self.skip, stride=self.stride))
        h = self._branch(i, x)
        return x + h if self.residual else h

    def _branch(self, i: int, x: Tensor) -> Tensor:
        """An inverted-residual candidate's output without the residual input.

        A group candidate's shuffle runs before its expansion BatchNorm and ReLU here (per-channel
        ops commute with a permutation), so the shared BatchNorm's channel ``j`` meets channel ``j``.
        """
        b = self.specs[i]
        we, wd, wp = self.weights(i)
        h = F.conv2d(x, we, groups=b.groups)
        if b.groups > 1:
            h = channel_shuffle(h, b.groups)
        h = F.relu(self.bn_expand(h))
        h = F.relu(self.bn_depthwise(F.conv2d(h, wd, stride=self.stride, padding=b.kernel // 2, groups=h.shape[1])))
        return self.bn_project(F.conv2d(h, wp, groups=b.groups))

    def mix(self, weights: Tensor, x: Tensor, active: list[bool] | None = None) -> Tensor:
        """The soft relaxation over every candidate at about the cost of the largest one (FBNetV2's masks).

        The dense candidates (no groups) share the expansion and its BatchNorm, so it runs once at
        the largest expansion. Candidate (k, e) weighs channel ``c < cin * e`` with ``weights[i]``;
        per channel, the depthwise kernel is the shared one under a spatial mask mixing the kernel
        sizes' centres by those weights (Single-Path NAS's superkernel), so one depthwise conv runs;
        its output, gated per channel by the channel's total weight, goes through one projection
        conv and BatchNorm, scaled by the dense candidates' total weight. Group candidates and
        ``skip`` run on their own and are added with their weights; the input is added once where
        the layer is residual. A one-hot ``weights`` gives exactly ``run(i, x)`` in training mode
        (batch statistics); in between it is a relaxation, as in FBNetV2 (Wan et al. 2020).
        Candidates whose weight is exactly 0 do not run, and the dense part runs at the largest
        expansion and kernel among the others (a mask over a few drawn candidates costs about
        the largest of them; their outputs and gradients are the full mixture's; ``active``: see
        ``running``).
        """
        active = running(weights, active)
        out: Tensor | float = x if self.residual else 0.0
        dense = [i for i in self.dense if active[i]]
        if dense:
            mid = max(self.cin * self.specs[i].expansion for i in dense)
            kmax = max(self.specs[i].kernel for i in dense)
            crop = (self.kmax - kmax) // 2
            channel = torch.arange(mid, device=x.device)
            grid = torch.arange(kmax, device=x.device)
            spatial = 0.0  # (mid, kmax, kmax): each channel's mix of kernel-size centres
            gate = 0.0  # (mid,): each channel's total weight
            for i in dense:
                b = self.specs[i]
                off = (kmax - b.kernel) // 2
                inside = ((grid >= off) & (grid < off + b.kernel)).to(x.dtype)
                on = weights[i] * (channel < self.cin * b.expansion).to(x.dtype)
                spatial = spatial + on.view(-1, 1, 1) * (inside.view(-1, 1) * inside.view(1, -1))
                gate = gate + on
            centre = self.depthwise[:mid, :, crop:crop + kmax, crop:crop + kmax]
            kernel = centre * (spatial / gate.clamp_min(1e-12).view(-1, 1, 1)).unsqueeze(1)
            h = F.relu(self.bn_expand(F.conv2d(x, self.expand[:mid])))
            d = F.relu(self.bn_depthwise(F.conv2d(h, kernel, stride=self.stride, padding=kmax // 2, groups=mid)))
            total = sum(weights[i] for i in dense)
            out = out + total * self.bn_project(F.conv2d(d * gate.view(1, -1, 1, 1), self.project[:, :mid]))
        for i, b in enumerate(self.specs):
            if not active[i]:
                continue
            if b.kind == "ir" and b.groups > 1:
                out = out + weights[i] * self._branch(i, x)
            elif b.kind == "skip" and self.skip is not None:
                out = out + weights[i] * self.run(i, x)
        return out

    @torch.no_grad()
    def block(self, i: int) -> nn.Module:
        """A stand-alone block (``IRBlock`` or ``Skip``) holding copies of candidate ``i``'s weights."""
        b = self.specs[i]
        if b.kind == "skip":
            skip = Skip(self.cin, self.cout, self.stride)
            if skip.proj is not None:
                skip.proj[0].weight.copy_(self.skip)
                _copy_norm(skip.proj[1], self.bn_project, slice(None))
            return skip.train(self.training)
        block = IRBlock(self.cin, self.cout, self.stride, b.kernel, b.expansion, b.groups)
        mid = self.cin * b.expansion
        before_shuffle = shuffle_order(mid, b.groups) if b.groups > 1 else slice(0, mid)
        for seq, w, bn, channels in zip((block.expand, block.depthwise, block.project), self.weights(i),
                                        (self.bn_expand, self.bn_depthwise, self.bn_project),
                                        (before_shuffle, slice(0, mid), slice(None))):
            seq[0].weight.copy_(w)
            _copy_norm(seq[1], bn, channels)
        return block.train(self.training)


def _copy_norm(target: nn.BatchNorm2d, source: nn.BatchNorm2d, channels: slice | list[int]) -> None:
    """Copy ``source``'s affine parameters and statistics of ``channels`` into ``target``."""
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(target, name).copy_(getattr(source, name)[channels])
    target.num_batches_tracked.copy_(source.num_batches_tracked)


LayerFactory = Callable[[Layer, Sequence[str]], nn.Module]
WEIGHTS: Registry[str, LayerFactory] = Registry("supernet weights")


def register_weights(name: str, factory: LayerFactory) -> None:
    """Add a way to hold a layer's candidates; a duplicate name is an error."""
    WEIGHTS.register(name, factory)


register_weights("shared", SharedLayer)
register_weights("independent", IndependentLayer)


def check_weights(name: str) -> str:
    """``name`` if registered; ValueError listing the known ones otherwise."""
    WEIGHTS.get(name)
    return name


def searchable_layer(weights: str, layer: Layer, candidates: Sequence[str]) -> nn.Module:
    """The supernet layer holding ``candidates`` at ``layer`` the ``weights`` way."""
    return WEIGHTS.get(weights)(layer, candidates)
