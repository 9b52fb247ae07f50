"""python -m profiler.crosscheck: the same exported models, run here and in an arm64 Python, give the same outputs.

Every LUT entry of a space is exported as the profiler exports it (ONNX, or an ExecuTorch .pte with the
XNNPACK delegate), fed one fixed random input (saved as .npy, so both sides read the same numbers), and
run once in this host's runtime and once in the arm64 userland's (``devices.emulator.userland``: an arm64
Python under qemu-user, where ONNX Runtime's and XNNPACK's arm64 kernels compute). The table gives each
block's largest absolute difference and the largest output magnitude; the command exits 1 when a
difference is above --atol + --rtol * that magnitude, and prints the machine and runtime versions each
side reported. Timings under emulation mean nothing, so none are taken.

    python -m profiler.crosscheck --space tests/fixtures/spaces/tiny.toml --runtime onnxruntime
    python -m profiler.crosscheck --space tests/fixtures/spaces/tiny.toml --runtime executorch --arm64 /srv/arm64
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Runs in the arm64 Python (stdlib, numpy and the runtime only): reads a job list on stdin, writes outputs.
GUEST = r"""
import json, platform, sys
import numpy as np
jobs = json.load(sys.stdin)
versions = {}
for job in jobs:
    x = np.load(job["input"])
    if job["runtime"] == "onnxruntime":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, job["level"])
        sess = ort.InferenceSession(job["model"], so, providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: x})[0]
        versions["onnxruntime"] = ort.__version__
    else:
        import torch
        from executorch.runtime import Runtime
        from executorch.version import __version__
        method = Runtime.get().load_program(job["model"]).load_method("forward")
        y = method.execute([torch.from_numpy(x)])[0].numpy()
        versions["executorch"] = __version__.split("+")[0]
    np.save(job["output"], np.ascontiguousarray(y, dtype=np.float32))
print(json.dumps({"machine": platform.machine(), "python": platform.python_version(),
                  "numpy": np.__version__, **versions}))
"""

ORT_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
              "all": "ORT_ENABLE_ALL"}


@dataclass
class Compared:
    """One block's outputs on both sides."""

    key: Any
    max_abs_diff: float
    max_abs: float

    def ok(self, atol: float, rtol: float) -> bool:
        return self.max_abs_diff <= atol + rtol * self.max_abs


def guest_run(python: list[str], jobs: list[dict[str, str]], timeout_s: float = 3600.0) -> dict[str, str]:
    """Run ``jobs`` in the Python ``python`` (argv); the versions and machine it reports. RuntimeError with its
    last words when it fails."""
    proc = subprocess.run([*python, "-c", GUEST], input=json.dumps(jobs), capture_output=True, text=True,
                          timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(python[-1:])} failed (exit {proc.returncode}): "
                           f"{' '.join(proc.stderr.split())[-400:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def crosscheck(keys: list[Any], runtime_name: str, python: list[str], work: Path,
               opt_level: str | None = None) -> tuple[list[Compared], dict[str, str], dict[str, str]]:
    """Export every key, run it here and in ``python``; (one Compared per key, this host's facts, the guest's)."""
    import platform

    import numpy as np

    from devices.runtimes import get_runtime
    from search.blocks import build_module, input_shape

    runtime = get_runtime(runtime_name, threads=1, opt_level=opt_level)
    rng = np.random.default_rng(0)
    jobs, ours = [], []
    for i, key in enumerate(keys):
        model = work / f"m{i}{runtime.suffix}"
        runtime.export(build_module(key), input_shape(key), model)
        x = rng.standard_normal(input_shape(key)).astype(np.float32)
        np.save(work / f"x{i}.npy", x)
        session = runtime.open(model, x.shape)  # as the profiler opens it: the runtime's threads and level
        try:
            ours.append(np.asarray(session.output(x), dtype=np.float32))
        finally:
            session.close()
        jobs.append({"model": str(model), "input": str(work / f"x{i}.npy"), "output": str(work / f"y{i}.npy"),
                     "runtime": runtime_name, "level": ORT_LEVELS.get(runtime.opt_level, "")})
    guest = guest_run(python, jobs)
    compared = []
    for key, y, job in zip(keys, ours, jobs):
        theirs = np.load(job["output"])
        if theirs.shape != y.shape:
            raise RuntimeError(f"{key}: output shape {theirs.shape} in the arm64 Python, {y.shape} here")
        compared.append(Compared(key, float(np.abs(theirs - y).max()), float(np.abs(y).max())))
    host = {"machine": platform.machine(), "python": platform.python_version(), "numpy": np.__version__,
            runtime_name: runtime.provenance()["runtime_version"]}
    return compared, host, guest


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="python -m profiler.crosscheck", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default="fbnet-cifar", help="space name or file (default fbnet-cifar)")
    p.add_argument("--resolution", type=int, default=None, help="input resolution of a built-in space")
    p.add_argument("--runtime", choices=("onnxruntime", "executorch"), default="onnxruntime")
    p.add_argument("--opt-level", default=None, help="the runtime's level (default: its default)")
    p.add_argument("--arm64", default="", metavar="ROOT",
                   help="the arm64 userland (default: $LUTNAS_ARM64_ROOT or /var/cache/lutnas/arm64-root)")
    p.add_argument("--atol", type=float, default=1e-4, help="absolute tolerance (default 1e-4)")
    p.add_argument("--rtol", type=float, default=1e-4, help="tolerance relative to the output's largest value")
    return p


def run(args: argparse.Namespace) -> int:
    """Compare, print the table; 0 when every block agrees, 1 when one does not."""
    import time

    from devices.emulator.userland import arm64_root, python_argv
    from search.space import get_space

    root = Path(args.arm64) if args.arm64 else arm64_root()
    python = python_argv(root)  # ValueError with the reason when the userland is missing
    space = get_space(args.space, None, args.resolution)
    keys = space.keys()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="lutnas-crosscheck-") as tmp:
        compared, host, guest = crosscheck(keys, args.runtime, python, Path(tmp), args.opt_level)
    print(f"{space.name}: {len(keys)} blocks, {args.runtime}; here: "
          f"{', '.join(f'{k} {v}' for k, v in host.items())}; arm64 userland {root}: "
          f"{', '.join(f'{k} {v}' for k, v in guest.items())} ({time.perf_counter() - start:.0f} s)")
    print(f"{'block':<44}{'max |arm64 - here|':>20}{'max |output|':>14}  ok")
    bad = 0
    for c in compared:
        ok = c.ok(args.atol, args.rtol)
        bad += not ok
        print(f"{str(c.key):<44}{c.max_abs_diff:>20.3g}{c.max_abs:>14.3g}  {'yes' if ok else 'NO'}")
    worst = max(compared, key=lambda c: c.max_abs_diff)
    print(f"largest difference {worst.max_abs_diff:.3g} ({worst.key}); {bad} of {len(compared)} blocks outside "
          f"atol {args.atol:g} + rtol {args.rtol:g} x max |output|")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors, exit 2 on bad input or a failing arm64 side."""
    from lutnas.cli import guarded

    return guarded(run, build_parser().parse_args(argv), (RuntimeError, subprocess.TimeoutExpired))


if __name__ == "__main__":
    sys.exit(main())
