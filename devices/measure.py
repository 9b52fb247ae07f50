"""The measurement loop: warm up, then timed runs in rounds interleaved across entries.

Each round visits every active entry once (in a shuffled order) and times a
short batch of its runs, so slow drift hits all entries alike. A shared host
has episodes (other tenants, frequency drops) that slow everything for a
while: a batch whose median is more than ``gate`` above the entry's quiet
level (the 20th percentile of its batch medians) is set aside, so each entry
reports the host's quiet state, which repeats from run to run. An entry stops
when the 95% CI of its median is within the tolerance or its budget is spent;
entries that end unstable are measured once more and keep the tighter result.
A reference block (the canary) timed every round reports drift. In ``lockstep`` mode
(whole-network fidelity) no entry stops before every entry may, so all of them sample
the host over the same rounds and a noise episode cannot catch a few alone.
"""

from __future__ import annotations

import gc
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from devices.stats import Summary, ci_rel, quiet_mask, settled, summarize

Clock = Callable[[], float]


@dataclass(frozen=True)
class Settings:
    """How hard to measure. Times in seconds."""

    tolerance: float = 0.02  # stop when the median's 95% CI half-width is within this share
    budget_s: float = 2.0  # clean timed seconds per entry before it stops regardless
    min_runs: int = 30
    min_batches: int = 8  # rounds an entry spans at least, so its runs sample the host at several times
    max_runs: int = 20000
    batch_s: float = 0.01  # timed seconds per entry per round
    spread_limit: float = 1.5  # p90/p10 above this marks an entry unstable
    warmup_tolerance: float = 0.05
    warmup_min_s: float = 0.05
    warmup_max_s: float = 1.0
    retry_unstable: bool = True
    window: int = 0  # entries interleaved at a time (0: all); finished ones are replaced from the queue
    gate: float = 0.10  # batches slower than the entry's quiet level by more than this are set aside (0: off)
    seed: int = 0
    lockstep: bool = False  # no entry stops before all may: every entry spans the same rounds (window ignored)


@dataclass
class Entry:
    """One thing to time: an id and a callable that runs one inference.

    An entry may instead be opened when it joins the interleaved window and closed when it
    finishes (``open`` returns its ``run``; ``close`` releases it), so that with a window only
    that many entries hold memory at a time."""

    id: Hashable
    run: Callable[[], Any] | None = None
    batches: list[list[float]] = field(default_factory=list)  # timed runs (seconds), batch by batch
    per_run: float = 0.0  # estimated seconds per run, from the warm-up
    summary: Summary | None = None
    samples: list[float] = field(default_factory=list)  # the quiet batches' runs, as last evaluated
    set_aside: int = 0  # batches left out as timed in a disturbed episode
    open: Callable[[], Callable[[], Any]] | None = None
    close: Callable[[], None] | None = None

    def begin(self) -> None:
        """Open the entry if it opens lazily."""
        if self.open is not None and self.run is None:
            self.run = self.open()

    def end(self) -> None:
        """Close the entry if it opens lazily (it may be opened again)."""
        if self.open is not None and self.run is not None:
            if self.close is not None:
                self.close()
            self.run = None

    @property
    def timed_s(self) -> float:
        """Seconds of timed runs so far."""
        return sum(sum(b) for b in self.batches)


@dataclass
class Report:
    """What a measurement run saw: timed seconds, rounds, batches (and how many set aside), canary per round."""

    timed_s: float = 0.0
    rounds: int = 0
    batches: int = 0
    set_aside: int = 0
    canary_ms: list[float] = field(default_factory=list)

    @property
    def drift(self) -> float:
        """p90/p10 - 1 of the canary's per-round medians (0 without a canary)."""
        if len(self.canary_ms) < 2:
            return 0.0
        p10, p90 = np.percentile(self.canary_ms, [10, 90])
        return float(p90 / p10 - 1)


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
    mask = quiet_mask(entry.batches, settings.gate)
    entry.samples = [x for b, quiet in zip(entry.batches, mask) if quiet for x in b]
    entry.set_aside = mask.count(False)
    n, quiet, total = len(entry.samples), sum(entry.samples), entry.timed_s
    if n >= settings.max_runs or quiet >= settings.budget_s or total >= 3 * settings.budget_s:
        return True
    return (n >= settings.min_runs and mask.count(True) >= settings.min_batches
            and ci_rel(entry.samples) <= settings.tolerance)


def measure(
    entries: Sequence[Entry],
    settings: Settings = Settings(),
    on_done: Callable[[Entry], None] | None = None,
    on_round: Callable[[], None] | None = None,
    canary: Callable[[], Any] | None = None,
    clock: Clock = time.perf_counter,
) -> Report:
    """Measure all entries. ``on_done`` gets each entry as soon as it finishes; an unstable one
    is measured again afterwards and handed to ``on_done`` a second time with its final summary."""
    report = Report()
    canary_entry = Entry("canary", canary) if canary else None
    done = on_done or (lambda e: None)
    unstable: list[Entry] = []

    def first_done(e: Entry) -> None:
        done(e)
        if settings.retry_unstable and not e.summary.stable:  # type: ignore[union-attr]
            unstable.append(e)

    gc_was = gc.isenabled()
    gc.disable()
    try:
        if canary_entry:
            warm_up(canary_entry, settings, clock)
        _pass(list(entries), settings, first_done, on_round, canary_entry, clock, report)
        if unstable:
            first = {id(e): e.summary for e in unstable}
            for e in unstable:
                e.batches, e.samples = [], []
            _pass(unstable, settings, None, on_round, canary_entry, clock, report)
            for e in unstable:
                before = first[id(e)]
                if not e.summary.stable and before.ci_rel < e.summary.ci_rel:  # type: ignore[union-attr]
                    e.summary = before
                done(e)
    finally:
        for e in entries:  # an interrupted pass leaves the window's entries open
            e.end()
        if gc_was:
            gc.enable()
    return report


def _pass(entries: list[Entry], settings: Settings, on_done, on_round, canary: Entry | None, clock: Clock,
          report: Report) -> None:
    rng = random.Random(settings.seed)
    queue = list(entries)
    todo: list[Entry] = []
    while queue or todo:
        while queue and (settings.window <= 0 or settings.lockstep or len(todo) < settings.window):
            todo.append(queue.pop(0))
            todo[-1].begin()
            warm_up(todo[-1], settings, clock)
        order = todo[:]
        rng.shuffle(order)
        for e in order + ([canary] if canary else []):
            e.run()  # untimed: the batch starts from this entry's warm state
            count = max(1, min(settings.max_runs - len(e.samples), int(settings.batch_s / e.per_run)))
            times = _timed(e.run, count, clock)
            if e is canary:
                report.canary_ms.append(float(np.median(times)) * 1e3)
                continue
            e.batches.append(times)
            report.batches += 1
            report.timed_s += sum(times)
        report.rounds += 1
        finished = [_finished(e, settings) for e in todo]
        if settings.lockstep and not all(finished):
            finished = [False] * len(todo)
        still = []
        for e, fin in zip(todo, finished):
            if fin:
                e.end()
                report.set_aside += e.set_aside
                e.summary = summarize(e.samples, settings.tolerance, settings.spread_limit)
                if on_done:
                    on_done(e)
            else:
                still.append(e)
        todo = still
        if on_round:
            on_round()

