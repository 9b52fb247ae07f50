"""Whole-network calibration rows: their keys, the fold into the Matrix, storing and stripping."""

from __future__ import annotations

import pytest

from lut import LUT, Key, load, save
from lut.calibration import (Calibration, Estimate, calibrate_matrix, calibration_keys, calibration_rows,
                             read_calibration, store_calibration, without_calibration)
from lut.names import is_valid_name, parse_name

from .conftest import ENV, VALID, FakeSpace


def estimate(value: float) -> Estimate:
    return Estimate(value, value * 0.9, value * 1.1, value * 0.05, 0.02, 50)


def calibrated(offset: float, scale: float, space=None) -> LUT:
    return store_calibration(load(VALID), space or FakeSpace(), calibration_rows(space or FakeSpace(),
                             estimate(offset), estimate(scale), ENV))


def test_names_parse_and_print_back():
    assert is_valid_name("calib_offset") and is_valid_name("calib_scale")
    assert parse_name("calib_scale").kind == "calib" and not parse_name("calib_scale").searchable
    for bad, match in [("calib", "no part"), ("calib_slope", "part 'slope'"), ("calib_scale_2", "unknown part")]:
        with pytest.raises(ValueError, match=match):
            parse_name(bad)


def test_keys_sit_at_the_networks_slot(space):
    assert calibration_keys(space) == {"calib_offset": Key("calib_offset", 3, 10, 1, 32, 32),
                                       "calib_scale": Key("calib_scale", 3, 10, 1, 32, 32)}


def test_no_rows_no_calibration(space):
    lut = load(VALID)
    assert read_calibration(lut, space) is None
    assert lut.matrix(space).predict(["k3_e1", "skip"]) == pytest.approx(0.35 + 0.25 + 0.07)


def test_matrix_folds_the_line_into_every_prediction(space):
    lut = calibrated(0.2, 1.5)
    assert read_calibration(lut, space) == Calibration(0.2, 1.5)
    raw = lut.matrix(space, calibrated=False)
    m = lut.matrix(space)
    for choices in (["k3_e1", "skip"], ["skip", "k3_e1_g2"], ["k3_e1_g2", "k3_e1"]):
        assert raw.predict(choices) == pytest.approx(load(VALID).matrix(space).predict(choices))
        assert m.predict(choices) == pytest.approx(0.2 + 1.5 * raw.predict(choices))
    assert m.fixed_ms == pytest.approx(0.2 + 1.5 * raw.fixed_ms)
    assert not m.latency_ms.flags.writeable


def test_calibrate_matrix_without_a_line_is_the_same_matrix(space):
    raw = load(VALID).matrix(space)
    assert calibrate_matrix(raw, None) is raw and calibrate_matrix(raw, Calibration()) is raw


def test_a_zero_offset_stores_only_the_scale(space, tmp_path):
    lut = calibrated(0.0, 1.1)
    assert calibration_keys(space)["calib_offset"] not in lut
    row = lut.row(calibration_keys(space)["calib_scale"])
    assert row["median_ms"] == 1.1 and row["n"] == 50 and row["p10_ms"] <= 1.1 <= row["p90_ms"]
    save(lut, tmp_path / "c.csv")
    assert load(tmp_path / "c.csv") == lut  # a valid LUT file, round trip
    assert read_calibration(load(tmp_path / "c.csv"), space) == Calibration(0.0, 1.1)


def test_storing_again_replaces_this_space_and_keeps_others(space):
    other = FakeSpace(name="other")
    lut = calibrated(0.3, 1.2)
    # another space with another input size and class count
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Bigger(FakeSpace):
        def fixed_keys(self):
            return {"overhead": Key("overhead", 3, 3, 1, 64, 64), "stem": Key("stem_k3", 3, 16, 1, 64, 64),
                    "head": Key("head_c1504", 24, 100, 1, 32, 32)}

    big = Bigger()
    lut = store_calibration(lut, big, calibration_rows(big, estimate(0.5), estimate(2.0), ENV))
    lut = store_calibration(lut, other, calibration_rows(other, estimate(0.0), estimate(1.05), ENV))
    assert read_calibration(lut, space) == Calibration(0.0, 1.05)  # same slot as "other": replaced, offset gone
    assert read_calibration(lut, big) == Calibration(0.5, 2.0)
    assert len(lut) == len(load(VALID)) + 3


def test_without_calibration_is_the_plain_lut(space):
    lut = calibrated(0.2, 1.5)
    assert without_calibration(lut) == load(VALID)
    assert without_calibration(lut).content_hash() != lut.content_hash()
    assert without_calibration(load(VALID)) == load(VALID)


@pytest.mark.parametrize("offset, scale, match", [(-0.1, 1.0, "offset"), (0.0, 0.0, "scale"),
                                                  (float("nan"), 1.0, "offset")])
def test_impossible_lines_are_refused(offset, scale, match):
    with pytest.raises(ValueError, match=match):
        Calibration(offset, scale)


def test_estimate_rows_keep_the_value_between_p10_and_p90():
    row = Estimate(1.0, 1.05, 1.2, 0.1, 0.3, 7).row()
    assert row["p10_ms"] == 1.0 and row["p90_ms"] == 1.2 and row["stable"] == 0 and row["n"] == 7


def test_an_offset_whose_spread_reaches_zero_still_makes_a_valid_row(space):
    rows = calibration_rows(space, Estimate(0.01, 0.0, 0.05, 0.02, 2.0, 100), estimate(1.07), ENV)
    lut = store_calibration(load(VALID), space, rows)  # checked like a file: p10 > 0, p10 <= median
    row = lut.row(calibration_keys(space)["calib_offset"])
    assert row["p10_ms"] == 0.000001 and row["median_ms"] == 0.01 and row["stable"] == 0


def test_rows_measured_after_the_fit_are_found(space):
    from lut.calibration import measured_after_fit

    assert measured_after_fit(load(VALID), space) is None
    lut = calibrated(0.2, 1.5)  # fitted at ENV's measured_at, 2025-01-15T10:00:00Z
    assert measured_after_fit(lut, space) == ("2025-01-15T10:00:00Z", [])
    again = lut.row(space.layers[1].key("skip"))
    lut = lut.add([{**again, "median_ms": 0.05, "p10_ms": 0.04, "p90_ms": 0.06,
                    "measured_at": "2025-02-01T08:00:00Z"}], replace=True)
    assert measured_after_fit(lut, space) == ("2025-01-15T10:00:00Z", [space.layers[1].key("skip")])
    imported = lut.add([{**again, "measured_at": "unknown"}], replace=True)  # no date: not counted
    assert measured_after_fit(imported, space)[1] == []
