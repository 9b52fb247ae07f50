"""How each runner is invoked on the phone (every path and argument shell-quoted); devices.runners.registry
ties each builder to its runner."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

q = shlex.quote


@dataclass(frozen=True)
class Invocation:
    """What one runner invocation needs besides the model paths."""

    binary: str  # the runner on the phone
    threads: int = 1
    opt_level: str = "all"
    python: str = "python3"
    tolerance: float = 0.02
    budget_s: float = 2.0
    min_runs: int = 30
    gate: float = 0.10
    runs: int = 50  # timed runs of a native runner
    runtime: str = "onnxruntime"  # what the portable runner loads the models with
    network_bytes: int = 0  # portable runner: time in-network against a network of this footprint (0: warm)
    footprints: tuple[tuple[str, int], ...] = ()  # portable runner, in-network: (model path, bytes it touches)


def portable(inv: Invocation, models: list[str]) -> str:
    """The project's runner: all models in one invocation, interleaved (in-network with each model's footprint
    when ``inv.network_bytes`` is set)."""
    cmd = (f"{q(inv.python)} {q(inv.binary)} --runtime {q(inv.runtime)} --threads {int(inv.threads)} "
           f"--opt-level {q(inv.opt_level)} "
           f"--tolerance {float(inv.tolerance)!r} --budget {float(inv.budget_s)!r} --min-runs {int(inv.min_runs)} "
           f"--gate {float(inv.gate)!r} ")
    if inv.network_bytes <= 0:
        return cmd + " ".join(f"--model {q(m)}" for m in models)
    sizes = dict(inv.footprints)
    missing = [m for m in models if m not in sizes]
    if missing:
        raise ValueError(f"no footprint for {len(missing)} model(s) (first {missing[0]}) of an in-network run")
    return cmd + f"--network-bytes {int(inv.network_bytes)} " + " ".join(
        f"--model {q(m)} --footprint {int(sizes[m])}" for m in models)


def ort_perf_test(inv: Invocation, models: list[str]) -> str:
    """onnxruntime_perf_test, fixed number of runs, latency statistics on (-s), generated inputs (-I)."""
    level = {"disable": 0, "basic": 1, "extended": 2, "all": 99}.get(inv.opt_level, 99)
    return (f"{q(inv.binary)} -e cpu -m times -r {int(inv.runs)} -x {int(inv.threads)} -y 1 -o {level} -s -I "
            f"{q(models[0])}")


def tflite_benchmark(inv: Invocation, models: list[str]) -> str:
    """TFLite/LiteRT benchmark_model."""
    return (f"{q(inv.binary)} --graph={q(models[0])} --num_threads={int(inv.threads)} "
            f"--num_runs={int(inv.runs)} --warmup_runs=10 --warmup_min_secs=0.5")


def executor_runner(inv: Invocation, models: list[str]) -> str:
    """ExecuTorch executor_runner (built with the XNNPACK backend and its thread pool), outputs not printed."""
    return (f"{q(inv.binary)} --model_path={q(models[0])} --num_executions={int(inv.runs)} "
            f"--cpu_threads={int(inv.threads)} --print_output=none")


def command(runner: str, inv: Invocation, models: list[str], mask: str | None = None) -> str:
    """The shell command running ``models`` with ``runner``, pinned with taskset to ``mask`` (hex) if given."""
    from devices.runners.registry import get_runner  # the registry holds this module's builders

    r = get_runner(runner)
    per_call = r.models_per_call
    if not models or (per_call and len(models) != per_call):
        raise ValueError(f"runner {runner} takes {per_call or 'one or more'} model(s) per call, got {len(models)}")
    cmd = r.command(inv, models)
    return f"taskset {q(mask)} {cmd}" if mask else cmd
