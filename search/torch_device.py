"""Where a search or a training runs: the torch device named on the command line, and the memory layout."""

from __future__ import annotations

import os
from typing import Any

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


EVAL_BATCH = 256  # eval_batch() off the CPU
CPU_EVAL_BATCH = 64  # and on the CPU, per torch thread (benchmarks/eval_batch.py; lutnas 0.15)


def eval_batch(device: Any) -> int:
    """The batch of evaluations (search.train.evaluate, the search's validation) on ``device``: CPU_EVAL_BATCH per
    torch thread on the CPU, where a small batch keeps each thread's share of a layer's activations in its core's
    cache, EVAL_BATCH elsewhere. Eval-mode BatchNorm treats each image alone, so the batch changes the time, not
    the accuracy. On a 2-core VM at 16x16 (benchmarks/eval_batch.py): 1 thread, 64 was 1.2-2.1x faster than 256
    over 4 architectures (1.6-1.9x at 32x32); 2 threads, 128 was 1.15-1.24x faster."""
    import torch

    if torch.device(device).type != "cpu":
        return EVAL_BATCH
    return CPU_EVAL_BATCH * torch.get_num_threads()
