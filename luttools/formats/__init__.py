"""LUT file formats: a registry of readers and writers keyed by format name.

``lutnas`` is this toolkit's own CSV (docs/lut-format.md); the others are the tables of other FBNet
tooling (docs/lut-format.md, *Other formats*). Every format converts through a ``LUT``: ``read``
turns a file's bytes into a LUT, ``write`` turns a LUT into a file's bytes, and both name what the
other side cannot express (``left_out``) instead of dropping it silently, and what they had to make
up or combine (``notes``). Modules are imported on first
lookup, so ``python -m lut --help`` does not pay for YAML or the search spaces.
"""

from __future__ import annotations

from importlib import import_module

from lutnas.registry import Registry
from luttools.formats.common import Exported, Format, Imported, Options

__all__ = ["Exported", "Format", "Imported", "Options", "get_format", "names", "register"]

# format name -> "module[:attribute]" defining it (attribute FORMAT by default; loaded on first lookup)
BUILTIN: dict[str, str] = {
    "lutnas": "luttools.formats.native",
    "fbnet-lookup-table": "luttools.formats.fbnet_table",
    "hwnas-bench": "luttools.formats.hwnas",
    "ofa-yaml": "luttools.formats.ofa",
    "proxylessnas-yaml": "luttools.formats.ofa:PROXYLESS_FORMAT",
}
FORMATS: Registry[str, Format] = Registry("format")


def register(fmt: Format) -> Format:
    """Add a format; a duplicate name is an error."""
    return FORMATS.register(fmt.name, fmt)


def names() -> list[str]:
    """Every known format name."""
    return list(dict.fromkeys([*BUILTIN, *FORMATS]))


def get_format(name: str) -> Format:
    """The format called ``name``; ValueError listing the known ones otherwise."""
    if name not in FORMATS and name in BUILTIN:
        module, _, attribute = BUILTIN[name].partition(":")
        register(getattr(import_module(module), attribute or "FORMAT"))
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; known formats: {', '.join(names())}")
    return FORMATS[name]
