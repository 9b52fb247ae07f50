"""Where a search or a training runs: the torch device named on the command line."""

from __future__ import annotations

import os

TRAIN_DEVICES = ("cpu", "cuda")


def train_device(kind: str):
    """The torch device for ``kind`` (cuda: this process's GPU under torchrun); ValueError if unusable."""
    import torch

    if kind not in TRAIN_DEVICES:
        raise ValueError(f"unknown train device {kind!r}; known: {', '.join(TRAIN_DEVICES)}")
    if kind == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"--train-device cuda: no CUDA GPU is usable here (torch {torch.__version__}); "
                         f"use --train-device cpu")
    index = int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count()
    torch.cuda.set_device(index)
    return torch.device("cuda", index)
