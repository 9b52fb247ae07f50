"""Fidelity metrics on known inputs, and the random architectures they are judged on."""

import math

import pytest

from profiler.fidelity import Fidelity, fidelity, format_fidelity, relative_errors, sample_architectures, spearman


def test_relative_errors_are_prediction_minus_measurement_over_measurement():
    assert relative_errors([1.1, 0.9, 2.0], [1.0, 1.0, 1.6]).tolist() == pytest.approx([0.1, -0.1, 0.25])


def test_metrics_of_a_known_sample():
    measured = [1.0, 2.0, 4.0, 5.0]
    predicted = [1.04, 1.8, 4.4, 5.0]  # errors +4%, -10%, +10%, 0%
    f = fidelity(predicted, measured)
    assert f.n == 4
    assert f.mape == pytest.approx((0.04 + 0.10 + 0.10 + 0.0) / 4)
    assert f.within_5 == pytest.approx(0.5)  # +4% and 0%
    assert f.within_10 == pytest.approx(1.0)  # exactly 10% counts as within
    assert f.spearman == pytest.approx(1.0)  # same order
    ratios = sorted([1 / 1.04, 2 / 1.8, 4 / 4.4, 1.0])  # measured / predicted
    assert f.median_ratio == pytest.approx((ratios[1] + ratios[2]) / 2)
    assert f.max_abs_error == pytest.approx(0.10)


def test_shares_outside_the_bands():
    f = fidelity([1.2, 1.06, 0.5], [1.0, 1.0, 1.0])  # +20%, +6%, -50%
    assert f.within_5 == 0.0 and f.within_10 == pytest.approx(1 / 3)
    assert f.mape == pytest.approx((0.2 + 0.06 + 0.5) / 3)


def test_spearman_counts_ranks_not_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 4000]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # one swapped pair of 4: 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert math.isnan(spearman([1.0], [2.0]))
    assert math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_bad_samples_are_refused():
    with pytest.raises(ValueError, match="equally long"):
        fidelity([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="> 0"):
        fidelity([1.0], [0.0])
    with pytest.raises(ValueError, match="no networks"):
        fidelity([], [])


def test_as_dict_and_lines():
    f = Fidelity(1, 0.05, 1.0, 1.0, math.nan, 1.05, 0.05)
    assert f.as_dict()["spearman"] is None and f.as_dict()["n"] == 1
    lines = format_fidelity(fidelity([1.1, 2.0], [1.0, 2.0]), "LUT sum")
    assert lines[0] == "LUT sum: 2 networks: MAPE 5.0%, within +-5% 50%, within +-10% 100%, Spearman 1.000"


def test_architectures_are_reproducible_distinct_and_valid():
    cands = [("a", "b", "c")] * 5 + [("x", "y")]
    first = sample_architectures(cands, 20, seed=3)
    assert first == sample_architectures(cands, 20, seed=3)
    assert first != sample_architectures(cands, 20, seed=4)
    assert len({tuple(a) for a in first}) == 20
    assert all(len(a) == 6 and all(c in allowed for c, allowed in zip(a, cands)) for a in first)


def test_every_architecture_of_a_small_space_and_no_more():
    cands = [("a", "b"), ("c", "d")]
    assert sorted(map(tuple, sample_architectures(cands, 4, seed=0))) == [("a", "c"), ("a", "d"), ("b", "c"),
                                                                          ("b", "d")]
    with pytest.raises(ValueError, match="only 4 distinct"):
        sample_architectures(cands, 5, seed=0)
    with pytest.raises(ValueError, match=">= 1"):
        sample_architectures(cands, 0, seed=0)


@pytest.mark.parametrize("predicted, met", [
    ([1.0] * 20, True),
    ([1.0] * 19 + [1.2], True),  # 95% within +-10%
    ([1.0] * 18 + [1.2, 1.2], False),  # 90%
    ([1.04] * 20, False),  # every network within 5%, but a median bias of 4%
    ([1.02] * 20, True),
    ([1.0] * 13 + [1.07] * 7, False),  # 65% within +-5%
])
def test_acceptance_needs_every_figure(predicted, met):
    from profiler.fidelity_report import accepted

    measured = [1.0 + 0.001 * i for i in range(20)]  # distinct, so Spearman is defined
    predicted = [p + 0.001 * i for i, p in enumerate(predicted)]
    assert accepted(fidelity(predicted, measured)) is met
