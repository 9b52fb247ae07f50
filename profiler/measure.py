"""The measurement loop: warm up, then timed runs in rounds interleaved across entries.

Each round visits every unfinished entry once (in a shuffled order) and times a
short batch of its runs, so slow drift (thermal, other load) hits all entries
alike. An entry stops when the 95% CI of its median is within the tolerance
or its time budget is spent; entries that end unstable are measured once more
and keep the tighter of the two results. A canary entry timed every round
shows drift over the whole run.
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from profiler.stats import Summary, ci_rel, settled, summarize

Clock = Callable[[], float]


@dataclass(frozen=True)
class Settings:
    """How hard to measure. Times in seconds."""

    tolerance: float = 0.02  # stop when the median's 95% CI half-width is within this share
    budget_s: float = 2.0  # timed seconds per entry before it stops regardless
    min_runs: int = 30
    max_runs: int = 20000
    batch_s: float = 0.015  # timed seconds per entry per round
    spread_limit: float = 1.5  # p90/p10 above this marks an entry unstable
    warmup_tolerance: float = 0.05
    warmup_min_s: float = 0.05
    warmup_max_s: float = 1.0
    retry_unstable: bool = True
    window: int = 32  # entries interleaved at a time; finished ones are replaced from the queue
    seed: int = 0


@dataclass
class Entry:
    """One thing to time: an id and a callable that runs one inference."""

    id: Hashable
    run: Callable[[], Any]
    samples: list[float] = field(default_factory=list)
    per_run: float = 0.0  # estimated seconds per run, from the warm-up
    summary: Summary | None = None


@dataclass
class Report:
    """What a measurement pass saw: timed seconds, rounds and canary medians per round."""

    timed_s: float = 0.0
    rounds: int = 0
    canary_ms: list[float] = field(default_factory=list)

    @property
    def drift(self) -> float:
        """max/min - 1 of the canary's per-round medians (0 without a canary)."""
        c = self.canary_ms[1:] or self.canary_ms
        return (max(c) / min(c) - 1) if c else 0.0


def warm_up(entry: Entry, settings: Settings, clock: Clock = time.perf_counter) -> None:
    """Run at least ``warmup_min_s``, then until chunk medians settle (at most ``warmup_max_s``); sets ``per_run``."""
    start = clock()
    medians: list[float] = []
    chunk = 1
    while True:
        times = _timed(entry.run, chunk, clock)
        medians.append(float(np.median(times)))
        per_run = max(medians[-1], 1e-7)
        chunk = max(3, min(1000, int(0.01 / per_run)))
        elapsed = clock() - start
        if (elapsed >= settings.warmup_min_s and settled(medians, settings.warmup_tolerance)) \
                or elapsed > settings.warmup_max_s:
            entry.per_run = per_run
            return


def _timed(run: Callable[[], Any], count: int, clock: Clock) -> list[float]:
    out = []
    for _ in range(count):
        t0 = clock()
        run()
        out.append(clock() - t0)
    return out


def _finished(entry: Entry, settings: Settings) -> bool:
    n = len(entry.samples)
    if n >= settings.max_runs or sum(entry.samples) >= settings.budget_s:
        return True
    return n >= settings.min_runs and ci_rel(entry.samples) <= settings.tolerance


def measure(
    entries: Sequence[Entry],
    settings: Settings = Settings(),
    on_done: Callable[[Entry], None] | None = None,
    on_round: Callable[[], None] | None = None,
    canary: Callable[[], Any] | None = None,
    clock: Clock = time.perf_counter,
) -> Report:
    """Measure all entries; ``on_done`` gets each entry once its summary is final."""
    report = Report()
    done = on_done or (lambda e: None)
    unstable: list[Entry] = []

    def first_done(e: Entry) -> None:
        if e.summary.stable or not settings.retry_unstable:  # type: ignore[union-attr]
            done(e)
        else:
            unstable.append(e)

    _pass(list(entries), settings, first_done, on_round, canary, clock, report)
    if unstable:
        first = {id(e): e.summary for e in unstable}
        for e in unstable:
            e.samples = []
        _pass(unstable, settings, None, on_round, canary, clock, report)
        for e in unstable:
            before = first[id(e)]
            if not e.summary.stable and before.ci_rel < e.summary.ci_rel:  # type: ignore[union-attr]
                e.summary = before
            done(e)
    return report


def _pass(entries: list[Entry], settings: Settings, on_done, on_round, canary, clock: Clock,
          report: Report) -> None:
    rng = random.Random(settings.seed)
    canary_entry = Entry("canary", canary) if canary else None
    gc_was = gc.isenabled()
    gc.disable()
    try:
        if canary_entry:
            warm_up(canary_entry, settings, clock)
        queue = list(entries)
        todo: list[Entry] = []
        while queue or todo:
            while queue and len(todo) < settings.window:
                todo.append(queue.pop(0))
                warm_up(todo[-1], settings, clock)
            order = todo[:]
            rng.shuffle(order)
            for e in order:
                e.run()  # untimed: the batch starts from this entry's warm state
                count = max(1, min(settings.max_runs - len(e.samples), int(settings.batch_s / e.per_run)))
                times = _timed(e.run, count, clock)
                e.samples.extend(times)
                report.timed_s += sum(times)
            if canary_entry:
                canary_entry.run()
                ct = _timed(canary_entry.run, max(3, int(settings.batch_s / canary_entry.per_run)), clock)
                report.canary_ms.append(float(np.median(ct)) * 1e3)
            report.rounds += 1
            still = []
            for e in todo:
                if _finished(e, settings):
                    e.summary = summarize(e.samples, settings.tolerance, settings.spread_limit)
                    if on_done:
                        on_done(e)
                else:
                    still.append(e)
            todo = still
            if on_round:
                on_round()
    finally:
        if gc_was:
            gc.enable()
