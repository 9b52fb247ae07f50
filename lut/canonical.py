"""The canonical form of a LUT: typed columns, row order, and the CSV text.

One LUT has exactly one text: rows sorted by (block, cin, cout, stride, h, w)
with the ints compared as numbers, columns in COLUMNS order, floats written
with FLOAT_FORMAT, ints as ints, ``\\n`` line endings, UTF-8, no BOM. A file in
canonical form loads and saves back byte-identical, and the SHA-256 of this
text is the LUT's identity (``content_hash``).
"""

from __future__ import annotations

import csv
import hashlib
import io

import numpy as np
import pandas as pd

from lut.cells import format_cell, parse_cell
from lut.schema import COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, KEY_COLUMNS


def _dtype(column: str) -> object:
    return np.int64 if column in INT_COLUMNS else np.float64 if column in FLOAT_COLUMNS else object


def empty_frame() -> pd.DataFrame:
    """A typed frame with the current columns and no rows."""
    return pd.DataFrame({c: pd.Series([], dtype=_dtype(c)) for c in COLUMNS})


def sort_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in key order, columns in COLUMNS order, a fresh 0..n-1 index."""
    frame = frame.loc[:, list(COLUMNS)]
    return frame.sort_values(list(KEY_COLUMNS), kind="mergesort").reset_index(drop=True)


def typed_frame(raw: pd.DataFrame) -> pd.DataFrame:
    """The typed, sorted frame of a checked raw table (string cells)."""
    if raw.empty:
        return empty_frame()
    data = {c: pd.Series([parse_cell(c, t) for t in raw[c]], dtype=_dtype(c)) for c in COLUMNS}
    return sort_frame(pd.DataFrame(data))


def csv_text(frame: pd.DataFrame) -> str:
    """The canonical CSV text of a typed, sorted frame."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    columns = [[format_cell(c, v) for v in frame[c].tolist()] for c in COLUMNS]
    writer.writerows(zip(*columns))
    return out.getvalue()


def content_hash(text: str) -> str:
    """``sha256:<hex>`` of canonical CSV text."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
