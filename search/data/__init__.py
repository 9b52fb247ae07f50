"""Datasets for the search: loading (digits, fashion-mnist, cifar10, image folders) and batching.

    splits = load_data("fashion-mnist", seed=0)          # train_w / train_theta / test
    for x, y in batches(splits.train_w, 64, 32, shuffle=True, generator=g): ...

Images stay uint8 at their stored size until ``batches`` resizes and
normalizes each batch (see ``search.data.batching`` for the constants and
the DDP sharding rule).
"""

from .batching import MEAN, STD, batches, num_batches, to_input
from .registry import DATASETS, Loader, RawData, load_data, parse_spec, register_dataset
from .sets import ImageSet, Splits, stratified_take

__all__ = [
    "DATASETS", "ImageSet", "Loader", "MEAN", "RawData", "STD", "Splits",
    "batches", "load_data", "num_batches", "parse_spec", "register_dataset", "stratified_take", "to_input",
]
