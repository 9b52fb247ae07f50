"""Dataset registry and ``load_data``: a spec string -> seeded, stratified Splits.

Spec grammar: ``NAME`` or ``NAME:ARG`` (ARG is a directory for the file-based
datasets). The held-out test set is the dataset's own where it has one;
otherwise a stratified 20% split drawn with the fixed seed TEST_SEED, so the
test set does not change with the search seed and results of runs with
different seeds stay comparable. ``limit`` and the w/theta split use ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lutnas.registry import Registry

from .cifar import load_cifar10
from .folder import load_folder
from .idx import FASHION_CLASSES, load_idx_dir
from .sets import ImageSet, Splits, stratified_split, stratified_take

TEST_FRACTION = 0.2
TEST_SEED = 0
SPARE_STREAM = 104729  # added to the seed: spare images drawn apart from the generator of --limit and w/theta
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")


@dataclass(eq=False)
class RawData:
    """What a loader returns: training images, the test images (None: split one off), class names."""

    train: ImageSet
    test: ImageSet | None
    classes: list[str]


Loader = Callable[[str | None], RawData]
DATASETS: Registry[str, Loader] = Registry("dataset")


def register_dataset(name: str, loader: Loader) -> None:
    """Add a dataset; ``loader(arg)`` gets the part of the spec after ':' (or None)."""
    if not name or ":" in name:
        raise ValueError(f"dataset name {name!r} must be non-empty and contain no ':'")
    DATASETS.register(name, loader)


def _directory(name: str, arg: str | None) -> Path:
    if arg is None:
        raise ValueError(f"{name} needs a directory: {name}:DIR")
    return Path(arg).expanduser()


def _digits(arg: str | None) -> RawData:
    if arg is not None:
        raise ValueError(f"digits takes no argument (it is bundled with scikit-learn), got 'digits:{arg}'")
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.round(d.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)[:, None]
    train = ImageSet(torch.from_numpy(images), torch.from_numpy(d.target.astype(np.int64)))
    return RawData(train, None, [str(i) for i in range(10)])


def _fashion_mnist(arg: str | None) -> RawData:
    directory = FASHION_MNIST_DIR if arg is None else Path(arg).expanduser()
    train, test = load_idx_dir("fashion-mnist", directory, len(FASHION_CLASSES))
    return RawData(train, test, list(FASHION_CLASSES))


def _cifar10(arg: str | None) -> RawData:
    return RawData(*load_cifar10(_directory("cifar10", arg)))


def _folder(arg: str | None) -> RawData:
    return RawData(*load_folder(_directory("folder", arg)))


register_dataset("digits", _digits)
register_dataset("fashion-mnist", _fashion_mnist)
register_dataset("cifar10", _cifar10)
register_dataset("folder", _folder)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """``NAME[:ARG]`` -> (NAME, ARG or None); an unknown NAME lists the known ones."""
    name, sep, arg = spec.partition(":")
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r} in {spec!r}; known: {', '.join(sorted(DATASETS))}")
    if sep and not arg:
        raise ValueError(f"empty argument in dataset spec {spec!r}")
    return name, arg if sep else None


def load_data(spec: str, *, seed: int = 0, theta_fraction: float = 0.2, limit: int | None = None,
              spare: int = 0) -> Splits:
    """Load ``spec`` and split its training data into w / theta parts (stratified, seeded). With ``limit`` below
    the training set, ``spare`` more of its images (stratified; fewer when fewer are left) are kept apart as
    ``Splits.spare``; the w / theta parts are the same with or without them."""
    if not 0.0 < theta_fraction < 1.0:
        raise ValueError(f"theta_fraction must be in (0, 1), got {theta_fraction}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    if isinstance(spare, bool) or not isinstance(spare, int) or spare < 0:
        raise ValueError(f"spare must be a non-negative integer, got {spare!r}")
    name, arg = parse_spec(spec)
    raw = DATASETS[name](arg)
    train, test = raw.train, raw.test
    if len(train) and int(train.labels.max()) >= len(raw.classes):
        raise ValueError(f"{spec}: label {int(train.labels.max())} but only {len(raw.classes)} classes")
    if test is None:
        train, test = stratified_split(train, TEST_FRACTION, torch.Generator().manual_seed(TEST_SEED))
    generator = torch.Generator().manual_seed(seed)
    held = None
    if limit is not None and limit < len(train):
        taken = stratified_take(train.labels, limit, generator)
        held = _spare(train, taken, spare, seed)
        train = train.subset(taken)
    train_w, train_theta = stratified_split(train, theta_fraction, generator)
    if not len(train_w) or not len(train_theta):
        raise ValueError(f"{spec}: {len(train)} training images are too few to split into w and theta parts")
    return Splits(spec, train_w, train_theta, test, len(raw.classes), list(raw.classes), held)


def _spare(train: ImageSet, taken: torch.Tensor, count: int, seed: int) -> ImageSet | None:
    """``count`` of the training images outside ``taken`` (stratified, drawn with their own seed), or None."""
    if not count:
        return None
    mask = torch.ones(len(train), dtype=torch.bool)
    mask[taken] = False
    rest = torch.nonzero(mask).flatten()
    if not len(rest):
        return None
    generator = torch.Generator().manual_seed(SPARE_STREAM + seed)
    pick = stratified_take(train.labels[rest], min(count, len(rest)), generator)
    return train.subset(rest[pick])
