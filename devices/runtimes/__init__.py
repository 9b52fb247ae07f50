"""Runtime registry. Runtimes are imported on first use (torch/onnxruntime are heavy)."""

from __future__ import annotations

import importlib

from devices.runtimes.base import Runtime, Session
from lutnas.registry import Registry

__all__ = ["Runtime", "Session", "RUNTIMES", "register_runtime", "get_runtime"]

RUNTIMES: Registry[str, str] = Registry("runtime")  # name -> "module:Class"


def register_runtime(name: str, target: str) -> None:
    """Register a runtime class by dotted path; a duplicate name is an error."""
    RUNTIMES.register(name, target)


register_runtime("onnxruntime", "devices.runtimes.onnxrt:OnnxRuntime")
register_runtime("torchscript", "devices.runtimes.torchscript:TorchScript")
register_runtime("executorch", "devices.runtimes.executorch_rt:ExecuTorch")


def get_runtime(name: str, threads: int = 1, opt_level: str | None = None) -> Runtime:
    """An instance of the named runtime; unknown names list the known ones."""
    module, cls = RUNTIMES.get(name).split(":")
    return getattr(importlib.import_module(module), cls)(threads=threads, opt_level=opt_level)
