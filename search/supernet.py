"""The FBNet supernet: every candidate of every searchable layer, and the logits theta that choose.

The candidates of a layer hold their weights ``shared`` (default: one
superkernel per layer, Single-Path NAS style) or ``independent`` (one module
each, the paper's supernet); see ``search.layers``.

A Gumbel-softmax mask ``m`` (layers x candidates) drawn from theta picks the
architecture of a step. A forward pass is one of two kinds:

- soft: each layer outputs the mask-weighted mixture of its candidates
  (``layer.mix``: the paper's sum over every candidate with independent
  weights, FBNetV2's masks at about the cost of the largest candidate with
  shared weights). Theta's gradient compares the candidates' outputs.
- hard: ``m`` is a straight-through one-hot sample; only the sampled
  candidate runs, its output scaled by ``m[l, index[l]]`` (exactly 1.0 in
  the forward). Cheap, and it trains one path per step like a plain network
  (single-path one-shot), but theta's gradient is then only the gradient of
  that output's scale, which the next layer's BatchNorm mostly cancels: it
  cannot tell one candidate from another.

``MODES`` says which kind each pass of the search runs (weights pass, theta
pass): ``hybrid`` (default) trains the weights on hard single paths and
theta on the soft mixture (of every candidate, or of a few per layer drawn
from P_theta: ``gumbel_mask``'s ``paths``, the search's ``theta_paths``);
``hard`` and ``soft`` use one kind for both.
The same mask feeds the latency term (``search.latency``), so theta learns
from accuracy and latency alike.
"""

from __future__ import annotations

import itertools
from typing import Iterable, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lutnas.registry import Registry
from search.layers import check_weights, searchable_layer
from search.childnet import ChildNet, head_module, stem_module
from search.space import Space

class Mode(NamedTuple):
    """How a search mode runs its passes: soft forwards in the weights pass, in the theta pass, and the
    candidates per layer its soft theta pass mixes unless the search says (``theta_paths``; 0: every one)."""

    w_soft: bool
    theta_soft: bool
    theta_paths: int = 0


MODES: Registry[str, Mode] = Registry("supernet mode")
# hybrid's theta pass mixes ProxylessNAS's two drawn paths: the same mid-target picks and gap as every
# candidate at 0.7x the step (docs/search.md); soft is the paper's mixture of every candidate
MODES.register("hybrid", Mode(False, True, theta_paths=2))
MODES.register("hard", Mode(False, False))
MODES.register("soft", Mode(True, True))


def check_mode(mode: str) -> str:
    """``mode`` if registered; ValueError listing the known ones otherwise."""
    MODES.get(mode)
    return mode


def gumbel_mask(theta: Tensor, tau: float, hard: bool,
                generator: torch.Generator | None = None, paths: int = 0) -> tuple[Tensor, Tensor]:
    """A Gumbel-softmax sample of ``theta`` (L, K): ``(mask (L, K), index (L,))``.

    The noise comes from ``generator`` only (global RNG when None), so ranks seeded
    alike sample the same architecture. ``index`` is the argmax of the perturbed logits.
    Soft: ``softmax((theta + g) / tau)``. Hard: the one-hot of ``index`` in the
    forward with the soft sample's gradient in the backward (straight-through).

    ``paths`` (soft only; 0 = every candidate): the softmax runs over the ``paths``
    largest perturbed logits of each layer, which are ``paths`` candidates drawn from
    P_theta without replacement (Gumbel top-k, Kool et al. 2019); the others get
    exactly 0, so a soft forward can skip them (ProxylessNAS's two paths at
    ``paths=2``). The noise drawn is the same whatever ``paths`` is.
    """
    if theta.dim() != 2:
        raise ValueError(f"theta must be (layers, candidates), got shape {tuple(theta.shape)}")
    if not tau > 0:
        raise ValueError(f"temperature tau must be > 0, got {tau}")
    if paths < 0 or paths == 1:
        raise ValueError(f"paths must be 0 (every candidate) or at least 2, got {paths}")
    where = generator.device if generator is not None else theta.device
    u = torch.rand(theta.shape, generator=generator, device=where, dtype=theta.dtype).to(theta.device)
    tiny = torch.finfo(theta.dtype).tiny
    g = -torch.log(-torch.log(u.clamp(min=tiny, max=1.0 - torch.finfo(theta.dtype).eps)))
    logits = (theta + g) / tau
    index = logits.detach().argmax(dim=1)
    if not hard and 0 < paths < theta.shape[1]:
        drawn = logits.detach().topk(paths, dim=1).indices
        keep = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, drawn, True)
        return logits.masked_fill(~keep, float("-inf")).softmax(dim=1), index
    y_soft = logits.softmax(dim=1)
    if not hard:
        return y_soft, index
    y_hard = F.one_hot(index, theta.shape[1]).to(y_soft.dtype)
    # y_hard + (y_soft - y_soft.detach()): exactly one-hot in the forward (the bracket is 0.0),
    # the soft sample's gradient in the backward.
    return y_hard + (y_soft - y_soft.detach()), index


