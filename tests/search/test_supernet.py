"""The supernet: Gumbel masks, hard and soft forwards, and where the gradients go."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lut.matrix import Matrix
from search.latency import LatencyTerm
from search.network import ChildNet
from search.space import get_space
from search.supernet import MODES, Supernet, gumbel_mask

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "spaces" / "tiny.toml"


@pytest.fixture(scope="module")
def space():
    return get_space(str(TINY))


def randomize_bn(net: torch.nn.Module) -> torch.nn.Module:
    """Non-degenerate BN scales: zero-initialized residual branches make candidates start as the
    identity, where every candidate computes the same function and theta's gradient is zero."""
    g = gen(11)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
    return net


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def theta(seed: int = 0, shape=(3, 4)) -> torch.Tensor:
    return torch.randn(shape, generator=gen(seed + 100)).requires_grad_()


def test_hard_mask_is_exactly_one_hot_with_a_straight_through_gradient():
    t = theta()
    mask, index = gumbel_mask(t, 1.0, hard=True, generator=gen())
    assert mask.shape == (3, 4) and index.shape == (3,)
    assert torch.equal(mask.detach(), F.one_hot(index, 4).float())  # exact, not approximately
    weights = torch.randn(3, 4, generator=gen(7))
    (mask * weights).sum().backward()
    assert (t.grad != 0).all()  # every logit of every layer, not only the sampled one


def test_index_is_the_argmax_of_the_perturbed_logits():
    t = theta()
    soft, index = gumbel_mask(t, 0.5, hard=False, generator=gen(3))
    assert torch.equal(index, soft.argmax(dim=1))
    hard, index_h = gumbel_mask(t, 0.5, hard=True, generator=gen(3))
    assert torch.equal(index, index_h)


def test_same_generator_seed_same_sample():
    t = theta()
    a = [gumbel_mask(t, 1.0, hard=False, generator=gen(5))[0] for _ in range(2)]
    assert torch.equal(a[0], a[1])
    b, _ = gumbel_mask(t, 1.0, hard=False, generator=gen(6))
    assert not torch.equal(a[0], b)
    # draws come from the generator only: the global RNG does not change them
    torch.manual_seed(123)
    c, _ = gumbel_mask(t, 1.0, hard=False, generator=gen(5))
    assert torch.equal(a[0], c)


def test_soft_mask_rows_sum_to_one_and_sharpen_as_tau_falls():
    t = theta()
    peaks = []
    for tau in (10.0, 1.0, 0.1):
        mask, _ = gumbel_mask(t, tau, hard=False, generator=gen(1))
        torch.testing.assert_close(mask.sum(dim=1), torch.ones(3))
        assert (mask > 0).all()
        peaks.append(float(mask.detach().max(dim=1).values.mean()))
    assert peaks[0] < peaks[1] < peaks[2]
    assert peaks[2] > 0.9 and peaks[0] < 0.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="tau must be > 0"):
        gumbel_mask(theta(), 0.0, hard=True)
    with pytest.raises(ValueError, match=r"\(layers, candidates\)"):
        gumbel_mask(torch.zeros(4), 1.0, hard=True)


def test_unknown_mode_lists_the_modes(space):
    with pytest.raises(ValueError, match="unknown supernet mode 'gdas'; modes: hard, soft"):
        Supernet(space, mode="gdas")
    assert MODES == ("hard", "soft")


def test_structure_and_parameter_groups(space):
    net = Supernet(space, num_classes=5)
    L, K = len(space.layers), len(space.candidates)
    assert net.theta.shape == (L, K) and (net.theta == 0).all()
    torch.testing.assert_close(net.probabilities(), torch.full((L, K), 1 / K))
    assert len(net.layers) == L and all(len(ops) == K for ops in net.layers)
    assert all(op.training for ops in net.layers for op in ops)
    assert net.arch_parameters() == [net.theta]
    w = net.weight_parameters()
    assert all(p is not net.theta for p in w)
    assert len(w) + 1 == len(list(net.parameters()))
    assert net.head.fc.out_features == 5
    mask, index = net.sample(1.0, gen())
    assert net(torch.randn(2, 3, 16, 16), mask, index).shape == (2, 5)
    with pytest.raises(ValueError, match="expected mask"):
        net(torch.randn(2, 3, 16, 16), mask[:2], index[:2])


def calls_per_candidate(net: Supernet) -> list[list[int]]:
    counts = [[0] * len(ops) for ops in net.layers]
    for l, ops in enumerate(net.layers):
        for i, op in enumerate(ops):
            op.register_forward_hook(lambda *_, l=l, i=i: counts[l].__setitem__(i, counts[l][i] + 1))
    return counts


