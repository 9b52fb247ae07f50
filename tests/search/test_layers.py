"""Searchable layers: shared weights are what they claim, and every candidate is its stand-alone block."""

from __future__ import annotations

import pytest
import torch

from search.blocks import ChannelShuffle, IRBlock, Skip
from search.layers import (WEIGHTS, IndependentLayer, SharedLayer, SlicedBatchNorm2d, check_weights,
                           group_blocks, searchable_layer, shuffle_order)
from search.space import FBNET_CANDIDATES, Layer

CANDS = FBNET_CANDIDATES  # k3_e1 k3_e1_g2 k3_e3 k3_e6 k5_e1 k5_e1_g2 k5_e3 k5_e6 skip
SLOTS = {  # (cin, cout, stride, size): the kinds of slot a layer can be
    "residual": (8, 8, 1, 8),
    "stride2": (8, 16, 2, 8),
    "widen": (8, 16, 1, 6),
}


def make(slot: str, weights: str = "shared", candidates=CANDS, seed: int = 0) -> torch.nn.Module:
    cin, cout, stride, size = SLOTS[slot]
    torch.manual_seed(seed)
    layer = searchable_layer(weights, Layer(0, 0, cin, cout, stride, size, size, tuple(candidates)), candidates)
    randomize(layer)
    return layer


