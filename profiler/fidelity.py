"""How well a LUT predicts whole networks: pure metrics over predicted and measured latencies.

The error of one network is ``(predicted - measured) / measured`` (negative: the LUT
under-predicts). Over a sample of networks: the mean absolute percentage error (MAPE),
the shares within +-5% and +-10% (the figure latency predictors are compared by:
nn-Meter reports 99% of models within +-10% on a phone CPU), Spearman's rank
correlation (what a search needs: does the LUT order networks as the device does) and
the median measured/predicted ratio (a systematic bias shows there). Also the random
architectures of a space that the fidelity is judged on.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

BANDS = (0.05, 0.10)


@dataclass(frozen=True)
class Fidelity:
    """Agreement of predicted with measured latencies over ``n`` networks (shares in 0..1)."""

    n: int
    mape: float  # mean of |predicted - measured| / measured, as a share (0.05 is 5%)
    within_5: float
    within_10: float
    spearman: float  # NaN with fewer than 2 networks or constant values
    median_ratio: float  # median of measured / predicted: 1.08 means the networks run 8% slower than predicted
    max_abs_error: float

    def as_dict(self) -> dict[str, float | int | None]:
        """JSON-friendly: NaN becomes None."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def relative_errors(predicted: Sequence[float], measured: Sequence[float]) -> np.ndarray:
    """``(predicted - measured) / measured`` per network; ValueError on mismatched or non-positive input."""
    p = np.asarray(predicted, dtype=float)
    m = np.asarray(measured, dtype=float)
    if p.shape != m.shape or p.ndim != 1:
        raise ValueError(f"predicted and measured must be equally long lists, got shapes {p.shape} and {m.shape}")
    if not (np.isfinite(p).all() and np.isfinite(m).all()) or (m <= 0).any() or (p < 0).any():
        raise ValueError("latencies must be finite, measured ones > 0 and predicted ones >= 0")
    return (p - m) / m


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation (ties get average ranks); NaN when undefined."""
    if len(a) < 2 or np.ptp(np.asarray(a, dtype=float)) == 0 or np.ptp(np.asarray(b, dtype=float)) == 0:
        return math.nan
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def fidelity(predicted: Sequence[float], measured: Sequence[float]) -> Fidelity:
    """All metrics of a sample; ValueError on an empty sample."""
    err = relative_errors(predicted, measured)
    if len(err) == 0:
        raise ValueError("no networks to compare")
    ratio = np.asarray(measured, dtype=float) / np.maximum(np.asarray(predicted, dtype=float), 1e-300)
    a = np.abs(err)
    # a hair of slack so 0.1 written as 1.1/1.0 - 1 = 0.10000000000000009 counts as within 10%
    within = [float(np.mean(a <= band + 1e-12)) for band in BANDS]
    return Fidelity(len(err), float(a.mean()), within[0], within[1], spearman(predicted, measured),
                    float(np.median(ratio)), float(a.max()))


def format_fidelity(f: Fidelity, label: str = "") -> list[str]:
    """Human-readable lines of a Fidelity."""
    rho = "n/a" if math.isnan(f.spearman) else f"{f.spearman:.3f}"
    head = f"{label}: " if label else ""
    return [f"{head}{f.n} networks: MAPE {f.mape * 100:.1f}%, within +-5% {f.within_5 * 100:.0f}%, "
            f"within +-10% {f.within_10 * 100:.0f}%, Spearman {rho}",
            f"{' ' * len(head)}measured/predicted median {f.median_ratio:.3f}, "
            f"worst error {f.max_abs_error * 100:.1f}%"]


def sample_architectures(candidates: Sequence[Sequence[str]], n: int, seed: int) -> list[list[str]]:
    """``n`` distinct random architectures (one candidate per layer, uniform), reproducible from ``seed``.

    ``candidates[l]`` lists layer ``l``'s candidates. ValueError when the space has fewer than ``n``
    distinct architectures.
    """
    if n < 1:
        raise ValueError(f"samples must be >= 1, got {n}")
    total = math.prod(len(c) for c in candidates)
    if total < n:
        raise ValueError(f"the space has only {total} distinct architectures, fewer than the {n} asked for")
    rng = random.Random(seed)
    seen: dict[tuple[str, ...], None] = {}
    while len(seen) < n:
        seen.setdefault(tuple(rng.choice(list(c)) for c in candidates), None)
    return [list(a) for a in seen]
