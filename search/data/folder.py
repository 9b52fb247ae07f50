"""Image folders: one subfolder per class, read with Pillow as RGB at FOLDER_SIZE x FOLDER_SIZE."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .sets import ImageSet

FOLDER_SIZE = 64
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".ppm", ".pgm", ".tif", ".tiff")


def _class_dirs(directory: Path) -> list[Path]:
    return sorted(d for d in directory.iterdir() if d.is_dir() and not d.name.startswith("."))


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert("RGB").resize((FOLDER_SIZE, FOLDER_SIZE), Image.Resampling.BILINEAR)
            return np.asarray(im, dtype=np.uint8).transpose(2, 0, 1)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ValueError(f"folder: cannot read image {path} ({e})") from None


def read_classes(directory: Path, classes: list[str] | None = None) -> tuple[ImageSet, list[str]]:
    """Images of each class subfolder of ``directory``; labels index ``classes`` (default: the subfolders)."""
    dirs = _class_dirs(directory)
    if classes is None:
        if len(dirs) < 2:
            raise ValueError(f"folder: {directory} has {len(dirs)} class folder(s); "
                             f"need at least 2 (one subfolder per class)")
        classes = [d.name for d in dirs]
    images, labels = [], []
    for d in dirs:
        if d.name not in classes:
            raise ValueError(f"folder: {d} is not one of the training classes ({', '.join(classes)})")
        files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"folder: class folder {d} has no images ({' '.join(IMAGE_SUFFIXES)})")
        images += [_read_image(f) for f in files]
        labels += [classes.index(d.name)] * len(files)
    if not images:
        raise ValueError(f"folder: {directory} has no class folders with images")
    return ImageSet(torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.int64)), classes


def load_folder(directory: Path) -> tuple[ImageSet, ImageSet | None, list[str]]:
    """(train, test or None, classes); a train/ + test/ layout gives the test set, else None."""
    if not directory.is_dir():
        raise ValueError(f"folder: directory {directory} does not exist")
    if (directory / "train").is_dir() and (directory / "test").is_dir():
        train, classes = read_classes(directory / "train")
        test, _ = read_classes(directory / "test", classes)
        return train, test, classes
    train, classes = read_classes(directory)
    return train, None, classes
