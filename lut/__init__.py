"""lutnas LUT: the latency lookup table format, its validation, and queries.

pandas, numpy and the stdlib only; nothing else of ours. The names below are
imported on first use (PEP 562), so ``import lut.names`` or ``python -m lut
--help`` does not pay for pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from lut.names import BlockName, format_name, is_valid_name, parse_name
from lut.schema import SCHEMA_VERSION, Key, LUTError

if TYPE_CHECKING:
    from lut.io import load, loads, save, to_csv_text
    from lut.matrix import LayerLike, Matrix, MissingKeysError, SpaceLike
    from lut.table import LUT
    from lut.checks import Problem

_LAZY = {
    "LUT": "lut.table",
    "load": "lut.io",
    "loads": "lut.io",
    "save": "lut.io",
    "to_csv_text": "lut.io",
    "Matrix": "lut.matrix",
    "MissingKeysError": "lut.matrix",
    "SpaceLike": "lut.matrix",
    "LayerLike": "lut.matrix",
    "Problem": "lut.checks",
}

__all__ = ["SCHEMA_VERSION", "BlockName", "Key", "LUTError", "format_name", "is_valid_name", "parse_name",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lut' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
