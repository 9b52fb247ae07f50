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
import queue
import threading
import time
from pathlib import Path
from typing import Callable

from devices.runners.registry import get_runner
from lut import Key, save
from lutnas import __version__, files
from devices.conditions import Plan, plan_warm
from profiler.pipeline import NoProgress, Outcome, Progress, now_utc, plan
from devices.measure import Settings
from devices.stats import summarize


def session_log_path(out: Path) -> Path:
    """Where the phone's full fingerprint and hygiene log of a LUT go: beside it, <name>.device.json."""
    return out.with_name(out.stem + ".device.json")


def _write_json(path: Path, data: dict) -> None:
    files.write_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


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
        if get_runner(runner).models_per_call == 0:  # the runner's own statistics over its interleaved rounds
            r = rs[-1]
            stats = {"median_ms": r.median_ms, "p10_ms": r.p10_ms, "p90_ms": r.p90_ms, "std_ms": r.std_ms,
                     "n": r.n, "ci_rel": r.ci_rel, "stable": int(bool(r.stable)), "copies": r.copies}
        else:
            stats = {**summarize([r.median_ms / 1e3 for r in rs], settings.tolerance, settings.spread_limit).as_row(),
                     "copies": 1}
        rows.append({**key._asdict(), **stats})
    return rows


# Provenance that must agree across the phones of a farm (they are one environment in the LUT).
FARM_COLUMNS = ("device_model", "cores", "governor", "os", "affinity", "runtime_version")


def _check_identical(devices: list, envs: list[dict]) -> None:
    """Refuse a farm of phones that differ in anything that changes a latency."""
    for d, e in zip(devices[1:], envs[1:]):
        for c in FARM_COLUMNS:
            if e[c] != envs[0][c]:
                raise ValueError(f"--serials: the phones differ in {c}: {devices[0].transport.endpoint} has "
                                 f"{envs[0][c]!r}, {d.transport.endpoint} has {e[c]!r}; a farm needs identical phones")


