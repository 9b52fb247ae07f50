"""Deriving architectures from P_theta: argmax and the exact top-k."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from search.derive import argmax_choices, top_k

NAMES = ("a", "b", "c")


def brute_force(probs: torch.Tensor, names) -> list[tuple[list[str], float]]:
    rows = probs.double().tolist()
    archs = [([names[j] for j in idx], math.prod(rows[l][j] for l, j in enumerate(idx)))
             for idx in itertools.product(range(len(names)), repeat=len(rows))]
    return sorted(archs, key=lambda a: -a[1])


def random_probs(layers: int, k: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(2 * torch.randn(layers, k, generator=g, dtype=torch.float64), dim=1)


@pytest.mark.parametrize("seed", range(4))
def test_top_k_equals_brute_force(seed):
    probs = random_probs(4, 3, seed)
    want = brute_force(probs, NAMES)
    for k in (1, 5, 17, 81):
        got = top_k(probs, NAMES, k)
        assert [a for a, _ in got] == [a for a, _ in want[:k]]
        assert [p for _, p in got] == pytest.approx([p for _, p in want[:k]], rel=1e-12)
    assert sum(p for _, p in top_k(probs, NAMES, 81)) == pytest.approx(1.0)


def test_top_k_of_a_larger_space_is_sorted_and_exact_at_the_top():
    probs = random_probs(12, 5, 7)  # 244 million architectures: no brute force, but the head is checkable
    got = top_k(probs, list("vwxyz"), 10)
    assert [a for a, _ in got][0] == argmax_choices(probs, list("vwxyz"))
    ps = [p for _, p in got]
    assert ps == sorted(ps, reverse=True)
    assert ps[0] == pytest.approx(float(probs.max(dim=1).values.prod()))
    assert len({tuple(a) for a, _ in got}) == 10


def test_top_k_more_than_there_are():
    probs = torch.tensor([[0.7, 0.3], [0.4, 0.6]])
    got = top_k(probs, ("x", "y"), 10)
    assert [a for a, _ in got] == [["x", "y"], ["x", "x"], ["y", "y"], ["y", "x"]]
    assert [p for _, p in got] == pytest.approx([0.42, 0.28, 0.18, 0.12], rel=1e-6)


def test_argmax_matches_theta_and_probs():
    theta = torch.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 0.5], [0.0, 0.2, 0.3]], requires_grad=True)
    want = ["b", "a", "c"]
    assert argmax_choices(theta, NAMES) == want
    assert argmax_choices(torch.softmax(theta, dim=1), NAMES) == want
    assert top_k(torch.softmax(theta, dim=1), NAMES, 1)[0][0] == want


def test_errors():
    probs = random_probs(2, 3, 0)
    with pytest.raises(ValueError, match="3 columns but 2 candidate names"):
        top_k(probs, ("a", "b"), 2)
    with pytest.raises(ValueError, match="k must be >= 1"):
        top_k(probs, NAMES, 0)
    with pytest.raises(ValueError, match="sum to 1"):
        top_k(torch.rand(2, 3) + 1.0, NAMES, 2)
    with pytest.raises(ValueError, match=r"\(layers, candidates\)"):
        argmax_choices(torch.zeros(3), NAMES)
