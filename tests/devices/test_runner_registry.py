"""The runner registry: one object per runner, and nothing else that branches on a runner's name."""

import ast

import pytest

from devices.runners import RUNNERS, Runner, get_runner, parse_output
from devices.runners.commands import Invocation, command
from devices.runners.registry import register
from tests.conftest import ROOT


def test_every_runner_has_its_command_parser_runtimes_and_abilities():
    assert list(RUNNERS) == ["portable", "onnxruntime_perf_test", "benchmark_model", "executor_runner"]
    portable = get_runner("portable")
    assert portable.bundled and portable.in_network and portable.models_per_call == 0
    assert portable.runtimes == ("onnxruntime", "executorch")
    for name in ("onnxruntime_perf_test", "benchmark_model", "executor_runner"):
        r = get_runner(name)
        assert not r.bundled and not r.in_network and r.models_per_call == 1
        assert command(name, Invocation(binary="/b"), ["/m"]) == r.command(Invocation(binary="/b"), ["/m"])


def test_unknown_and_duplicate_runners_are_refused():
    with pytest.raises(ValueError, match="unknown runner 'tflite_gpu'; known: portable, onnxruntime_perf_test"):
        get_runner("tflite_gpu")
    with pytest.raises(ValueError, match="unknown runner 'x'"):
        parse_output("x", "")
    with pytest.raises(ValueError, match="'portable' is already registered"):
        register(Runner("portable", get_runner("portable").command, get_runner("portable").parse, ("onnxruntime",)))
    with pytest.raises(ValueError, match="models_per_call must be >= 0"):
        Runner("x", get_runner("portable").command, get_runner("portable").parse, (), models_per_call=-1)


def test_no_module_branches_on_a_runner_name():
    """Abilities come from the registry: no `runner == "..."` comparisons in devices/ or profiler/."""
    for path in list((ROOT / "devices").rglob("*.py")) + list((ROOT / "profiler").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value in RUNNERS
                                                     for c in [node.left, *node.comparators]):
                raise AssertionError(f"{path.relative_to(ROOT)}:{node.lineno} compares with a runner name")
