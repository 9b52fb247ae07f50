"""lutnas portable runner: time models where Python runs (phones with Termux, ARM boards).

ONNX models run in onnxruntime, ExecuTorch programs (.pte) in executorch's
Python runtime (``--runtime executorch``; its XNNPACK delegate, if the program
was lowered to it, sizes its thread pool from --threads).

Runs standalone as the ``__main__`` of a zip bundle that also carries
devices/measure.py and devices/stats.py, so a phone measures with exactly
the statistics of the local profiler: warm-up until settled, rounds
interleaved across the models, adaptive stop on the median's 95% CI, quiet
batches, unstable entries measured again. With --network-bytes and a --footprint per
model it times in-network (devices.conditions): each model loaded as several copies, run
in turn, sized by the caches of the core it is pinned to. Prints one JSON object per model:

    {"format": "lutnas-portable-runner", "version": 1, "model": PATH, "runtime": "onnxruntime" | "executorch",
     "runtime_version": "1.x", "conditions": "in-network" | "warm", "copies": N, "caches": [BYTES, ...],
     "summary": {"median_ms": ..., "p10_ms": ..., "p90_ms": ..., "std_ms": ...,
     "n": ..., "ci_rel": ..., "stable": 0|1}}

    python3 runner.pyz --model a.onnx --model b.onnx --threads 1 --opt-level all
    python3 runner.pyz --runtime executorch --model a.pte --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys

FORMAT, VERSION = "lutnas-portable-runner", 1
LEVELS = ("disable", "basic", "extended", "all", "xnnpack", "portable")  # the last two are baked into a .pte


def build_parser() -> argparse.ArgumentParser:
    """The runner's command line."""
    p = argparse.ArgumentParser(prog="lutnas-runner", description="time ONNX or ExecuTorch models; print JSON lines")
    p.add_argument("--model", action="append", help="an .onnx or .pte file (repeat for several)")
    p.add_argument("--probe", action="store_true",
                   help="print the --runtime's version and this machine (platform.machine()), one per line, and exit")
    p.add_argument("--runtime", choices=sorted(OPENERS), default="onnxruntime")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--opt-level", choices=LEVELS, default="all")
    p.add_argument("--tolerance", type=float, default=0.02)
    p.add_argument("--budget", type=float, default=2.0)
    p.add_argument("--min-runs", type=int, default=30)
    p.add_argument("--gate", type=float, default=0.10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--network-bytes", type=int, default=0,
                   help="time in-network: bytes a typical network of the space touches (0: warm, one copy)")
    p.add_argument("--footprint", type=int, action="append", default=[],
                   help="bytes each --model touches, in the same order (with --network-bytes)")
    return p


def open_onnx(path: str, threads: int, level: str, copies: int = 1):
    """An onnxruntime session with a bound random input, or ``copies`` loaded copies reading that one input and
    run in turn; returns (sessions, run, version)."""
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
    sessions = [ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]) for _ in range(copies)]
    inp = sessions[0].get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in inp.shape]
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    bindings = []
    for sess in sessions:
        binding = sess.io_binding()
        binding.bind_cpu_input(inp.name, x)
        binding.bind_output(sess.get_outputs()[0].name)
        sess.run_with_iobinding(binding)
        bindings.append(binding)
    return sessions, rotate([lambda s=s, b=b: s.run_with_iobinding(b) for s, b in zip(sessions, bindings)]), \
        ort.__version__


def rotate(runs: list):
    """One run of the next of ``runs`` each call (the only one when there is one)."""
    if len(runs) == 1:
        return runs[0]
    state = {"next": 0}

    def run() -> None:
        i = state["next"]
        state["next"] = (i + 1) % len(runs)
        runs[i]()
    return run


