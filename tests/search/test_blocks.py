import pytest
import torch
from torch import nn

from lut.schema import Key
from search.blocks import ChannelShuffle, Head, IRBlock, Skip, build_module, input_shape, output_shape
from search.space import FBNET_CANDIDATES, fbnet_cifar


def count(module, kind):
    return sum(isinstance(m, kind) for m in module.modules())


@pytest.mark.parametrize("key", fbnet_cifar().keys())
def test_every_fbnet_cifar_key_builds_with_the_right_output_shape(key):
    m = build_module(key)
    assert not m.training
    with torch.no_grad():
        y = m(torch.randn(input_shape(key)))
    assert tuple(y.shape) == output_shape(key)


def test_ir_block_structure_follows_the_design():
    b = IRBlock(16, 16, 1, kernel=5, expansion=6, groups=1)
    convs = [m for m in b.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.groups) for c in convs] == [
        (16, 96, (1, 1), (1, 1), 1), (96, 96, (5, 5), (1, 1), 96), (96, 16, (1, 1), (1, 1), 1)]
    assert count(b, nn.BatchNorm2d) == 3
    assert count(b, nn.ReLU) == 2  # none after the last 1x1
    assert count(b.project, nn.ReLU) == 0
    assert b.residual
    assert isinstance(b.shuffle, nn.Identity)


def test_grouped_block_shuffles_and_uses_groups():
    b = IRBlock(16, 24, 2, kernel=3, expansion=1, groups=2)
    assert isinstance(b.shuffle, ChannelShuffle)
    assert b.expand[0].groups == 2 and b.project[0].groups == 2
    assert b.depthwise[0].stride == (2, 2)
    assert not b.residual


def test_residual_adds_the_input():
    b = IRBlock(8, 8, 1, 3, 1).eval()
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad():
        assert torch.allclose(b(x), x + b.project(b.depthwise(b.shuffle(b.expand(x)))))


def test_channel_shuffle_interleaves_groups():
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ChannelShuffle(2)(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_groups_must_divide_channels():
    with pytest.raises(ValueError, match="groups 2 do not divide the input channels 3"):
        IRBlock(3, 8, 1, 3, 1, groups=2)


def test_skip_is_identity_or_projection():
    assert Skip(8, 8, 1).proj is None
    assert Skip(8, 16, 1).proj is not None
    s = Skip(8, 8, 2).eval()
    assert tuple(s(torch.randn(1, 8, 8, 8)).shape) == (1, 8, 4, 4)


def test_fixed_ops():
    stem = build_module(Key("stem_k3", 3, 16, 2, 32, 32))
    assert tuple(stem(torch.randn(1, 3, 32, 32)).shape) == (1, 16, 16, 16)
    head = build_module(Key("head_c1504", 352, 10, 1, 4, 4))
    assert isinstance(head, Head) and head.conv[0].out_channels == 1504
    assert tuple(head(torch.randn(1, 352, 4, 4)).shape) == (1, 10)
    ov = build_module(Key("overhead", 3, 3, 1, 32, 32))
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(ov(x), x)


def test_all_fbnet_candidates_have_builders():
    for c in FBNET_CANDIDATES:
        assert build_module(Key(c, 16, 16, 1, 8, 8)) is not None
