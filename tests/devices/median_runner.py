"""A new runner in one module and one registration line (the last line): ``median_probe``, a small benchmark
program (tests/fixtures/runners/bin/median_runner.py, pushed as the profile's runner_binary) that times one
model per call and prints ``median_ms=X runs=N``. Nothing else in devices/ or profiler/ knows it.
"""

from __future__ import annotations

import re
import shlex

from devices.runners.base import RunnerOutputError, RunnerResult
from devices.runners.commands import Invocation
from devices.runners.registry import Runner, register

q = shlex.quote
LINE = re.compile(r"median_ms=([0-9.]+) runs=(\d+)")


def command(inv: Invocation, models: list[str]) -> str:
    """The program on one model: its path, the timed runs and the threads."""
    return f"{q(inv.python)} {q(inv.binary)} {q(models[0])} {int(inv.runs)} {int(inv.threads)}"


def parse(text: str) -> list[RunnerResult]:
    """The one result line; RunnerOutputError when there is none."""
    found = LINE.search(text)
    if not found:
        raise RunnerOutputError(f"median runner: no 'median_ms=... runs=...' line in {text[-200:]!r}")
    return [RunnerResult(median_ms=float(found.group(1)), n=int(found.group(2)))]


register(Runner("median_probe", command, parse, ("onnxruntime",)))
