"""Comparing two LUTs key by key: ratios, their spread, and the changes the measurements cannot explain.

A row's **spread** is the interval its own statistics give its median: from
``min(p10_ms, median_ms * (1 - ci_rel))`` to ``max(p90_ms, median_ms * (1 + ci_rel))``. A change
from A to B **exceeds both measurements' spread** when B's median lies outside A's spread and A's
median lies outside B's: neither measurement's own noise covers the other. Rows with no recorded
spread (imported rows have p10 = p90 = median and ci_rel = 0) flag any change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from lut.schema import KEY_COLUMNS, Key

if TYPE_CHECKING:
    from lut.table import LUT

ENTRY_COLUMNS = (*KEY_COLUMNS, "a_ms", "b_ms", "ratio", "significant")


@dataclass(frozen=True)
class Diff:
    """The result of ``diff(a, b)``; ``entries`` has one row per common key (ENTRY_COLUMNS, key order)."""

    entries: pd.DataFrame
    only_a: list[Key]
    only_b: list[Key]

    @property
    def ratios(self) -> np.ndarray:
        """B/A of every common key."""
        return self.entries["ratio"].to_numpy(dtype=float)

    def summary(self) -> dict[str, float]:
        """median, p5 and p95 of B/A (NaN when there is no common key)."""
        r = self.ratios
        if not len(r):
            return {"median": float("nan"), "p5": float("nan"), "p95": float("nan")}
        p5, median, p95 = np.percentile(r, [5, 50, 95])
        return {"median": float(median), "p5": float(p5), "p95": float(p95)}

    @property
    def significant(self) -> pd.DataFrame:
        """The entries whose change exceeds both measurements' spread."""
        return self.entries[self.entries["significant"]]

    @property
    def findings(self) -> bool:
        """True when a change exceeds both spreads or a key is in one LUT only."""
        return bool(len(self.significant) or self.only_a or self.only_b)


def spread(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of each row's spread interval (see the module docstring)."""
    med = frame["median_ms"].to_numpy(float)
    ci = frame["ci_rel"].to_numpy(float)
    low = np.minimum(frame["p10_ms"].to_numpy(float), med * (1 - ci))
    high = np.maximum(frame["p90_ms"].to_numpy(float), med * (1 + ci))
    return low, high


def diff(a: LUT, b: LUT) -> Diff:
    """Per-key comparison of ``b`` against ``a``."""
    key = list(KEY_COLUMNS)
    fa, fb = a.frame, b.frame
    both = fa.merge(fb, on=key, suffixes=("_a", "_b"), sort=True)
    a_low, a_high = spread(_side(both, "_a"))
    b_low, b_high = spread(_side(both, "_b"))
    a_ms, b_ms = both["median_ms_a"].to_numpy(float), both["median_ms_b"].to_numpy(float)
    significant = ((b_ms < a_low) | (b_ms > a_high)) & ((a_ms < b_low) | (a_ms > b_high))
    entries = both[key].copy()
    entries["a_ms"], entries["b_ms"] = a_ms, b_ms
    entries["ratio"] = b_ms / a_ms
    entries["significant"] = significant
    keys_a, keys_b = a.keys(), b.keys()
    return Diff(entries.reset_index(drop=True), sorted(keys_a - keys_b), sorted(keys_b - keys_a))


def _side(both: pd.DataFrame, suffix: str) -> pd.DataFrame:
    return pd.DataFrame({c: both[c + suffix] for c in ("median_ms", "p10_ms", "p90_ms", "ci_rel")})