def randomize(module: torch.nn.Module, seed: int = 5) -> None:
    """Non-trivial BatchNorm affine parameters and statistics (the zero-initialized residual gamma too)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                n = m.num_features
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=g) + 0.5)


def inputs(slot: str, n: int = 4, seed: int = 1) -> torch.Tensor:
    cin, _, _, size = SLOTS[slot]
    return torch.randn(n, cin, size, size, generator=torch.Generator().manual_seed(seed))


def conv_weights(fn) -> list[torch.Tensor]:
    """The weight (a detached copy) of every conv2d that ``fn()`` runs, in order."""
    weights = []

    class Record(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if func is torch.nn.functional.conv2d:
                weights.append(args[1].detach().clone())
            return func(*args, **(kwargs or {}))

    with Record():
        fn()
    return weights


def conv_weight_shapes(fn) -> list[tuple[int, ...]]:
    """The weight shape of every conv2d that ``fn()`` runs, in order."""
    return [tuple(w.shape) for w in conv_weights(fn)]


def test_registry_and_unknown_name():
    assert list(WEIGHTS) == ["shared", "independent"]
    assert check_weights("shared") == "shared"
    with pytest.raises(ValueError, match="unknown supernet weights 'tied'; known: shared, independent"):
        check_weights("tied")
    assert isinstance(make("residual", "independent"), IndependentLayer)
    assert isinstance(make("residual"), SharedLayer)


def test_shared_tensors_have_the_largest_candidates_shapes():
    layer = make("stride2")
    assert layer.expand.shape == (8 * 6, 8, 1, 1)
    assert layer.depthwise.shape == (8 * 6, 1, 5, 5)
    assert layer.project.shape == (16, 8 * 6, 1, 1)
    assert layer.skip.shape == (16, 8, 1, 1)  # skip has a projection where the shape changes
    assert make("residual").skip is None  # ... and none where it is the identity
    assert len(layer) == 9


def test_k3_kernel_is_the_centre_of_the_k5_kernel_and_changes_with_it():
    layer = make("stride2")
    k3, k5 = CANDS.index("k3_e6"), CANDS.index("k5_e6")
    dw3, dw5 = layer.weights(k3)[1].detach().clone(), layer.weights(k5)[1].detach().clone()
    assert dw3.shape == (48, 1, 3, 3) and dw5.shape == (48, 1, 5, 5)
    assert torch.equal(dw3, dw5[:, :, 1:4, 1:4])
    assert torch.equal(dw5, layer.depthwise)
    with torch.no_grad():
        layer.depthwise[7, 0, 2, 2] += 1.0  # the centre tap: both candidates change
        layer.depthwise[7, 0, 0, 0] += 1.0  # a corner: only the 5x5 changes
    assert torch.equal(layer.weights(k3)[1], layer.weights(k5)[1][:, :, 1:4, 1:4])
    assert layer.weights(k3)[1][7, 0, 1, 1] == dw3[7, 0, 1, 1] + 1.0
    assert layer.weights(k5)[1][7, 0, 0, 0] == dw5[7, 0, 0, 0] + 1.0


def test_smaller_expansions_are_the_leading_channels_of_the_largest():
    layer = make("stride2")
    e6 = [w.detach().clone() for w in layer.weights(CANDS.index("k5_e6"))]
    for name, mid in (("k5_e1", 8), ("k5_e3", 24)):
        we, wd, wp = layer.weights(CANDS.index(name))
        assert torch.equal(we, e6[0][:mid]) and torch.equal(wd, e6[1][:mid]) and torch.equal(wp, e6[2][:, :mid])
    with torch.no_grad():
        layer.expand[3, 5] += 1.0
    assert layer.weights(CANDS.index("k5_e1"))[0][3, 5] == e6[0][3, 5] + 1.0


def test_group_candidate_takes_the_block_diagonal_of_the_shuffle_ordered_rows():
    layer = make("stride2")
    we, _, wp = layer.weights(CANDS.index("k3_e1_g2"))
    assert we.shape == (8, 4, 1, 1) and wp.shape == (16, 4, 1, 1)
    order = shuffle_order(8, 2)
    assert order == [0, 2, 4, 6, 1, 3, 5, 7]
    rows = layer.expand[:8][order]
    assert torch.equal(we[:4], rows[:4, :4]) and torch.equal(we[4:], rows[4:, 4:])
    assert torch.equal(wp[:8], layer.project[:8, :4]) and torch.equal(wp[8:], layer.project[8:, 4:8])
    # after the block's own shuffle, expanded channel p is computed by shared row p (restricted to its group)
    x = inputs("stride2")
    pre = torch.nn.functional.conv2d(x, we, groups=2)
    post = ChannelShuffle(2)(pre)
    for p in range(8):
        g = order.index(p) // 4
        w = layer.expand[p:p + 1, 4 * g:4 * g + 4]
        torch.testing.assert_close(post[:, p:p + 1], torch.nn.functional.conv2d(x[:, 4 * g:4 * g + 4], w))


def test_group_blocks_of_a_dense_weight():
    w = torch.arange(4 * 6, dtype=torch.float32).reshape(4, 6, 1, 1)
    assert group_blocks(w, 1) is w
    blocks = group_blocks(w, 2)
    assert blocks.shape == (4, 3, 1, 1)
    assert blocks[:, :, 0, 0].tolist() == [[0, 1, 2], [6, 7, 8], [15, 16, 17], [21, 22, 23]]


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("slot", list(SLOTS))
@pytest.mark.parametrize("train", [True, False])
def test_every_candidate_equals_its_stand_alone_block(weights, slot, train):
    layer = make(slot, weights)
    layer.train(train)
    x = inputs(slot)
    for i, name in enumerate(CANDS):
        block = layer.block(i)
        assert isinstance(block, Skip if name == "skip" else IRBlock), name
        block.train(train)
        torch.testing.assert_close(layer.run(i, x), block(x), rtol=1e-5, atol=1e-5, msg=f"{slot} {name}")


def test_stand_alone_block_holds_copies_of_the_sliced_weights():
    layer = make("stride2")
    i = CANDS.index("k3_e3")
    block = layer.block(i)
    we, wd, wp = layer.weights(i)
    assert torch.equal(block.expand[0].weight, we) and torch.equal(block.depthwise[0].weight, wd)
    assert torch.equal(block.project[0].weight, wp)
    assert torch.equal(block.expand[1].weight, layer.bn_expand.weight[:24])
    assert torch.equal(block.project[1].running_var, layer.bn_project.running_var)
    with torch.no_grad():
        block.expand[0].weight.zero_()
    assert layer.expand.abs().sum() > 0  # a copy, not a view
    skip = layer.block(CANDS.index("skip"))
    assert torch.equal(skip.proj[0].weight, layer.skip)


def test_shared_residual_candidates_start_as_the_identity():
    cin, cout, stride, size = SLOTS["residual"]
    torch.manual_seed(0)
    layer = SharedLayer(Layer(0, 0, cin, cout, stride, size, size, CANDS), CANDS)
    x = inputs("residual")
    for i in range(len(CANDS)):
        torch.testing.assert_close(layer.run(i, x), x)


def test_only_the_candidates_slices_get_gradients():
    layer = make("stride2")
    i = CANDS.index("k3_e1")
    layer.run(i, inputs("stride2")).square().sum().backward()
    assert layer.expand.grad[:8].abs().sum() > 0 and layer.expand.grad[8:].abs().sum() == 0
    dw = layer.depthwise.grad
    assert dw[:8, :, 1:4, 1:4].abs().sum() > 0 and dw[:, :, 0].abs().sum() == 0 and dw[8:].abs().sum() == 0
    assert layer.project.grad[:, 8:].abs().sum() == 0
    assert layer.skip.grad is None


def test_norms_name_the_batchnorms_a_candidate_runs_through():
    layer = make("stride2")
    assert layer.norms(0) == [layer.bn_expand, layer.bn_depthwise, layer.bn_project]
    assert layer.norms(CANDS.index("skip")) == [layer.bn_project]
    assert make("residual").norms(CANDS.index("skip")) == []
    ind = make("stride2", "independent")
    assert ind.norms(0) == [m for m in ind[0].modules() if isinstance(m, torch.nn.BatchNorm2d)] and len(ind.norms(0)) == 3


def test_sliced_batchnorm_uses_and_updates_only_the_leading_channels():
    bn = SlicedBatchNorm2d(6, momentum=0.5)
    ref = torch.nn.BatchNorm2d(4, momentum=0.5)
    x = torch.randn(8, 4, 3, 3, generator=torch.Generator().manual_seed(0)) * 3 + 1
    torch.testing.assert_close(bn(x), ref(x))
    torch.testing.assert_close(bn.running_mean[:4], ref.running_mean)
    torch.testing.assert_close(bn.running_var[:4], ref.running_var)
    assert bn.running_mean[4:].tolist() == [0.0, 0.0] and bn.running_var[4:].tolist() == [1.0, 1.0]
    bn.eval()
    ref.eval()
    torch.testing.assert_close(bn(x), ref(x))
    bn.train()
    ref.train()
    bn.momentum = None  # cumulative average, as nn.BatchNorm2d
    ref.momentum = None
    bn.reset_running_stats()
    ref.reset_running_stats()
    for k in range(3):
        bn(x * (k + 1))
        ref(x * (k + 1))
    torch.testing.assert_close(bn.running_var[:4], ref.running_var)


def test_group_count_must_divide_the_channels():
    with pytest.raises(ValueError, match="groups 2 do not divide the input channels 5"):
        SharedLayer(Layer(3, 0, 5, 8, 1, 4, 4, ("k3_e1_g2",)), ("k3_e1_g2",))


def soft_weights(seed: int = 3) -> torch.Tensor:
    return torch.randn(len(CANDS), generator=torch.Generator().manual_seed(seed)).softmax(0)


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("slot", list(SLOTS))
def test_one_hot_mix_is_the_candidate(weights, slot):
    layer = make(slot, weights).train()
    x = inputs(slot)
    for i, name in enumerate(CANDS):
        one_hot = torch.nn.functional.one_hot(torch.tensor(i), len(CANDS)).float()
        torch.testing.assert_close(layer.mix(one_hot, x), layer.run(i, x), rtol=1e-5, atol=1e-5,
                                   msg=f"{slot} {name}")


@pytest.mark.parametrize("slot", list(SLOTS))
def test_independent_mix_is_the_weighted_sum(slot):
    layer = make(slot, "independent").eval()
    x, w = inputs(slot), soft_weights()
    torch.testing.assert_close(layer.mix(w, x), sum(w[i] * layer[i](x) for i in range(len(CANDS))))


@pytest.mark.parametrize("slot", list(SLOTS))
def test_shared_mix_adds_group_and_skip_candidates_by_their_weights(slot):
    layer = make(slot).train()
    x = inputs(slot)
    w = torch.zeros(len(CANDS))
    others = [CANDS.index("k3_e1_g2"), CANDS.index("k5_e1_g2"), CANDS.index("skip")]
    w[others] = torch.tensor([0.5, 0.3, 0.2])  # no dense candidate: the mixture is exactly linear
    expected = sum(w[i] * layer.run(i, x) for i in others)
    torch.testing.assert_close(layer.mix(w, x), expected, rtol=1e-5, atol=1e-5)


def test_shared_mix_runs_about_one_largest_candidate():
    """Dense candidates share one expand, one depthwise and one project conv; the rest run on their own."""
    layer = make("stride2").train()
    x, w = inputs("stride2"), soft_weights()
    calls = conv_weight_shapes(lambda: layer.mix(w, x))
    assert len(calls) == 3 + 2 * 3 + 1  # dense (expand, depthwise, project) + 2 group candidates + skip
    assert (48, 1, 5, 5) in calls  # the dense depthwise runs once, at the largest width and kernel
    assert len(conv_weight_shapes(lambda: sum(layer.run(i, x) for i in range(len(CANDS))))) == 8 * 3 + 1


@pytest.mark.parametrize("weights", list(WEIGHTS))
def test_mix_gives_every_candidate_a_gradient(weights):
    layer = make("stride2", weights).train()
    logits = torch.zeros(len(CANDS), requires_grad=True)
    out = layer.mix(logits.softmax(0), inputs("stride2"))
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(4))).sum().backward()
    assert (logits.grad.abs() > 0).all()


def test_shared_mix_kernel_mixes_the_centres_per_channel():
    """Dense weights on k3_e1 and k5_e6 only: the first cin channels mix both kernels, the rest are k5."""
    layer = make("stride2").train()
    w = torch.zeros(len(CANDS))
    w[CANDS.index("k3_e1")], w[CANDS.index("k5_e6")] = 0.25, 0.75
    kernel = next(k for k in conv_weights(lambda: layer.mix(w, inputs("stride2"))) if k.shape == (48, 1, 5, 5))
    ring = torch.ones(5, 5)
    ring[1:4, 1:4] = 0
    full = layer.depthwise.detach()
    torch.testing.assert_close(kernel[8:], full[8:])  # only k5_e6 covers channels 8..47
    torch.testing.assert_close(kernel[:8, :, 1:4, 1:4], full[:8, :, 1:4, 1:4])  # both cover the centre
    torch.testing.assert_close(kernel[:8] * ring, 0.75 * full[:8] * ring)  # the ring only from k5_e6


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("slot", list(SLOTS))
def test_mix_over_drawn_candidates_is_the_full_mixture(weights, slot):
    """Candidates of weight exactly 0 do not run, yet output and gradients are the full mixture's
    (checked against the same weights with 1e-30 in place of the zeros, where every candidate runs)."""
    x = inputs(slot)
    for pair in [("k3_e1", "k5_e6"), ("k3_e3", "skip"), ("k5_e1_g2", "k3_e6"), ("k3_e1", "k3_e3")]:
        outs, grads = [], []
        for fill in (0.0, 1e-30):
            layer = make(slot, weights).train()
            logits = torch.full((len(CANDS),), -1e9)
            logits[[CANDS.index(c) for c in pair]] = torch.tensor([0.3, -0.2])
            logits.requires_grad_()
            w = logits.softmax(0)
            w = torch.where(w > 0, w, torch.full_like(w, fill))
            out = layer.mix(w, x)
            (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(4))).sum().backward()
            outs.append(out.detach())
            grads.append(logits.grad.clone())
        torch.testing.assert_close(outs[0], outs[1], rtol=1e-5, atol=1e-5, msg=f"{slot} {pair}")
        torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6, msg=f"{slot} {pair}")
        assert (grads[0][[CANDS.index(c) for c in pair]] != 0).all()


def test_shared_mix_over_small_candidates_runs_at_their_size():
    """k3_e1 and k3_e3 drawn: one expand, one 3x3 depthwise of cin*3 channels, one project; nothing else."""
    layer = make("stride2").train()
    w = torch.zeros(len(CANDS))
    w[CANDS.index("k3_e1")], w[CANDS.index("k3_e3")] = 0.4, 0.6
    assert conv_weight_shapes(lambda: layer.mix(w, inputs("stride2"))) == [(24, 8, 1, 1), (24, 1, 3, 3), (16, 24, 1, 1)]


@pytest.mark.parametrize("weights", list(WEIGHTS))
def test_mix_needs_a_candidate(weights):
    with pytest.raises(ValueError, match="at least one candidate"):
        make("stride2", weights).mix(torch.zeros(len(CANDS)), inputs("stride2"))


def test_mix_takes_the_running_candidates_read_off_the_mask():
    layer = make("stride2").train()
    x, w = inputs("stride2"), soft_weights()
    torch.testing.assert_close(layer.mix(w, x, [True] * len(CANDS)), layer.mix(w, x))
    with pytest.raises(ValueError, match="at least one candidate"):
        layer.mix(w, x, [False] * len(CANDS))
    with pytest.raises(ValueError, match="8 running flags for a mask row of 9 candidates"):
        layer.mix(w, x, [True] * (len(CANDS) - 1))
