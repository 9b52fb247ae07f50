"""What a runner's output says about one model's latency."""

from __future__ import annotations

import math
from dataclasses import dataclass


class RunnerOutputError(ValueError):
    """A runner printed something that is not a complete, valid result."""


@dataclass(frozen=True)
class RunnerResult:
    """Latency of one model as a runner reported it (milliseconds); None where it reports nothing."""

    median_ms: float  # the runner's median (P50), or its mean when it prints no median
    n: int  # timed runs
    mean_ms: float | None = None
    p10_ms: float | None = None
    p90_ms: float | None = None
    std_ms: float | None = None
    min_ms: float | None = None
    max_ms: float | None = None
    ci_rel: float | None = None
    stable: bool | None = None
    model: str | None = None
    runtime_version: str | None = None
    copies: int = 1  # copies of the model the runner rotated through (portable runner, in-network)
    conditions: str = "warm"  # in-network or warm
    caches: tuple[int, ...] = ()  # data cache sizes (bytes) of the core the runner ran on, where it reported them

    def __post_init__(self) -> None:
        for name in ("median_ms", "mean_ms", "p10_ms", "p90_ms", "std_ms", "min_ms", "max_ms", "ci_rel"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0):
                raise RunnerOutputError(f"{name} is {v!r}; expected a finite number >= 0")
        if not self.median_ms > 0:
            raise RunnerOutputError(f"median latency is {self.median_ms!r}; expected > 0")
        if not isinstance(self.copies, int) or self.copies < 1:
            raise RunnerOutputError(f"copies is {self.copies!r}; expected an integer >= 1")
        if not all(isinstance(c, int) and c > 0 for c in self.caches):
            raise RunnerOutputError(f"caches are {list(self.caches)!r}; expected sizes in bytes > 0")
        if self.conditions not in ("in-network", "warm"):
            raise RunnerOutputError(f"conditions is {self.conditions!r}; expected in-network or warm")
        if not isinstance(self.n, int) or self.n < 1:
            raise RunnerOutputError(f"run count is {self.n!r}; expected >= 1")
        if self.p10_ms is not None and self.p90_ms is not None and not self.p10_ms <= self.median_ms <= self.p90_ms:
            raise RunnerOutputError(f"percentiles out of order: p10 {self.p10_ms} median {self.median_ms} "
                                    f"p90 {self.p90_ms}")
