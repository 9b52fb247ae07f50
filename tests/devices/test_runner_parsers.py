"""Runner output parsers on fixtures of every known output variant; garbage is a clear error."""

import pytest

from devices.runners import RunnerOutputError, parse_output
from devices.runners.commands import Invocation, command
from tests.conftest import FIXTURES

RUNNERS = FIXTURES / "runners"


def parse(runner, name):
    return parse_output(runner, (RUNNERS / name).read_text())


def test_ort_perf_test_new_format_with_percentiles():
    [r] = parse("onnxruntime_perf_test", "ort_total_with_stats.txt")
    assert r.median_ms == pytest.approx(2.4125) and r.mean_ms == pytest.approx(2.43412)
    assert r.n == 50 and r.p90_ms == pytest.approx(2.5871)
    assert (r.min_ms, r.max_ms) == (pytest.approx(2.31), pytest.approx(2.98))


def test_ort_perf_test_old_format():
    [r] = parse("onnxruntime_perf_test", "ort_old_is_sec.txt")
    assert r.median_ms == pytest.approx(3.05) and r.mean_ms == pytest.approx(3.08) and r.n == 100
    assert r.p90_ms == pytest.approx(3.22)


def test_ort_perf_test_without_statistics_uses_the_mean():
    [r] = parse("onnxruntime_perf_test", "ort_no_stats.txt")
    assert r.median_ms == pytest.approx(2.0525) and r.n == 200 and r.p90_ms is None


def test_tflite_takes_the_timed_line_not_the_warmup():
    [r] = parse("benchmark_model", "tflite_plain.txt")
    assert r.n == 822 and r.mean_ms == pytest.approx(1.20864) and r.median_ms == pytest.approx(1.20864)
    assert (r.min_ms, r.max_ms, r.std_ms) == (pytest.approx(1.148), pytest.approx(1.39), pytest.approx(0.027))


def test_tflite_info_prefix_percentiles_and_scientific_notation():
    [r] = parse("benchmark_model", "tflite_info_percentiles_sci.txt")
    assert r.n == 50 and r.mean_ms == pytest.approx(1240.27) and r.median_ms == pytest.approx(1239.807)


def test_tflite_logcat_prefix_and_all_same():
    [r] = parse("benchmark_model", "tflite_logcat_all_same.txt")
    assert (r.n, r.median_ms, r.std_ms) == (5, pytest.approx(2.0), 0.0)


def test_tflite_any_key_order():
    [r] = parse("benchmark_model", "tflite_key_order.txt")
    assert r.n == 100 and r.median_ms == pytest.approx(0.874) and r.mean_ms == pytest.approx(0.87525)


def test_tflite_summary_line_only():
    [r] = parse("benchmark_model", "tflite_summary_only.txt")
    assert r.median_ms == pytest.approx(7.65432) and r.n == 1


def test_executor_runner_total_over_runs():
    [r] = parse("executor_runner", "executor_runner_timed.txt")
    assert r.n == 20 and r.median_ms == pytest.approx(61.357 / 20)


def test_executor_runner_without_timing_is_an_error():
    with pytest.raises(RunnerOutputError, match="prints no timing"):
        parse("executor_runner", "executor_runner_untimed.txt")


def test_portable_runner_json():
    a, b = parse("portable", "portable_two.txt")
    assert a.model.endswith("a.onnx") and (a.median_ms, a.n, a.stable) == (0.0264, 1848, True)
    assert b.stable is False and b.runtime_version == "1.20.1"


def test_portable_runner_says_how_it_timed():
    a, b = parse("portable", "portable_in_network.txt")
    assert (a.conditions, a.copies, b.copies) == ("in-network", 16, 6)
    assert a.caches == (32768, 524288, 33554432)
    old, _ = parse("portable", "portable_two.txt")  # a runner from before the in-network conditions: warm, one copy
    assert (old.conditions, old.copies, old.caches) == ("warm", 1, ())
    for bad, message in (('"copies": 16', '"copies": 0'), ('"copies": 16', '"copies": "many"'),
                         ('"conditions": "in-network"', '"conditions": "cold"'),
                         ('"caches": [32768', '"caches": [0')):
        text = (RUNNERS / "portable_in_network.txt").read_text().replace(*((bad, message)), 1)
        with pytest.raises(RunnerOutputError, match="copies is|conditions is|caches are"):
            parse_output("portable", text)


def test_portable_runner_truncated_line_is_an_error():
    with pytest.raises(RunnerOutputError, match="not JSON"):
        parse("portable", "portable_truncated.txt")


@pytest.mark.parametrize("runner", ["portable", "onnxruntime_perf_test", "benchmark_model", "executor_runner"])
def test_garbage_is_a_clear_error(runner):
    with pytest.raises(RunnerOutputError, match=f"{runner.split('_')[0]}.*Segmentation fault"):
        parse(runner, "garbage.txt")


def test_impossible_numbers_are_refused():
    text = (RUNNERS / "portable_two.txt").read_text().replace('"median_ms": 0.0264', '"median_ms": -1')
    with pytest.raises(RunnerOutputError, match="median_ms"):
        parse_output("portable", text)
    with pytest.raises(ValueError, match="unknown runner 'nope'; known: portable"):
        parse_output("nope", "")


def test_commands_quote_every_path():
    inv = Invocation(binary="/data/local/tmp/lutnas/bin/run me", python="/data/x y/python3")
    cmd = command("portable", inv, ["/data/local/tmp/a b.onnx", "/data/local/tmp/$(rm -rf).onnx"], mask="c0")
    assert cmd.startswith("taskset c0 '/data/x y/python3' '/data/local/tmp/lutnas/bin/run me' ")
    assert "--model '/data/local/tmp/a b.onnx' --model '/data/local/tmp/$(rm -rf).onnx'" in cmd
    assert command("onnxruntime_perf_test", inv, ["/m.onnx"]).endswith("-s -I /m.onnx")
    with pytest.raises(ValueError, match="takes 1 model"):
        command("benchmark_model", inv, ["/a", "/b"])


def test_an_in_network_portable_command_sends_each_models_footprint():
    inv = Invocation(binary="/r.pyz", network_bytes=12_000_000, footprints=(("/m/a b.onnx", 300), ("/m/c.onnx", 9)))
    cmd = command("portable", inv, ["/m/a b.onnx", "/m/c.onnx"])
    assert cmd.endswith("--network-bytes 12000000 --model '/m/a b.onnx' --footprint 300 "
                        "--model /m/c.onnx --footprint 9")
    assert "--network-bytes" not in command("portable", Invocation(binary="/r.pyz"), ["/m/c.onnx"])
    with pytest.raises(ValueError, match="no footprint for 1 model"):
        command("portable", inv, ["/m/d.onnx"])
