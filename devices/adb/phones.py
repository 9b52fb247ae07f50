"""Phones over ADB as a Device: one phone, or a farm of identical ones sharing the work.

Models are exported on this host, pushed (by content hash, once), and timed by the profile's runner on
the phone. Jobs go in batches. Before each batch the phone cools down below the profile's threshold;
the canary runs with every batch and a batch is measured again (once) when the canary drifts past
the profile's limit from its first value. Native runners time one model per call: each job is called
``repeats`` times, interleaved across the batch, and the per-call medians are the samples of the row's
statistics. A batch hands rows over only when every result in it parsed; a runner that prints garbage
ends the run with an error, the rows of earlier batches handed over. A farm gives each phone a worker
thread; a phone that drops off hands its batch back to the others. Each run's phone record (the full
fingerprint, thermal and battery log, canary drift) is appended to <LUT name>.device.json.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from pathlib import Path
from typing import Any, Callable, Hashable

from devices.adb.device import AdbDevice
from devices.adb.transport import ConnectionLost, Unreachable
from devices.device import Job, Request, Rows, Where
from devices.measure import Report
from devices.profiles import Profile
from devices.runners.commands import Invocation
from devices.runners.registry import get_runner
from devices.runtimes.base import Runtime
from lutnas import files
from lutnas.clock import now_utc

# Provenance that must agree across the phones of a farm (they are one environment in the LUT).
FARM_COLUMNS = ("device_model", "cores", "governor", "os", "affinity", "runtime_version")


def session_log_path(out: Path) -> Path:
    """Where the phone's full fingerprint and hygiene log of a LUT go: beside it, <name>.device.json."""
    return out.with_name(out.stem + ".device.json")


