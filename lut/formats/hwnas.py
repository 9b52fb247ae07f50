"""``hwnas-bench``: HW-NAS-Bench-style block keys of the FBNet space, values in ms, as JSON or CSV.

Keys (H x W the block's input size)::

    ConvBlock_H{h}_W{w}_{cin}_{cout}_{expansion}_{kernel}_{stride}_{groups}   -> k<kernel>_e<expansion>[_g<groups>]
    Skip_H{h}_W{w}_{cin}_{cout}_{stride}                                      -> skip

A ``.json`` file is one object, key -> latency in ms; any other file is CSV with rows ``key,value``
(a ``key,value`` header line is optional on import and always written on export). Written in our
key order. The format has no provenance, no spread, no stem, head or overhead: those rows are
named in a note on export; keys our block grammar cannot hold (a kernel of 4, say) and any other
key are named in a note on import.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any

from lut.formats.common import (Exported, Format, Imported, Options, build, decode, left_out, number, positive_ms,
                                provenance, row)
from lut.names import BlockName, format_name, parse_name
from lut.schema import Key

if TYPE_CHECKING:
    from lut.table import LUT

NAME = "hwnas-bench"
LABEL = "HW-NAS-Bench keys"
_CONV = re.compile(r"ConvBlock_H([0-9]+)_W([0-9]+)_([0-9]+)_([0-9]+)_([0-9]+)_([0-9]+)_([0-9]+)_([0-9]+)\Z")
_SKIP = re.compile(r"Skip_H([0-9]+)_W([0-9]+)_([0-9]+)_([0-9]+)_([0-9]+)\Z")


def parse_key(text: str) -> Key | None:
    """Our key of an HW-NAS-Bench key, or None when it is not one our grammar can hold."""
    m = _CONV.match(text)
    if m:
        h, w, cin, cout, e, k, s, g = map(int, m.groups())
        try:
            block = format_name(parse_name(format_name(BlockName("ir", k, e, g))))
        except ValueError:
            return None
        return _slot(block, cin, cout, s, h, w)
    m = _SKIP.match(text)
    if m:
        h, w, cin, cout, s = map(int, m.groups())
        return _slot("skip", cin, cout, s, h, w)
    return None


def _slot(block: str, cin: int, cout: int, stride: int, h: int, w: int) -> Key | None:
    return Key(block, cin, cout, stride, h, w) if min(cin, cout, stride, h, w) >= 1 else None


def format_key(key: Key) -> str | None:
    """The HW-NAS-Bench key of ours, or None for ops it has no key for (stem, head, overhead)."""
    name = parse_name(key.block)
    if name.kind == "ir":
        return (f"ConvBlock_H{key.h}_W{key.w}_{key.cin}_{key.cout}_{name.expansion}_{name.kernel}_"
                f"{key.stride}_{name.groups}")
    if name.kind == "skip":
        return f"Skip_H{key.h}_W{key.w}_{key.cin}_{key.cout}_{key.stride}"
    return None


def _json_pairs(text: str, src: str) -> list[tuple[str, Any, str]]:
    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in pairs:
            if k in out:
                raise ValueError(f"key {k!r} appears twice")
            out[k] = v
        return out

    try:
        data = json.loads(text, object_pairs_hook=unique, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"{src}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except ValueError as e:
        raise ValueError(f"{src}: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{src}: expected a JSON object of key -> latency in ms, got {type(data).__name__}")
    return [(k, v, f"{src}: key {k}") for k, v in data.items()]


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _csv_pairs(text: str, src: str) -> list[tuple[str, Any, str]]:
    seen: dict[str, int] = {}
    try:
        pairs = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as e:
        raise ValueError(f"{src}: malformed CSV: {e}") from None
    out = []
    for line, fields in enumerate(pairs, 1):
        if not fields or fields == ["key", "value"] and line == 1:
            continue
        if len(fields) != 2:
            raise ValueError(f"{src}: line {line}: {len(fields)} fields; expected key,value")
        key, value = fields
        if key in seen:
            raise ValueError(f"{src}: line {line}: key {key!r} appears twice (first on line {seen[key]})")
        seen[key] = line
        out.append((key, number(value, f"{src}: line {line}"), f"{src}: line {line}"))
    return out


def read(data: bytes, options: Options) -> Imported:
    """A LUT of the blocks in an HW-NAS-Bench-style JSON or CSV table (values in ms)."""
    src = options.source
    text = decode(data, src)
    as_json = options.suffix == ".json" or (options.suffix != ".csv" and text.lstrip().startswith("{"))
    pairs = _json_pairs(text, src) if as_json else _csv_pairs(text, src)
    prov = provenance(LABEL, options.provenance)
    rows, foreign = [], []
    for text_key, value, where in pairs:
        ms = positive_ms(value, where)
        key = parse_key(text_key)
        if key is None:
            foreign.append(text_key)
        else:
            rows.append(row(key, [ms], prov))
    dropped = left_out(foreign, "key(s)", "a lutnas LUT", "not a ConvBlock_/Skip_ key our block names can hold")
    return Imported(build(rows, src), left_out=dropped)


def write(lut: LUT, options: Options) -> Exported:
    """The LUT's blocks as HW-NAS-Bench keys: JSON for a .json file, CSV for .csv."""
    if options.suffix not in (".json", ".csv"):
        raise ValueError(f"{options.source}: {NAME} files end in .json or .csv")
    pairs, other = [], []
    for key in sorted(lut.keys()):
        text = format_key(key)
        if text is None:
            other.append(key)
        else:
            pairs.append((text, lut.latency(key)))
    dropped = left_out(other, "row(s)", NAME, "only searchable blocks have keys")
    if options.suffix == ".json":
        data = json.dumps(dict(pairs), indent=2) + "\n"
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["key", "value"])
        writer.writerows((k, f"{v:.6f}") for k, v in pairs)
        data = out.getvalue()
    return Exported(data.encode("utf-8"), left_out=dropped)


FORMAT = Format(NAME, "HW-NAS-Bench-style ConvBlock_/Skip_ keys -> ms, as .json or .csv", read, write)
