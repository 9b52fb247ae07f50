"""torch.save files: read safely (weights_only: no code from the file runs) and written atomically, with
one-line errors."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from lutnas import files

REFUSED = ("refused: it holds objects other than tensors and plain values, and loading those would run "
           "code from the file")


def load_torch_file(path: Path, what: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; ValueError naming ``path`` and ``what`` it should be
    when it is missing, empty, not a torch.save archive, truncated, or holds anything but tensors and plain
    values (torch's advice to retry with ``weights_only=False`` is not repeated)."""
    import pickle

    import torch

    if not path.exists():
        raise ValueError(f"{path}: no such file (expected {what})")
    if path.is_dir():
        raise ValueError(f"{path}: is a folder (expected {what})")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (expected {what}; a disk that filled up while it was written?)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path}: not a torch.save file (expected {what})")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ValueError(f"{path}: {REFUSED}") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds on a damaged archive
        lines = str(e).strip().splitlines()
        raise ValueError(f"{path}: cannot read {what}: {(lines[0] if lines else type(e).__name__)[:200]}") from None


def save_torch_file(obj: Any, path: Path) -> Path:
    """``torch.save(obj)`` to ``path`` atomically (``lutnas.files``); a failed write (torch reports a full disk as
    a RuntimeError) is an OSError naming ``path`` and leaves no temporary file."""
    import torch

    try:
        with files.replacing(path, suffix=".part", parents=True) as tmp:
            torch.save(obj, tmp)
    except RuntimeError as e:
        raise OSError(f"{path}: cannot write (is the disk full?): {' '.join(str(e).split())[:200]}") from None
    return path
