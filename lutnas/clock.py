"""The one timestamp format of lutnas files (LUT rows' measured_at, phone records): UTC, ISO 8601, to the second."""

from __future__ import annotations

import datetime as dt


def now_utc() -> str:
    """The current UTC time, e.g. 2026-12-01T08:30:00Z."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
