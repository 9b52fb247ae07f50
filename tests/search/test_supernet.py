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
from search.childnet import ChildNet
from search.space import get_space
from search.layers import WEIGHTS
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


def test_paths_mask_is_the_soft_mask_over_the_top_perturbed_logits():
    t = theta(shape=(5, 9))
    full, index = gumbel_mask(t, 0.7, hard=False, generator=gen(8))
    pair, index_p = gumbel_mask(t, 0.7, hard=False, generator=gen(8), paths=2)
    assert torch.equal(index, index_p)  # the same noise: the same drawn architecture
    assert ((pair > 0).sum(dim=1) == 2).all()
    top2 = full.detach().topk(2, dim=1).indices
    for row in range(5):
        kept = sorted(torch.nonzero(pair[row]).flatten().tolist())
        assert kept == sorted(top2[row].tolist()) and int(index[row]) in kept
        # renormalized over the two drawn candidates, exactly 0 elsewhere
        torch.testing.assert_close(pair[row, kept], full[row, kept] / full[row, kept].sum())
    torch.testing.assert_close(pair.sum(dim=1), torch.ones(5))
    every, _ = gumbel_mask(t, 0.7, hard=False, generator=gen(8), paths=9)
    torch.testing.assert_close(every, full)


def test_paths_mask_sends_gradient_to_the_drawn_candidates_only():
    t = theta(shape=(4, 9))
    mask, _ = gumbel_mask(t, 1.0, hard=False, generator=gen(2), paths=3)
    (mask * torch.randn(4, 9, generator=gen(9))).sum().backward()
    assert torch.equal(t.grad != 0, mask.detach() > 0)


def test_paths_are_drawn_from_p_theta_without_replacement():
    """Inclusion frequency of each candidate among 2 drawn from p (Gumbel top-k) over 40,000 draws:
    P(i drawn) = p_i + sum_{j != i} p_j p_i / (1 - p_j)."""
    p = torch.tensor([0.5, 0.3, 0.15, 0.05])
    mask, _ = gumbel_mask(p.log().expand(40_000, 4).contiguous(), 1.0, hard=False, generator=gen(4), paths=2)
    seen = (mask > 0).float().mean(dim=0)
    expected = torch.tensor([float(p[i] + sum(p[j] * p[i] / (1 - p[j]) for j in range(4) if j != i))
                             for i in range(4)])
    torch.testing.assert_close(seen, expected, atol=0.01, rtol=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="tau must be > 0"):
        gumbel_mask(theta(), 0.0, hard=True)
    for paths in (1, -2):
        with pytest.raises(ValueError, match="paths must be 0 .every candidate. or at least 2"):
            gumbel_mask(theta(), 1.0, hard=False, paths=paths)
    with pytest.raises(ValueError, match=r"\(layers, candidates\)"):
        gumbel_mask(torch.zeros(4), 1.0, hard=True)


def test_unknown_mode_lists_the_modes(space):
    with pytest.raises(ValueError, match="unknown supernet mode 'gdas'; known: hybrid, hard, soft"):
        Supernet(space, mode="gdas")
    assert list(MODES) == ["hybrid", "hard", "soft"]


def test_modes_say_which_pass_runs_soft(space):
    assert Supernet(space).mode == "hybrid"
    passes = {m: (Supernet(space, mode=m).soft("w"), Supernet(space, mode=m).soft("theta")) for m in MODES}
    assert passes == {"hybrid": (False, True), "hard": (False, False), "soft": (True, True)}
    from search.run import MODE_CHOICES, WEIGHT_CHOICES  # the CLI names them without importing torch
    assert MODE_CHOICES == tuple(MODES) and WEIGHT_CHOICES == tuple(WEIGHTS)


@pytest.mark.parametrize("weights", WEIGHTS)
def test_structure_and_parameter_groups(space, weights):
    net = Supernet(space, num_classes=5, weights=weights)
    assert net.weights == weights
    L, K = len(space.layers), len(space.candidates)
    assert net.theta.shape == (L, K) and (net.theta == 0).all()
    torch.testing.assert_close(net.probabilities(), torch.full((L, K), 1 / K))
    assert len(net.layers) == L and all(len(layer) == K for layer in net.layers)
    assert all(m.training for m in net.modules())
    assert net.arch_parameters() == [net.theta]
    w = net.weight_parameters()
    assert all(p is not net.theta for p in w)
    assert len(w) + 1 == len(list(net.parameters()))
    assert net.head.fc.out_features == 5
    mask, index = net.sample(1.0, gen())
    assert net(torch.randn(2, 3, 16, 16), mask, index).shape == (2, 5)
    with pytest.raises(ValueError, match="expected mask"):
        net(torch.randn(2, 3, 16, 16), mask[:2], index[:2])


def calls_per_candidate(net: Supernet, inputs: dict | None = None) -> list[list[int]]:
    """Count each layer's candidate calls (and keep each call's input in ``inputs[(l, i)]``)."""
    counts = [[0] * len(layer) for layer in net.layers]
    for l, layer in enumerate(net.layers):
        def run(i, x, l=l, run=layer.run):
            counts[l][i] += 1
            if inputs is not None:
                inputs[(l, i)] = x
            return run(i, x)
        layer.run = run
    return counts


def test_unknown_weights_are_refused(space):
    with pytest.raises(ValueError, match="unknown supernet weights 'tied'; known: shared, independent"):
        Supernet(space, weights="tied")


