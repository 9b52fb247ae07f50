"""Fit a whole-network calibration line: measured ~= offset + scale * (the LUT's sum).

Least squares in relative error (every network counts alike, small or large), with the
offset kept >= 0 (a per-network cost is never negative; when the free fit wants one below
0, or a slope <= 0, the line goes through the origin). The spread of each value comes from a bootstrap over
the networks, so the stored calibration says how well it is known.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from lut.calibration import Calibration, Estimate

MIN_NETWORKS = 5


def fit_line(predicted: Sequence[float], measured: Sequence[float]) -> Calibration:
    """The (offset >= 0, scale) minimizing sum(((offset + scale * p - m) / m) ** 2)."""
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    if p.shape != m.shape or p.ndim != 1:
        raise ValueError(f"predicted and measured must be equally long lists, got shapes {p.shape} and {m.shape}")
    if len(p) < 2 or not (np.isfinite(p).all() and np.isfinite(m).all()) or (p <= 0).any() or (m <= 0).any():
        raise ValueError("a line needs at least 2 networks with finite latencies > 0")
    a = np.c_[1 / m, p / m]
    (offset, scale), *_ = np.linalg.lstsq(a, np.ones_like(m), rcond=None)
    if offset < 0 or scale <= 0 or np.ptp(p) == 0:
        offset, scale = 0.0, float(np.sum(p / m) / np.sum((p / m) ** 2))
    return Calibration(float(offset), float(scale))


def _estimate(value: float, draws: np.ndarray, n: int) -> Estimate:
    p2, p10, p90, p97 = np.percentile(draws, [2.5, 10, 90, 97.5])
    ci = (p97 - p2) / 2 / value if value > 0 else float("inf")
    return Estimate(value, float(p10), float(p90), float(np.std(draws, ddof=1)), float(min(ci, 1e6)), n)


def fit_with_spread(predicted: Sequence[float], measured: Sequence[float], boot: int = 1000,
                    seed: int = 0) -> tuple[Estimate, Estimate]:
    """(offset, scale) of ``fit_line`` with bootstrap spreads; ValueError under MIN_NETWORKS networks."""
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    if len(p) < MIN_NETWORKS:
        raise ValueError(f"a calibration needs at least {MIN_NETWORKS} measured networks, got {len(p)}")
    best = fit_line(p, m)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(boot):
        i = rng.integers(0, len(p), len(p))
        if np.ptp(p[i]) > 0:
            c = fit_line(p[i], m[i])
            draws.append((c.offset_ms, c.scale))
    d = np.array(draws) if draws else np.array([[best.offset_ms, best.scale]])
    return _estimate(best.offset_ms, d[:, 0], len(p)), _estimate(best.scale, d[:, 1], len(p))
