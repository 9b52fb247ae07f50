"""Mini-batches for training: resize per batch, gray -> 3 channels, normalize, shard for DDP.

Normalization: x = (pixel / 255 - MEAN) / STD with MEAN = 0.5, STD = 0.25,
so pixel values 0..255 map to -2..2 (zero mean, unit variance for a uniform
spread of intensities; one rule for every dataset, so a derived network
trained on one split runs unchanged on another).

Sharding (rank r of world W): each epoch's order (shuffled or not) is cut to
a multiple of W, dropping the last ``N mod W`` samples of that order (at most
W - 1; a different few each shuffled epoch), and rank r takes every W-th
sample starting at r. Shards are disjoint and equally long, so every rank
runs the same number of batches of the same sizes. All ranks must pass a
generator in the same state (same seed and epoch) to agree on the order.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F

from .sets import ImageSet

MEAN = 0.5
STD = 0.25


def to_input(images: torch.Tensor, input_size: int) -> torch.Tensor:
    """uint8 (B, C, H, W) -> normalized float32 (B, 3, input_size, input_size)."""
    x = images.float().div_(255.0)
    h, w = x.shape[-2:]
    if (h, w) != (input_size, input_size):
        x = F.interpolate(x, size=(input_size, input_size), mode="bilinear", align_corners=False,
                          antialias=input_size < max(h, w))
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return ((x - MEAN) / STD).contiguous()


def _check(batch_size: int, rank: int, world: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"need 0 <= rank < world, got rank={rank} world={world}")


def num_batches(data: ImageSet, batch_size: int, drop_last: bool = False, world: int = 1) -> int:
    """How many batches each rank gets from ``batches`` per epoch."""
    _check(batch_size, 0, world)
    per_rank = len(data) // world
    return per_rank // batch_size if drop_last else -(-per_rank // batch_size)


def batches(
    data: ImageSet,
    batch_size: int,
    input_size: int,
    *,
    shuffle: bool,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
    rank: int = 0,
    world: int = 1,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of (inputs float32 (B, 3, S, S), labels int64 (B,)) for this rank.

    The order is drawn now (the generator advances at the call), only from
    ``generator``; shuffling without one is an error, so runs stay deterministic.
    """
    _check(batch_size, rank, world)
    if input_size < 1:
        raise ValueError(f"input_size must be >= 1, got {input_size}")
    if shuffle and generator is None:
        raise ValueError("batches(shuffle=True) needs a torch.Generator (deterministic order)")
    n = len(data)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    per_rank = n // world
    mine = order[rank: per_rank * world: world]
    count = num_batches(data, batch_size, drop_last, world)

    def epoch() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for b in range(count):
            idx = mine[b * batch_size: (b + 1) * batch_size]
            yield to_input(data.images[idx], input_size), data.labels[idx]

    return epoch()
