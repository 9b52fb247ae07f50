"""One object per runner: how it is invoked, how its output is read, what it runs, what it can do.

A new runner is one ``Runner`` registered here (its command builder in commands.py and its parser
in parsers.py); nothing else branches on a runner's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

from devices.measure import Settings
from devices.runners.base import RunnerResult
from devices.stats import summarize
from lutnas.registry import Registry
from devices.runners.commands import Invocation, executor_runner, ort_perf_test, portable, tflite_benchmark
from devices.runners.parsers import parse_executor_runner, parse_ort_perf_test, parse_portable, \
    parse_tflite_benchmark


@dataclass(frozen=True)
class Runner:
    """A benchmark program on the phone."""

    name: str
    command: Callable[[Invocation, list[str]], str]  # the shell command for some models (paths on the phone)
    parse: Callable[[str], list[RunnerResult]]  # its output -> one result per model (or per call)
    runtimes: tuple[str, ...]  # the runtimes whose exports it runs
    models_per_call: int = 1  # 0: any number in one call, interleaved by the runner itself
    bundled: bool = False  # the project's own runner (built here, run by the phone's Python); else a native binary
    in_network: bool = False  # can time in-network (rotate copies of a model; devices.conditions)

    def __post_init__(self) -> None:
        if self.models_per_call < 0:
            raise ValueError(f"runner {self.name}: models_per_call must be >= 0")

    def rows(self, ids: Sequence[Hashable], results: Sequence[Sequence[RunnerResult]],
             settings: Settings) -> list[dict[str, Any]]:
        """One row per id (``id``, the LUT's statistics columns, ``copies``) from its results: a runner that
        times models interleaved gives its own statistics (its last result); one that times a model per call
        gives per-call medians, summarized as the host's samples are."""
        rows = []
        for i, rs in zip(ids, results):
            if self.models_per_call == 0:
                r = rs[-1]
                stats = {"median_ms": r.median_ms, "p10_ms": r.p10_ms, "p90_ms": r.p90_ms, "std_ms": r.std_ms,
                         "n": r.n, "ci_rel": r.ci_rel, "stable": int(bool(r.stable)), "copies": r.copies}
            else:
                samples = [r.median_ms / 1e3 for r in rs]
                stats = {**summarize(samples, settings.tolerance, settings.spread_limit).as_row(), "copies": 1}
            rows.append({"id": i, **stats})
        return rows


RUNNERS: Registry[str, Runner] = Registry("runner")


def register(runner: Runner) -> Runner:
    """Add a runner; a duplicate name is an error."""
    return RUNNERS.register(runner.name, runner)


def get_runner(name: str) -> Runner:
    """The runner called ``name``; ValueError listing the known ones."""
    return RUNNERS.get(name)


register(Runner("portable", portable, parse_portable, ("onnxruntime", "executorch"), models_per_call=0,
                bundled=True, in_network=True))
register(Runner("onnxruntime_perf_test", ort_perf_test, parse_ort_perf_test, ("onnxruntime",)))
register(Runner("benchmark_model", tflite_benchmark, parse_tflite_benchmark, ("tflite",)))
register(Runner("executor_runner", executor_runner, parse_executor_runner, ("executorch",)))
