"""The candidate blocks and fixed ops as torch modules, built from LUT keys.

FBNet block ``k<K>_e<E>[_g<G>]``: 1x1 conv (groups G) -> BN -> ReLU ->
channel shuffle (G > 1) -> KxK depthwise conv (stride s) -> BN -> ReLU ->
1x1 conv (groups G) -> BN, plus the input when stride 1 and cin == cout.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from lut.names import BlockName, parse_name
from lut.schema import Key


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle; export-friendly (reshape/transpose/reshape; any memory format)."""
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class ChannelShuffle(nn.Module):
    """``channel_shuffle`` as a module."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return channel_shuffle(x, self.groups)


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, relu: bool = True) -> nn.Sequential:
    """Conv (no bias, same padding) + BN [+ ReLU]."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class IRBlock(nn.Module):
    """FBNet's inverted-residual candidate block."""

    def __init__(self, cin: int, cout: int, stride: int, kernel: int, expansion: int, groups: int = 1) -> None:
        super().__init__()
        mid = cin * expansion
        for what, c in (("input", cin), ("expanded", mid), ("output", cout)):
            if c % groups:
                raise ValueError(f"groups {groups} do not divide the {what} channels {c}")
        self.expand = conv_bn(cin, mid, 1, groups=groups)
        self.shuffle = ChannelShuffle(groups) if groups > 1 else nn.Identity()
        self.depthwise = conv_bn(mid, mid, kernel, stride, groups=mid)
        self.project = conv_bn(mid, cout, 1, groups=groups, relu=False)
        self.residual = stride == 1 and cin == cout
        if self.residual:  # start as the identity: deep stacks of residual blocks train stably (timm's zero_init_last)
            nn.init.zeros_(self.project[1].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.shuffle(self.expand(x))))
        return x + y if self.residual else y


class Skip(nn.Module):
    """Identity where the shape is kept, else 1x1 conv (stride s) + BN."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.proj = None if (stride == 1 and cin == cout) else conv_bn(cin, cout, 1, stride, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.proj is None else self.proj(x)


class Head(nn.Module):
    """1x1 conv to ``channels`` + BN + ReLU, global average pool, FC to classes."""

    def __init__(self, cin: int, channels: int, num_classes: int) -> None:
        super().__init__()
        self.conv = conv_bn(cin, channels, 1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.conv(x), 1), 1))


class Identity(nn.Module):
    """The overhead model. (nn.Identity exports to an empty graph; this gives one op.)"""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


_BUILDERS: dict[str, Callable[[BlockName, Key], nn.Module]] = {
    "ir": lambda b, k: IRBlock(k.cin, k.cout, k.stride, b.kernel, b.expansion, b.groups),
    "skip": lambda b, k: Skip(k.cin, k.cout, k.stride),
    "stem": lambda b, k: conv_bn(k.cin, k.cout, b.kernel, k.stride),
    "head": lambda b, k: Head(k.cin, b.channels, k.cout),
    "overhead": lambda b, k: Identity(),
}


def build_module(key: Key) -> nn.Module:
    """The module a LUT key names, in eval mode."""
    block = parse_name(key.block)
    return _BUILDERS[block.kind](block, key).eval()


def input_shape(key: Key) -> tuple[int, int, int, int]:
    """The NCHW input a key's module is measured with (batch 1)."""
    return (1, key.cin, key.h, key.w)


def output_shape(key: Key) -> tuple[int, ...]:
    """The output shape a key's module produces (batch 1)."""
    if parse_name(key.block).kind == "head":
        return (1, key.cout)
    if parse_name(key.block).kind == "overhead":
        return input_shape(key)
    return (1, key.cout, (key.h - 1) // key.stride + 1, (key.w - 1) // key.stride + 1)
