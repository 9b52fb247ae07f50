"""Search losses: how accuracy (CE) and latency (LAT, ms) combine into theta's objective.

Registered modes:

- ``fbnet``: ``CE * alpha * (log LAT) ** beta``, the FBNet paper's function
  (alpha 0.2, beta 0.6). Needs LAT > 1 ms so that log LAT > 0.
- ``target``: ``CE + lam * max(0, LAT / T - 1)``: no penalty at or under the
  target T, a linear one above it.
- ``target-abs``: ``CE + lam * |LAT / T - 1|``, TuNAS's absolute-value
  penalty (Bender et al., 2020): it pulls LAT to T from both sides, so the
  search lands on T even where accuracy alone does not ask for more latency.
- ``none``: ``CE`` (accuracy only, for ablations).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from lutnas.registry import Registry

if TYPE_CHECKING:  # the losses use tensor methods only: importing this module (for --help) loads no torch
    from torch import Tensor


@dataclass(frozen=True)
class LossConfig:
    """Which loss and its constants."""

    mode: str = "fbnet"
    alpha: float = 0.2
    beta: float = 0.6
    target_ms: float | None = None
    lam: float = 1.0

    def __post_init__(self) -> None:
        _check_mode(self.mode)
        if self.mode in TARGET_LOSSES:
            if self.target_ms is None:
                raise ValueError("target loss needs a latency target: set target_ms (--target-ms)")
            if not (math.isfinite(self.target_ms) and self.target_ms > 0):
                raise ValueError(f"target_ms must be a positive number of ms, got {self.target_ms}")
            if not (math.isfinite(self.lam) and self.lam >= 0):
                raise ValueError(f"lam must be >= 0, got {self.lam}")
        if self.mode == "fbnet":
            for name in ("alpha", "beta"):
                v = getattr(self, name)
                if not (math.isfinite(v) and v > 0):
                    raise ValueError(f"fbnet loss {name} must be > 0, got {v}")


TARGET_LOSSES = ("target", "target-abs")  # the modes that need a latency target T

LossFn = Callable[["Tensor", "Tensor", LossConfig], "Tensor"]
LOSSES: Registry[str, LossFn] = Registry("loss mode")


def register_loss(name: str, fn: LossFn) -> None:
    """Add a loss mode; a duplicate name is an error."""
    LOSSES.register(name, fn)


def _check_mode(mode: str) -> None:
    LOSSES.get(mode)


def _fbnet(ce: Tensor, lat: Tensor, cfg: LossConfig) -> Tensor:
    smallest = float(lat.detach().min())
    if not smallest > 1.0:
        raise ValueError(f"fbnet loss needs LAT > 1 ms (its log must be positive), got {smallest:.4g} ms: "
                         f"a network under 1 ms; use the target mode (a latency target in ms), "
                         f"or express LAT in a smaller unit")
    return ce * cfg.alpha * lat.log() ** cfg.beta


def _target(ce: Tensor, lat: Tensor, cfg: LossConfig) -> Tensor:
    if cfg.target_ms is None:
        raise ValueError("target loss needs a latency target: set target_ms (--target-ms)")
    return ce + cfg.lam * (lat / cfg.target_ms - 1.0).relu()


def _target_abs(ce: Tensor, lat: Tensor, cfg: LossConfig) -> Tensor:
    if cfg.target_ms is None:
        raise ValueError("target-abs loss needs a latency target: set target_ms (--target-ms)")
    return ce + cfg.lam * (lat / cfg.target_ms - 1.0).abs()


def _none(ce: Tensor, lat: Tensor, cfg: LossConfig) -> Tensor:
    return ce


register_loss("fbnet", _fbnet)
register_loss("target", _target)
register_loss("target-abs", _target_abs)
register_loss("none", _none)


def search_loss(ce: Tensor, lat: Tensor, cfg: LossConfig) -> Tensor:
    """Theta's loss from the cross-entropy ``ce`` and the latency ``lat`` (ms) under ``cfg``."""
    _check_mode(cfg.mode)
    return LOSSES[cfg.mode](ce, lat, cfg)


def reimplementation_loss(ce: Tensor, lat: Tensor, alpha: float, beta: float) -> Tensor:
    """``alpha * CE * log(LAT ** beta)``: what a widely copied FBNet reimplementation computes.

    It equals ``alpha * beta * CE * log LAT``, not the paper's ``CE * alpha * (log LAT) ** beta``;
    kept only so a test can show the two differ.
    """
    return alpha * ce * (lat ** beta).log()