def test_hard_forward_runs_only_the_sampled_candidates(space):
    torch.manual_seed(0)
    net = Supernet(space, mode="hard")
    counts = calls_per_candidate(net)
    mask, index = net.sample(1.0, gen(2))
    net(torch.randn(2, 3, 16, 16), mask, index)
    expected = F.one_hot(index, len(space.candidates)).tolist()
    assert counts == expected


def test_soft_forward_runs_every_candidate(space):
    torch.manual_seed(0)
    net = Supernet(space, mode="soft")
    counts = calls_per_candidate(net)
    mask, index = net.sample(1.0, gen(2))
    net(torch.randn(2, 3, 16, 16), mask, index)
    assert counts == [[1] * len(space.candidates)] * len(space.layers)


@pytest.mark.parametrize("train", [True, False])
def test_hard_forward_equals_the_child_network(space, train):
    torch.manual_seed(0)
    net = Supernet(space, mode="hard")
    mask, index = net.sample(1.0, gen(4))
    choices = net.choices(index)
    child = ChildNet(space, choices)
    child.stem.load_state_dict(net.stem.state_dict())
    child.head.load_state_dict(net.head.state_dict())
    for l, i in enumerate(index.tolist()):
        child.blocks[l].load_state_dict(net.layers[l][i].state_dict())
    net.train(train)
    child.train(train)
    x = torch.randn(3, 3, 16, 16, generator=gen(9))
    torch.testing.assert_close(net(x, mask, index), child(x), rtol=1e-5, atol=1e-5)


def test_soft_forward_is_the_mask_weighted_sum(space):
    torch.manual_seed(0)
    net = Supernet(space, mode="soft").eval()
    mask, index = net.sample(1.0, gen(4))
    x = torch.randn(2, 3, 16, 16, generator=gen(9))
    # layer 0 checked by hand; the other layers are then fed the same tensor
    h = net.stem(x)
    layer0 = sum(mask[0, i] * op(h) for i, op in enumerate(net.layers[0]))
    seen: dict[str, torch.Tensor] = {}

    def keep(name):
        def hook(module, inputs, output):
            seen[name] = inputs[0]  # returns None: the output is left alone
        return hook

    net.layers[0][0].register_forward_hook(keep("in"))
    net.layers[1][0].register_forward_hook(keep("next"))
    net(x, mask, index)
    torch.testing.assert_close(seen["in"], h)
    torch.testing.assert_close(seen["next"], layer0)


def synthetic_matrix(space, seed=0) -> Matrix:
    rng = np.random.default_rng(seed)
    L, K = len(space.layers), len(space.candidates)
    return Matrix(space.name, space.candidates, (space.candidates,) * L, rng.uniform(0.5, 3.0, (L, K)), 1.0, 0.5, 0.1)


@pytest.mark.parametrize("mode", MODES)
def test_theta_learns_from_both_ce_and_latency(space, mode):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, mode=mode))
    lat_term = LatencyTerm(synthetic_matrix(space))
    x, y = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])

    mask, index = net.sample(1.0, gen(3))
    F.cross_entropy(net(x, mask, index), y).backward()
    assert net.theta.grad is not None and (net.theta.grad.abs().sum(dim=1) > 0).all()

    net.zero_grad(set_to_none=True)
    mask, index = net.sample(1.0, gen(3))
    lat_term(mask).backward()
    assert net.theta.grad is not None and (net.theta.grad != 0).all()
    assert all(p.grad is None for p in net.weight_parameters())


def test_unsampled_candidates_get_no_gradient_in_hard_mode(space):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, mode="hard"))
    mask, index = net.sample(1.0, gen(3))
    F.cross_entropy(net(torch.randn(4, 3, 16, 16), mask, index), torch.tensor([0, 1, 2, 3])).backward()
    for l, ops in enumerate(net.layers):
        for i, op in enumerate(ops):
            grads = [p.grad for p in op.parameters()]
            if i == int(index[l]):
                assert all(g is not None and g.abs().sum() > 0 for g in grads)
            else:
                assert all(g is None for g in grads)


def test_detached_mask_trains_weights_only(space):
    torch.manual_seed(0)
    net = Supernet(space, mode="hard")
    mask, index = net.sample(1.0, gen(3))
    F.cross_entropy(net(torch.randn(2, 3, 16, 16), mask.detach(), index), torch.tensor([0, 1])).backward()
    assert net.theta.grad is None
    assert net.stem[0].weight.grad is not None


def test_layers_must_share_candidates(space):
    odd = replace(space, layers=tuple(replace(l, candidates=("k3_e1", "skip")) if l.index == 1 else l
                                      for l in space.layers))
    with pytest.raises(ValueError, match="layer 1 has candidates k3_e1, skip"):
        Supernet(odd)
