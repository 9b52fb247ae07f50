"""Upgrades of LUT tables written in an earlier schema version to the current one.

``MIGRATIONS[v]`` turns a schema-``v`` table into a schema-``v+1`` table. The
loader chains them (v -> v+1 -> ... -> SCHEMA_VERSION) before it checks the
columns and cells against the current schema, so every earlier version stays
loadable. A migration works on the raw table: every cell is a string and the
index holds the file's line numbers (keep both, so problems still point at
the right line).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from lut import schema
from lutnas.registry import Registry

if TYPE_CHECKING:
    import pandas as pd

Migration = Callable[["pd.DataFrame"], "pd.DataFrame"]

MIGRATIONS: Registry[int, Migration] = Registry("migration from schema")


def register(from_version: int) -> Callable[[Migration], Migration]:
    """Decorator: register the migration from ``from_version`` to ``from_version + 1``."""
    if from_version < 1:
        raise ValueError(f"schema versions start at 1, got {from_version}")
    return MIGRATIONS.decorator(from_version)


def upgrade(frame: "pd.DataFrame", version: int) -> "pd.DataFrame":
    """``frame`` (schema ``version``, string cells) upgraded to the current schema version."""
    current = schema.SCHEMA_VERSION
    for v in range(version, current):
        if v not in MIGRATIONS:
            raise LookupError(f"no migration from schema {v} to {v + 1}; this toolkit cannot read schema {v}")
        frame = MIGRATIONS[v](frame.copy())
        frame["schema"] = str(v + 1)
    return frame


@register(1)
def _v1_to_v2(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Schema 2 only added names (calib_offset, calib_scale) and a runtime (executorch); a v1 table is valid v2."""
    return frame


@register(2)
def _v2_to_v3(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Schema 3 added ``conditions`` and ``copies``: every earlier row was timed warm, on one copy of its block."""
    at = list(frame.columns).index("threads") + 1 if "threads" in frame.columns else len(frame.columns)
    frame.insert(at, "conditions", "warm")
    frame.insert(at + 1, "copies", "1")
    return frame


@register(3)
def _v3_to_v4(frame: "pd.DataFrame") -> "pd.DataFrame":
    """Schema 4 added the key column ``layer``: every earlier row holds at every layer of its slot."""
    at = list(frame.columns).index("w") + 1 if "w" in frame.columns else len(frame.columns)
    frame.insert(at, "layer", str(schema.ANY_LAYER))
    return frame
