"""Validation: each malformed fixture is refused with the exact line, column and a clear message."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import lut
from lutnas import __version__
from lut.cells import check_cell
from lut.schema import COLUMNS, LUTError
from lut.checks import Problem, check_text, decode, validate_bytes

from .conftest import LUT_FIXTURES, VALID

# fixture -> (line, column or None, fragment of the message)
CASES = {
    "missing_column.csv": (1, "p90_ms", "missing column(s): p90_ms"),
    "extra_column.csv": (1, "gpu", "unknown column(s): gpu"),
    "newer_schema.csv": (2, "schema", f"written by a newer lutnas (schema 5); this toolkit (lutnas {__version__}) "
                                      f"reads schema <= 4: upgrade to a lutnas release after {__version__} that reads "
                                      "schema 5"),
    "schema_not_int.csv": (3, "schema", "schema version 'one' is not an integer"),
    "mixed_schema.csv": (6, "schema", "schema 2 differs from schema 1 on line 2"),
    "nan_latency.csv": (4, "median_ms", "'nan' is NaN"),
    "inf_latency.csv": (5, "p90_ms", "'inf' is infinite"),
    "negative_latency.csv": (6, "median_ms", "-0.280000 must be > 0"),
    "zero_latency.csv": (7, "median_ms", "0.000000 must be > 0"),
    "huge_latency.csv": (4, "median_ms", "1e308 ms is not a plausible latency of one block (more than 100000 ms)"),
    "formula_cell.csv": (6, "device_model", "\"=cmd|' /C calc'!A0\" starts with '=', which a spreadsheet runs as a "
                                            "formula; write it with a leading apostrophe"),
    "formula_at_cell.csv": (3, "device", "starts with '@', which a spreadsheet runs as a formula"),
    "not_a_number.csv": (2, "std_ms", "'fast' is not a number"),
    "negative_ci.csv": (3, "ci_rel", "-0.100000 must be >= 0"),
    "int_out_of_range.csv": (4, "cin", "0 is out of range; cin must be >= 1"),
    "int_not_int.csv": (5, "threads", "'1.5' is not an integer"),
    "empty_field.csv": (2, "governor", "empty; every column is required (write 'unknown'"),
    "duplicate_key.csv": (11, None, "duplicate key k3_e1@16>16/s1@32x32 (block=k3_e1, cin=16, cout=16, stride=1, "
                                    "h=32, w=32); first on line 4"),
    "block_k4.csv": (3, "block", "block name 'k4_e1': kernel 4 in 'k4' is not allowed"),
    "block_conv.csv": (8, "block", "block name 'conv3x3': unknown block 'conv3x3'"),
    "bad_measured_at.csv": (10, "measured_at", "'15/01/2025 10:00' is not an ISO-8601 date-time"),
    "truncated.csv": (11, "p90_ms", "missing: the row has 9 of 28 fields (cut short?)"),
    "empty.csv": (1, None, "empty file"),
    "not_utf8.csv": (9, "device_model", "not UTF-8: byte 0xae at byte offset 1863"),
}


def where(line: int, column: str | None) -> str:
    return f"line {line}, column {column}: " if column else f"line {line}: "


def test_every_fixture_is_covered():
    files = {p.name for p in LUT_FIXTURES.glob("*.csv")} - {"valid.csv", "fbnet-cifar-cpu.csv"}
    assert files == set(CASES)


def test_valid_fixture_has_no_problems():
    assert validate_bytes(VALID.read_bytes()) == []
    assert validate_bytes((LUT_FIXTURES / "fbnet-cifar-cpu.csv").read_bytes()) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_problem_names_line_and_column(name):
    line, column, fragment = CASES[name]
    problems = validate_bytes((LUT_FIXTURES / name).read_bytes())
    assert problems, name
    first = problems[0]
    assert (first.line, first.column) == (line, column)
    assert fragment in first.message
    assert str(first).startswith(where(line, column))


@pytest.mark.parametrize("name", sorted(CASES))
def test_load_raises_one_line_error_naming_file_line_column(name):
    line, column, fragment = CASES[name]
    path = LUT_FIXTURES / name
    with pytest.raises(LUTError) as info:
        lut.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {where(line, column)}")
    assert fragment in message


def test_load_counts_the_other_problems():
    text = VALID.read_text().replace("0.300000,", "nan,", 1).replace(",1,cpu,", ",2,cpu,", 1)
    problems = check_text(text).problems
    assert len(problems) == 2
    with pytest.raises(LUTError, match=r"\(and 1 more problem\)$"):
        lut.loads(text.encode(), "x.csv")


def test_problems_are_sorted_by_line_then_column():
    lines = VALID.read_text().splitlines()
    lines[4] = lines[4].replace("k3_e1", "k4_e1")
    lines[2] = lines[2].replace(",200,", ",0,")
    problems = check_text("\n".join(lines) + "\n").problems
    assert [(p.line, p.column) for p in problems] == [(3, "n"), (5, "block")]


def test_decode_gives_byte_offset_of_header_problem():
    data = b"sch\xffema,block\n"
    text, problem = decode(data)
    assert problem == Problem(1, None, problem.message)
    assert "byte offset 3" in problem.message


def test_bom_is_accepted():
    assert validate_bytes(b"\xef\xbb\xbf" + VALID.read_bytes()) == []


def test_header_only_file_is_an_empty_lut():
    header = ",".join(COLUMNS) + "\n"
    assert validate_bytes(header.encode()) == []
    assert len(lut.loads(header.encode())) == 0


def test_columns_may_come_in_any_order():
    frame = pd.read_csv(VALID, dtype=str, keep_default_na=False)
    text = frame[list(reversed(COLUMNS))].to_csv(index=False)
    assert lut.loads(text.encode()) == lut.load(VALID)


def test_too_many_fields_and_duplicate_header():
    lines = VALID.read_text().splitlines()
    lines[3] += ",extra"
    assert str(check_text("\n".join(lines)).problems[0]) == "line 4: the row has 32 fields, the header 31"
    dup = VALID.read_text().replace("cores", "threads", 1)
    problems = check_text(dup).problems
    assert str(problems[0]).startswith("line 1, column threads: appears more than once")


def test_unterminated_quote_is_malformed_csv():
    text = VALID.read_text() + '1,"skip,16\n'
    problems = check_text(text).problems
    assert problems[0].line == 12 and "malformed CSV" in problems[0].message


def test_unknown_old_schema_version():
    text = VALID.read_text().replace("\n4,", "\n0,")
    problems = check_text(text).problems
    assert str(problems[0]) == "line 2, column schema: unknown schema version 0; versions start at 1"


def test_p10_median_p90_order():
    text = VALID.read_text().replace("0.150000,0.142500,0.165000", "0.150000,0.160000,0.165000")
    assert str(check_text(text).problems[0]).startswith("line 2, column median_ms: expected p10_ms <= median_ms")


@pytest.mark.parametrize("column,text,fragment", [
    ("stable", "2", "stable must be 0 or 1"),
    ("opset", "-1", "opset must be >= 0"),
    ("opset", "0", None),
    ("layer", "-2", "layer must be >= -1"),
    ("layer", "-1", None),
    ("layer", "21", None),
    ("cores", "99999999999999999999", "out of range"),
    ("cin", "+3", "not an integer"),
    ("cin", " 3", "not an integer"),
    ("median_ms", "1_0.5", "not a plain decimal number"),
    ("median_ms", "1e-3", None),
    ("median_ms", "0.0000001", "must be > 0 (it is 0.000000 at the stored precision)"),
    ("median_ms", "-inf", "infinite"),
    ("std_ms", "0", None),
    ("std_ms", "-0.5", "must be >= 0"),
    ("p10_ms", "", "empty; every column is required"),
    ("device", "NA", "reads as missing (NaN) in pandas"),
    ("device", "a\nb", "line break"),
    ("block", "k3_e1", None),
    ("measured_at", "unknown", None),
    ("measured_at", "2025-01-15T10:00:00+02:00", None),
    ("measured_at", "2025-01-15T10:00:00.123Z", None),
    ("measured_at", "2025-01-15", "ISO-8601"),
    ("measured_at", "2025-13-15T10:00:00Z", "ISO-8601"),
])
def test_cell_rules(column, text, fragment):
    what = check_cell(column, text)
    assert (what is None) if fragment is None else (fragment in what)


def test_rows_from_memory_name_row_and_column():
    from .conftest import make_row

    rows = [make_row("k3_e1", 16, 16, 1, 32, 32, 0.3), make_row("k3_e1", 16, 16, 1, 8, 8, math.inf)]
    with pytest.raises(LUTError) as info:
        lut.LUT.from_rows(rows)
    assert str(info.value).startswith("rows: row 1, column median_ms: 'inf' is infinite; median_ms must be a finite")
    assert str(info.value).endswith("(and 3 more problems)")  # p10_ms, p90_ms, std_ms follow the median
    missing = [{k: v for k, v in rows[0].items() if k != "os"}]
    with pytest.raises(LUTError, match=r"^rows: column os: missing column\(s\): os$"):
        lut.LUT.from_rows(missing)
    with pytest.raises(LUTError, match="row 1: duplicate key"):
        lut.LUT.from_rows([rows[0], rows[0]])
