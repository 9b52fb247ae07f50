"""Output parsers of the runners, one per runner (pure; tested on fixtures of every known variant).

- ``onnxruntime_perf_test``: 'Average inference time cost: X ms' (newer: '... cost total: X ms'),
  'Total inference requests: N', with -s 'Min/Max/P50/P90/P95/P99/P999 Latency: X s'
  (older: 'P50 Latency is Xsec').
- TFLite/LiteRT ``benchmark_model`` (microseconds): 'count=N first=F curr=C min=A max=B avg=M std=S'
  in any key order, optionally 'p5= median= p95=', 'count=1 curr=X' and 'count=N curr=X(all same)';
  the first such line is the warm-up, the last the timed runs; lines may carry an 'INFO: ' or a
  logcat prefix; 'Inference timings in us: ... Inference (avg): X'.
- ExecuTorch ``executor_runner``: 'Model executed successfully N time(s) in X ms.' (X for all N).
- ``portable``: the project's runner, one JSON object per model (format lutnas-portable-runner v1).
"""

from __future__ import annotations

import json
import re

from devices.runners.base import RunnerOutputError, RunnerResult

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
PORTABLE_FORMAT = "lutnas-portable-runner"
PORTABLE_VERSION = 1


def _excerpt(text: str) -> str:
    lines = [x.strip() for x in text.strip().splitlines() if x.strip()]
    first = " | ".join(lines[:3])[:200]
    return f"'{first}'" if first else "nothing"


def _find(pattern: str, text: str) -> float | None:
    m = None
    for m in re.finditer(pattern, text):
        pass
    return float(m.group(1)) if m else None


def parse_ort_perf_test(text: str) -> list[RunnerResult]:
    """onnxruntime_perf_test's summary."""
    avg = _find(rf"Average inference time cost(?: total)?:\s*({NUMBER})\s*ms", text)
    if avg is None:
        raise RunnerOutputError(f"onnxruntime_perf_test: no 'Average inference time cost' line in its output; "
                                f"it printed {_excerpt(text)}")
    runs = _find(r"Total inference requests:\s*(\d+)", text) or _find(r"\bRuns:\s*(\d+)", text)

    def pct(label: str) -> float | None:
        v = _find(rf"{label} Latency:\s*({NUMBER})\s*s\b", text)
        if v is None:
            v = _find(rf"{label} Latency is\s*({NUMBER})\s*sec", text)
        return v * 1e3 if v is not None else None

    p50 = pct("P50")
    return [RunnerResult(median_ms=p50 if p50 is not None else avg, n=int(runs or 1), mean_ms=avg,
                         p90_ms=pct("P90"), min_ms=pct("Min"), max_ms=pct("Max"))]


_TFLITE_LINE = re.compile(r"count=(\d+)\b(.*)")


def parse_tflite_benchmark(text: str) -> list[RunnerResult]:
    """TFLite/LiteRT benchmark_model's timed-run statistics (the last 'count=' line)."""
    stats = []
    for line in text.splitlines():
        m = _TFLITE_LINE.search(line)
        if m:
            fields = dict(re.findall(rf"(\w+)=({NUMBER})", m.group(2)))
            fields["count"] = m.group(1)
            fields["_all_same"] = "1" if "(all same)" in line else ""
            stats.append(fields)
    if not stats:
        summary = _find(rf"Inference \(avg\):\s*({NUMBER})", text)
        if summary is None:
            raise RunnerOutputError(f"benchmark_model: no 'count=...' statistics and no 'Inference (avg)' in its "
                                    f"output; it printed {_excerpt(text)}")
        return [RunnerResult(median_ms=summary / 1e3, n=1, mean_ms=summary / 1e3)]
    f = stats[-1]
    us = {k: float(v) / 1e3 for k, v in f.items() if k not in ("count", "_all_same") and v}
    n = int(f["count"])
    if "avg" not in us and "curr" in us and (n == 1 or f["_all_same"]):
        us["avg"] = us["median"] = us["min"] = us["max"] = us["curr"]
        us["std"] = 0.0
    if "avg" not in us:
        raise RunnerOutputError(f"benchmark_model: its statistics line has no avg= value: {_excerpt(text)}")
    return [RunnerResult(median_ms=us.get("median", us["avg"]), n=n, mean_ms=us["avg"], std_ms=us.get("std"),
                         min_ms=us.get("min"), max_ms=us.get("max"))]


def parse_executor_runner(text: str) -> list[RunnerResult]:
    """ExecuTorch executor_runner: the total time of N executions."""
    m = None
    for m in re.finditer(rf"Model executed successfully (\d+) time\(s\) in ({NUMBER}) ms", text):
        pass
    if m is None:
        if "Model executed successfully" in text:
            raise RunnerOutputError("executor_runner: this build prints no timing ('Model executed successfully' "
                                    "without 'in X ms'); use executor_runner from ExecuTorch 0.4 or newer")
        raise RunnerOutputError(f"executor_runner: no 'Model executed successfully N time(s) in X ms' line; "
                                f"it printed {_excerpt(text)}")
    n, total = int(m.group(1)), float(m.group(2))
    if n < 1:
        raise RunnerOutputError("executor_runner: it ran the model 0 times")
    return [RunnerResult(median_ms=total / n, n=n, mean_ms=total / n)]


def parse_portable(text: str) -> list[RunnerResult]:
    """The portable runner's JSON lines (other lines are ignored; a bad JSON result line is an error)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise RunnerOutputError(f"portable runner: a result line is not JSON ({e.msg}): {line[:120]!r}") from None
        if not isinstance(obj, dict) or obj.get("format") != PORTABLE_FORMAT:
            continue
        if obj.get("version") != PORTABLE_VERSION:
            raise RunnerOutputError(f"portable runner: result format version {obj.get('version')!r}; this toolkit "
                                    f"reads version {PORTABLE_VERSION} (push the runner again)")
        s = obj.get("summary")
        try:
            out.append(RunnerResult(median_ms=s["median_ms"], n=s["n"], p10_ms=s["p10_ms"], p90_ms=s["p90_ms"],
                                    std_ms=s["std_ms"], ci_rel=s["ci_rel"], stable=bool(s["stable"]),
                                    model=str(obj["model"]), runtime_version=str(obj.get("runtime_version")),
                                    copies=obj.get("copies", 1), conditions=obj.get("conditions", "warm"),
                                    caches=tuple(obj.get("caches") or ())))
        except (KeyError, TypeError) as e:
            raise RunnerOutputError(f"portable runner: a result misses {e}: {line[:120]!r}") from None
    if not out:
        raise RunnerOutputError(f"portable runner: no result in its output; it printed {_excerpt(text)}")
    return out


def parse_output(runner: str, text: str) -> list[RunnerResult]:
    """Results in ``text`` as ``runner`` prints them; RunnerOutputError naming what is missing."""
    from devices.runners.registry import get_runner  # the registry holds this module's parsers

    return get_runner(runner).parse(text)
