"""This host as a Device: models run in-process in the runtime, pinned as the profile (or --affinity) says,
timed by devices.measure; the host's quietness over the run is written beside the LUT (<name>.host.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Hashable

from devices import host
from devices.device import Job, Request, Rows, Where
from devices.hygiene import HostReport, assess, snapshot, warning_line
from devices.measure import Entry, Report, measure
from devices.profiles import Profile
from devices.runtimes.base import Runtime
from devices.stats import quiet_mask, summarize
from lutnas import files


def host_report_path(out: Path) -> Path:
    """Where the host's quietness during a local profile goes: beside the LUT, <name>.host.json."""
    return out.with_name(out.stem + ".host.json")


class LocalDevice:
    """This host."""

    in_network = True

    def __init__(self, profile: Profile, affinity: str | None = None) -> None:
        self.profile = profile
        self.affinity = affinity or profile.affinity
        self.runtime: Runtime | None = None
        self.entries: list[Entry] = []
        self.settings = None
        self.report: HostReport | None = None
        self.plan: dict[str, Any] | None = None
        self._before = None

    def prepare(self, runtime: Runtime | None = None) -> dict[str, object]:
        """Pin the process and return the host's provenance fields."""
        self.runtime = runtime or self.runtime
        mask = host.pin(self.affinity)
        return {"device": self.profile.name, **host.fingerprint(), "affinity": mask}

    def caches(self) -> list[int]:
        """The caches of the CPU the entries run on (pinned first)."""
        host.pin(self.affinity)
        return host.cache_sizes()

    def measure(self, request: Request, on_rows: Rows, progress: Callable[[int], None]) -> Report:
        """Time the jobs in-process, interleaved (devices.measure); each job's copies are opened when it joins
        the interleaved window and closed when it is done, so with a window only that many hold memory."""
        if self.runtime is None:
            raise RuntimeError("LocalDevice.measure before prepare(runtime)")
        runtime = self.runtime
        self._before = self._before or snapshot()
        self.settings = request.settings
        self.plan = request.plan.as_dict()
        sessions: dict[Hashable, Any] = {}

        def opener(job: Job) -> Callable[[], Callable[[], object]]:
            def open_() -> Callable[[], object]:
                sessions[job.id] = runtime.open_copies(job.artifact, job.input_shape, job.copies)
                return sessions[job.id].run
            return open_

        def closer(job: Job) -> Callable[[], None]:
            return lambda: sessions.pop(job.id).close()

        jobs = {job.id: job for job in request.jobs}
        canary = None
        if request.canary is not None:
            c = request.canary
            canary = runtime.open_copies(c.artifact, c.input_shape, c.copies)
        reported: set[Hashable] = set()

        def done(e: Entry) -> None:
            on_rows([{"id": e.id, **e.summary.as_row(), "copies": jobs[e.id].copies}])
            if e.id not in reported:
                reported.add(e.id)
                progress(1)

        self.entries = [Entry(job.id, open=opener(job), close=closer(job)) for job in request.jobs]
        try:
            return measure(self.entries, request.settings, on_done=done, on_round=request.on_round,
                           canary=canary.run if canary else None)
        finally:
            for s in list(sessions.values()):
                s.close()
            if canary is not None:
                canary.close()
            self.report = assess(self._before, snapshot(), runtime.threads)

    def partial_rows(self) -> dict[Hashable, dict[str, Any]]:
        """Summaries of the unfinished jobs' quiet runs so far (those with at least --min-runs of them)."""
        out = {}
        settings = self.settings
        for e in self.entries:
            if e.summary is not None or settings is None:
                continue
            mask = quiet_mask(e.batches, settings.gate)
            samples = [x for b, quiet in zip(e.batches, mask) if quiet for x in b]
            if len(samples) >= settings.min_runs:
                out[e.id] = summarize(samples, settings.tolerance, settings.spread_limit).as_row()
        return out

    def finish(self, out: Path) -> tuple[list[str], list[str]]:
        """Write <out>.host.json (load, busy and steal shares, CPU clock, the measurement plan); no lines, and the
        one-line warning when the host was busy."""
        if self.report is None:
            return [], []
        files.write_atomic(host_report_path(out), json.dumps(
            {"format": "lutnas-host-report", "version": 1, "lut": str(out), **self.report.as_dict(),
             **({"measurement": self.plan} if self.plan else {})}, indent=2) + "\n", parents=True)
        line = warning_line(self.report, str(out))
        return [], [line] if line else []

    def close(self) -> None:
        """Nothing to close on this host."""


def open_local(profile: Profile, where: Where) -> LocalDevice:
    """This host (``--host``/``--serial`` pick phones and are refused)."""
    if where.serials:
        raise ValueError(f"--serials lists phones; device {profile.name!r} is not a phone")
    if where.host or where.serial:
        raise ValueError(f"--host and --serial pick a phone; device {profile.name!r} is this host")
    return LocalDevice(profile, where.affinity)
