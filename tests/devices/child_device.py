"""A new kind of device in one module and one registration line (the last line): this host's Python runs the
portable runner in a child process, as a phone's Python does. Nothing in profiler/ knows it.

A profile names it with ``kind = "child"`` (tests/fixtures/devices/child.toml).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Hashable

from devices import host
from devices.device import Request, Rows, Where, register_kind
from devices.measure import Report
from devices.profiles import Profile
from devices.runners.bundle import build_portable_runner
from devices.runners.commands import Invocation, command
from devices.runners.parsers import parse_output
from devices.runners.registry import get_runner
from devices.runtimes.base import Runtime


class ChildProcessDevice:
    """This host, measured by the portable runner in a child process (it sizes in-network copies itself)."""

    in_network = True

    def __init__(self, profile: Profile, where: Where) -> None:
        self.profile = profile
        self.runner_dir = where.runner_dir or Path(tempfile.mkdtemp(prefix="lutnas-child-"))
        self.runtime: Runtime | None = None
        self.runner_file: Path | None = None
        self.calls = 0

    def prepare(self, runtime: Runtime) -> dict[str, object]:
        self.runtime = runtime
        self.runner_file = build_portable_runner(self.runner_dir)
        return {"device": self.profile.name, **host.fingerprint(),
                "affinity": host.format_cpus(os.sched_getaffinity(0))}

    def caches(self) -> None:
        return None

    def measure(self, request: Request, on_rows: Rows, progress: Callable[[int], None]) -> Report:
        rt, s = self.runtime, request.settings
        models = [str(j.artifact) for j in request.jobs]
        inv = Invocation(binary=str(self.runner_file), python=sys.executable, threads=rt.threads,
                         opt_level=rt.opt_level, runtime=rt.name, tolerance=s.tolerance, budget_s=s.budget_s,
                         min_runs=s.min_runs, gate=s.gate,
                         network_bytes=request.plan.network_bytes if request.plan.conditions == "in-network" else 0,
                         footprints=tuple((str(j.artifact), j.footprint) for j in request.jobs))
        done = subprocess.run(command("portable", inv, models), shell=True, capture_output=True, text=True,
                              timeout=600)
        self.calls += 1
        if done.returncode != 0:
            raise RuntimeError(f"the portable runner exited {done.returncode}: {done.stderr.strip()[-300:]}")
        by_model = {r.model: r for r in parse_output("portable", done.stdout)}
        on_rows(get_runner("portable").rows([j.id for j in request.jobs], [[by_model[m]] for m in models], s))
        if request.on_round:
            request.on_round()
        progress(len(models))
        return Report()

    def partial_rows(self) -> dict[Hashable, dict[str, Any]]:
        return {}

    def finish(self, out: Path) -> tuple[list[str], list[str]]:
        return [f"timed by the portable runner in {self.calls} child process(es)"], []

    def close(self) -> None:
        pass


register_kind("child", ChildProcessDevice)
