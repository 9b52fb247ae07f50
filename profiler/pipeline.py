"""Profile a space on a device: plan the keys, export, ``device.measure``, write LUT rows as they finish.

One pipeline for every kind of device (devices.device): this host, a phone, a farm of phones."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from lut import LUT, Key, LUTError, load, save
from lutnas import __version__
from lutnas.clock import now_utc
from lut.schema import ENVIRONMENT_COLUMNS
from devices.device import Device, Job, Request
from devices.conditions import Plan, plan_warm
from devices.measure import Report, Settings


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


def environment(runtime, device: Device, conditions: str) -> dict[str, object]:
    """The provenance of rows timed on ``device`` with ``runtime`` (the device prepared for it): the runtime's
    columns, the device's, and how the entries are timed."""
    return {**runtime.provenance(), **device.prepare(runtime), "conditions": conditions}


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


def profile(
    keys: list[Key],
    out: Path,
    *,
    runtime,
    device: Device,
    cache,
    build: Callable[[Key], object],
    input_shape: Callable[[Key], tuple[int, ...]],
    settings: Settings = Settings(),
    resume: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
    canary: Key | None = None,
    conditions: Plan | None = None,
    footprint: Callable[[Key], int] | None = None,
) -> Outcome:
    """Measure every key not yet in ``out`` on ``device``: plan, export, ``device.measure``, save. Rows are saved
    atomically as the device hands them over. ``conditions`` says how each key is timed (devices.conditions;
    default: warm, one copy each); in-network on a device that sizes its copies itself, ``footprint(key)`` gives
    the bytes it touches (default: the plan's)."""
    progress = progress or NoProgress()
    start = time.perf_counter()
    conditions = conditions or plan_warm(keys)
    env = {**environment(runtime, device, conditions.conditions), "toolkit": __version__}
    lut, todo = plan(keys, out, resume, overwrite, env)
    result = Outcome(out, len(keys), already=len(keys) - len(todo))
    if not todo:
        return result
    cache_hits, cache_misses = cache.hits, cache.misses
    wanted = todo + ([canary] if canary is not None else [])
    progress.start("export", len(wanted))
    jobs: dict[Key, Job] = {}
    for key in wanted:
        size = conditions.footprints.get(key) or (footprint(key) if footprint else 0)
        jobs[key] = Job(key, cache.get(lambda k=key: build(k), input_shape(key), runtime), input_shape(key),
                        copies=conditions.copies.get(key, 1), footprint=size)
        progress.advance()
    progress.finish()
    result.exported, result.cached = cache.misses - cache_misses, cache.hits - cache_hits

    pending: list[dict] = []
    state = {"lut": lut}

    def flush() -> None:
        if pending:
            state["lut"] = state["lut"].add(pending, replace=True)
            save(state["lut"], out)
            pending.clear()

    reported: dict[Key, bool] = {}

    def on_rows(rows: list[dict]) -> None:
        for row in rows:
            key = row.pop("id")
            pending[:] = [r for r in pending if Key(*(r[c] for c in Key._fields)) != key]
            pending.append({**key._asdict(), **row, **env, "measured_at": now_utc()})
            reported[key] = bool(row["stable"])

    request = Request([jobs[k] for k in todo], settings, conditions, jobs.get(canary) if canary is not None else None,
                      out, on_round=flush)
    progress.start("measure", len(todo))
    try:
        result.report = device.measure(request, on_rows, progress.advance)
    finally:
        flush()
        progress.finish()
    result.measured = len(reported)
    result.unstable = sum(not stable for stable in reported.values())
    result.timed_s = result.report.timed_s
    result.wall_s = time.perf_counter() - start
    return result
