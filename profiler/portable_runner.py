"""lutnas portable runner: time ONNX models where Python and onnxruntime run (phones with Termux, ARM boards).

Runs standalone as the ``__main__`` of a zip bundle that also carries
profiler/measure.py and profiler/stats.py, so a phone measures with exactly
the statistics of the local profiler: warm-up until settled, rounds
interleaved across the models, adaptive stop on the median's 95% CI, quiet
batches, unstable entries measured again. Prints one JSON object per model:

    {"format": "lutnas-portable-runner", "version": 1, "model": PATH, "runtime": "onnxruntime",
     "runtime_version": "1.x", "summary": {"median_ms": ..., "p10_ms": ..., "p90_ms": ..., "std_ms": ...,
     "n": ..., "ci_rel": ..., "stable": 0|1}}

    python3 runner.pyz --model a.onnx --model b.onnx --threads 1 --opt-level all
"""

from __future__ import annotations

import argparse
import json
import sys

FORMAT, VERSION = "lutnas-portable-runner", 1
LEVELS = ("disable", "basic", "extended", "all")


def build_parser() -> argparse.ArgumentParser:
    """The runner's command line."""
    p = argparse.ArgumentParser(prog="lutnas-runner", description="time ONNX models; print JSON lines")
    p.add_argument("--model", action="append", required=True, help="an .onnx file (repeat for several)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--opt-level", choices=LEVELS, default="all")
    p.add_argument("--tolerance", type=float, default=0.02)
    p.add_argument("--budget", type=float, default=2.0)
    p.add_argument("--min-runs", type=int, default=30)
    p.add_argument("--gate", type=float, default=0.10)
    p.add_argument("--seed", type=int, default=0)
    return p


def open_session(path: str, threads: int, level: str):
    """An onnxruntime session with a bound random input; returns (session, run)."""
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = {
        "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    binding = sess.io_binding()
    binding.bind_cpu_input(inp.name, x)
    binding.bind_output(sess.get_outputs()[0].name)
    sess.run_with_iobinding(binding)
    return sess, lambda: sess.run_with_iobinding(binding)


def main(argv: list[str] | None = None) -> int:
    """Measure every model; exit 2 with one line on stderr when a model cannot be loaded."""
    args = build_parser().parse_args(argv)
    import onnxruntime as ort

    from profiler.measure import Entry, Settings, measure

    sessions, entries = [], []
    for path in args.model:
        try:
            sess, run = open_session(path, args.threads, args.opt_level)
        except Exception as e:  # onnxruntime raises its own exception types
            print(f"error: {path}: cannot load the model: {' '.join(str(e).split())[:300]}", file=sys.stderr)
            return 2
        sessions.append(sess)
        entries.append(Entry(path, run))
    settings = Settings(tolerance=args.tolerance, budget_s=args.budget, min_runs=args.min_runs, gate=args.gate,
                        seed=args.seed)
    measure(entries, settings)
    for e in entries:
        print(json.dumps({"format": FORMAT, "version": VERSION, "model": e.id, "runtime": "onnxruntime",
                          "runtime_version": ort.__version__, "summary": e.summary.as_row()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
