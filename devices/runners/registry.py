"""One object per runner: how it is invoked, how its output is read, what it runs, what it can do.

A new runner is one ``Runner`` registered here (its command builder in commands.py and its parser
in parsers.py); nothing else branches on a runner's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from devices.runners.base import RunnerResult
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