def open_pte(path: str, threads: int, level: str, copies: int = 1):
    """An ExecuTorch program's forward method with a random input of its declared shape (``copies`` loaded
    copies run in turn on that input); (programs, run, version)."""
    import torch
    from executorch.extension.pybindings import portable_lib
    from executorch.runtime import Runtime
    from executorch.version import __version__

    if level not in ("xnnpack", "portable"):
        raise ValueError(f"optimization level {level!r} is an ONNX Runtime level; a .pte has xnnpack or portable")
    if portable_lib._threadpool_get_thread_count() != threads:
        portable_lib._unsafe_reset_threadpool(threads)  # before loading: resizing under a loaded method crashes
    programs = [Runtime.get().load_program(path) for _ in range(copies)]
    methods = [program.load_method("forward") for program in programs]
    x = torch.randn(*programs[0].metadata("forward").input_tensor_meta(0).sizes(),
                    generator=torch.Generator().manual_seed(0))
    for method in methods:
        method.execute([x])
    return (programs, methods), rotate([lambda m=m: m.execute([x]) for m in methods]), __version__.split("+")[0]


def plan_copies(args: argparse.Namespace) -> tuple[str, list[int], list[int]]:
    """(conditions, copies per model, this core's caches): in-network copies from the models' footprints, the
    network's and the caches of the CPU this process is pinned to (the rules of devices.conditions)."""
    if args.network_bytes <= 0:
        return "warm", [1] * len(args.model), []
    if len(args.footprint) != len(args.model):
        raise ValueError(f"--footprint given {len(args.footprint)} times for {len(args.model)} --model")
    from devices.host import cache_sizes
    from devices.conditions import copies_for, rotation_bytes

    caches = cache_sizes()
    rotation = rotation_bytes(args.network_bytes, caches)
    return "in-network", [copies_for(f, rotation) for f in args.footprint], caches


OPENERS = {"onnxruntime": open_onnx, "executorch": open_pte}


def onnx_version() -> str:
    import onnxruntime as ort

    return ort.__version__


def pte_version() -> str:
    from executorch.version import __version__

    return __version__.split("+")[0]


VERSIONS = {"onnxruntime": onnx_version, "executorch": pte_version}  # one entry per runtime, beside OPENERS


def probe(runtime: str) -> int:
    """Print the runtime's version and this machine; exit 2 with one line when the runtime is missing."""
    import platform

    try:
        version = VERSIONS[runtime]()
    except ImportError as e:
        print(f"error: runtime {runtime} is not installed on this device ({e.name or e})", file=sys.stderr)
        return 2
    print(version)
    print(platform.machine())
    return 0


def main(argv: list[str] | None = None) -> int:
    """Measure every model; exit 2 with one line on stderr when a model cannot be loaded."""
    p = build_parser()
    args = p.parse_args(argv)
    if args.probe:
        return probe(args.runtime)
    if not args.model:
        p.error("--model is required (or --probe)")
    from devices.measure import Entry, Settings, measure

    try:
        conditions, copies, caches = plan_copies(args)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    sessions, entries, version = [], [], ""
    for path, n in zip(args.model, copies):
        try:
            sess, run, version = OPENERS[args.runtime](path, args.threads, args.opt_level, n)
        except ImportError as e:
            print(f"error: runtime {args.runtime} is not installed on this device ({e.name or e})", file=sys.stderr)
            return 2
        except Exception as e:  # the runtimes raise their own exception types
            print(f"error: {path}: cannot load the model: {' '.join(str(e).split())[:300]}", file=sys.stderr)
            return 2
        sessions.append(sess)
        entries.append(Entry(path, run))
    settings = Settings(tolerance=args.tolerance, budget_s=args.budget, min_runs=args.min_runs, gate=args.gate,
                        seed=args.seed)
    measure(entries, settings)
    for e, n in zip(entries, copies):
        print(json.dumps({"format": FORMAT, "version": VERSION, "model": e.id, "runtime": args.runtime,
                          "runtime_version": version, "conditions": conditions, "copies": n, "caches": caches,
                          "summary": e.summary.as_row()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
