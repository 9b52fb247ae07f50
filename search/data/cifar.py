"""CIFAR-10, python (pickled) or binary version.

The python batches are pickles. They are read with an Unpickler that
resolves only the numpy array-reconstruction globals these files need;
any other global (os.system, builtins.eval, ...) is refused before it is
looked up, so nothing in a hostile file can run.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .sets import ImageSet, concat

CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
RECORD = 1 + 3 * 32 * 32


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of bytes use it, limited to latin-1."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _allowed() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 2
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]

    return {
        ("numpy.core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): multiarray._reconstruct,
        ("numpy.core.numeric", "_frombuffer"): numeric._frombuffer,
        ("numpy._core.numeric", "_frombuffer"): numeric._frombuffer,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }


class Refused(pickle.UnpicklingError):
    """A pickle referenced a global outside the allow-list."""


class SafeUnpickler(pickle.Unpickler):
    """Resolves only numpy array reconstruction (and latin-1 bytes); refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        found = _allowed().get((module, name))
        if found is None:
            raise Refused(f"refusing to load global {module}.{name} (only numpy array data is allowed)")
        return found


def safe_load(path: Path) -> Any:
    """Unpickle ``path`` with ``SafeUnpickler``; any failure is a ValueError naming the file."""
    try:
        return SafeUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except Refused as e:
        raise ValueError(f"cifar10: {path}: {e}") from None
    except Exception as e:  # a corrupt pickle can fail in many ways
        raise ValueError(f"cifar10: {path}: not a readable CIFAR-10 python batch ({type(e).__name__}: {e})") from None


def _text_keys(obj: Any, path: Path) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValueError(f"cifar10: {path}: expected a dict, found {type(obj).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else str(k): v for k, v in obj.items()}


def _labels(values: Any, n: int, path: Path) -> torch.Tensor:
    try:
        labels = np.asarray(values, dtype=np.int64)
    except (TypeError, ValueError):
        raise ValueError(f"cifar10: {path}: 'labels' is not a list of integers") from None
    if labels.shape != (n,):
        raise ValueError(f"cifar10: {path}: 'labels' has shape {labels.shape}, expected ({n},)")
    if n and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"cifar10: {path}: labels out of range 0..9")
    return torch.from_numpy(labels)


def read_python_batch(path: Path) -> ImageSet:
    """One python-version batch: a dict with 'data' (N x 3072 uint8) and 'labels'."""
    d = _text_keys(safe_load(path), path)
    data = d.get("data")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != RECORD - 1:
        what = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"cifar10: {path}: 'data' is {what}, expected a uint8 array of shape (N, 3072)")
    labels = _labels(d.get("labels"), len(data), path)
    return ImageSet(torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), labels)


def read_binary_batch(path: Path) -> ImageSet:
    """One binary-version batch: 3073-byte records (label byte, then 3072 pixel bytes)."""
    raw = path.read_bytes()
    if len(raw) % RECORD:
        raise ValueError(f"cifar10: {path}: {len(raw)} bytes is not a whole number of {RECORD}-byte records")
    records = np.frombuffer(raw, np.uint8).reshape(-1, RECORD)
    images = records[:, 1:].reshape(-1, 3, 32, 32).copy()
    return ImageSet(torch.from_numpy(images), _labels(records[:, 0], len(records), path))


def _python_classes(path: Path) -> list[str]:
    names = _text_keys(safe_load(path), path).get("label_names")
    if not isinstance(names, list) or len(names) != 10:
        raise ValueError(f"cifar10: {path}: expected 'label_names', a list of 10 names")
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def _binary_classes(path: Path) -> list[str]:
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(names) != 10:
        raise ValueError(f"cifar10: {path}: expected 10 class names, one a line, found {len(names)}")
    return names


def load_cifar10(directory: Path) -> tuple[ImageSet, ImageSet, list[str]]:
    """(train, test, class names) from a CIFAR-10 python or binary batch directory."""
    if not directory.is_dir():
        raise ValueError(f"cifar10: directory {directory} does not exist")
    if not any((directory / n).exists() for n in ("data_batch_1", "data_batch_1.bin")):
        for sub in ("cifar-10-batches-py", "cifar-10-batches-bin"):  # the archives' top folders
            if (directory / sub).is_dir():
                directory = directory / sub
                break
    if (directory / "data_batch_1").is_file():
        names = list(TRAIN_BATCHES) + ["test_batch"]
        read, meta, read_meta = read_python_batch, "batches.meta", _python_classes
    elif (directory / "data_batch_1.bin").is_file():
        names = [f"{n}.bin" for n in TRAIN_BATCHES] + ["test_batch.bin"]
        read, meta, read_meta = read_binary_batch, "batches.meta.txt", _binary_classes
    else:
        raise ValueError(f"cifar10: {directory} has neither data_batch_1 (python version) "
                         f"nor data_batch_1.bin (binary version)")
    for n in names:
        if not (directory / n).is_file():
            raise ValueError(f"cifar10: missing {directory / n} (expected {', '.join(names)})")
    train = concat(*(read(directory / n) for n in names[:-1]))
    test = read(directory / names[-1])
    classes = read_meta(directory / meta) if (directory / meta).is_file() else list(CIFAR10_CLASSES)
    return train, test, classes
