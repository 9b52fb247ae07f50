"""Validation of a LUT's raw text or rows: a list of problems, no I/O.

Each problem names the line in the file (1-based, the header is line 1; for
rows handed in from memory, the row index), the column, and what is wrong.
The checks run in order: UTF-8, CSV structure (header, field counts), schema
version, upgrade of an earlier version (lut.migrations), the columns, every
cell (lut.cells), then duplicate keys. Cells are read as strings so no value
is guessed at.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

from lut import migrations, schema
from lutnas import __version__
from lut.cells import INT_TEXT, check_cell, parse_cell
from lut.schema import COLUMNS, KEY_COLUMNS, Key


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a LUT: where (line or row, column) and what."""

    line: int | None
    column: str | None
    message: str
    unit: str = "line"

    def __str__(self) -> str:
        where = [f"{self.unit} {self.line}"] if self.line is not None else []
        where += [f"column {self.column}"] if self.column is not None else []
        return ", ".join(where) + ": " + self.message if where else self.message


class Checked(NamedTuple):
    """A raw table (string cells, index = line numbers) and its problems; frame is None on problems."""

    frame: pd.DataFrame | None
    problems: list[Problem]


def decode(data: bytes) -> tuple[str, Problem | None]:
    """The text of a UTF-8 file (a leading BOM dropped), or a problem giving the bad byte's offset."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff"), None
    except UnicodeDecodeError as e:
        off = e.start
        line = data.count(b"\n", 0, off) + 1
        column = None
        if line > 1:  # which column the bad byte is in, by the header's fields
            header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")]), [])
            start = data.rfind(b"\n", 0, off) + 1
            prefix = data[start:off].decode("utf-8", "replace")
            index = max(len(next(csv.reader([prefix]), [])) - 1, 0)
            column = header[index] if index < len(header) else None
        return "", Problem(line, column, f"not UTF-8: byte 0x{data[off]:02x} at byte offset {off} "
                                         f"cannot be decoded ({e.reason}); save the file as UTF-8")


class Records(NamedTuple):
    """A CSV file split into its header and the records that have as many fields as the header."""

    header_line: int
    header: list[str]
    records: list[tuple[int, list[str]]]  # (line, fields)
    problems: list[Problem]


def read_records(text: str) -> Records:
    """Split a LUT file's text into header and records; problems: empty file, malformed CSV, field counts."""
    if not text.strip():
        return Records(1, [], [], [Problem(1, None, "empty file; expected a header line naming the LUT "
                                                    f"columns ({','.join(COLUMNS[:3])},...)")])
    problems: list[Problem] = []
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    header_line = consumed = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            problems.append(Problem(consumed + 1, None, f"malformed CSV: {e}"))
            break
        line, consumed = consumed + 1, reader.line_num
        if not fields:  # a blank line
            continue
        if header is None:
            header, header_line = fields, line
        elif len(fields) < len(header):
            problems.append(Problem(line, header[len(fields)], f"missing: the row has {len(fields)} of "
                                                               f"{len(header)} fields (cut short?)"))
        elif len(fields) > len(header):
            problems.append(Problem(line, None, f"the row has {len(fields)} fields, the header {len(header)}"))
        else:
            records.append((line, fields))
    return Records(header_line or 1, header or [], records, problems)


def _check_header_names(header: list[str], line: int) -> list[Problem]:
    problems, seen = [], set()
    for i, name in enumerate(header):
        if name == "":
            problems.append(Problem(line, f"#{i + 1}", "empty column name in the header"))
        elif name in seen:
            problems.append(Problem(line, name, "appears more than once in the header"))
        seen.add(name)
    return problems


def check_header(columns: list[str], line: int | None = 1, unit: str = "line") -> list[Problem]:
    """Missing and unknown columns (each kind named in one problem)."""
    missing = [c for c in COLUMNS if c not in columns]
    unknown = [c for c in columns if c not in COLUMNS]
    problems = []
    if missing:
        problems.append(Problem(line, missing[0], f"missing column(s): {', '.join(missing)}", unit))
    if unknown:
        problems.append(Problem(line, unknown[0], f"unknown column(s): {', '.join(unknown)}; a schema "
                                                  f"{schema.SCHEMA_VERSION} LUT has only the columns in "
                                                  f"docs/lut-format.md", unit))
    return problems


