"""Whole networks of a space: the fixed stem and head around a list of chosen blocks."""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from lut.schema import Key
from search.blocks import build_module
from search.space import Space


def stem_module(space: Space) -> nn.Module:
    """The space's fixed stem (train mode)."""
    return build_module(space.fixed_keys()["stem"]).train()


def head_module(space: Space, num_classes: int | None = None) -> nn.Module:
    """The space's fixed head; ``num_classes`` overrides the space's (the LUT keeps the space's)."""
    k = space.fixed_keys()["head"]
    return build_module(Key(k.block, k.cin, num_classes or k.cout, k.stride, k.h, k.w)).train()


def check_choices(space: Space, choices: Sequence[str]) -> list[str]:
    """One candidate per searchable layer, each allowed at its layer; ValueError otherwise."""
    choices = list(choices)
    if len(choices) != len(space.layers):
        raise ValueError(f"space {space.name!r} has {len(space.layers)} searchable layers, "
                         f"got {len(choices)} block names")
    for layer, c in zip(space.layers, choices):
        layer.key(c)  # raises with the layer's candidates
    return choices


class ChildNet(nn.Module):
    """A derived architecture: stem, one chosen block per layer, head."""

    def __init__(self, space: Space, choices: Sequence[str], num_classes: int | None = None) -> None:
        super().__init__()
        self.choices = check_choices(space, choices)
        self.stem = stem_module(space)
        self.blocks = nn.Sequential(*(build_module(l.key(c)).train() for l, c in zip(space.layers, self.choices)))
        self.head = head_module(space, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.stem(x)))
