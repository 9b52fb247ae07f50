"""The LUT as a differentiable latency term."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lut import LUT
from lut.matrix import Matrix
from search.latency import LatencyTerm
from search.space import get_space
from tests.lut.conftest import make_row

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "spaces" / "tiny.toml"


@pytest.fixture(scope="module")
def space():
    return get_space(str(TINY))


@pytest.fixture(scope="module")
def matrix(space) -> Matrix:
    """The tiny space's matrix from a LUT whose medians are distinct (0.05 ms overhead)."""
    rows = []
    for i, key in enumerate(space.keys()):
        median = 0.05 if key.block == "overhead" else 0.1 + 0.07 * i
        rows.append(make_row(key.block, key.cin, key.cout, key.stride, key.h, key.w, median))
    return LUT.from_rows(rows).matrix(space)


def test_one_hot_mask_is_the_luts_prediction(space, matrix):
    term = LatencyTerm(matrix)
    assert term.lat.dtype == torch.float32 and term.lat.shape == matrix.shape
    assert float(term.fixed) == pytest.approx(matrix.fixed_ms)
    for index in ([0, 0, 0], [3, 1, 2], [2, 3, 1], [1, 2, 3]):
        names = [space.candidates[j] for j in index]
        mask = F.one_hot(torch.tensor(index), len(space.candidates)).float()
        predicted = matrix.predict(names)
        assert float(term(mask)) == pytest.approx(predicted, rel=1e-6)
        assert term.of(torch.tensor(index)) == predicted  # same float64 sum, same order
        assert term.of(index) == predicted


def test_gradient_wrt_mask_is_the_lat_matrix(matrix):
    term = LatencyTerm(matrix)
    mask = torch.full(matrix.shape, 0.25, requires_grad=True)
    term(mask).backward()
    np.testing.assert_allclose(mask.grad.numpy(), matrix.latency_ms, rtol=1e-6)


def test_expected_latency_under_probabilities(matrix):
    term = LatencyTerm(matrix)
    probs = torch.softmax(torch.randn(matrix.shape, generator=torch.Generator().manual_seed(0)), dim=1)
    want = matrix.fixed_ms + float((probs.double().numpy() * matrix.latency_ms).sum())
    assert float(term.expected(probs)) == pytest.approx(want, rel=1e-6)
    uniform = torch.full(matrix.shape, 1 / matrix.shape[1])
    want = matrix.fixed_ms + matrix.latency_ms.mean(axis=1).sum()
    assert float(term.expected(uniform)) == pytest.approx(want, rel=1e-6)


def test_gradient_reaches_theta_through_a_soft_mask(matrix):
    from search.supernet import gumbel_mask

    theta = torch.zeros(matrix.shape, requires_grad=True)
    mask, _ = gumbel_mask(theta, 1.0, hard=False, generator=torch.Generator().manual_seed(0))
    LatencyTerm(matrix)(mask).backward()
    assert (theta.grad != 0).all()


def test_matrix_with_holes_is_refused(matrix):
    table = np.array(matrix.latency_ms, dtype=float)
    table[1, 2] = math.nan
    holed = replace(matrix, latency_ms=table)
    with pytest.raises(ValueError, match=r"1 hole\(s\) \(layer 1 'k5_e3'\).*same candidates"):
        LatencyTerm(holed)


def test_bad_shapes_and_indices(matrix):
    term = LatencyTerm(matrix)
    with pytest.raises(ValueError, match=r"mask must have shape \(3, 4\)"):
        term(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="expected 3 indices"):
        term.of([0, 1])
    with pytest.raises(ValueError, match="layer 1: index 4 is out of range"):
        term.of([0, 4, 1])


def test_buffers_follow_the_module(matrix):
    term = LatencyTerm(matrix).to(torch.float64)
    assert term.lat.dtype == torch.float64
    assert set(dict(term.named_buffers())) == {"lat", "fixed"}