def check_schema(frame: pd.DataFrame, unit: str = "line") -> tuple[int | None, list[Problem]]:
    """The one schema version of the rows, or problems: not an integer, unknown, newer, mixed."""
    current = schema.SCHEMA_VERSION
    problems: list[Problem] = []
    reported: set[str] = set()
    first: tuple[int, int] | None = None  # (version, line)
    for line, text in frame["schema"].items():
        if not INT_TEXT.match(text):
            problems.append(Problem(line, "schema", f"schema version {text!r} is not an integer", unit))
            continue
        version = int(text)
        if version < 1 and text not in reported:
            reported.add(text)
            problems.append(Problem(line, "schema", f"unknown schema version {version}; versions start at 1", unit))
        if first is None:
            first = (version, line)
        elif version != first[0] and "mixed" not in reported:
            reported.add("mixed")
            problems.append(Problem(line, "schema", f"schema {version} differs from schema {first[0]} on "
                                                    f"{unit} {first[1]}; a LUT holds one schema version", unit))
        if version > current and text not in reported:
            reported.add(text)
            problems.append(Problem(line, "schema", newer_schema_message(version, frame), unit))
    return (first[0] if first and not problems else None), problems


def _version_tuple(text: str) -> tuple[int, ...] | None:
    parts = text.split("+")[0].split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def newer_schema_message(version: int, frame: pd.DataFrame | None = None) -> str:
    """Why a schema-``version`` table cannot be read, naming the lutnas release it needs."""
    current = schema.SCHEMA_VERSION
    ours = _version_tuple(__version__) or ()
    measured = []
    if frame is not None and "toolkit" in frame.columns:
        measured = sorted({t for t in frame["toolkit"] if (_version_tuple(t) or ()) > ours},
                          key=lambda t: _version_tuple(t) or ())
    hint = f" (its rows were measured with lutnas {measured[-1]})" if measured else ""
    return (f"written by a newer lutnas (schema {version}); this toolkit (lutnas {__version__}) reads schema "
            f"<= {current}: upgrade to a lutnas release after {__version__} that reads schema {version}{hint}")


def check_cells(frame: pd.DataFrame, unit: str = "line") -> list[Problem]:
    """Every cell of a table with the current columns, the latency order, and duplicate keys."""
    problems: list[Problem] = []
    bad: set[object] = set()
    for column in COLUMNS:
        if column == "schema":
            continue
        for line, text in frame[column].items():
            what = check_cell(column, text)
            if what is not None:
                problems.append(Problem(line, column, what, unit))
                bad.add(line)
    good = frame.loc[[line not in bad for line in frame.index]]
    for line, p10, med, p90 in zip(good.index, good["p10_ms"], good["median_ms"], good["p90_ms"]):
        if not float(p10) <= float(med) <= float(p90):
            problems.append(Problem(line, "median_ms", f"expected p10_ms <= median_ms <= p90_ms, got "
                                                       f"{p10} / {med} / {p90}", unit))
    problems += _duplicates(good, unit)
    return problems


def _duplicates(frame: pd.DataFrame, unit: str) -> list[Problem]:
    seen: dict[Key, object] = {}
    problems = []
    columns = [frame[c] for c in KEY_COLUMNS]
    for line, *cells in zip(frame.index, *columns):
        key = Key._make(parse_cell(c, t) for c, t in zip(KEY_COLUMNS, cells))
        if key in seen:
            problems.append(Problem(line, None, f"duplicate key {key} (block={key.block}, cin={key.cin}, "
                                                f"cout={key.cout}, stride={key.stride}, h={key.h}, w={key.w}); "
                                                f"first on {unit} {seen[key]}", unit))
        else:
            seen[key] = line
    return problems


def _order(p: Problem) -> tuple[int, int]:
    column = COLUMNS.index(p.column) if p.column in COLUMNS else len(COLUMNS)
    return (p.line if isinstance(p.line, int) else -1, column)


def check_table(frame: pd.DataFrame, header_line: int | None = 1, unit: str = "line") -> Checked:
    """Check a raw table (string cells, index = line or row), upgrading an earlier schema on the way."""
    if "schema" not in frame.columns:
        return Checked(None, check_header(list(frame.columns), header_line, unit))
    version, problems = check_schema(frame, unit)
    if problems:
        return Checked(None, sorted(problems, key=_order))
    if version is not None and version < schema.SCHEMA_VERSION:
        try:
            frame = migrations.upgrade(frame, version)
        except LookupError as e:
            return Checked(None, [Problem(frame.index[0], "schema", str(e), unit)])
    problems = check_header(list(frame.columns), header_line, unit)
    if not problems:
        problems = sorted(check_cells(frame, unit), key=_order)
    return Checked(None if problems else frame, problems)


def check_text(text: str) -> Checked:
    """Check a LUT file's text."""
    header_line, header, records, problems = read_records(text)
    if not header:
        return Checked(None, problems)
    names = _check_header_names(header, header_line)
    if names:
        return Checked(None, sorted(problems + names, key=_order))
    frame = pd.DataFrame([f for _, f in records], columns=header, index=[line for line, _ in records], dtype=object)
    checked = check_table(frame, header_line)
    problems = sorted(problems + checked.problems, key=_order)
    return Checked(None if problems else checked.frame, problems)


def validate_bytes(data: bytes) -> list[Problem]:
    """Every problem of a LUT file's bytes (empty when it loads)."""
    text, problem = decode(data)
    return [problem] if problem else check_text(text).problems