class Supernet(nn.Module):
    """Stem, every candidate at every searchable layer, head, and the architecture logits theta."""

    def __init__(self, space: Space, num_classes: int | None = None, mode: str = "hybrid",
                 weights: str = "shared") -> None:
        super().__init__()
        self.mode = check_mode(mode)
        self.weights = check_weights(weights)
        self.space = space
        self.candidates: tuple[str, ...] = tuple(space.candidates)
        for layer in space.layers:
            if tuple(layer.candidates) != self.candidates:
                raise ValueError(f"space {space.name!r}: layer {layer.index} has candidates "
                                 f"{', '.join(layer.candidates)}; the supernet needs every layer to share "
                                 f"{', '.join(self.candidates)}")
        self.stem = stem_module(space)
        self.layers = nn.ModuleList(searchable_layer(weights, layer, self.candidates) for layer in space.layers)
        self.head = head_module(space, num_classes)
        self.theta = nn.Parameter(torch.zeros(len(space.layers), len(self.candidates)))

    def weight_parameters(self) -> list[nn.Parameter]:
        """The ordinary weights w: everything except theta."""
        return [p for name, p in self.named_parameters() if name != "theta"]

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters: [theta]."""
        return [self.theta]

    def soft(self, purpose: str) -> bool:
        """Whether the ``"w"`` or ``"theta"`` pass of this supernet's mode runs soft forwards."""
        mode = MODES[self.mode]
        return {"w": mode.w_soft, "theta": mode.theta_soft}[purpose]

    def sample(self, tau: float, generator: torch.Generator | None = None,
               soft: bool | None = None, paths: int = 0) -> tuple[Tensor, Tensor]:
        """A mask and index drawn from theta at temperature ``tau``: one-hot unless ``soft``
        (default: soft in ``soft`` mode only); a soft mask over ``paths`` drawn candidates per
        layer when ``paths`` > 0 (see ``gumbel_mask``)."""
        soft = self.mode == "soft" if soft is None else soft
        return gumbel_mask(self.theta, tau, hard=not soft, generator=generator, paths=paths)

    def probabilities(self) -> Tensor:
        """P_theta: softmax of theta per layer (detached)."""
        return self.theta.detach().softmax(dim=1)

    def choices(self, index: Tensor) -> list[str]:
        """Block names of a sampled ``index`` (one per layer)."""
        return [self.candidates[i] for i in index.tolist()]

    def child(self, blocks: Sequence[str]) -> ChildNet:
        """The stand-alone network of ``blocks`` carrying this supernet's weights (copies), in eval mode."""
        child = ChildNet(self.space, blocks, self.head.fc.out_features)
        child.stem.load_state_dict(self.stem.state_dict())
        child.head.load_state_dict(self.head.state_dict())
        for l, (layer, name) in enumerate(zip(self.layers, child.choices)):
            child.blocks[l].load_state_dict(layer.block(self.candidates.index(name)).state_dict())
        return child.eval()

    def path_norms(self, index: Tensor) -> list[nn.BatchNorm2d]:
        """The BatchNorms the architecture ``index`` runs through (stem, its candidates, head)."""
        fixed = [m for part in (self.stem, self.head) for m in part.modules() if isinstance(m, nn.BatchNorm2d)]
        chosen = [m for layer, i in zip(self.layers, index.tolist()) for m in layer.norms(i)]
        return list(dict.fromkeys(fixed + chosen))

    @torch.no_grad()
    def recalibrate(self, index: Tensor, inputs: Iterable[Tensor]) -> int:
        """Re-estimate the BatchNorm statistics of the architecture ``index`` on ``inputs`` (batches).

        Single-path one-shot practice (Guo et al. 2020): the running statistics a supernet keeps
        mix every sampled path, so before an architecture is judged with the supernet's weights
        its statistics are recomputed on training data (a plain average over the batches).
        The weights do not change; the supernet is left in eval mode. Returns the images seen.
        """
        batches = iter(inputs)
        first = next(batches, None)
        if first is None:
            raise ValueError("recalibrate needs at least one batch of inputs")
        norms = self.path_norms(index)
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        mask = F.one_hot(index, len(self.candidates)).float()
        self.eval()
        for m in norms:
            m.train()
        seen = 0
        try:
            for x in itertools.chain([first], batches):
                self(x, mask, index, soft=False)
                seen += len(x)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
            self.eval()
        return seen

    def forward(self, x: Tensor, mask: Tensor, index: Tensor, soft: bool | None = None) -> Tensor:
        """Logits of ``x`` through the architecture ``mask``/``index``: the soft mixture when ``soft``
        (default: in ``soft`` mode only), else the path ``index`` (see the module docstring)."""
        shape = (len(self.layers), len(self.candidates))
        if tuple(mask.shape) != shape or tuple(index.shape) != shape[:1]:
            raise ValueError(f"expected mask {shape} and index ({shape[0]},), "
                             f"got {tuple(mask.shape)} and {tuple(index.shape)}")
        x = self.stem(x)
        if self.mode == "soft" if soft is None else soft:
            active = mask.detach().ne(0).tolist()  # read once for every layer: one device sync, not one per layer
            for l, layer in enumerate(self.layers):
                x = layer.mix(mask[l], x, active[l])
        else:
            for l, (layer, i) in enumerate(zip(self.layers, index.tolist())):
                x = layer.run(i, x) * mask[l, i]
        return self.head(x)
