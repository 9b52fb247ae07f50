"""The LUT as a differentiable latency term: LAT = fixed + sum_l sum_i m[l, i] * LUT[l, i].

``fixed`` is the stem, the head and the runtime overhead (``Matrix.fixed_ms``);
``LUT`` holds the net latency (ms) of each candidate at each layer's slot. With
the supernet's Gumbel mask ``m`` the sum is differentiable in theta; with
P_theta it is the expected latency; with a one-hot mask it is the LUT's
prediction for that architecture.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from lut.matrix import Matrix


class LatencyTerm(nn.Module):
    """Latency (ms) of a mask, a distribution or a discrete architecture over a space's layers."""

    lat: Tensor
    fixed: Tensor

    def __init__(self, matrix: Matrix) -> None:
        super().__init__()
        table = np.asarray(matrix.latency_ms, dtype=np.float64)
        if table.ndim != 2:
            raise ValueError(f"latency matrix must be (layers, candidates), got shape {table.shape}")
        holes = np.argwhere(np.isnan(table))
        if len(holes):
            where = ", ".join(f"layer {l} {matrix.candidates[j]!r}" for l, j in holes[:5])
            raise ValueError(f"latency matrix of space {matrix.space} has {len(holes)} hole(s) ({where}): "
                             f"layers with different candidates cannot share one mask; give every layer "
                             f"the same candidates")
        if not np.isfinite(table).all() or not np.isfinite(matrix.fixed_ms):
            raise ValueError(f"latency matrix of space {matrix.space} holds infinite values")
        self.candidates: tuple[str, ...] = tuple(matrix.candidates)
        self._table = table
        self._fixed_ms = float(matrix.fixed_ms)
        self.register_buffer("lat", torch.tensor(table, dtype=torch.float32))
        self.register_buffer("fixed", torch.tensor(self._fixed_ms, dtype=torch.float32))

    def forward(self, mask: Tensor) -> Tensor:
        """LAT of a (L, K) mask: ``fixed + (mask * lat).sum()``, differentiable in the mask."""
        self._check(mask, "mask")
        return self.fixed + (mask * self.lat).sum()

    def expected(self, probs: Tensor) -> Tensor:
        """Expected LAT under per-layer probabilities (L, K)."""
        self._check(probs, "probs")
        return self.fixed + (probs * self.lat).sum()

    def of(self, index: Tensor | Sequence[int]) -> float:
        """LAT (ms) of the architecture picking candidate ``index[l]`` at layer ``l`` (the LUT's prediction)."""
        idx = index.tolist() if isinstance(index, Tensor) else list(index)
        if len(idx) != self._table.shape[0]:
            raise ValueError(f"expected {self._table.shape[0]} indices, one per layer, got {len(idx)}")
        total = self._fixed_ms  # summed in the order Matrix.predict uses, in float64
        for layer, j in enumerate(idx):
            if not 0 <= j < self._table.shape[1]:
                raise ValueError(f"layer {layer}: index {j} is out of range 0..{self._table.shape[1] - 1}")
            total += float(self._table[layer, j])
        return total

    def _check(self, m: Tensor, what: str) -> None:
        if tuple(m.shape) != tuple(self.lat.shape):
            raise ValueError(f"{what} must have shape {tuple(self.lat.shape)} (layers, candidates), "
                             f"got {tuple(m.shape)}")