class _Farm:
    """Batches handed to one worker thread per phone; a phone that drops off hands its batch back."""

    def __init__(self, batches: list[list[Key]]) -> None:
        self.queue: queue.Queue[list[Key]] = queue.Queue()
        for b in batches:
            self.queue.put(b)
        self.remaining = len(batches)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.fatal: BaseException | None = None
        self.dropped: dict[str, BaseException] = {}

    def next(self) -> list[Key] | None:
        """The next batch, waiting while other phones still hold some; None when all are done."""
        while not self.stop.is_set():
            with self.lock:
                if self.remaining == 0:
                    return None
            try:
                return self.queue.get(timeout=0.1)
            except queue.Empty:
                continue
        return None


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
    conditions: Plan | None = None,
) -> Outcome:
    """Measure every key not yet in ``out`` on ``device`` (an AdbDevice, or a list of identical ones
    sharing the work, one worker each); rows are saved after each batch. An in-network ``conditions`` (portable
    runner only) sends each model's footprint and the network's; the runner sizes the copies by the phone's
    caches."""
    from devices.adb.transport import ConnectionLost, Unreachable
    from devices.runners.commands import Invocation

    progress = progress or NoProgress()
    start = time.perf_counter()
    devices = list(device) if isinstance(device, (list, tuple)) else [device]
    profile = devices[0].profile
    conditions = conditions or plan_warm(keys)
    runner = get_runner(profile.runner)
    if conditions.conditions != "warm" and not runner.in_network:
        raise ValueError(f"runner {profile.runner} of {profile.name!r} times one model file run after run: only the "
                         f"portable runner times in-network (--conditions warm)")
    envs, ready, gone = [], [], {}
    for d in devices:
        try:
            envs.append({**runtime.provenance(), **d.prepare(runner_file, runtime.name),
                         "conditions": conditions.conditions, "toolkit": __version__})
            ready.append(d)
        except (Unreachable, ConnectionLost) as e:
            if len(devices) == 1:
                raise
            gone[str(d.transport.endpoint)] = e  # a farm goes on without a phone that is not there
    if not ready:
        raise list(gone.values())[-1]
    devices = ready
    _check_identical(devices, envs)
    env = envs[0]
    lut, todo = plan(keys, out, resume, overwrite, env)
    result = Outcome(out, len(keys), already=len(keys) - len(todo))
    log_path = session_log_path(out)
    session: dict = {"out": str(out), "profile": profile.name, "started": now_utc()}
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
    files = sorted(set(artifacts.values()))
    remotes = [d.sync_models(files) for d in devices]
    per_call = runner.models_per_call
    size = profile.batch if per_call == 0 else max(1, profile.batch)
    if len(devices) > 1:  # small enough batches that every phone gets work
        size = max(1, min(size, -(-len(todo) // (2 * len(devices)))))
    farm = _Farm([todo[i:i + size] for i in range(0, len(todo), size)])
    farm.dropped.update(gone)
    state = {"lut": lut}

    footprints: tuple[tuple[str, int], ...] = ()
    if conditions.conditions == "in-network":
        from profiler.footprint import key_footprint

        sizes = {k: conditions.footprints.get(k) or key_footprint(k) for k in artifacts}
        footprints = tuple((r[artifacts[k]], sizes[k]) for r in remotes for k in artifacts)

    def invocation(d) -> Invocation:
        return Invocation(binary=d.runner_path, threads=runtime.threads, opt_level=runtime.opt_level,
                          runtime=runtime.name,
                          python=profile.python, tolerance=settings.tolerance, budget_s=settings.budget_s,
                          min_runs=settings.min_runs, gate=settings.gate, runs=max(settings.min_runs, 10),
                          network_bytes=conditions.network_bytes if conditions.conditions == "in-network" else 0,
                          footprints=footprints)

    def measure_batch(d, remote: dict, batch: list[Key]) -> tuple[list[list], float | None]:
        d.cooldown()
        inv = invocation(d)
        paths = [remote[artifacts[k]] for k in batch]
        can = remote[artifacts[canary]] if canary is not None else None
        if per_call == 0:
            models = paths + ([can] if can and can not in paths else [])
            got = dict(zip(models, d.run_models(models, inv)))
            if got[models[0]].caches:  # what the in-network copies were sized by, for the phone record
                d.info["caches"] = list(got[models[0]].caches)
            return [[got[p]] for p in paths], (got[can].median_ms if can else None)
        samples: list[list] = [[] for _ in batch]
        canary_ms = None
        for _ in range(profile.repeats):  # rounds interleaved across the batch's entries
            for i, p in enumerate(paths):
                samples[i] += d.run_models([p], inv)
            if can:
                canary_ms = d.run_models([can], inv)[0].median_ms
        return samples, canary_ms

    def worker(d, remote: dict) -> None:
        baseline: float | None = None
        while (batch := farm.next()) is not None:
            try:
                got, canary_ms = measure_batch(d, remote, batch)
                if canary_ms is not None:
                    d.log["canary_ms"].append(canary_ms)
                    if baseline is None:
                        baseline = canary_ms
                    elif abs(canary_ms / baseline - 1) > profile.drift_limit:
                        d.log["drift"].append({"batch": [str(k) for k in batch], "canary_ms": canary_ms,
                                               "baseline_ms": baseline})
                        got, canary_ms = measure_batch(d, remote, batch)  # once more, after cooling down
                        if canary_ms is not None:
                            d.log["canary_ms"].append(canary_ms)
            except (Unreachable, ConnectionLost) as e:  # the phone dropped off: the others take its batch
                farm.queue.put(batch)
                with farm.lock:
                    farm.dropped[str(d.transport.endpoint)] = e
                return
            except BaseException as e:  # garbage output, a failing runner: stop everything
                with farm.lock:
                    farm.fatal = farm.fatal or e
                farm.stop.set()
                return
            rows = [{**env, **r, "measured_at": now_utc()} for r in _rows(profile.runner, batch, got, settings)]
            with farm.lock:
                state["lut"] = state["lut"].add(rows, replace=True)
                save(state["lut"], out)
                result.measured += len(rows)
                result.unstable += sum(1 for r in rows if not r["stable"])
                farm.remaining -= 1
                progress.advance(len(batch))

    progress.start("measure", len(todo))
    threads = [threading.Thread(target=worker, args=(d, r), daemon=True, name=f"phone-{i}")
               for i, (d, r) in enumerate(zip(devices, remotes))]
    try:
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            for t in threads:
                t.join(0.2)
    except KeyboardInterrupt:
        farm.stop.set()
        raise
    finally:
        progress.finish()
        for d in devices:
            try:
                d.battery()
            except Exception:
                pass  # the battery reading is a record, not a reason to fail
        with farm.lock:
            session.update(finished=now_utc(), measured=result.measured,
                           dropped={k: str(v) for k, v in farm.dropped.items()})
            if len(devices) == 1:
                session.update(device=devices[0].info, log=devices[0].log, reconnects=devices[0].transport.reconnects)
            else:
                session["farm"] = [{"device": d.info, "log": d.log, "reconnects": d.transport.reconnects}
                                   for d in devices]
            if result.measured:
                _append_session(log_path, session)
        for d in devices:
            d.close()
    if farm.fatal is not None:
        raise farm.fatal
    if farm.remaining:
        last = list(farm.dropped.values())[-1] if farm.dropped else None
        raise type(last)(f"every phone dropped off; {result.measured} of {len(todo)} entries are saved in {out} "
                         f"(--resume measures the rest); last: {last}") if last else RuntimeError("phones stopped")
    result.wall_s = time.perf_counter() - start
    return result
