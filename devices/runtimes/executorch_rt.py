"""ExecuTorch: torch.export -> edge -> XNNPACK delegate -> .pte, run with executorch.runtime.

The optimization level is fixed at export: ``xnnpack`` lowers every supported
op to the XNNPACK delegate (what phones run), ``portable`` lowers nothing and
runs ExecuTorch's portable kernels. ExecuTorch ignores torch.set_num_threads;
its own thread pool is sized before a program is loaded (resizing it between
loading a method and its first run crashes the process).
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch

from devices.runtimes.base import Runtime, Session

OPT_LEVELS = ("xnnpack", "portable")
INSTALL_HINT = "ExecuTorch is not installed: pip install 'lutnas[executorch]' (executorch 1.5.1)"


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what native code prints on fd 2 (cpuinfo probing) and import-time log noise."""
    for name in ("torchao", "torch.utils._pytree"):
        logging.getLogger(name).setLevel(logging.ERROR)
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _modules() -> tuple[Any, Any, str]:
    """The runtime and pybindings modules and ExecuTorch's version; a clear error when it is missing."""
    try:
        with _quiet_stderr():
            import executorch.runtime as et_runtime
            from executorch.extension.pybindings import portable_lib
            from executorch.version import __version__
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return et_runtime, portable_lib, __version__.split("+")[0]


def set_threads(threads: int) -> None:
    """Size ExecuTorch's thread pool (done before loading, and only when it changes)."""
    _, portable_lib, _ = _modules()
    with _quiet_stderr():  # the pool's creation probes the CPU and prints about it
        if portable_lib._threadpool_get_thread_count() != threads:
            portable_lib._unsafe_reset_threadpool(threads)


def thread_count() -> int:
    """The size of ExecuTorch's thread pool now."""
    portable_lib = _modules()[1]
    with _quiet_stderr():
        return portable_lib._threadpool_get_thread_count()


class ExecuTorchSession(Session):
    """A loaded program's forward method with its input bound; the program outlives the method."""

    def __init__(self, path: Path, input_shape: tuple[int, ...]) -> None:
        et_runtime, _, _ = _modules()
        self.x = torch.randn(*input_shape, generator=torch.Generator().manual_seed(0))
        with _quiet_stderr():
            self.program = et_runtime.Runtime.get().load_program(Path(path))
            self.method = self.program.load_method("forward")
            self.run()

    def run(self) -> None:
        self.method.execute([self.x])

    def output(self, x: Any = None) -> Any:
        if x is not None:
            self.x.copy_(torch.from_numpy(x))
        return self.method.execute([self.x])[0].numpy().copy()

    def close(self) -> None:
        del self.method
        del self.program


class ExecuTorch(Runtime):
    """ExecuTorch with the XNNPACK delegate: PyTorch's on-device runtime (Caffe2's successor)."""

    name = "executorch"
    suffix = ".pte"
    title = "ExecuTorch"
    levels = OPT_LEVELS
    default_level = "xnnpack"

    def __init__(self, threads: int = 1, opt_level: str | None = None) -> None:
        super().__init__(threads, opt_level)
        self.version = _modules()[2]

    def export(self, module: Any, input_shape: tuple[int, ...], path: Path) -> None:
        with _quiet_stderr():
            from executorch.exir import to_edge_transform_and_lower

            partitioners = []
            if self.opt_level == "xnnpack":
                from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner

                partitioners = [XnnpackPartitioner()]
            x = torch.randn(*input_shape)
            with torch.no_grad():
                exported = torch.export.export(module.eval(), (x,))
                program = to_edge_transform_and_lower(exported, partitioner=partitioners).to_executorch()
        Path(path).write_bytes(program.buffer)

    def open(self, path: Path, input_shape: tuple[int, ...]) -> ExecuTorchSession:
        set_threads(self.threads)
        return ExecuTorchSession(Path(path), input_shape)

    def export_id(self) -> str:
        return f"executorch-{self.version}/{self.opt_level}/torch.export-{torch.__version__}"

    def provenance(self) -> dict[str, Any]:
        return {"runtime": self.name, "runtime_version": self.version, "opt_level": self.opt_level,
                "threads": self.threads, "exporter": f"torch.export+executorch/{torch.__version__}",
                "opset": 0}
