"""Random architectures in a latency band: inside the band, distinct, uniform over it, reproducible."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from search.sampling import in_band, latency_range, mid_latency, near_latency, stratified_near_latency, tilt_for

TABLE = np.array([[0.1, 0.2, 0.4], [0.1, 0.3, 0.5], [0.05, 0.2, 0.6]])
FIXED = 0.2


def latency(arch) -> float:
    return FIXED + sum(TABLE[l, i] for l, i in enumerate(arch))


def band(target: float, tol: float) -> set[tuple[int, ...]]:
    return {a for a in itertools.product(range(3), repeat=3) if abs(latency(a) / target - 1) <= tol}


def test_range_and_middle():
    assert latency_range(TABLE, FIXED) == pytest.approx((0.45, 1.7))
    assert mid_latency(TABLE, FIXED) == pytest.approx(1.075)


def test_tilt_puts_the_expected_latency_on_the_target():
    for target in (0.6, 1.0, 1.5):
        lam = tilt_for(TABLE, FIXED, target)
        p = np.exp(-lam * TABLE)
        p /= p.sum(axis=1, keepdims=True)
        assert FIXED + (p * TABLE).sum() == pytest.approx(target, rel=1e-6)
    assert tilt_for(TABLE, FIXED, 0.6) > 0 > tilt_for(TABLE, FIXED, 1.5)  # towards fast, towards slow
    with pytest.raises(ValueError, match="outside the space's range"):
        tilt_for(TABLE, FIXED, 2.0)


@pytest.mark.parametrize("target", [0.55, 0.9, 1.4])
def test_draws_are_distinct_and_inside_the_band(target):
    inside = band(target, 0.1)
    archs = near_latency(TABLE, FIXED, target, len(inside), tolerance=0.1, seed=3)
    assert {tuple(a) for a in archs} == inside  # every member of the band, each once
    with pytest.raises(ValueError, match=f"found only {len(inside)} of {len(inside) + 1}"):
        near_latency(TABLE, FIXED, target, len(inside) + 1, tolerance=0.1, seed=3)


def test_exclude_and_reproducibility():
    inside = sorted(band(0.9, 0.1))
    first = near_latency(TABLE, FIXED, 0.9, 2, tolerance=0.1, seed=7)
    assert first == near_latency(TABLE, FIXED, 0.9, 2, tolerance=0.1, seed=7)
    rest = near_latency(TABLE, FIXED, 0.9, len(inside) - 1, tolerance=0.1, seed=1, exclude=[first[0]])
    assert first[0] not in rest


@pytest.mark.parametrize("target", [0.6, 1.4])  # the two ends of the range, where the tilt is strong
def test_every_architecture_of_the_band_is_equally_likely(target):
    inside = band(target, 0.15)
    assert len(inside) >= 3
    counts = Counter(tuple(near_latency(TABLE, FIXED, target, 1, tolerance=0.15, seed=s)[0]) for s in range(800))
    assert set(counts) == inside
    expected = 800 / len(inside)
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 3 * (len(inside) - 1) + 10  # a tilted draw without the correction fails this by far


def test_bad_arguments():
    with pytest.raises(ValueError, match="n must be >= 1"):
        near_latency(TABLE, FIXED, 1.0, 0)
    with pytest.raises(ValueError, match="tolerance"):
        near_latency(TABLE, FIXED, 1.0, 1, tolerance=0)
    with pytest.raises(ValueError, match="finite"):
        near_latency([[1.0, float("nan")]], 0.0, 1.0, 1)


def test_a_band_holding_fewer_than_asked_is_an_error_unless_fewer_are_allowed():
    inside = band(0.9, 0.1)
    with pytest.raises(ValueError, match=f"found only {len(inside)} of {len(inside) + 3}"):
        near_latency(TABLE, FIXED, 0.9, len(inside) + 3, tolerance=0.1)
    got = near_latency(TABLE, FIXED, 0.9, len(inside) + 3, tolerance=0.1, allow_fewer=True)
    assert {tuple(a) for a in got} == inside and len(got) == len(inside)


@pytest.mark.parametrize("target, tol", [(0.45, 0.1), (0.45, 0.3), (1.7, 0.15)])
def test_a_band_at_the_corner_of_the_range_is_drawn_from(target, tol):
    """A searched architecture at the fastest or slowest corner: its band sticks out of the space's range,
    and the draws still cover the part of it the space reaches, each architecture once."""
    inside = band(target, tol)
    got = near_latency(TABLE, FIXED, target, len(inside) + 2, tolerance=tol, seed=5, allow_fewer=True)
    assert {tuple(a) for a in got} == inside and len(got) == len(inside)
    counts = Counter(tuple(near_latency(TABLE, FIXED, target, 1, tolerance=tol, seed=s)[0]) for s in range(400))
    assert set(counts) == inside


def test_a_band_outside_the_range_is_an_error():
    with pytest.raises(ValueError, match=r"target 0.3 ms \+-10% is outside the space's range \(0.45 .. 1.7 ms\)"):
        near_latency(TABLE, FIXED, 0.3, 1, tolerance=0.1)


WIDE = np.random.default_rng(0).uniform(0.01, 0.2, size=(6, 4))  # 4,096 architectures, no two of one latency


def wide_latency(arch) -> float:
    return FIXED + sum(WIDE[l, i] for l, i in enumerate(arch))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_stratified_draw_takes_one_architecture_from_each_slice_of_the_band(seed):
    target, tol, n = 0.75, 0.1, 8
    lo, width = target * (1 - tol), 2 * tol * target / n
    got = stratified_near_latency(WIDE, FIXED, target, n, tolerance=tol, seed=seed)
    assert len({tuple(a) for a in got}) == n
    slices = sorted(int((wide_latency(a) - lo) // width) for a in got)
    assert slices == list(range(n))  # one per slice, so their mean latency is about the target
    assert got == stratified_near_latency(WIDE, FIXED, target, n, tolerance=tol, seed=seed)  # reproducible


def test_stratified_draws_of_consecutive_seeds_one_slice_apart_share_no_architecture():
    """Two runs whose bands lie one slice apart (two searches of one target, 2.5% apart) with seeds s and s + 1: in
    lutnas 0.10.1 seed s's slice k + 1 was seed s + 1's slice k, and they drew most of their networks alike."""
    target, tol, n = 0.75, 0.1, 8
    shifted = target * (1 + 2 * tol / n)  # the band moved up by one slice
    for s in range(3):
        one = {tuple(a) for a in stratified_near_latency(WIDE, FIXED, target, n, tolerance=tol, seed=s)}
        two = {tuple(a) for a in stratified_near_latency(WIDE, FIXED, shifted, n, tolerance=tol, seed=s + 1)}
        assert len(one) == len(two) == n
        assert len(one & two) <= 1, (s, len(one & two))  # a chance coincidence at most (0.10.1: 7 of 8 at seed 0)


def test_a_draw_takes_a_sequence_of_ints_as_its_seed():
    """(run seed, group) streams: reproducible, and apart from each other."""
    draw = [stratified_near_latency(WIDE, FIXED, 0.75, 8, tolerance=0.1, seed=seed) for seed in ([3, 0], [3, 1])]
    assert draw[0] == stratified_near_latency(WIDE, FIXED, 0.75, 8, tolerance=0.1, seed=[3, 0])
    assert draw[0] != draw[1]
    uniform = [near_latency(WIDE, FIXED, 0.75, 4, tolerance=0.1, seed=seed) for seed in ((5, 1), (5, 1), (5, 2))]
    assert uniform[0] == uniform[1] != uniform[2]


def test_near_the_fast_corner_a_stratified_pair_is_slower_than_the_target_by_less_than_a_uniform_one():
    """Near the fastest corner of a deep space more architectures lie above a latency than below it: a uniform
    draw from the band is slower than the target on average, one draw from each half much less so."""
    deep = np.random.default_rng(0).uniform(0.02, 0.1, size=(20, 4))
    deep[:, 0] = 0.002  # a skip per layer, as FBNet's
    fastest, _ = latency_range(deep, FIXED)
    target = 2 * fastest

    def offset(draw) -> float:
        return float(np.mean([(FIXED + deep[np.arange(20), a].sum()) / target - 1 for s in range(60)
                              for a in draw(deep, FIXED, target, 2, tolerance=0.05, seed=s)]))

    uniform, stratified = offset(near_latency), offset(stratified_near_latency)
    assert uniform > 0.015  # the bias the stratified draw exists for (+1.9%)
    assert abs(stratified) < uniform / 2  # +0.5%


def test_a_stratified_draw_fills_empty_slices_from_the_band_and_says_when_it_holds_too_few():
    """The small table's band has gaps: slices with no architecture leave their draws to the others."""
    inside = band(0.9, 0.1)
    got = stratified_near_latency(TABLE, FIXED, 0.9, len(inside), tolerance=0.1, seed=4)
    assert {tuple(a) for a in got} == inside and len(got) == len(inside)
    with pytest.raises(ValueError, match=rf"found only {len(inside)} of {len(inside) + 2} architectures within "
                                         r"\+-10% of 0.9 ms"):
        stratified_near_latency(TABLE, FIXED, 0.9, len(inside) + 2, tolerance=0.1)
    some = stratified_near_latency(TABLE, FIXED, 0.9, 2, tolerance=0.1, seed=4, exclude=[got[0]])
    assert got[0] not in some and len(some) == 2
    with pytest.raises(ValueError, match=r"target 0.3 ms \+-10% is outside the space's range"):
        stratified_near_latency(TABLE, FIXED, 0.3, 1, tolerance=0.1)
    with pytest.raises(ValueError, match="n must be >= 1"):
        stratified_near_latency(TABLE, FIXED, 0.9, 0)


def test_a_band_given_by_its_ends_is_checked():
    with pytest.raises(ValueError, match=r"the band's low end 1 ms is above its high end 0.9 ms"):
        in_band(TABLE, FIXED, 1.0, 0.9, 1)
    with pytest.raises(ValueError, match=r"the band 2 .. 2.1 ms is outside the space's range \(0.45 .. 1.7 ms\)"):
        in_band(TABLE, FIXED, 2.0, 2.1, 1)
    inside = {a for a in itertools.product(range(3), repeat=3) if 0.8 <= latency(a) <= 1.0}
    with pytest.raises(ValueError, match=rf"found only {len(inside)} of {len(inside) + 1} architectures within "
                                         r"0.8 .. 1 ms in \d+ draws"):
        in_band(TABLE, FIXED, 0.8, 1.0, len(inside) + 1)
    assert {tuple(a) for a in in_band(TABLE, FIXED, 0.8, 1.0, len(inside), seed=2)} == inside
