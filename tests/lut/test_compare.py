"""diff(a, b): ratios, summary percentiles, changes beyond both spreads, keys in one LUT only."""

from __future__ import annotations

import numpy as np
import pytest

from lut import LUT, Key, load
from lut.compare import diff, spread

from .conftest import LUT_FIXTURES, VALID, make_row


def pair():
    a = LUT.from_rows([
        make_row("k3_e1", 16, 16, 1, 8, 8, 1.0),  # p10 0.95, p90 1.10 (make_row)
        make_row("k3_e3", 16, 16, 1, 8, 8, 2.0),
        make_row("skip", 16, 16, 1, 8, 8, 0.5),
        make_row("k5_e1", 16, 16, 1, 8, 8, 3.0),
    ])
    b = LUT.from_rows([
        make_row("k3_e1", 16, 16, 1, 8, 8, 1.05),  # inside A's spread: not significant
        make_row("k3_e3", 16, 16, 1, 8, 8, 3.0),  # far outside both: significant
        make_row("skip", 16, 16, 1, 8, 8, 0.56, p10_ms=0.44, p90_ms=0.6),  # beyond A's, not beyond B's spread
        make_row("k5_e6", 16, 16, 1, 8, 8, 4.0),
    ])
    return a, b


def test_entries_ratios_and_significance():
    a, b = pair()
    d = diff(a, b)
    assert list(d.entries["block"]) == ["k3_e1", "k3_e3", "skip"]
    np.testing.assert_allclose(d.ratios, [1.05, 1.5, 1.12])
    assert list(d.entries["significant"]) == [False, True, False]
    assert list(d.significant["block"]) == ["k3_e3"]
    assert d.only_a == [Key("k5_e1", 16, 16, 1, 8, 8)] and d.only_b == [Key("k5_e6", 16, 16, 1, 8, 8)]
    assert d.findings


def test_summary_percentiles():
    a, b = pair()
    s = diff(a, b).summary()
    assert s["median"] == pytest.approx(1.12)
    assert s["p5"] == pytest.approx(np.percentile([1.05, 1.12, 1.5], 5))
    assert s["p95"] == pytest.approx(np.percentile([1.05, 1.12, 1.5], 95))


def test_identical_luts_have_no_findings():
    a = load(VALID)
    d = diff(a, a)
    assert not d.findings and len(d.entries) == 10
    assert d.summary() == {"median": 1.0, "p5": 1.0, "p95": 1.0}


def test_ci_widens_the_spread():
    a = LUT.from_rows([make_row("k3_e1", 8, 8, 1, 8, 8, 1.0, p10_ms=1.0, p90_ms=1.0, ci_rel=0.2)])
    low, high = spread(a.frame)
    assert (low[0], high[0]) == pytest.approx((0.8, 1.2))


def test_rows_without_spread_flag_any_change():
    rows = dict(p10_ms=1.0, p90_ms=1.0, ci_rel=0.0)
    a = LUT.from_rows([make_row("k3_e1", 8, 8, 1, 8, 8, 1.0, **rows)])
    b = LUT.from_rows([make_row("k3_e1", 8, 8, 1, 8, 8, 1.001, p10_ms=1.001, p90_ms=1.001, ci_rel=0.0)])
    assert list(diff(a, b).entries["significant"]) == [True]


def test_partly_common_keys():
    a = load(VALID)
    b = load(LUT_FIXTURES / "fbnet-cifar-cpu.csv")
    d = diff(a, b)
    assert len(d.entries) == len(a.keys() & b.keys()) == 5
    assert set(d.only_a) == a.keys() - b.keys() and set(d.only_b) == b.keys() - a.keys()
    assert len(d.only_a) + len(d.entries) == 10 and len(d.only_b) + len(d.entries) == 111


def test_no_common_keys():
    a = load(VALID)
    empty = diff(LUT.empty(), a)
    assert len(empty.entries) == 0 and np.isnan(empty.summary()["median"]) and len(empty.only_b) == 10
