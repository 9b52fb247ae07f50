"""Result files of a run: metrics.csv (a row per epoch) and the default result folder.

CSV cells are written with one rule (``format_value``) so the same numbers
always give the same text: integers as integers, floats with 8 significant
digits, NaN/None as an empty cell. Columns are the known ones in a fixed
order, then any other keys the rows carry, in first-seen order (nothing is
dropped). No torch here.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from lutnas import files

METRICS_COLUMNS: tuple[str, ...] = (
    "epoch", "phase", "tau", "train_loss", "train_acc", "val_loss", "val_acc",
    "expected_ms", "sampled_ms", "lr_w", "lr_theta", "seconds",
)
TRAIN_COLUMNS: tuple[str, ...] = ("epoch", "loss", "train_acc", "test_acc", "seconds")
INT_COLUMNS = frozenset({"epoch"})
STR_COLUMNS = frozenset({"phase"})
PHASES = ("warmup", "search")
FLOAT_DIGITS = 8


def format_value(value: Any) -> str:
    """One cell's text: '' for None/NaN, ints as is, floats to 8 significant digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real) or (hasattr(value, "__float__") and not isinstance(value, str)):
        v = float(value)
        if math.isnan(v):
            return ""
        return repr(int(v)) + ".0" if v.is_integer() and abs(v) < 1e15 else f"{v:.{FLOAT_DIGITS}g}"
    return str(value)


def columns_of(rows: Iterable[dict[str, Any]], known: Sequence[str]) -> list[str]:
    """The known columns, then the rows' other keys in first-seen order."""
    cols = list(known)
    for row in rows:
        cols.extend(k for k in row if k not in cols)
    return cols


def write_rows(rows: Sequence[dict[str, Any]], path: str | Path, known: Sequence[str]) -> Path:
    """Write rows as CSV atomically (header = ``columns_of``); a missing key is an empty cell."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    cols = columns_of(rows, known)
    writer.writerow(cols)
    for row in rows:
        writer.writerow([format_value(row.get(c)) for c in cols])
    p = Path(path)
    files.write_atomic(p, buf.getvalue(), parents=True)
    return p


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a CSV written by ``write_rows``: epoch as int, phase as str, empty as NaN, other numbers float."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}: cannot read: {e}") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise ValueError(f"{p}: empty file (no header)")
    rows = []
    for line, raw in enumerate(reader, start=2):
        if None in raw or any(v is None for v in raw.values()):
            raise ValueError(f"{p}: line {line}: expected {len(reader.fieldnames)} cells")
        try:
            rows.append({k: _parse(k, v) for k, v in raw.items()})
        except ValueError as e:
            raise ValueError(f"{p}: line {line}: {e}") from None
    return rows


def _parse(column: str, text: str) -> Any:
    if column in STR_COLUMNS:
        return text
    if column in INT_COLUMNS:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{column} must be an integer, got {text!r}") from None
    if text == "":
        return math.nan
    try:
        return float(text)
    except ValueError:
        return text


def write_metrics(rows: Sequence[dict[str, Any]], path: str | Path) -> Path:
    """metrics.csv of a search: a row per epoch (``METRICS_COLUMNS`` first, then any extra keys)."""
    for i, row in enumerate(rows):
        phase = row.get("phase")
        if phase not in PHASES:
            raise ValueError(f"metrics row {i}: phase must be one of {', '.join(PHASES)}, got {phase!r}")
    return write_rows(rows, path, METRICS_COLUMNS)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a metrics.csv (see ``read_rows`` for the types)."""
    rows = read_rows(path)
    if rows and "epoch" not in rows[0]:
        raise ValueError(f"{path}: not a metrics file (no epoch column)")
    return rows


def default_out_dir(now: datetime | None = None) -> Path:
    """runs/<UTC time as YYYYmmdd-HHMMSS> (a naive ``now`` is taken as UTC)."""
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is not None:
        now = now.astimezone(timezone.utc)
    return Path("runs") / now.strftime("%Y%m%d-%H%M%S")
