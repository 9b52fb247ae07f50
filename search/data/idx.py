"""The idx format (MNIST, Fashion-MNIST): parsed with numpy, gzipped or not."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from .sets import ImageSet

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dims (N, H, W)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dim (N,)
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def read_idx(path: Path, magic: int) -> np.ndarray:
    """The array stored in an idx file (gzip detected by content), checked against ``magic``."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt gzip data ({e})") from None
    if len(raw) < 4:
        raise ValueError(f"{path}: truncated: {len(raw)} bytes, no idx header")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise ValueError(f"{path}: bad idx magic 0x{found:08x}, expected 0x{magic:08x}")
    header = 4 + 4 * (magic & 0xFF)
    if len(raw) < header:
        raise ValueError(f"{path}: truncated idx header ({len(raw)} of {header} bytes)")
    dims = [int(d) for d in np.frombuffer(raw, ">u4", magic & 0xFF, 4)]
    need = int(np.prod(dims))
    have = len(raw) - header
    if have != need:
        what = "truncated" if have < need else "trailing bytes"
        raise ValueError(f"{path}: {what}: dims {'x'.join(map(str, dims))} need {need} data bytes, file has {have}")
    return np.frombuffer(raw, np.uint8, need, header).reshape(dims).copy()


def _find(name: str, directory: Path, base: str) -> Path:
    for p in (directory / base, directory / f"{base}.gz"):
        if p.is_file():
            return p
    raise ValueError(f"{name}: {directory} has no {base}[.gz] (expected the idx files {', '.join(IDX_FILES)})")


def load_idx_dir(name: str, directory: Path, num_classes: int) -> tuple[ImageSet, ImageSet]:
    """(train, test) from the four idx files in ``directory`` (t10k is the test set)."""
    if not directory.is_dir():
        raise ValueError(f"{name}: directory {directory} does not exist")
    paths = [_find(name, directory, base) for base in IDX_FILES]
    sets = []
    for images_path, labels_path in (paths[:2], paths[2:]):
        images = read_idx(images_path, IMAGES_MAGIC)
        labels = read_idx(labels_path, LABELS_MAGIC)
        if len(labels) != len(images):
            raise ValueError(f"{name}: {labels_path} has {len(labels)} labels "
                             f"for {len(images)} images in {images_path}")
        if len(labels) and labels.max() >= num_classes:
            raise ValueError(f"{name}: {labels_path}: label {labels.max()} out of range 0..{num_classes - 1}")
        sets.append(ImageSet(torch.from_numpy(images).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))))
    return sets[0], sets[1]
