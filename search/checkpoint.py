"""A search's checkpoint (DIR/checkpoint.pt: written atomically, read with weights_only) and what is done with a
finished search's supernet: restore it, judge an architecture with its weights."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from search.config import saved_config
from search.data import batches
from search.dnas import RECALIBRATE_BATCH, RECALIBRATE_IMAGES
from search.select import FINETUNE_LR
from search.supernet import Supernet
from search.torch_device import batch_to

if TYPE_CHECKING:
    from search.dnas import Searcher

CHECKPOINT = "checkpoint.pt"


def save_checkpoint(searcher: Searcher, out: Path) -> Path:
    """Write DIR/checkpoint.pt atomically."""
    from search.torchfile import save_torch_file

    return save_torch_file(searcher.state_dict(), out / CHECKPOINT)


def load_checkpoint(out: Path) -> dict[str, Any]:
    """Read DIR/checkpoint.pt (weights_only: no code from the file runs); ValueError when unusable."""
    from search.torchfile import load_torch_file

    path = out / CHECKPOINT
    if not path.exists():
        raise ValueError(f"{out}: no {CHECKPOINT} to resume from")
    ckpt = load_torch_file(path, "a search checkpoint")
    if not isinstance(ckpt, dict) or ckpt.get("format") != "lutnas-search-checkpoint":
        raise ValueError(f"{path}: not a lutnas search checkpoint")
    if ckpt.get("version", 0) > 1:
        raise ValueError(f"{path}: written by a newer lutnas (checkpoint version {ckpt['version']})")
    return ckpt


def restore_supernet(out: Path) -> tuple[Supernet, dict[str, Any]]:
    """The supernet of the search in ``out`` (its last checkpoint) and its search.json; ValueError when unusable."""
    import json

    from search.space import get_space

    try:
        saved = json.loads((out / "search.json").read_text())
        config, run = saved_config(saved["config"]), saved["run"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{out / 'search.json'}: cannot read the search's settings: {e}") from None
    ckpt = load_checkpoint(out)
    space = get_space(run["space"], run.get("width_mult"), run.get("resolution"))
    classes = int(ckpt["net"]["head.fc.weight"].shape[0])
    net = Supernet(space, classes, config.get("mode", "hybrid"), config["weights"])
    net.load_state_dict(ckpt["net"])
    return net.eval(), saved


FINETUNE_BATCH = 64


def finetune(model: torch.nn.Module, data: Any, input_size: int, steps: int, lr: float = FINETUNE_LR,
             batch_size: int = FINETUNE_BATCH, seed: int = 0) -> int:
    """Train ``model`` (a child network carrying a supernet's weights) in place for ``steps`` batches of
    ``data`` with search.train's optimizer (SGD, Nesterov, its momentum and weight decay), the rate a cosine
    from ``lr`` to 0; batches cycle through ``data`` when it holds fewer. Returns the images seen."""
    import torch.nn.functional as F

    from search.train import MOMENTUM, WEIGHT_DECAY

    if steps < 0 or not lr > 0:
        raise ValueError(f"fine-tuning needs steps >= 0 and lr > 0, got {steps} and {lr}")
    if steps == 0:
        return 0
    device = next(model.parameters()).device
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=MOMENTUM, nesterov=True, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.5 * (1 + math.cos(math.pi * k / steps)))
    order = torch.Generator().manual_seed(seed)
    size = min(batch_size, len(data))
    seen = 0
    model.train()
    with torch.enable_grad():
        while seen < steps * size:
            for x, y in batches(data, size, input_size, shuffle=True, generator=order, drop_last=True):
                loss = F.cross_entropy(model(batch_to(x, device)), y.to(device))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                seen += len(y)
                if seen >= steps * size:
                    break
    return seen


@torch.no_grad()
def path_accuracy(net: Supernet, blocks: list[str], recalibrate_on: Any, test: Any, input_size: int,
                  images: int = RECALIBRATE_IMAGES, seed: int = 0, finetune_steps: int = 0,
                  finetune_lr: float = FINETUNE_LR) -> float:
    """Top-1 accuracy (%) on ``test`` of the architecture ``blocks`` with the supernet's weights, after its
    BatchNorm statistics are recomputed on ``images`` images of ``recalibrate_on`` (an ImageSet) and, with
    ``finetune_steps``, after a copy of its weights is trained that many batches of ``recalibrate_on``
    (:func:`finetune`; the supernet's weights do not change)."""
    from search.train import evaluate

    index = torch.tensor([net.candidates.index(b) for b in blocks])
    size = min(RECALIBRATE_BATCH, len(recalibrate_on))
    it = batches(recalibrate_on, size, input_size, shuffle=True, generator=torch.Generator().manual_seed(seed),
                 drop_last=True)
    device = next(net.parameters()).device
    net.recalibrate(index, (batch_to(x, device) for x, _ in itertools.islice(it, max(1, images // size))))
    child = net.child(blocks).to(device)
    finetune(child, recalibrate_on, input_size, finetune_steps, finetune_lr, seed=seed)
    return evaluate(child, test, input_size, device)
