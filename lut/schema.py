"""The LUT's stored format: columns, their types, keys and provenance.

A LUT is a CSV file that plain ``pandas.read_csv`` loads: one row per key
(op name + slot), its latency statistics, and the provenance of where and how
it was measured carried on every row (rows of different provenance can then
be merged without losing where each came from). docs/lut-format.md explains
every column.
"""

from __future__ import annotations

from typing import NamedTuple

SCHEMA_VERSION = 4
# Each schema version: the first lutnas release that writes it, and what changed (docs/lut-format.md).
SCHEMA_HISTORY: dict[int, tuple[str, str]] = {
    1: ("0.1.0", "first version"),
    2: ("0.2.0", "the reserved op names calib_offset and calib_scale (a whole-network calibration) and the "
                 "runtime executorch; the columns are unchanged"),
    3: ("0.3.0", "the columns conditions (how the entry was timed: in-network or warm; earlier rows are warm) and "
                 "copies (how many copies of the block were rotated)"),
    4: ("0.4.0", "the key column layer: -1 (ANY_LAYER) for a row that holds at every layer of its slot, or the one "
                 "searchable layer it holds at (imported per-layer values; earlier rows hold at every layer)"),
}
ANY_LAYER = -1  # a Key's layer when the row holds at every layer of its slot (every measured row)
# device_model of rows imported from a format that records no provenance (luttools.formats).
IMPORTED_PREFIX = "unknown (imported from "


class Key(NamedTuple):
    """Identity of one LUT row: op name, the slot it sits in and, for a value that holds at one searchable
    layer only (imported from a per-layer table), that layer's index; ANY_LAYER otherwise."""

    block: str
    cin: int
    cout: int
    stride: int
    h: int
    w: int
    layer: int = ANY_LAYER

    def __str__(self) -> str:
        at = "" if self.layer == ANY_LAYER else f"#layer{self.layer}"
        return f"{self.block}@{self.cin}>{self.cout}/s{self.stride}@{self.h}x{self.w}{at}"

    def at_layer(self, layer: int) -> "Key":
        """This slot's key for one searchable layer (its per-layer row, where a LUT has one)."""
        return self._replace(layer=layer)

    def any_layer(self) -> "Key":
        """This slot's key for every layer."""
        return self._replace(layer=ANY_LAYER)


KEY_COLUMNS: tuple[str, ...] = Key._fields

# Latency statistics in milliseconds over the timed runs of one key.
STAT_COLUMNS: tuple[str, ...] = (
    "median_ms",  # the LUT's value
    "p10_ms",
    "p90_ms",
    "std_ms",
    "n",  # timed runs
    "ci_rel",  # half-width of the median's 95% CI over the median
    "stable",  # 1 when the CI met the tolerance and p90/p10 is small, else 0
)
LATENCY_COLUMNS: tuple[str, ...] = ("median_ms", "p10_ms", "p90_ms")

# Where and how the row was measured.
PROVENANCE_COLUMNS: tuple[str, ...] = (
    "device",  # device profile name (cpu, pixel, ...)
    "device_model",  # CPU model or phone model
    "cores",
    "governor",
    "os",
    "affinity",  # CPU ids the benchmark was pinned to, e.g. "1" or "0-3"
    "runtime",  # onnxruntime, torchscript, ...
    "runtime_version",
    "opt_level",  # graph optimization level (runtime-specific spelling)
    "threads",
    "conditions",  # in-network (copies rotated so the caches hold what they hold inside a network), warm, unknown
    "copies",  # copies of the block the timed runs rotated through (1: the same one every run)
    "exporter",  # e.g. torch.onnx-torchscript/2.13.0
    "opset",  # 0 where not applicable
    "toolkit",  # lutnas version
    "measured_at",  # UTC, ISO 8601, seconds
)
# Provenance fields that must agree for rows to be comparable.
ENVIRONMENT_COLUMNS: tuple[str, ...] = (
    "device_model",
    "runtime",
    "runtime_version",
    "opt_level",
    "threads",
    "conditions",
)

COLUMNS: tuple[str, ...] = ("schema",) + KEY_COLUMNS + STAT_COLUMNS + PROVENANCE_COLUMNS

INT_COLUMNS: tuple[str, ...] = ("schema", "cin", "cout", "stride", "h", "w", "layer", "n", "stable", "cores", "threads", "copies",
                                "opset")
FLOAT_COLUMNS: tuple[str, ...] = ("median_ms", "p10_ms", "p90_ms", "std_ms", "ci_rel")
STR_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in INT_COLUMNS + FLOAT_COLUMNS)
FLOAT_FORMAT = "{:.6f}"


class LUTError(ValueError):
    """A LUT file that cannot be used; the message names the file, line and column."""
