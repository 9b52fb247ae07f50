"""The LUT: an immutable, validated table of latencies keyed by (block, slot).

Every way of building one goes through the same checks as a file does, so a
LUT in memory can always be saved, and loads back equal. Operations return
new LUTs; the frame inside is never handed out for mutation.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Union

import pandas as pd

from lut import canonical, schema
from lut.cells import to_native, to_text
from lut.schema import COLUMNS, ENVIRONMENT_COLUMNS, KEY_COLUMNS, PROVENANCE_COLUMNS, Key, LUTError
from lut.checks import Problem, check_table

if TYPE_CHECKING:
    from lut.matrix import Matrix, SpaceLike

Rows = Union[Iterable[Mapping[str, Any]], pd.DataFrame, "LUT"]


def problems_error(where: str, problems: list[Problem]) -> LUTError:
    """One-line LUTError for a list of problems: the first, and how many more."""
    more = len(problems) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return LUTError(f"{where}: {problems[0]}{tail}")


def _raw_frame(rows: Rows) -> pd.DataFrame:
    """Rows as a raw table of strings indexed by row number; schema filled in when absent."""
    if isinstance(rows, LUT):
        rows = rows.frame
    frame = rows.reset_index(drop=True) if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    if "schema" not in frame.columns and len(frame.columns):
        frame["schema"] = schema.SCHEMA_VERSION
    current = frame["schema"].astype(str).eq(str(schema.SCHEMA_VERSION)).all() if len(frame.columns) else False
    if current and "layer" not in frame.columns:  # rows of the current schema built in code hold at every layer
        frame["layer"] = schema.ANY_LAYER
    raw = {c: [to_text(c, v) for v in frame[c].tolist()] for c in frame.columns}
    return pd.DataFrame(raw, columns=list(frame.columns), index=range(len(frame)), dtype=object)


class LUT:
    """Latency lookup table; build with ``from_rows``, ``empty`` or ``lut.load``."""

    def __init__(self, frame: pd.DataFrame, source: str | Path | None = None) -> None:
        """Wrap an already typed and sorted frame (use ``from_rows`` for anything else)."""
        self._frame = frame
        self.source: Path | None = Path(source) if source is not None else None
        keys = zip(*(frame[c].tolist() for c in KEY_COLUMNS))
        self._index: dict[Key, int] = {Key(*k): i for i, k in enumerate(keys)}
        self._text: str | None = None

    @classmethod
    def from_rows(cls, rows: Rows, source: str | Path | None = None) -> LUT:
        """A LUT from row dicts or a DataFrame, checked like a file; LUTError names the bad row and column.

        ``schema`` may be left out (the current version); every other column is required.
        """
        raw = _raw_frame(rows)
        if raw.empty and not len(raw.columns):
            return cls.empty(source)
        checked = check_table(raw, header_line=None, unit="row")
        if checked.problems:
            raise problems_error(str(source) if source else "rows", checked.problems)
        return cls(canonical.typed_frame(checked.frame), source)

    @classmethod
    def empty(cls, source: str | Path | None = None) -> LUT:
        """A LUT with no rows."""
        return cls(canonical.empty_frame(), source)

    @property
    def frame(self) -> pd.DataFrame:
        """A copy of the rows: columns in COLUMNS order with int64/float64/str dtypes, key order."""
        return self._frame.copy()

    def keys(self) -> set[Key]:
        """Every key in the LUT."""
        return set(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        try:
            return Key(*key) in self._index  # type: ignore[arg-type]
        except TypeError:
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LUT) and self.to_csv_text() == other.to_csv_text()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = f" from {self.source}" if self.source else ""
        return f"<LUT {len(self)} rows{where} {self.content_hash()[:19]}>"

    def _position(self, key: Key) -> int:
        try:
            return self._index[Key(*key)]
        except (KeyError, TypeError):
            pass
        where = f" {self.source}" if self.source else ""
        block = key[0] if isinstance(key, tuple) and key else None
        elsewhere = sum(1 for k in self._index if k.block == block)
        hint = f"; {block} is there at {elsewhere} other slot(s)" if elsewhere else f"; no row has block {block!r}"
        raise KeyError(f"no row for key {key} in the LUT{where} ({len(self)} rows){hint}")

    def row(self, key: Key) -> dict[str, Any]:
        """The row of ``key`` as plain Python values (KeyError naming the key when absent)."""
        i = self._position(key)
        return {c: to_native(c, self._frame[c].iat[i]) for c in COLUMNS}

    def latency(self, key: Key) -> float:
        """The median latency of ``key`` in ms (KeyError naming the key when absent)."""
        return float(self._frame["median_ms"].iat[self._position(key)])

    def add(self, rows: Rows, replace: bool = False) -> LUT:
        """A new LUT with ``rows`` added; a key already here is a LUTError unless ``replace``."""
        new = rows if isinstance(rows, LUT) else LUT.from_rows(rows)
        clash = [k for k in new._index if k in self._index]
        if clash and not replace:
            raise LUTError(f"{self.source or 'LUT'}: {len(clash)} key(s) already present, first {clash[0]}; "
                           f"pass replace=True to overwrite them")
        if not len(self):
            return LUT(new._frame, self.source)
        gone = set(clash)
        keep = self._frame.loc[[k not in gone for k in self._index]]  # _index is in frame order
        frame = pd.concat([keep, new._frame], ignore_index=True)
        return LUT(canonical.sort_frame(frame), self.source)

    def provenance(self) -> dict[str, list[str]]:
        """The distinct values (as text, sorted) of each provenance column."""
        return {c: sorted({str(v) for v in self._frame[c].tolist()}) for c in PROVENANCE_COLUMNS}

    def environments(self) -> list[tuple[Any, ...]]:
        """Distinct (device_model, runtime, runtime_version, opt_level, threads) tuples, sorted.

        More than one means rows measured in different environments are mixed.
        """
        columns = [self._frame[c].tolist() for c in ENVIRONMENT_COLUMNS]
        return sorted(set(zip(*columns)), key=lambda t: tuple(str(v) for v in t))

    def to_csv_text(self) -> str:
        """The canonical CSV text (see lut.canonical)."""
        if self._text is None:
            self._text = canonical.csv_text(self._frame)
        return self._text

    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical CSV text: the LUT's identity."""
        return canonical.content_hash(self.to_csv_text())

    def matrix(self, space: SpaceLike, calibrated: bool = True) -> Matrix:
        """Net latencies of ``space``'s layers x candidates (MissingKeysError lists what to profile);
        a whole-network calibration stored for the space is folded in unless ``calibrated`` is False."""
        from lut.matrix import build_matrix

        return build_matrix(self, space, calibrated)
