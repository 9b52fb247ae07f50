"""``lutnas``: this toolkit's own CSV (docs/lut-format.md), loaded with every check and saved canonically."""

from __future__ import annotations

from typing import TYPE_CHECKING

from luttools.formats.common import Exported, Format, Imported, Options

if TYPE_CHECKING:
    from lut.table import LUT


def read(data: bytes, options: Options) -> Imported:
    """The LUT in a lutnas CSV file (earlier schema versions upgraded); LUTError on any problem."""
    from lut.io import loads

    return Imported(loads(data, options.source))


def write(lut: LUT, options: Options) -> Exported:
    """The canonical CSV text (byte-identical for an unchanged LUT)."""
    return Exported(lut.to_csv_text().encode("utf-8"))


FORMAT = Format("lutnas", "this toolkit's LUT CSV (docs/lut-format.md)", read, write)
