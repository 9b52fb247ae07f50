"""ONNX Runtime: export with torch.onnx (TorchScript-based exporter, pinned opset), run on the CPU EP."""

from __future__ import annotations

import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from devices.runtimes.base import Rotation, Runtime, Session

OPSET = 17
OPT_LEVELS = {
    "disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


class OnnxSession(Session):
    """An InferenceSession with input and output bound once (no per-run allocation)."""

    def __init__(self, path: Path, input_shape: tuple[int, ...], options: ort.SessionOptions,
                 share: "OnnxSession | None" = None) -> None:
        """``share``: read that session's input buffer and write into its output buffer (a copy of the same
        model), instead of buffers of its own."""
        self.sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        inp, out = self.sess.get_inputs()[0].name, self.sess.get_outputs()[0].name
        self.binding = self.sess.io_binding()
        if share is not None:
            self.x, self.y = share.x, share.y
            self.binding.bind_cpu_input(inp, self.x)
            self.binding.bind_ortvalue_output(out, self.y)
            return
        self.x = np.random.default_rng(0).standard_normal(input_shape).astype(np.float32)
        self.binding.bind_cpu_input(inp, self.x)
        self.binding.bind_output(out)
        self.sess.run_with_iobinding(self.binding)
        shape = self.binding.get_outputs()[0].shape()
        self.y = ort.OrtValue.ortvalue_from_numpy(np.empty(shape, dtype=np.float32))
        self.binding.bind_ortvalue_output(out, self.y)

    def run(self) -> None:
        self.sess.run_with_iobinding(self.binding)

    def output(self, x: np.ndarray | None = None) -> np.ndarray:
        if x is not None:
            np.copyto(self.x, x)
        self.run()
        return self.y.numpy().copy()

    def close(self) -> None:
        del self.binding, self.sess


class OnnxRuntime(Runtime):
    """ONNX Runtime on the CPU execution provider."""

    name = "onnxruntime"
    suffix = ".onnx"
    title = "ONNX Runtime"
    levels = tuple(OPT_LEVELS)
    default_level = "all"

    def export(self, module: Any, input_shape: tuple[int, ...], path: Path) -> None:
        x = torch.randn(*input_shape)
        buf = io.BytesIO()
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module.eval(), (x,), buf, dynamo=False, opset_version=OPSET,
                              input_names=["x"], output_names=["y"], do_constant_folding=True)
        model = onnx.load_from_string(buf.getvalue())
        onnx.checker.check_model(model)
        Path(path).write_bytes(buf.getvalue())

    def options(self) -> ort.SessionOptions:
        """Session options for this runtime's threads and level."""
        so = ort.SessionOptions()
        so.intra_op_num_threads = self.threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = OPT_LEVELS[self.opt_level]
        so.log_severity_level = 3
        return so

    def open(self, path: Path, input_shape: tuple[int, ...]) -> OnnxSession:
        return OnnxSession(Path(path), input_shape, self.options())

    def open_copies(self, path: Path, input_shape: tuple[int, ...], copies: int) -> Session:
        if copies <= 1:
            return super().open_copies(path, input_shape, copies)
        first = self.open(path, input_shape)
        return Rotation([first] + [OnnxSession(Path(path), input_shape, self.options(), share=first)
                                   for _ in range(copies - 1)])

    def export_id(self) -> str:
        return f"onnx/torchscript-exporter/torch-{torch.__version__}/opset-{OPSET}"

    def provenance(self) -> dict[str, Any]:
        return {"runtime": self.name, "runtime_version": ort.__version__, "opt_level": self.opt_level,
                "threads": self.threads, "exporter": f"torch.onnx-torchscript/{torch.__version__}",
                "opset": OPSET}