def append_session(path: Path, session: dict) -> None:
    """Add this run to the LUT's device record (earlier runs, e.g. before a --resume, are kept)."""
    record = {"format": "lutnas-device-record", "version": 1, "sessions": []}
    try:
        old = json.loads(path.read_text())
        if isinstance(old, dict) and isinstance(old.get("sessions"), list):
            record["sessions"] = old["sessions"]
    except (OSError, ValueError):
        pass  # no record yet, or one we cannot read: start a new one
    record["sessions"].append(session)
    files.write_atomic(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def check_identical(phones: list[AdbDevice], envs: list[dict]) -> None:
    """Refuse a farm of phones that differ in anything that changes a latency."""
    for d, e in zip(phones[1:], envs[1:]):
        for c in FARM_COLUMNS:
            if e[c] != envs[0][c]:
                raise ValueError(f"--serials: the phones differ in {c}: {phones[0].transport.endpoint} has "
                                 f"{envs[0][c]!r}, {d.transport.endpoint} has {e[c]!r}; a farm needs identical phones")


class _Batches:
    """Batches handed to one worker thread per phone; a phone that drops off hands its batch back."""

    def __init__(self, batches: list[list[Job]]) -> None:
        self.queue: queue.Queue[list[Job]] = queue.Queue()
        for b in batches:
            self.queue.put(b)
        self.remaining = len(batches)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.fatal: BaseException | None = None
        self.dropped: dict[str, BaseException] = {}

    def next(self) -> list[Job] | None:
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


class PhoneFarm:
    """One phone, or several identical ones sharing the jobs (one worker thread each)."""

    def __init__(self, profile: Profile, phones: list[AdbDevice], runner_dir: Path | None = None) -> None:
        self.profile = profile
        self.phones = phones
        self.runner = get_runner(profile.runner)
        self.in_network = self.runner.in_network
        self.runner_dir = runner_dir
        self.runtime: Runtime | None = None
        self.gone: dict[str, BaseException] = {}
        self.wall_s = 0.0

    def _runner_file(self, runtime: Runtime) -> Path:
        """The runner to push: the bundled portable runner, or the profile's runner_binary."""
        profile = self.profile
        if runtime.name not in self.runner.runtimes:
            raise ValueError(f"runner {profile.runner} runs {' or '.join(self.runner.runtimes)} models, "
                             f"not {runtime.name}; change runner or runtime in {profile.source or profile.name}")
        if self.runner.bundled:
            from devices.cache import default_cache_dir
            from devices.runners.bundle import build_portable_runner

            return build_portable_runner(self.runner_dir or default_cache_dir() / "runners")
        if profile.runner_binary:
            return Path(profile.runner_binary)
        raise ValueError(f"runner {profile.runner} needs runner_binary (a {profile.abi} build of it) in "
                         f"{profile.source or profile.name}")

    def prepare(self, runtime: Runtime) -> dict[str, object]:
        """Connect to every phone, fingerprint it, install the runner; the phones' one provenance. A farm goes
        on without a phone that is not there; phones that differ in anything that changes a latency are refused."""
        self.runtime = runtime
        runner_file = self._runner_file(runtime)
        envs, ready = [], []
        for d in self.phones:
            try:
                envs.append(d.prepare(runner_file, runtime.name))
                ready.append(d)
            except (Unreachable, ConnectionLost) as e:
                if len(self.phones) == 1:
                    raise
                self.gone[str(d.transport.endpoint)] = e
        if not ready:
            raise list(self.gone.values())[-1]
        self.phones = ready
        check_identical(self.phones, envs)
        return envs[0]

    def caches(self) -> None:
        """None: the portable runner sizes in-network copies by the phone's own caches."""
        return None

    def measure(self, request: Request, on_rows: Rows, progress: Callable[[int], None]) -> Report:
        """Push the models, then time the jobs in batches on every phone (see the module docstring)."""
        runtime, profile, settings = self.runtime, self.profile, request.settings
        if runtime is None:
            raise RuntimeError("PhoneFarm.measure before prepare(runtime)")
        in_network = request.plan.conditions == "in-network"
        if in_network and not self.in_network:
            raise ValueError(f"runner {profile.runner} of {profile.name!r} times one model file run after run: "
                             f"only the portable runner times in-network (--conditions warm)")
        start = time.perf_counter()
        jobs, canary = request.jobs, request.canary
        session: dict = {"out": str(request.out), "profile": profile.name, "started": now_utc()}
        artifacts = sorted({j.artifact for j in jobs + ([canary] if canary else [])})
        remotes = [d.sync_models(artifacts) for d in self.phones]
        per_call = self.runner.models_per_call
        size = profile.batch if per_call == 0 else max(1, profile.batch)
        if len(self.phones) > 1:  # small enough batches that every phone gets work
            size = max(1, min(size, -(-len(jobs) // (2 * len(self.phones)))))
        work = _Batches([jobs[i:i + size] for i in range(0, len(jobs), size)])
        work.dropped.update(self.gone)
        footprints: tuple[tuple[str, int], ...] = ()
        if in_network:
            footprints = tuple((r[j.artifact], j.footprint) for r in remotes
                               for j in jobs + ([canary] if canary else []))
        measured = {"rows": 0}

        def invocation(d: AdbDevice) -> Invocation:
            return Invocation(binary=d.runner_path, threads=runtime.threads, opt_level=runtime.opt_level,
                              runtime=runtime.name, python=profile.python, tolerance=settings.tolerance,
                              budget_s=settings.budget_s, min_runs=settings.min_runs, gate=settings.gate,
                              runs=max(settings.min_runs, 10),
                              network_bytes=request.plan.network_bytes if in_network else 0,
                              footprints=footprints)

        def measure_batch(d: AdbDevice, remote: dict, batch: list[Job]) -> tuple[list[list], float | None]:
            d.cooldown()
            inv = invocation(d)
            paths = [remote[j.artifact] for j in batch]
            can = remote[canary.artifact] if canary is not None else None
            if per_call == 0:
                models = paths + ([can] if can and can not in paths else [])
                got = dict(zip(models, d.run_models(models, inv)))
                if got[models[0]].caches:  # what the in-network copies were sized by, for the phone record
                    d.info["caches"] = list(got[models[0]].caches)
                return [[got[p]] for p in paths], (got[can].median_ms if can else None)
            samples: list[list] = [[] for _ in batch]
            canary_ms = None
            for _ in range(profile.repeats):  # rounds interleaved across the batch's jobs
                for i, p in enumerate(paths):
                    samples[i] += d.run_models([p], inv)
                if can:
                    canary_ms = d.run_models([can], inv)[0].median_ms
            return samples, canary_ms

        def worker(d: AdbDevice, remote: dict) -> None:
            baseline: float | None = None
            while (batch := work.next()) is not None:
                try:
                    got, canary_ms = measure_batch(d, remote, batch)
                    if canary_ms is not None:
                        d.log["canary_ms"].append(canary_ms)
                        if baseline is None:
                            baseline = canary_ms
                        elif abs(canary_ms / baseline - 1) > profile.drift_limit:
                            d.log["drift"].append({"batch": [str(j.id) for j in batch], "canary_ms": canary_ms,
                                                   "baseline_ms": baseline})
                            got, canary_ms = measure_batch(d, remote, batch)  # once more, after cooling down
                            if canary_ms is not None:
                                d.log["canary_ms"].append(canary_ms)
                except (Unreachable, ConnectionLost) as e:  # the phone dropped off: the others take its batch
                    work.queue.put(batch)
                    with work.lock:
                        work.dropped[str(d.transport.endpoint)] = e
                    return
                except BaseException as e:  # garbage output, a failing runner: stop everything
                    with work.lock:
                        work.fatal = work.fatal or e
                    work.stop.set()
                    return
                rows = self.runner.rows([j.id for j in batch], got, settings)
                with work.lock:
                    on_rows(rows)
                    if request.on_round:
                        request.on_round()  # a batch is a phone's round: the caller saves it
                    measured["rows"] += len(rows)
                    work.remaining -= 1
                    progress(len(batch))

        threads = [threading.Thread(target=worker, args=(d, r), daemon=True, name=f"phone-{i}")
                   for i, (d, r) in enumerate(zip(self.phones, remotes))]
        try:
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(0.2)
        except KeyboardInterrupt:
            work.stop.set()
            raise
        finally:
            for d in self.phones:
                try:
                    d.battery()
                except Exception:
                    pass  # the battery reading is a record, not a reason to fail
            with work.lock:
                session.update(finished=now_utc(), measured=measured["rows"],
                               dropped={k: str(v) for k, v in work.dropped.items()})
                if len(self.phones) == 1:
                    d = self.phones[0]
                    session.update(device=d.info, log=d.log, reconnects=d.transport.reconnects)
                else:
                    session["farm"] = [{"device": d.info, "log": d.log, "reconnects": d.transport.reconnects}
                                       for d in self.phones]
                if measured["rows"] and request.out is not None:
                    append_session(session_log_path(request.out), session)
        if work.fatal is not None:
            raise work.fatal
        if work.remaining:
            last = list(work.dropped.values())[-1] if work.dropped else None
            where = f" in {request.out}" if request.out else ""
            raise type(last)(f"every phone dropped off; {measured['rows']} of {len(jobs)} entries are saved{where} "
                             f"(--resume measures the rest); last: {last}") if last else RuntimeError("phones stopped")
        self.wall_s = time.perf_counter() - start
        return Report()

    def partial_rows(self) -> dict[Hashable, dict[str, Any]]:
        """Nothing: a phone's runner reports a model only when it is done."""
        return {}

    def finish(self, out: Path) -> tuple[list[str], list[str]]:
        """Where the phones were and where their record went (no warnings)."""
        return [f"on {', '.join(str(d.transport.endpoint) for d in self.phones)}; "
                f"{sum(d.transport.reconnects for d in self.phones)} reconnect(s); "
                f"phone record in {session_log_path(out)}"], []

    def close(self) -> None:
        """Close every phone's connection."""
        for d in self.phones:
            d.close()


def open_phones(profile: Profile, where: Where) -> PhoneFarm:
    """The profile's phone (its connection overridden by ``--host`` or ``--serial``), or the farm ``--serials``."""
    if where.serials:
        if where.host or where.serial:
            raise ValueError("give --serials, or --host / --serial, not both")
        if len(set(where.serials)) != len(where.serials):
            raise ValueError(f"--serials {','.join(where.serials)!r}: list each phone once")
        phones = [AdbDevice(profile, where.affinity, host=x if ":" in x else None, serial=None if ":" in x else x)
                  for x in where.serials]
    else:
        phones = [AdbDevice(profile, where.affinity, host=where.host, serial=where.serial)]
    return PhoneFarm(profile, phones, where.runner_dir)
