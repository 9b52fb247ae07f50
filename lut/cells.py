"""One LUT cell: what its text may be, its typed value, its canonical text.

Pure and stdlib-only. The same rules check a file's text and the rows a
profiler hands to ``LUT.from_rows`` (after ``to_text``), so whatever a LUT
holds can be saved and loaded back unchanged. Floats are kept at the stored
precision (FLOAT_FORMAT) from the start: the in-memory value is the value a
reload gives.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, Union

from lut.names import format_name, parse_name
from lut.schema import FLOAT_COLUMNS, FLOAT_FORMAT, INT_COLUMNS, LATENCY_COLUMNS, PROVENANCE_COLUMNS

Value = Union[int, float, str]

INT_MAX = 2**63 - 1
# Smallest allowed value of each int column (stable is also at most 1).
INT_MIN: dict[str, int] = {c: 1 for c in INT_COLUMNS}
INT_MIN.update(stable=0, opset=0, layer=-1)
UNKNOWN = "unknown"
# How an entry was timed (the ``conditions`` column): with copies rotated so the caches hold what they hold inside
# a network, the block alone run after run, or not recorded (imported rows).
CONDITIONS = ("in-network", "warm", UNKNOWN)
# Strings plain ``pandas.read_csv`` turns into NaN: refused so a saved LUT reads back as written.
PANDAS_NA = frozenset({
    "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
})

INT_TEXT = re.compile(r"-?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?\Z")


def round_float(value: float) -> float:
    """``value`` at the stored precision (never -0.0)."""
    return float(FLOAT_FORMAT.format(value)) + 0.0


def _check_int(column: str, text: str) -> str | None:
    if not INT_TEXT.match(text):
        return f"{text!r} is not an integer"
    value, low = int(text), INT_MIN[column]
    high = 1 if column == "stable" else INT_MAX
    if not low <= value <= high:
        allowed = "0 or 1" if column == "stable" else f">= {low}" if value < low else f"<= {INT_MAX}"
        return f"{value} is out of range; {column} must be {allowed}"
    return None


def _check_float(column: str, text: str) -> str | None:
    try:
        value = float(text)
    except ValueError:
        return f"{text!r} is not a number"
    if math.isnan(value):
        return f"{text!r} is NaN; {column} must be a finite number"
    if math.isinf(value):
        return f"{text!r} is infinite; {column} must be a finite number"
    if not _FLOAT.match(text):
        return f"{text!r} is not a plain decimal number"
    stored = round_float(value)
    if column in LATENCY_COLUMNS and stored <= 0:
        note = f" (it is {FLOAT_FORMAT.format(stored)} at the stored precision)" if value > 0 else ""
        return f"{text} must be > 0{note}"
    if column in LATENCY_COLUMNS + ("std_ms",) and value > MAX_MS:
        return f"{text} ms is not a plausible latency of one block (more than {MAX_MS:g} ms)"
    if column not in LATENCY_COLUMNS and stored < 0:
        return f"{text} must be >= 0"
    return None


def _check_block(text: str) -> str | None:
    try:
        canonical = format_name(parse_name(text))
    except ValueError as e:
        return str(e)
    return None if canonical == text else f"{text!r} is not canonical; write {canonical!r}"


def timestamp(text: str) -> float:
    """A ``measured_at`` cell as POSIX seconds (UTC when no zone is given); ``unknown`` is the oldest."""
    if text == UNKNOWN:
        return float("-inf")
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _check_measured_at(text: str) -> str | None:
    if text == UNKNOWN:
        return None
    try:
        if _ISO.match(text):
            dt.datetime.fromisoformat(text)
            return None
    except ValueError:
        pass
    return f"{text!r} is not an ISO-8601 date-time like 2024-05-01T12:00:00Z (or {UNKNOWN!r})"


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula (OWASP CSV injection)
MAX_MS = 100_000.0  # a latency beyond 100 s is not a measurement of one block


def formula_like(text: str) -> bool:
    """Whether a spreadsheet would take ``text`` for a formula: it starts with = + - @ tab or CR, and is not a
    plain number (-1.5 is data)."""
    return text[:1] in FORMULA_START and not _FLOAT.match(text)


def neutralise(text: str) -> str:
    """``text`` with a leading apostrophe when it is formula-like (spreadsheets show it as text)."""
    return "'" + text if formula_like(text) else text


def _check_str(column: str, text: str) -> str | None:
    if formula_like(text):
        return (f"{text[:40]!r} starts with {text[0]!r}, which a spreadsheet runs as a formula; "
                f"write it with a leading apostrophe: '{text[:1]}...")
    if text in PANDAS_NA:
        return f"{text!r} reads as missing (NaN) in pandas; write {UNKNOWN!r} when not known"
    if "\n" in text or "\r" in text:
        return "contains a line break"
    if column == "block":
        return _check_block(text)
    if column == "measured_at":
        return _check_measured_at(text)
    if column == "conditions" and text not in CONDITIONS:
        return f"{text!r} is not a measurement condition; known: {', '.join(CONDITIONS)}"
    return None


def check_cell(column: str, text: str) -> str | None:
    """What is wrong with ``text`` as a ``column`` value, or None when it is fine."""
    if text == "":
        hint = f" (write {UNKNOWN!r} when not known)" if column in PROVENANCE_COLUMNS and column not in INT_COLUMNS else ""
        return f"empty; every column is required{hint}"
    if column in INT_COLUMNS:
        return _check_int(column, text)
    if column in FLOAT_COLUMNS:
        return _check_float(column, text)
    return _check_str(column, text)


def parse_cell(column: str, text: str) -> Value:
    """The typed value of a checked cell (floats at the stored precision)."""
    if column in INT_COLUMNS:
        return int(text)
    if column in FLOAT_COLUMNS:
        return round_float(float(text))
    return text


def format_cell(column: str, value: Any) -> str:
    """The canonical text of a typed value."""
    if column in INT_COLUMNS:
        return str(int(value))
    if column in FLOAT_COLUMNS:
        return FLOAT_FORMAT.format(float(value) + 0.0)
    return str(value)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA, NaT
    except TypeError:  # pd.NA refuses bool()
        return True


def to_text(column: str, value: Any) -> str:
    """Text of a Python value handed in as a row, for ``check_cell`` (not yet canonical); a formula-like
    string (a profile's name, a phone's model) gets a leading apostrophe, so writers never emit a formula."""
    if isinstance(value, str):
        return value if column in INT_COLUMNS or column in FLOAT_COLUMNS else neutralise(value)
    if _missing(value) and not isinstance(value, float):  # None, pd.NA, NaT
        return ""
    if column in INT_COLUMNS:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if hasattr(value, "__index__"):  # int, bool, numpy integers
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    if column in FLOAT_COLUMNS:
        try:
            return repr(float(value))
        except (TypeError, ValueError):
            return str(value)
    return "" if _missing(value) else str(value)


def to_native(column: str, value: Any) -> Value:
    """A typed frame cell as a plain Python value."""
    if column in INT_COLUMNS:
        return int(value)
    if column in FLOAT_COLUMNS:
        return float(value)
    return str(value)
