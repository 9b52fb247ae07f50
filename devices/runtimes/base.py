"""The runtime interface: export a module for an input shape; open the artifact to run it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any


class Session(ABC):
    """A loaded artifact bound to one input; ``run()`` is one timed inference."""

    @abstractmethod
    def run(self) -> None:
        """Run one inference on the bound input."""

    def output(self, x: Any = None) -> Any:
        """Run once and return the output as a numpy array (for checks, not timing); ``x`` (a float32 numpy
        array of the input's shape) is copied into the bound input first, and stays bound."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the session's resources."""


class Rotation(Session):
    """Several loaded copies of one artifact; each run uses the next copy (round robin), so a run finds the
    caches as the other copies left them rather than as its own last run did."""

    def __init__(self, sessions: list[Session]) -> None:
        if not sessions:
            raise ValueError("a rotation needs at least one session")
        self.sessions = sessions
        self.next = 0

    def run(self) -> None:
        self.sessions[self.next].run()
        self.next = (self.next + 1) % len(self.sessions)

    def output(self, x: Any = None) -> Any:
        return self.sessions[0].output(x)

    def close(self) -> None:
        for s in self.sessions:
            s.close()


class Runtime(ABC):
    """One way of deploying a module: its exporter, its artifact, its benchmark."""

    name: str = ""
    suffix: str = ""
    title: str = ""  # the name in messages, e.g. "ONNX Runtime"
    levels: tuple[str, ...] = ()  # the optimization levels it knows
    default_level: str = ""  # the level used when none is asked for

    def __init__(self, threads: int = 1, opt_level: str | None = None) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        self.threads = threads
        self.opt_level = opt_level or self.default_level
        if self.opt_level not in self.levels:
            raise ValueError(f"unknown {self.title or self.name} optimization level {self.opt_level!r}; "
                             f"known: {', '.join(self.levels)}")

    @abstractmethod
    def export(self, module: Any, input_shape: tuple[int, ...], path: Path) -> None:
        """Write ``module`` (eval mode) traced at ``input_shape`` to ``path``."""

    @abstractmethod
    def open(self, path: Path, input_shape: tuple[int, ...]) -> Session:
        """Load an exported artifact with a bound random input of ``input_shape``."""

    def open_copies(self, path: Path, input_shape: tuple[int, ...], copies: int) -> Session:
        """``copies`` loaded copies of an artifact, run in turn (a ``Rotation``); one copy is a plain session.
        Runtimes that can bind one input buffer to every copy do (a network's layer reads its input where the
        previous layer wrote it, not from a buffer of its own)."""
        if copies < 1:
            raise ValueError(f"copies must be >= 1, got {copies}")
        if copies == 1:
            return self.open(path, input_shape)
        return Rotation([self.open(path, input_shape) for _ in range(copies)])

    @abstractmethod
    def export_id(self) -> str:
        """What determines the exported bytes besides the module (exporter, version, opset)."""

    @abstractmethod
    def provenance(self) -> dict[str, Any]:
        """LUT provenance fields: runtime, runtime_version, opt_level, threads, exporter, opset."""
