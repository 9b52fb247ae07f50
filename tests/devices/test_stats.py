import math

import numpy as np
import pytest

from devices.stats import ci_rel, median_ci, quiet_mask, settled, summarize


def test_median_ci_order_statistics():
    x = list(range(1, 101))  # n=100: ranks 50 -+ 9.8 -> 41st and 60th values
    assert median_ci(x) == (40.0, 60.0)
    assert median_ci(list(reversed(x))) == (40.0, 60.0)


def test_median_ci_covers_the_true_median_about_95_percent():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(2000):
        lo, hi = median_ci(rng.exponential(size=60))
        hits += lo <= math.log(2) <= hi
    assert 0.93 <= hits / 2000 <= 0.98


def test_ci_rel_shrinks_with_more_samples_and_is_inf_when_undefined():
    rng = np.random.default_rng(0)
    small = ci_rel(1 + 0.1 * rng.standard_normal(30))
    large = ci_rel(1 + 0.1 * rng.standard_normal(3000))
    assert large < small / 5
    assert ci_rel([1.0, 2.0]) == math.inf


def test_summarize_in_milliseconds():
    s = summarize([0.001] * 50 + [0.002] * 50 + [0.0015], tolerance=0.02, spread_limit=1.5)
    assert s.n == 101
    assert s.median_ms == pytest.approx(1.5)
    assert s.p10_ms == pytest.approx(1.0) and s.p90_ms == pytest.approx(2.0)
    assert not s.stable  # p90/p10 = 2 > 1.5 and the CI is wide
    tight = summarize([0.001] * 100, tolerance=0.02, spread_limit=1.5)
    assert tight.stable and tight.ci_rel == 0.0 and tight.std_ms == 0.0
    assert tight.as_row()["stable"] == 1


def test_settled():
    assert not settled([1.0, 1.0], 0.05)
    assert settled([2.0, 1.0, 1.01], 0.05)
    assert not settled([1.0, 1.0, 1.2], 0.05)


def test_quiet_mask_leaves_out_slow_batches():
    batches = [[1.0, 1.01]] * 6 + [[1.5, 1.6]] * 3 + [[1.05]]
    assert quiet_mask(batches, 0.1) == [True] * 6 + [False] * 3 + [True]
    assert quiet_mask(batches, 0) == [True] * 10
    assert quiet_mask(batches[:4], 0.1) == [True] * 4  # too few batches to judge