@pytest.mark.parametrize("weights", WEIGHTS)
def test_hard_forward_runs_only_the_sampled_candidates(space, weights):
    torch.manual_seed(0)
    net = Supernet(space, mode="hard", weights=weights)
    counts = calls_per_candidate(net)
    mask, index = net.sample(1.0, gen(2))
    net(torch.randn(2, 3, 16, 16), mask, index)
    expected = F.one_hot(index, len(space.candidates)).tolist()
    assert counts == expected


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("mode", ["soft", "hybrid"])
def test_soft_forward_mixes_every_layer_with_its_mask_row(space, weights, mode):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, mode=mode, weights=weights))
    calls: list[tuple[int, torch.Tensor, torch.Tensor, torch.Tensor]] = []
    for l, layer in enumerate(net.layers):
        def mix(w, x, active=None, l=l, mix=layer.mix):
            out = mix(w, x, active)
            calls.append((l, w, x, out))
            return out
        layer.mix = mix
    runs = calls_per_candidate(net)
    mask, index = net.sample(1.0, gen(2), soft=True)
    x = torch.randn(2, 3, 16, 16)
    net(x, mask, index, soft=True)
    assert [c[0] for c in calls] == [0, 1, 2]
    for (l, w, inp, out), nxt in zip(calls, calls[1:] + [None]):
        assert torch.equal(w, mask[l])
        if nxt is not None:
            assert nxt[2] is out  # each layer feeds the next
    if mode == "hybrid":  # the weights pass of hybrid runs hard paths: the default forward is the path
        calls.clear()
        for row in runs:
            row[:] = [0] * len(row)
        mask, index = net.sample(1.0, gen(3))
        assert torch.equal(mask.detach(), F.one_hot(index, 4).float())
        net(x, mask, index)
        assert calls == [] and runs == F.one_hot(index, 4).tolist()


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("train", [True, False])
def test_hard_forward_equals_the_child_network(space, train, weights):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, mode="hard", weights=weights))
    mask, index = net.sample(1.0, gen(4))
    choices = net.choices(index)
    child = net.child(choices)
    assert isinstance(child, ChildNet) and child.choices == choices and not child.training
    net.train(train)
    child.train(train)
    x = torch.randn(3, 3, 16, 16, generator=gen(9))
    torch.testing.assert_close(net(x, mask, index), child(x), rtol=1e-5, atol=1e-5)


def test_independent_soft_forward_is_the_mask_weighted_sum(space):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, mode="soft", weights="independent")).eval()
    mask, index = net.sample(1.0, gen(4))
    x = torch.randn(2, 3, 16, 16, generator=gen(9))
    h = net.stem(x)
    out = h
    for l, layer in enumerate(net.layers):
        out = sum(mask[l, i] * layer[i](out) for i in range(len(layer)))
    torch.testing.assert_close(net(x, mask, index), net.head(out))


def synthetic_matrix(space, seed=0) -> Matrix:
    rng = np.random.default_rng(seed)
    L, K = len(space.layers), len(space.candidates)
    return Matrix(space.name, space.candidates, (space.candidates,) * L, rng.uniform(0.5, 3.0, (L, K)), 1.0, 0.5, 0.1)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("mode", MODES)
def test_theta_learns_from_both_ce_and_latency(space, mode, weights):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, mode=mode, weights=weights))
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


def test_unsampled_independent_candidates_get_no_gradient_in_hard_mode(space):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, mode="hard", weights="independent"))
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


@pytest.mark.parametrize("weights", WEIGHTS)
def test_recalibrate_recomputes_the_path_statistics_only(space, weights):
    torch.manual_seed(0)
    net = randomize_bn(Supernet(space, weights=weights))
    index = torch.tensor([1, 2, 3])
    path = net.path_norms(index)
    others = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d) and all(m is not p for p in path)]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    batches = [torch.randn(4, 3, 16, 16, generator=gen(k)) * 2 + 1 for k in range(3)]
    assert net.recalibrate(index, iter(batches)) == 12
    assert not net.training and all(m.momentum == 0.1 for m in path)
    # the stem's statistics are the average over the batches of its conv output's batch statistics
    conv = net.stem[0]
    outs = [conv(x).detach() for x in batches]
    torch.testing.assert_close(net.stem[1].running_mean, torch.stack([o.mean((0, 2, 3)) for o in outs]).mean(0))
    torch.testing.assert_close(net.stem[1].running_var,
                               torch.stack([o.transpose(0, 1).flatten(1).var(1) for o in outs]).mean(0))
    after = net.state_dict()
    for k, v in before.items():
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert torch.equal(after[k], v), k  # weights untouched
    names = {id(m): n for n, m in net.named_modules()}
    for m in others:
        assert torch.equal(m.running_mean, before[names[id(m)] + ".running_mean"]), names[id(m)]


def test_recalibrate_needs_a_batch(space):
    net = Supernet(space)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match="at least one batch"):
        net.recalibrate(torch.zeros(3, dtype=torch.long), iter([]))
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


def test_path_norms_of_shared_layers_are_the_layers_norms(space):
    net = Supernet(space)
    index = torch.tensor([0, 3, 3])  # skip at layer 1 (a shape change: its projection's norm) and layer 2
    norms = net.path_norms(index)
    assert net.layers[1].bn_project in norms and net.layers[1].bn_expand not in norms
    assert net.layers[0].bn_expand in norms and net.head.conv[1] in norms and net.stem[1] in norms
    assert len(norms) == len(set(map(id, norms)))
