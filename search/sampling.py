"""Random architectures of a given latency: the baseline a search is judged against.

Yu et al. (2020) judge a search by the architectures it finds against random
architectures of equal cost. ``near_latency`` draws architectures uniformly
from those whose LUT latency lies in a band around a target: it samples each
layer from a distribution tilted towards the target (``p_l(i) ~ exp(-lam *
LUT[l, i])``, ``lam`` chosen so the expected latency is the target), keeps
the draws inside the band, and accepts each with probability ``exp(lam * (LAT
- edge))``, which cancels the tilt: every architecture of the band is equally
likely, also at the ends of the space's range where plain uniform draws
almost never land. Pure numpy, no torch.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

MAX_DRAWS = 2_000_000
Seed = int | Sequence[int]  # numpy's default_rng: one int, or several (independent streams, e.g. (run seed, slice))


def _tilted(table: np.ndarray, lam: float) -> np.ndarray:
    """Per-layer probabilities ``p_l(i) ~ exp(-lam * table[l, i])`` (L, K)."""
    logits = -lam * table
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


def tilt_for(table: np.ndarray, fixed_ms: float, target_ms: float) -> float:
    """The tilt ``lam`` (1/ms) whose per-layer distributions have expected latency ``target_ms``."""
    lo_ms, hi_ms = fixed_ms + table.min(axis=1).sum(), fixed_ms + table.max(axis=1).sum()
    if not lo_ms < target_ms < hi_ms:
        raise ValueError(f"target {target_ms:.4g} ms is outside the space's range "
                         f"({lo_ms:.4g} .. {hi_ms:.4g} ms)")
    expected = lambda lam: fixed_ms + float((_tilted(table, lam) * table).sum())  # noqa: E731 - falls with lam
    scale = 1.0 / max(float(np.ptp(table)), 1e-12)
    a, b = -scale, scale
    while expected(a) < target_ms:
        a *= 2
    while expected(b) > target_ms:
        b *= 2
    for _ in range(200):
        mid = 0.5 * (a + b)
        a, b = (mid, b) if expected(mid) > target_ms else (a, mid)
    return 0.5 * (a + b)


def near_latency(table: Sequence[Sequence[float]], fixed_ms: float, target_ms: float, n: int, *,
                 tolerance: float = 0.05, seed: Seed = 0, exclude: Iterable[Sequence[int]] = (),
                 allow_fewer: bool = False) -> list[list[int]]:
    """``n`` distinct architectures (candidate index per layer) drawn uniformly from those whose latency
    ``fixed_ms + sum_l table[l, a_l]`` is within ``target_ms * (1 +- tolerance)``; ``exclude`` are left out.

    ValueError when the band holds too few architectures to find ``n`` in ``MAX_DRAWS`` draws, unless
    ``allow_fewer``: then the ones found. ``seed``: an int or a sequence of ints (numpy's ``default_rng``).
    """
    lo, hi = _band(table, fixed_ms, target_ms, tolerance)
    return in_band(table, fixed_ms, lo, hi, n, seed=seed, exclude=exclude, allow_fewer=allow_fewer,
                   name=f"+-{tolerance:.0%} of {target_ms:.4g} ms")


def stratified_near_latency(table: Sequence[Sequence[float]], fixed_ms: float, target_ms: float, n: int, *,
                            tolerance: float = 0.05, seed: Seed = 0, exclude: Iterable[Sequence[int]] = (),
                            allow_fewer: bool = False) -> list[list[int]]:
    """``n`` distinct architectures within ``target_ms * (1 +- tolerance)``, one drawn uniformly from each of ``n``
    equal slices of the band's latency, so that they spread evenly over it and their mean latency lies near the
    target. ``near_latency``'s uniform draw does not: near the fast corner of a space more architectures lie
    above a latency than below it (random networks 0.4-4.7% slower than the FBNet-loss searches' in twelve runs
    of benchmarks/search_vs_random.py). A slice that holds none (or only excluded ones) leaves its draw to the
    whole band. Each slice draws from its own stream, ``(*seed, k)``, so the draws of two seeds are independent
    (lutnas 0.10.1 seeded slice k with ``seed + k``: seed s's slice k + 1 was seed s + 1's slice k, and two runs of
    the benchmark with seeds 19 and 20, whose bands lay one slice apart, drew 4 of 10 networks alike). Errors as
    ``near_latency``'s."""
    lo, hi = _band(table, fixed_ms, target_ms, tolerance)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    fastest, slowest = latency_range(table, fixed_ms)
    skip = [list(a) for a in exclude]
    width = (hi - lo) / n
    stream = np.atleast_1d(seed).tolist()
    found: list[list[int]] = []
    for k in range(n):
        a, b = lo + k * width, (hi if k == n - 1 else lo + (k + 1) * width)
        if a <= slowest and b >= fastest:
            found += in_band(table, fixed_ms, a, b, 1, seed=[*stream, k], exclude=skip + found, allow_fewer=True)
    if len(found) < n:
        found += in_band(table, fixed_ms, lo, hi, n - len(found), seed=[*stream, n], exclude=skip + found,
                         allow_fewer=True)
    if len(found) < n and not allow_fewer:
        raise ValueError(f"found only {len(found)} of {n} architectures within +-{tolerance:.0%} of "
                         f"{target_ms:.4g} ms; widen the tolerance")
    return found


def _band(table: Sequence[Sequence[float]], fixed_ms: float, target_ms: float, tolerance: float
          ) -> tuple[float, float]:
    """(low, high) ms of the band ``target_ms * (1 +- tolerance)``; ValueError when it misses the space's range."""
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be in (0, 1), got {tolerance}")
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or not np.isfinite(t).all():
        raise ValueError("table must be a finite (layers, candidates) matrix")
    lo, hi = target_ms * (1 - tolerance), target_ms * (1 + tolerance)
    fastest, slowest = latency_range(t, fixed_ms)
    if lo > slowest or hi < fastest:
        raise ValueError(f"target {target_ms:.4g} ms +-{tolerance:.0%} is outside the space's range "
                         f"({fastest:.4g} .. {slowest:.4g} ms)")
    return lo, hi


def in_band(table: Sequence[Sequence[float]], fixed_ms: float, lo: float, hi: float, n: int, *, seed: Seed = 0,
            exclude: Iterable[Sequence[int]] = (), allow_fewer: bool = False, name: str = "") -> list[list[int]]:
    """``n`` distinct architectures drawn uniformly from those whose latency lies in ``[lo, hi]`` ms (see the
    module's docstring for how); ``exclude`` are left out. Errors as ``near_latency``'s."""
    t = np.asarray(table, dtype=np.float64)
    if t.ndim != 2 or not np.isfinite(t).all():
        raise ValueError("table must be a finite (layers, candidates) matrix")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not lo <= hi:
        raise ValueError(f"the band's low end {lo:.4g} ms is above its high end {hi:.4g} ms")
    fastest, slowest = latency_range(t, fixed_ms)
    if lo > slowest or hi < fastest:
        raise ValueError(f"the band {lo:.4g} .. {hi:.4g} ms is outside the space's range "
                         f"({fastest:.4g} .. {slowest:.4g} ms)")
    # tilt towards the middle of the part of the band the space can reach: the band's own middle, except
    # at the ends of the range (a searched architecture at the fastest corner), where the band sticks out
    centre = 0.5 * (max(lo, fastest) + min(hi, slowest))
    lam = tilt_for(t, fixed_ms, centre) if fastest < centre < slowest else 0.0
    edge = hi if lam > 0 else lo
    cum = np.cumsum(_tilted(t, lam), axis=1)
    rng = np.random.default_rng(seed)
    skip = {tuple(int(i) for i in a) for a in exclude}
    found: dict[tuple[int, ...], None] = {}
    rows = np.arange(t.shape[0])
    draws, batch = 0, 4096
    while len(found) < n and draws < MAX_DRAWS:
        u = rng.random((batch, t.shape[0], 1))
        archs = np.minimum((u > cum[None]).sum(axis=2), t.shape[1] - 1)  # inverse CDF per layer
        lat = fixed_ms + t[rows, archs].sum(axis=1)
        keep = (lat >= lo) & (lat <= hi) & (rng.random(batch) < np.exp(np.minimum(0.0, lam * (lat - edge))))
        for a in archs[keep]:
            key = tuple(int(i) for i in a)
            if key not in skip:
                found.setdefault(key, None)
                if len(found) == n:
                    break
        draws += batch
    if len(found) < n and not allow_fewer:
        raise ValueError(f"found only {len(found)} of {n} architectures within {name or f'{lo:.4g} .. {hi:.4g} ms'} "
                         f"in {draws} draws; widen the tolerance")
    return [list(a) for a in found]


def latency_range(table: Sequence[Sequence[float]], fixed_ms: float) -> tuple[float, float]:
    """(fastest, slowest) latency (ms) of any architecture of the table."""
    t = np.asarray(table, dtype=np.float64)
    return float(fixed_ms + t.min(axis=1).sum()), float(fixed_ms + t.max(axis=1).sum())


def mid_latency(table: Sequence[Sequence[float]], fixed_ms: float) -> float:
    """The middle of the space's latency range (ms): a target where the search has room both ways."""
    lo, hi = latency_range(table, fixed_ms)
    return 0.5 * (lo + hi)
