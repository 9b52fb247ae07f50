"""Profile a space on a device: plan the keys, export, measure, write LUT rows as they finish."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from lut import LUT, Key, LUTError, load, save
from lutnas import __version__
from lut.schema import ENVIRONMENT_COLUMNS
from devices.conditions import Plan, plan_warm
from devices.measure import Entry, Report, Settings, measure


class Progress(Protocol):
    """Where the pipeline reports progress (the CLI draws bars; tests may record)."""

    def start(self, stage: str, total: int) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    """Progress that shows nothing."""

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class Outcome:
    """What a profiling run did."""

    out: Path
    total: int
    measured: int = 0
    already: int = 0
    unstable: int = 0
    wall_s: float = 0.0
    timed_s: float = 0.0
    exported: int = 0
    cached: int = 0
    report: Report = field(default_factory=Report)


def plan(keys: list[Key], out: Path, resume: bool, overwrite: bool, env: dict[str, object]) -> tuple[LUT, list[Key]]:
    """The LUT to extend and the keys still to measure. Refuses to clobber or to mix environments."""
    if not out.exists():
        return LUT.empty(), list(keys)
    if overwrite:
        return LUT.empty(), list(keys)
    if not resume:
        raise FileExistsError(f"{out} exists: pass --resume to measure only what is missing, "
                              f"or --overwrite to measure everything again")
    lut = load(out)
    mine = tuple(str(env[c]) for c in ENVIRONMENT_COLUMNS)
    for theirs in lut.environments():
        if tuple(str(v) for v in theirs) != mine:
            differ = [(c, t, m) for c, t, m in zip(ENVIRONMENT_COLUMNS, theirs, mine) if str(t) != m]
            diffs = ", ".join(f"{c} {t!r} vs {m!r}" for c, t, m in differ)
            hint = "write to another --out"
            if [c for c, _, _ in differ] == ["conditions"]:
                hint = (f"pass --conditions {differ[0][1]} to extend it as it was timed, or --overwrite to time it "
                        f"again {differ[0][2]}")
            raise LUTError(f"{out}: cannot resume: its rows were measured in another environment ({diffs}); {hint}")
    have = lut.keys()
    return lut, [k for k in keys if k not in have]


def now_utc() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def profile(
    keys: list[Key],
    out: Path,
    *,
    runtime,
    device,
    cache,
    build: Callable[[Key], object],
    input_shape: Callable[[Key], tuple[int, ...]],
    settings: Settings = Settings(),
    resume: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
    canary: Key | None = None,
    conditions: Plan | None = None,
) -> Outcome:
    """Measure every key not yet in ``out``; rows are saved atomically after each round. ``conditions`` says
    how many copies of each key to rotate through (devices.conditions; default: warm, one copy each)."""
    progress = progress or NoProgress()
    start = time.perf_counter()
    conditions = conditions or plan_warm(keys)
    env = {**device.prepare(), **runtime.provenance(), "conditions": conditions.conditions, "toolkit": __version__}
    lut, todo = plan(keys, out, resume, overwrite, env)
    result = Outcome(out, len(keys), already=len(keys) - len(todo))
    if not todo:
        return result
    cache_hits, cache_misses = cache.hits, cache.misses
    progress.start("export", len(todo))
    artifacts: dict[Key, Path] = {}
    for key in todo:
        artifacts[key] = cache.get(lambda k=key: build(k), input_shape(key), runtime)
        progress.advance()
    progress.finish()
    result.exported, result.cached = cache.misses - cache_misses, cache.hits - cache_hits

    copies = {k: conditions.copies.get(k, 1) for k in artifacts}
    sessions: dict[Key, object] = {}

    def opener(k: Key) -> Callable[[], Callable[[], object]]:
        def open_() -> Callable[[], object]:
            sessions[k] = runtime.open_copies(artifacts[k], input_shape(k), copies[k])
            return sessions[k].run
        return open_

    def closer(k: Key) -> Callable[[], None]:
        return lambda: sessions.pop(k).close()

    canary_session = None
    if canary is not None:
        canary_session = runtime.open(cache.get(lambda: build(canary), input_shape(canary), runtime),
                                      input_shape(canary))
    # entries open when they join the interleaved window and close when done: with --window only that many hold
    # their copies in memory at a time
    entries = [Entry(k, open=opener(k), close=closer(k)) for k in artifacts]
    pending: list[dict] = []
    state = {"lut": lut}

    def flush() -> None:
        if pending:
            state["lut"] = state["lut"].add(pending, replace=True)
            save(state["lut"], out)
            pending.clear()

    reported: dict[Key, bool] = {}

    def done(e: Entry) -> None:
        s = e.summary
        pending[:] = [r for r in pending if Key(*(r[c] for c in Key._fields)) != e.id]
        pending.append({**e.id._asdict(), **s.as_row(), **env, "copies": copies[e.id], "measured_at": now_utc()})
        if e.id not in reported:
            progress.advance()
        reported[e.id] = s.stable

    progress.start("measure", len(entries))
    try:
        result.report = measure(entries, settings, on_done=done, on_round=flush,
                                canary=canary_session.run if canary_session else None)
    finally:
        flush()
        progress.finish()
        for s in list(sessions.values()):
            s.close()
        if canary_session is not None:
            canary_session.close()
    result.measured = len(reported)
    result.unstable = sum(not stable for stable in reported.values())
    result.timed_s = result.report.timed_s
    result.wall_s = time.perf_counter() - start
    return result
