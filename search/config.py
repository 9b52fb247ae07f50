"""The settings of a search (``SearchConfig``, stored in its checkpoint and search.json so that a resume
continues the same search) and where a process sits in a DDP job (``Dist``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from search.layers import check_weights
from search.loss import TARGET_LOSSES, LossConfig
from search.supernet import MODES, check_mode

# what a search.json or checkpoint meant by a setting it does not store: weights before lutnas 0.3;
# theta_paths before it existed (every candidate)
LEGACY_CONFIG = {"weights": "independent", "theta_paths": 0}
WARMUP_FRACTION = 0.5  # a shared supernet needs 4-5 epochs of 10,000 images to judge paths (docs/search.md)
LAT_UNITS = {"ms": 1.0, "us": 1000.0}


@dataclass
class SearchConfig:
    """Every setting of a search; stored in the checkpoint so a resume continues the same search."""

    epochs: int = 20
    warmup_epochs: int | None = None  # default: half of the epochs (WARMUP_FRACTION)
    batch_size: int = 64
    mode: str = "hybrid"  # search.supernet.MODES: which passes run soft forwards
    weights: str = "shared"  # how a layer's candidates hold their weights (search.layers.WEIGHTS)
    loss: str = "fbnet"
    alpha: float = 0.2
    beta: float = 0.6
    target_ms: float | None = None
    lam: float = 5.0
    lat_unit: str = "ms"  # unit of LAT inside the fbnet loss's log ("ms" as the paper, or "us"; "auto" resolved by the CLI)
    lr_w: float = 0.1  # per 256 images; scaled linearly with the batch size
    momentum: float = 0.9
    wd_w: float = 1e-4
    lr_theta: float = 0.1
    wd_theta: float = 5e-4
    tau: float = 1.0  # Gumbel-softmax temperature of the soft passes (the paper: 5.0, decay 0.956 over 90 epochs)
    tau_decay: float = 1.0
    entropy: float = 0.3  # weight of theta's mean per-layer entropy, ramped from 0 after the warm-up to this at the end
    seed: int = 0
    theta_paths: int | None = None  # candidates per layer a soft theta pass mixes, drawn from P_theta (0: every
    # candidate); None: the mode's (search.supernet.MODES), resolved on construction so the stored config says which

    def __post_init__(self) -> None:
        if self.theta_paths is None and self.mode in MODES:  # an unknown mode is refused by check()
            self.theta_paths = MODES[self.mode].theta_paths

    @property
    def warmup(self) -> int:
        """Epochs that train the weights only."""
        if self.warmup_epochs is not None:
            return self.warmup_epochs
        return max(1, int(WARMUP_FRACTION * self.epochs + 0.5)) if self.epochs > 1 else 0  # halves round up

    def loss_config(self) -> LossConfig:
        """The search loss settings."""
        return LossConfig(mode=self.loss, alpha=self.alpha, beta=self.beta, target_ms=self.target_ms, lam=self.lam)

    def check(self) -> None:
        """ValueError on settings that cannot work."""
        if self.epochs < 1:
            raise ValueError("epochs must be >= 1")
        if not 0 <= self.warmup <= self.epochs:
            raise ValueError(f"warm-up epochs must be between 0 and the epochs ({self.epochs})")
        if self.batch_size < 1:
            raise ValueError("batch size must be >= 1")
        for name in ("lr_w", "lr_theta", "tau"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name.replace('_', '-')} must be a positive number, got {getattr(self, name)}")
        for name in ("lam", "alpha", "beta", "momentum", "wd_w", "wd_theta"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                shown = "lambda" if name == "lam" else name.replace("_", "-")
                raise ValueError(f"{shown} must be a number >= 0, got {getattr(self, name)}")
        if self.target_ms is not None and not math.isfinite(self.target_ms):
            raise ValueError(f"target-ms must be a finite number, got {self.target_ms}")
        check_mode(self.mode)
        check_weights(self.weights)
        if isinstance(self.theta_paths, bool) or not isinstance(self.theta_paths, int) or self.theta_paths < 0 \
                or self.theta_paths == 1:
            raise ValueError(f"theta-paths must be 0 (every candidate) or a whole number >= 2, got {self.theta_paths}")
        if not (math.isfinite(self.entropy) and self.entropy >= 0):
            raise ValueError(f"entropy weight must be >= 0, got {self.entropy}")
        if self.tau <= 0 or not 0 < self.tau_decay <= 1:
            raise ValueError("tau must be > 0 and its decay in (0, 1]")
        if self.lat_unit not in (*LAT_UNITS, "auto"):
            raise ValueError(f"unknown latency unit {self.lat_unit!r}; known: {', '.join(LAT_UNITS)}")
        if self.loss in TARGET_LOSSES and not (self.target_ms and self.target_ms > 0):
            raise ValueError(f"the {self.loss} loss needs --target-ms > 0")
        self.loss_config()  # an unknown loss raises


@dataclass
class Dist:
    """Where this process sits in a DistributedDataParallel job (rank 0 of 1 when alone)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def saved_config(config: dict[str, Any]) -> dict[str, Any]:
    """A stored search config with the settings older lutnas releases did not store (LEGACY_CONFIG) filled in."""
    return {**LEGACY_CONFIG, **config}
