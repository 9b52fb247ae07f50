"""The LUT class: queries, add, provenance, environments, content hash."""

from __future__ import annotations

import numpy as np
import pytest

from lut import LUT, Key, load
from lut.schema import COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, PROVENANCE_COLUMNS, SCHEMA_VERSION, LUTError

from .conftest import VALID, make_row

K = Key("k3_e1", 16, 16, 1, 32, 32)


@pytest.fixture
def table() -> LUT:
    return load(VALID)


def test_frame_dtypes_and_order(table):
    frame = table.frame
    assert list(frame.columns) == list(COLUMNS)
    for c in INT_COLUMNS:
        assert frame[c].dtype == np.int64, c
    for c in FLOAT_COLUMNS:
        assert frame[c].dtype == np.float64, c
    assert frame["block"].tolist()[:3] == ["head_c1504", "k3_e1", "k3_e1"]
    assert frame["h"].tolist()[1:3] == [8, 32]  # ints sort as numbers


def test_frame_is_a_copy(table):
    frame = table.frame
    frame.loc[0, "median_ms"] = 99.0
    assert table.frame.loc[0, "median_ms"] == 0.15


def test_keys_len_contains(table):
    assert len(table) == 10
    assert K in table and tuple(K) in table
    assert Key("k3_e1", 16, 16, 1, 64, 64) not in table
    assert "k3_e1" not in table and None not in table
    keys = table.keys()
    assert len(keys) == 10 and K in keys
    assert all(type(k.cin) is int for k in keys)


def test_row_and_latency(table):
    row = table.row(K)
    assert row["median_ms"] == 0.3 and row["n"] == 200 and row["threads"] == 1 and row["device"] == "cpu"
    assert type(row["n"]) is int and type(row["median_ms"]) is float
    assert list(row) == list(COLUMNS)
    assert table.latency(K) == 0.3


def test_missing_key_error_names_the_key(table):
    with pytest.raises(KeyError) as info:
        table.latency(Key("k3_e1", 16, 16, 1, 64, 64))
    message = str(info.value)
    assert "k3_e1@16>16/s1@64x64" in message and str(VALID) in message and "3 other slot(s)" in message
    with pytest.raises(KeyError, match="no row has block 'k7_e6'"):
        table.row(Key("k7_e6", 16, 16, 1, 32, 32))


def test_add_returns_a_new_lut(table):
    bigger = table.add([make_row("k5_e6", 16, 16, 1, 32, 32, 0.9)])
    assert len(bigger) == 11 and len(table) == 10
    assert bigger.latency(Key("k5_e6", 16, 16, 1, 32, 32)) == 0.9
    assert bigger.source == table.source
    assert bigger.frame["block"].is_monotonic_increasing


def test_add_refuses_duplicates_unless_replace(table):
    with pytest.raises(LUTError, match=r"1 key\(s\) already present, first k3_e1@16>16/s1@32x32; pass replace=True"):
        table.add([make_row("k3_e1", 16, 16, 1, 32, 32, 0.5)])
    replaced = table.add([make_row("k3_e1", 16, 16, 1, 32, 32, 0.5)], replace=True)
    assert replaced.latency(K) == 0.5 and len(replaced) == 10


def test_add_checks_rows(table):
    with pytest.raises(LUTError, match="row 0, column block: block name 'conv'"):
        table.add([make_row("conv", 16, 16, 1, 32, 32, 0.5)])


def test_add_to_empty_and_from_lut():
    empty = LUT.empty()
    assert len(empty) == 0 and empty.keys() == set()
    one = empty.add([make_row("skip", 8, 8, 1, 4, 4, 0.1)])
    assert len(one) == 1
    assert len(load(VALID).add(one)) == 11


def test_from_rows_fills_schema_and_accepts_frames():
    rows = [make_row("skip", 8, 8, 1, 4, 4, 0.1, stable=True, threads=np.int64(2))]
    a = LUT.from_rows(rows)
    assert a.row(Key("skip", 8, 8, 1, 4, 4))["schema"] == SCHEMA_VERSION
    assert LUT.from_rows(a.frame) == a
    assert LUT.from_rows([]) == LUT.empty()


def test_from_rows_refuses_a_non_integral_int():
    with pytest.raises(LUTError, match="row 0, column n: '2.5' is not an integer"):
        LUT.from_rows([make_row("skip", 8, 8, 1, 4, 4, 0.1, n=2.5)])


def test_provenance_and_environments(table):
    prov = table.provenance()
    assert list(prov) == list(PROVENANCE_COLUMNS)
    assert prov["device"] == ["cpu"] and prov["threads"] == ["1"] and prov["runtime"] == ["onnxruntime"]
    assert table.environments() == [("Intel(R) Xeon(R) CPU @ 2.20GHz", "onnxruntime", "1.18.0", "all", 1, "warm")]
    mixed = table.add([make_row("k5_e6", 16, 16, 1, 32, 32, 0.9, threads=4)])
    assert len(mixed.environments()) == 2
    assert mixed.provenance()["threads"] == ["1", "4"]


def test_content_hash_is_stable_and_tracks_values(table, tmp_path):
    h = table.content_hash()
    assert h.startswith("sha256:") and len(h) == len("sha256:") + 64
    assert load(VALID).content_hash() == h
    import hashlib

    assert h == "sha256:" + hashlib.sha256(VALID.read_bytes()).hexdigest()
    changed = table.add([make_row("k3_e1", 16, 16, 1, 32, 32, 0.300001)], replace=True)
    assert changed.content_hash() != h
    same_value = table.add([table.row(K)], replace=True)
    assert same_value.content_hash() == h and same_value == table


def test_repr(table):
    assert "10 rows" in repr(table) and "sha256:" in repr(table)


@pytest.mark.parametrize("value", ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://x\")", "@SUM(A1)", "-O3", "\tx"])
def test_formula_like_text_handed_in_is_written_with_a_leading_apostrophe(tmp_path, value):
    from lut import save

    table = LUT.from_rows([make_row("k3_e1", 16, 16, 1, 32, 32, 0.3, device_model=value)])
    path = tmp_path / "out.csv"
    save(table, path)
    assert load(path).frame["device_model"].tolist() == ["'" + value]
    import csv

    from lut.cells import formula_like

    cells = [c for row in csv.reader(path.read_text().splitlines()) for c in row]
    assert "'" + value in cells and not any(formula_like(c) for c in cells)
