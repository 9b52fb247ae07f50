"""The calibration line: exact recovery, the offset >= 0 rule, bootstrap spreads."""

import numpy as np
import pytest

from profiler.fit import MIN_NETWORKS, fit_line, fit_with_spread


def test_recovers_an_exact_line():
    p = np.array([1.0, 2.0, 3.0, 5.0])
    cal = fit_line(p, 0.4 + 1.25 * p)
    assert cal.offset_ms == pytest.approx(0.4) and cal.scale == pytest.approx(1.25)


def test_a_negative_offset_becomes_a_line_through_the_origin():
    p = np.array([1.0, 2.0, 3.0, 5.0])
    cal = fit_line(p, 1.2 * p - 0.3)
    assert cal.offset_ms == 0.0
    ratio = (1.2 * p - 0.3) / p
    # least squares in relative error through the origin: sum(r) / sum(r^2) with r = p / m
    assert cal.scale == pytest.approx(np.sum(1 / ratio) / np.sum(1 / ratio ** 2))


def test_equal_predictions_give_a_pure_scale():
    cal = fit_line([2.0, 2.0, 2.0], [2.2, 2.2, 2.2])
    assert cal.offset_ms == 0.0 and cal.scale == pytest.approx(1.1)


def test_bootstrap_brackets_the_fit_and_counts_networks():
    rng = np.random.default_rng(0)
    p = rng.uniform(1, 5, 40)
    m = (0.3 + 1.1 * p) * (1 + 0.02 * rng.standard_normal(40))
    offset, scale = fit_with_spread(p, m, boot=200)
    assert offset.n == scale.n == 40
    assert offset.p10 <= offset.value <= offset.p90 and scale.p10 <= scale.value <= scale.p90
    assert scale.value == pytest.approx(1.1, abs=0.05) and offset.value == pytest.approx(0.3, abs=0.15)
    assert 0 < scale.ci_rel < 0.05 and scale.std > 0
    assert fit_with_spread(p, m, boot=200) == (offset, scale)  # reproducible


def test_too_few_or_bad_networks_are_refused():
    with pytest.raises(ValueError, match=f"at least {MIN_NETWORKS}"):
        fit_with_spread([1.0, 2.0], [1.1, 2.2])
    with pytest.raises(ValueError, match="finite latencies > 0"):
        fit_line([1.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="equally long"):
        fit_line([1.0, 2.0], [1.0])
