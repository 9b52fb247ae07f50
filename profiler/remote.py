"""Profile a space on a phone: export on this host, push, run the runner on the phone, write LUT rows.

Entries go to the phone in batches. Before each batch the phone cools down
below the profile's threshold; the canary block runs with every batch and a
batch is measured again (once) when the canary drifts past the profile's
limit from its first value. Native runners time one model per call: each
entry is called ``repeats`` times, interleaved across the batch, and the
per-call medians are the samples of the row's statistics. A batch adds rows
only when every result in it parsed; a runner that prints garbage ends the
run with an error and the rows of earlier batches saved.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

from lut import Key, save
from lut._version import __version__
from profiler.pipeline import NoProgress, Outcome, Progress, now_utc, plan
from profiler.measure import Settings
from profiler.stats import summarize


def session_log_path(out: Path) -> Path:
    """Where the phone's full fingerprint and hygiene log of a LUT go: beside it, <name>.device.json."""
    return out.with_name(out.stem + ".device.json")


def _write_json(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def _append_session(path: Path, session: dict) -> None:
    """Add this run to the LUT's device record (earlier runs, e.g. before a --resume, are kept)."""
    record = {"format": "lutnas-device-record", "version": 1, "sessions": []}
    try:
        old = json.loads(path.read_text())
        if isinstance(old, dict) and isinstance(old.get("sessions"), list):
            record["sessions"] = old["sessions"]
    except (OSError, ValueError):
        pass  # no record yet, or one we cannot read: start a new one
    record["sessions"].append(session)
    _write_json(path, record)


def _rows(runner: str, keys: list[Key], results: list[list], settings: Settings) -> list[dict]:
    """LUT statistic columns per key from the runner's results (one list of results per key)."""
    rows = []
    for key, rs in zip(keys, results):
        if runner == "portable":
            r = rs[-1]
            stats = {"median_ms": r.median_ms, "p10_ms": r.p10_ms, "p90_ms": r.p90_ms, "std_ms": r.std_ms,
                     "n": r.n, "ci_rel": r.ci_rel, "stable": int(bool(r.stable))}
        else:
            stats = summarize([r.median_ms / 1e3 for r in rs], settings.tolerance, settings.spread_limit).as_row()
        rows.append({**key._asdict(), **stats})
    return rows


def profile_remote(
    keys: list[Key],
    out: Path,
    *,
    runtime,
    device,
    cache,
    build: Callable[[Key], object],
    input_shape: Callable[[Key], tuple[int, ...]],
    runner_file: Path,
    settings: Settings = Settings(),
    resume: bool = False,
    overwrite: bool = False,
    progress: Progress | None = None,
    canary: Key | None = None,
) -> Outcome:
    """Measure every key not yet in ``out`` on ``device`` (an AdbDevice); rows saved after each batch."""
    from devices.runners.commands import MODELS_PER_CALL, Invocation

    progress = progress or NoProgress()
    start = time.perf_counter()
    profile = device.profile
    env = {**runtime.provenance(), **device.prepare(runner_file), "toolkit": __version__}
    lut, todo = plan(keys, out, resume, overwrite, env)
    result = Outcome(out, len(keys), already=len(keys) - len(todo))
    log_path = session_log_path(out)
    session = {"out": str(out), "device": device.info,
               "profile": profile.name, "started": now_utc()}
    if not todo:
        return result
    hits, misses = cache.hits, cache.misses
    progress.start("export", len(todo) + (canary is not None))
    artifacts: dict[Key, Path] = {}
    for key in todo + ([canary] if canary is not None else []):
        artifacts[key] = cache.get(lambda k=key: build(k), input_shape(key), runtime)
        progress.advance()
    progress.finish()
    result.exported, result.cached = cache.misses - misses, cache.hits - hits
    remote = device.sync_models(sorted(set(artifacts.values())))
    inv = Invocation(binary=device.runner_path, threads=runtime.threads, opt_level=runtime.opt_level,
                     python=profile.python, tolerance=settings.tolerance, budget_s=settings.budget_s,
                     min_runs=settings.min_runs, gate=settings.gate, runs=max(settings.min_runs, 10))
    per_call = MODELS_PER_CALL[profile.runner]
    size = profile.batch if per_call == 0 else max(1, profile.batch)
    batches = [todo[i:i + size] for i in range(0, len(todo), size)]
    baseline: float | None = None
    state = {"lut": lut}
    progress.start("measure", len(todo))

    def measure_batch(batch: list[Key]) -> tuple[list[list], float | None]:
        device.cooldown()
        paths = [remote[artifacts[k]] for k in batch]
        can = remote[artifacts[canary]] if canary is not None else None
        if per_call == 0:
            models = paths + ([can] if can and can not in paths else [])
            got = dict(zip(models, device.run_models(models, inv)))
            return [[got[p]] for p in paths], (got[can].median_ms if can else None)
        samples: list[list] = [[] for _ in batch]
        canary_ms = None
        for _ in range(profile.repeats):  # rounds interleaved across the batch's entries
            for i, p in enumerate(paths):
                samples[i] += device.run_models([p], inv)
            if can:
                canary_ms = device.run_models([can], inv)[0].median_ms
        return samples, canary_ms

    try:
        for batch in batches:
            got, canary_ms = measure_batch(batch)
            if canary_ms is not None:
                device.log["canary_ms"].append(canary_ms)
                if baseline is None:
                    baseline = canary_ms
                elif abs(canary_ms / baseline - 1) > profile.drift_limit:
                    device.log["drift"].append({"batch": [str(k) for k in batch], "canary_ms": canary_ms,
                                                "baseline_ms": baseline})
                    got, canary_ms = measure_batch(batch)  # once more, after cooling down
                    if canary_ms is not None:
                        device.log["canary_ms"].append(canary_ms)
            rows = [{**r, **env, "measured_at": now_utc()} for r in _rows(profile.runner, batch, got, settings)]
            state["lut"] = state["lut"].add(rows, replace=True)
            save(state["lut"], out)
            result.measured += len(rows)
            result.unstable += sum(1 for r in rows if not r["stable"])
            progress.advance(len(batch))
    finally:
        progress.finish()
        try:
            device.battery()
        except Exception:
            pass  # the battery reading is a record, not a reason to fail
        session.update(finished=now_utc(), log=device.log, reconnects=device.transport.reconnects,
                       measured=result.measured)
        if result.measured:
            _append_session(log_path, session)
        device.close()
    result.wall_s = time.perf_counter() - start
    return result
