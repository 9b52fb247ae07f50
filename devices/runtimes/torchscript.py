"""TorchScript: torch.jit.trace + freeze, run with torch's intra-op thread pool."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from devices.runtimes.base import Runtime, Session


class TorchScriptSession(Session):
    """A frozen TorchScript module with its input bound."""

    def __init__(self, path: Path, input_shape: tuple[int, ...]) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.module = torch.jit.load(str(path), map_location="cpu")
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(*input_shape, generator=gen)
        self.run()

    def run(self) -> None:
        with torch.inference_mode():
            self.module(self.x)

    def output(self, x: Any = None) -> Any:
        if x is not None:
            self.x.copy_(torch.from_numpy(x))
        with torch.inference_mode():
            return self.module(self.x).numpy().copy()


class TorchScript(Runtime):
    """PyTorch's TorchScript interpreter (deprecated upstream; kept as the torch-native baseline)."""

    name = "torchscript"
    suffix = ".pt"
    title = "TorchScript"
    levels = ("freeze",)
    default_level = "freeze"

    def export(self, module: Any, input_shape: tuple[int, ...], path: Path) -> None:
        x = torch.randn(*input_shape)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(module.eval(), (x,))
            frozen = torch.jit.freeze(traced)
            torch.jit.save(frozen, str(path))

    def open(self, path: Path, input_shape: tuple[int, ...]) -> TorchScriptSession:
        torch.set_num_threads(self.threads)
        return TorchScriptSession(Path(path), input_shape)

    def export_id(self) -> str:
        return f"torchscript/trace-freeze/torch-{torch.__version__}"

    def provenance(self) -> dict[str, Any]:
        return {"runtime": self.name, "runtime_version": torch.__version__, "opt_level": self.opt_level,
                "threads": self.threads, "exporter": f"torch.jit.trace/{torch.__version__}", "opset": 0}
