"""Image sets, the search's data splits, and seeded stratified sampling.

An ``ImageSet`` keeps images as uint8 at their stored resolution; conversion
to the network's input (float, resized, normalized) happens per batch in
``search.data.batching``, so one loaded dataset serves any input size.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(eq=False)
class ImageSet:
    """Images (uint8, N x C x H x W, C = 1 or 3) and their int64 class labels."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        im, lb = self.images, self.labels
        if im.dtype != torch.uint8 or im.dim() != 4 or im.shape[1] not in (1, 3):
            raise ValueError(f"ImageSet: images must be uint8 (N, 1|3, H, W), got {im.dtype} {tuple(im.shape)}")
        if lb.dtype != torch.int64 or lb.dim() != 1 or len(lb) != len(im):
            raise ValueError(f"ImageSet: labels must be int64 ({len(im)},), got {lb.dtype} {tuple(lb.shape)}")

    def __len__(self) -> int:
        return len(self.labels)

    def __repr__(self) -> str:
        return f"ImageSet(n={len(self)}, image_shape={tuple(self.images.shape[1:])})"

    def subset(self, idx: torch.Tensor) -> ImageSet:
        """The images at ``idx`` (an index or boolean tensor), in that order."""
        return ImageSet(self.images[idx], self.labels[idx])


def concat(*sets: ImageSet) -> ImageSet:
    """The sets one after another (same image shape)."""
    return ImageSet(torch.cat([s.images for s in sets]), torch.cat([s.labels for s in sets]))


@dataclass(eq=False)
class Splits:
    """A dataset split for the search: w / theta parts of the training data, and a test set."""

    name: str
    train_w: ImageSet
    train_theta: ImageSet
    test: ImageSet
    num_classes: int
    classes: list[str]
    spare: ImageSet | None = None  # training images outside --limit that the search never loads (search.select's
    # judge tests on them beside theta); None when none were asked for or the data holds no more

    def __post_init__(self) -> None:
        if len(self.classes) != self.num_classes:
            raise ValueError(f"{self.name}: {len(self.classes)} class names for {self.num_classes} classes")

    @property
    def train(self) -> ImageSet:
        """All training data (train_w then train_theta), for training a derived net from scratch."""
        return concat(self.train_w, self.train_theta)


def allocate(counts: torch.Tensor, total: int) -> torch.Tensor:
    """Split ``total`` over classes in proportion to ``counts`` (largest remainder; ties to the lower class)."""
    n = int(counts.sum())
    quota = counts.double() * total / max(n, 1)
    base = quota.floor().long()
    extra = total - int(base.sum())
    order = torch.argsort(-(quota - base), stable=True)
    base[order[:extra]] += 1
    return base


def stratified_take(labels: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """Sorted indices of ``count`` samples drawn per class in proportion to the class sizes."""
    classes, counts = torch.unique(labels, return_counts=True)
    quota = allocate(counts, count)
    chosen = []
    for c, k in zip(classes.tolist(), quota.tolist()):
        idx = torch.nonzero(labels == c).flatten()
        perm = torch.randperm(len(idx), generator=generator)
        chosen.append(idx[perm[:k]])
    return torch.sort(torch.cat(chosen)).values if chosen else torch.zeros(0, dtype=torch.long)


def stratified_split(
    data: ImageSet, fraction: float, generator: torch.Generator
) -> tuple[ImageSet, ImageSet]:
    """(rest, part): ``part`` holds round(fraction * N) samples, stratified by class; order is kept."""
    take = stratified_take(data.labels, int(len(data) * fraction + 0.5), generator)
    mask = torch.zeros(len(data), dtype=torch.bool)
    mask[take] = True
    return data.subset(~mask), data.subset(mask)
