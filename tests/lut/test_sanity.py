"""Sanity checks: expansion ordering and stride, counted over the pairs of rows they apply to."""

from __future__ import annotations

import pytest

from lut import LUT, Key, load
from lut.sanity import check

from .conftest import LUT_FIXTURES, make_row


def lut_of(*rows) -> LUT:
    return LUT.from_rows([make_row(*r) for r in rows])


def test_expansion_ordering_counts_adjacent_pairs_per_slot_kernel_and_groups():
    table = lut_of(("k3_e1", 16, 16, 1, 8, 8, 0.10), ("k3_e3", 16, 16, 1, 8, 8, 0.30), ("k3_e6", 16, 16, 1, 8, 8, 0.25),
                   ("k5_e1", 16, 16, 1, 8, 8, 0.12), ("k5_e6", 16, 16, 1, 8, 8, 0.50),
                   ("k3_e1_g2", 16, 16, 1, 8, 8, 0.2),  # alone in its group (groups 2): no check
                   ("k3_e3", 16, 16, 1, 16, 16, 0.9))  # alone at its slot: no check
    report = check(table)
    assert report.checks == {"expansion": 3, "stride": 0}
    assert len(report.warnings) == 1
    w = report.warnings[0]
    assert (w.check, w.cheaper, w.dearer) == ("expansion", Key("k3_e3", 16, 16, 1, 8, 8), Key("k3_e6", 16, 16, 1, 8, 8))
    assert (w.cheaper_ms, w.dearer_ms) == (0.3, 0.25)
    assert "k3_e3@16>16/s1@8x8 takes 0.300000 ms > k3_e6@16>16/s1@8x8 0.250000 ms" in str(w)
    assert report.summary() == ["expansion ordering (e1 <= e3 <= e6): 1 of 3 checks fail",
                                "stride 2 not dearer than stride 1: 0 of 0 checks fail"]


def test_equal_latencies_pass_the_expansion_check():
    assert not check(lut_of(("k3_e1", 8, 8, 1, 8, 8, 0.1), ("k3_e3", 8, 8, 1, 8, 8, 0.1))).warnings


def test_stride_two_dearer_than_stride_one_at_the_same_slot_warns():
    table = lut_of(("k3_e1", 16, 16, 1, 8, 8, 0.10), ("k3_e1", 16, 16, 2, 8, 8, 0.15),
                   ("skip", 16, 24, 1, 8, 8, 0.05), ("skip", 16, 24, 2, 8, 8, 0.04),
                   ("k5_e1", 16, 16, 2, 8, 8, 0.3))  # no stride-1 twin
    report = check(table)
    assert report.checks["stride"] == 2
    assert [(w.cheaper, w.dearer) for w in report.warnings] == [
        (Key("k3_e1", 16, 16, 2, 8, 8), Key("k3_e1", 16, 16, 1, 8, 8))]
    assert "expected the stride 1 to be at least as slow" in str(report.warnings[0])


@pytest.mark.parametrize("name, checks", [("fbnet-cifar-cpu.csv", 48), ("valid.csv", 0)])
def test_fixture_check_counts(name, checks):
    report = check(load(LUT_FIXTURES / name))
    assert report.checks["expansion"] == checks  # 12 distinct slots x 2 kernels x 2 pairs in fbnet-cifar
    assert report.failed("expansion") <= checks
