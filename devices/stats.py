"""Latency statistics over raw samples: pure functions, no I/O."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

Z95 = 1.959964


@dataclass(frozen=True)
class Summary:
    """What a LUT row keeps of one key's timed runs (milliseconds)."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    std_ms: float
    n: int
    ci_rel: float
    stable: bool

    def as_row(self) -> dict[str, float | int]:
        """The LUT statistic columns."""
        return {"median_ms": self.median_ms, "p10_ms": self.p10_ms, "p90_ms": self.p90_ms,
                "std_ms": self.std_ms, "n": self.n, "ci_rel": self.ci_rel, "stable": int(self.stable)}


def median_ci(samples: Sequence[float], z: float = Z95) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics.

    Ranks n/2 -+ z*sqrt(n)/2 (normal approximation to the binomial), clipped to the sample.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    if n == 0:
        raise ValueError("no samples")
    half = z * math.sqrt(n) / 2
    lo = max(0, int(math.floor(n / 2 - half)) - 1)
    hi = min(n - 1, int(math.ceil(n / 2 + half)) - 1)
    return float(x[lo]), float(x[hi])


def ci_rel(samples: Sequence[float]) -> float:
    """Half-width of the median's 95% CI relative to the median (inf when undefined)."""
    med = float(np.median(samples))
    if med <= 0 or len(samples) < 6:
        return math.inf
    lo, hi = median_ci(samples)
    return (hi - lo) / 2 / med


def summarize(samples_s: Sequence[float], tolerance: float, spread_limit: float) -> Summary:
    """Summary of samples in seconds; stable when the CI meets ``tolerance`` and p90/p10 <= ``spread_limit``."""
    x = np.asarray(samples_s, dtype=float) * 1e3
    if len(x) == 0:
        raise ValueError("no samples")
    p10, med, p90 = (float(v) for v in np.percentile(x, [10, 50, 90]))
    rel = ci_rel(x)
    stable = rel <= tolerance and p10 > 0 and p90 / p10 <= spread_limit
    return Summary(med, p10, p90, float(np.std(x, ddof=1)) if len(x) > 1 else 0.0, len(x),
                   rel if math.isfinite(rel) else 1.0, stable)


def settled(chunk_medians: Sequence[float], tolerance: float) -> bool:
    """Warm-up is over when the last two chunk medians agree within ``tolerance``."""
    if len(chunk_medians) < 3:
        return False
    a, b = chunk_medians[-2], chunk_medians[-1]
    return abs(b - a) <= tolerance * min(a, b)


def quiet_mask(batches: Sequence[Sequence[float]], gate: float, min_batches: int = 5) -> list[bool]:
    """Which batches were timed while the host was quiet.

    A shared host has episodes (other tenants, frequency drops) that slow every run for a
    while. A batch whose median exceeds the 20th percentile of the entry's batch medians by
    more than ``gate`` was timed in such an episode. With fewer than ``min_batches``
    batches, or ``gate`` <= 0, every batch counts.
    """
    if gate <= 0 or len(batches) < min_batches:
        return [True] * len(batches)
    meds = np.array([np.median(b) for b in batches])
    limit = (1 + gate) * float(np.percentile(meds, 20))
    return [bool(m <= limit) for m in meds]
