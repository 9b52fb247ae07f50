"""A LUT's whole-network calibration: measured ~= offset + scale * (the LUT's sum).

The LUT's sum (overhead + stem + head + the chosen blocks, ``Matrix.predict``) misses
what only a whole network shows: on a CPU, a block timed alone runs with its weights
and activations hot in cache, while in a network the other blocks have evicted them
(the fbnet head's 10 MB of weights cost about 0.5 ms more inside the network on this
project's build host). ``python -m profiler.calibrate`` fits the line over networks
measured by ``python -m profiler.validate`` and stores it in the LUT as two reserved
rows, so the calibration travels with the LUT and is part of its content hash:

    calib_offset  median_ms = offset in ms (>= 0; the row is left out when 0)
    calib_scale   median_ms = scale, unitless (a number, not ms)

Both sit at the slot of the networks they were fitted on: ``cin`` 3 (the image's
channels, the ``overhead`` row's ``cin``), ``cout`` the classes (the head's ``cout``),
``stride`` 1, ``h`` x ``w`` the input size. ``p10_ms``/``p90_ms``/``std_ms`` are the
bootstrap spread of the fitted value, ``n`` the number of networks it was fitted on,
``ci_rel`` the half-width of its bootstrap 95% interval over the value; the provenance
columns say where the networks were measured. ``LUT.matrix(space)`` folds the line in
(see ``calibrate_matrix``), so every consumer of the Matrix predicts calibrated.
Pure: pandas and numpy only, spaces are duck-typed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from lut import canonical
from lut.schema import Key

if TYPE_CHECKING:
    from lut.matrix import Matrix, SpaceLike
    from lut.table import LUT

OFFSET = "calib_offset"
SCALE = "calib_scale"
NAMES = (OFFSET, SCALE)


@dataclass(frozen=True)
class Calibration:
    """``calibrated = offset_ms + scale * predicted`` (ms)."""

    offset_ms: float = 0.0
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.offset_ms) and self.offset_ms >= 0):
            raise ValueError(f"calibration offset must be a finite number >= 0 ms, got {self.offset_ms}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"calibration scale must be a finite number > 0, got {self.scale}")

    def apply(self, predicted_ms: float) -> float:
        """The calibrated prediction of a network the LUT's sum puts at ``predicted_ms``."""
        return self.offset_ms + self.scale * predicted_ms

    def __str__(self) -> str:
        return f"{self.offset_ms:.4f} ms + {self.scale:.4f} x LUT"


def calibration_keys(space: SpaceLike) -> dict[str, Key]:
    """The keys of ``space``'s calibration rows (``OFFSET`` and ``SCALE``): its networks' slot."""
    fixed = space.fixed_keys()
    image, head = fixed["overhead"], fixed["head"]
    return {name: Key(name, image.cin, head.cout, 1, image.h, image.w) for name in NAMES}


def read_calibration(lut: LUT, space: SpaceLike) -> Calibration | None:
    """The calibration stored for ``space``'s networks; None when the LUT has none (offset alone is none)."""
    keys = calibration_keys(space)
    if keys[SCALE] not in lut:
        return None
    offset = lut.latency(keys[OFFSET]) if keys[OFFSET] in lut else 0.0
    return Calibration(offset, lut.latency(keys[SCALE]))


def calibrate_matrix(matrix: Matrix, cal: Calibration | None) -> Matrix:
    """``matrix`` with the line folded in: every net latency times ``scale``; the overhead (counted once
    per network) becomes ``offset + scale * overhead``; ``predict`` then returns ``cal.apply`` of the raw sum."""
    if cal is None or cal == Calibration():
        return matrix
    table = matrix.latency_ms * cal.scale
    table.setflags(write=False)
    return dataclasses.replace(matrix, latency_ms=table, stem_ms=matrix.stem_ms * cal.scale,
                               head_ms=matrix.head_ms * cal.scale,
                               overhead_ms=cal.offset_ms + matrix.overhead_ms * cal.scale)


def measured_after_fit(lut: LUT, space: SpaceLike) -> tuple[str, list[Key]] | None:
    """When ``space``'s calibration was fitted (its rows' ``measured_at``) and the keys of ``space`` measured
    after that: rows re-measured since, which the fit never saw (fit again). None without a calibration.
    Rows of unknown date (imported) are not counted."""
    keys = calibration_keys(space)
    if keys[SCALE] not in lut:
        return None
    from lut.cells import timestamp
    from lut.matrix import needed_keys

    fitted_at = str(lut.row(keys[SCALE])["measured_at"])
    fitted = timestamp(fitted_at)
    return fitted_at, [k for k in needed_keys(space)
                       if k in lut and timestamp(str(lut.row(k)["measured_at"])) > fitted]


def is_calibration(block: str) -> bool:
    """True for the reserved calibration op names."""
    return block in NAMES


def without_calibration(lut: LUT) -> LUT:
    """``lut`` without any calibration rows (what the calibration is fitted against)."""
    from lut.table import LUT

    frame = lut.frame
    keep = ~frame["block"].isin(NAMES)
    if keep.all():
        return lut
    return LUT(canonical.sort_frame(frame.loc[keep]), lut.source)


def store_calibration(lut: LUT, space: SpaceLike, rows: list[dict[str, Any]]) -> LUT:
    """``lut`` with ``space``'s calibration rows replaced by ``rows`` (other spaces' rows kept)."""
    from lut.schema import KEY_COLUMNS
    from lut.table import LUT

    mine = set(calibration_keys(space).values())
    frame = lut.frame
    keep = [Key._make(k) not in mine for k in zip(*(frame[c].tolist() for c in KEY_COLUMNS))]
    return LUT(canonical.sort_frame(frame.loc[keep]), lut.source).add(rows)


@dataclass(frozen=True)
class Estimate:
    """One fitted value with its bootstrap spread over ``n`` networks."""

    value: float
    p10: float
    p90: float
    std: float
    ci_rel: float
    n: int

    def row(self) -> dict[str, float | int]:
        """The LUT statistic columns of this value: p10 <= value <= p90 enforced, p10 at least the smallest
        storable positive value (0.000001; a bootstrap p10 of 0 means the offset may well be 0)."""
        p10 = max(min(self.p10, self.value), 1e-6)
        return {"median_ms": self.value, "p10_ms": p10, "p90_ms": max(self.p90, self.value),
                "std_ms": self.std, "n": self.n, "ci_rel": self.ci_rel, "stable": int(self.ci_rel <= 0.05)}


def calibration_rows(space: SpaceLike, offset: Estimate, scale: Estimate,
                     provenance: Mapping[str, Any]) -> list[dict[str, Any]]:
    """LUT rows storing a fitted line for ``space`` (no offset row when the offset rounds to 0 ms)."""
    keys = calibration_keys(space)
    rows = [{**keys[SCALE]._asdict(), **scale.row(), **provenance}]
    if round(offset.value, 6) > 0:
        rows.append({**keys[OFFSET]._asdict(), **offset.row(), **provenance})
    return rows
