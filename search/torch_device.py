"""Where a search or a training runs: the torch device named on the command line, and the memory layout."""

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


def on_device(model, device):
    """``model`` moved to ``device`` in channels-last memory layout (in place; returned).

    Channels-last lets oneDNN run the depthwise convolutions' backward pass on the CPU about 1.3x
    faster than in NCHW (benchmarks/supernet_step.py measures a step); inputs follow with ``batch_to``.
    """
    import torch

    return model.to(device=device, memory_format=torch.channels_last)


def batch_to(x, device):
    """An input batch on ``device`` in the layout ``on_device`` gives the model."""
    import torch

    return x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)
