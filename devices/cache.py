"""Exported artifacts, cached by a content hash of what determines their bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable

from devices.runtimes.base import Runtime
from lutnas import files


def default_cache_dir() -> Path:
    """$LUTNAS_CACHE, else $XDG_CACHE_HOME/lutnas, else ~/.cache/lutnas."""
    if os.environ.get("LUTNAS_CACHE"):
        return Path(os.environ["LUTNAS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "lutnas"


def content_hash(module: Any, input_shape: tuple[int, ...], runtime: Runtime) -> str:
    """sha256 over the module's structure, its parameter shapes, the input shape and the exporter."""
    h = hashlib.sha256()
    h.update(repr(module).encode())
    for name, t in list(module.state_dict().items()):
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
    h.update(repr(tuple(input_shape)).encode())
    h.update(runtime.export_id().encode())
    return h.hexdigest()


class ArtifactCache:
    """A folder of exported models named by content hash; writes are atomic."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root else default_cache_dir()
        self.hits = 0
        self.misses = 0

    def path(self, digest: str, runtime: Runtime) -> Path:
        """Where the artifact with this digest lives."""
        return self.root / runtime.name / f"{digest}{runtime.suffix}"

    def get(self, build: Callable[[], Any], input_shape: tuple[int, ...], runtime: Runtime) -> Path:
        """The artifact for the module ``build()`` returns, exported only if not cached."""
        module = build()
        target = self.path(content_hash(module, input_shape, runtime), runtime)
        if target.exists():
            self.hits += 1
            return target
        with files.replacing(target, suffix=".part", parents=True) as tmp:
            runtime.export(module, input_shape, tmp)
        self.misses += 1
        return target
