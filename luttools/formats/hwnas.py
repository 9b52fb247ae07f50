"""``hwnas-bench``: HW-NAS-Bench's lookup-table keys of the FBNet space, values in ms, as JSON or CSV.

HW-NAS-Bench (``hw_nas_bench_api``, ``fbnet_get_metrics``) spells its keys (H x W the op's input size)::

    ConvBlock_H{h}_W{w}_Cin{cin}_Cout{cout}_exp{e}_kernel{k}_stride{s}_group{g}   -> k<k>_e<e>[_g<g>]
    Skip_H{h}_W{w}_Cin{cin}_Cout{cout}_stride{s}                                -> skip
    ConvNorm_H{h}_W{w}_Cin3_Cout{c}_kernel{k}_stride{s}_group1                   -> stem_k<k> (the stem)
    ConvNorm_H{h}_W{w}_Cin{c}_Cout{head}_kernel1_stride1_group1                  \
    AvgP_H{h}_W{w}_Cin{head}_Cout{head}_kernel{h}_stride1                         > head_c<head>: their sum
    FC_Cin{head}_Cout{classes}                                                   /

for both its FBNet spaces (ImageNet at 224, CIFAR-100 at 32: the same grammar). Earlier lutnas
releases wrote ``ConvBlock_H{h}_W{w}_{cin}_{cout}_{e}_{k}_{s}_{g}`` / ``Skip_H{h}_W{w}_{cin}_{cout}_{s}``;
those are still read. HW-NAS-Bench times ops one by one, with no per-inference overhead in them, and
a LUT row includes it (docs/lut-format.md, the overhead convention): so an imported value is stored
plus the overhead (``--fixed-ms overhead=MS``; 0.000001 ms when not given), which ``lut predict``
then counts once, and export subtracts it again. Without ``--space`` there is no overhead row (its key
holds the space's input size): values are stored as they are, and the LUT cannot predict networks.
``--space`` names the space whose stem, head and overhead a table lacks, and ``--fixed-ms`` gives
them. Export writes the real spelling; the head, which HW-NAS-Bench splits into three ops, cannot
be split back and is named in a note, like the overhead (it has no key).

A ``.json`` file is one object, key -> latency in ms; any other file is CSV with rows ``key,value``
(a ``key,value`` header line is optional on import and always written on export).
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import TYPE_CHECKING, Any

from luttools.formats.common import (MIN_MS, Exported, Format, Imported, Options, build, decode, fixed_ms, left_out,
                                number, positive_ms, provenance, row)
from lut.names import BlockName, format_name, parse_name
from lut.schema import Key

if TYPE_CHECKING:
    from lut.table import LUT

NAME = "hwnas-bench"
LABEL = "HW-NAS-Bench keys"
_N = "([0-9]+)"
_CONV = re.compile(rf"ConvBlock_H{_N}_W{_N}_Cin{_N}_Cout{_N}_exp{_N}_kernel{_N}_stride{_N}_group{_N}\Z")
_SKIP = re.compile(rf"Skip_H{_N}_W{_N}_Cin{_N}_Cout{_N}_stride{_N}\Z")
_CONV_OLD = re.compile(rf"ConvBlock_H{_N}_W{_N}_{_N}_{_N}_{_N}_{_N}_{_N}_{_N}\Z")
_SKIP_OLD = re.compile(rf"Skip_H{_N}_W{_N}_{_N}_{_N}_{_N}\Z")
_CONVNORM = re.compile(rf"ConvNorm_H{_N}_W{_N}_Cin{_N}_Cout{_N}_kernel{_N}_stride{_N}_group{_N}\Z")
_FC = re.compile(rf"FC_Cin{_N}_Cout{_N}\Z")


def parse_key(text: str) -> Key | None:
    """Our key of an HW-NAS-Bench block key (either spelling), or None when it is not a block our grammar holds."""
    m = _CONV.match(text) or _CONV_OLD.match(text)
    if m:
        h, w, cin, cout, e, k, s, g = map(int, m.groups())
        try:
            block = format_name(parse_name(format_name(BlockName("ir", k, e, g))))
        except ValueError:
            return None
        return _slot(block, cin, cout, s, h, w)
    m = _SKIP.match(text) or _SKIP_OLD.match(text)
    if m:
        h, w, cin, cout, s = map(int, m.groups())
        return _slot("skip", cin, cout, s, h, w)
    m = _CONVNORM.match(text)
    if m:
        h, w, cin, cout, k, s, g = map(int, m.groups())
        if cin == 3 and g == 1 and k % 2 == 1:
            return _slot(f"stem_k{k}", cin, cout, s, h, w)
    return None


def _slot(block: str, cin: int, cout: int, stride: int, h: int, w: int) -> Key | None:
    return Key(block, cin, cout, stride, h, w) if min(cin, cout, stride, h, w) >= 1 else None


def format_key(key: Key) -> str | None:
    """HW-NAS-Bench's key of ours, or None for ops it has no single key for (head, overhead)."""
    name = parse_name(key.block)
    if name.kind == "ir":
        return (f"ConvBlock_H{key.h}_W{key.w}_Cin{key.cin}_Cout{key.cout}_exp{name.expansion}_kernel{name.kernel}_"
                f"stride{key.stride}_group{name.groups}")
    if name.kind == "skip":
        return f"Skip_H{key.h}_W{key.w}_Cin{key.cin}_Cout{key.cout}_stride{key.stride}"
    if key.block.startswith("stem_k") and key.cin == 3:
        return f"ConvNorm_H{key.h}_W{key.w}_Cin3_Cout{key.cout}_kernel{key.block[6:]}_stride{key.stride}_group1"
    return None


def _heads(values: dict[str, float]) -> tuple[dict[Key, float], set[str]]:
    """Head rows (head conv + average pool + classifier, summed) and the keys they used."""
    heads: dict[Key, float] = {}
    used: set[str] = set()
    for text, ms in values.items():
        m = _CONVNORM.match(text)
        if not m:
            continue
        h, w, cin, c, k, s, g = map(int, m.groups())
        if cin == 3 or (k, s, g) != (1, 1, 1):
            continue
        pool = f"AvgP_H{h}_W{w}_Cin{c}_Cout{c}_kernel{h}_stride1"
        fcs = [t for t in values if (f := _FC.match(t)) and int(f.group(1)) == c]
        if pool not in values or not fcs:
            continue
        for fc in fcs:
            classes = int(_FC.match(fc).group(2))
            heads[Key(f"head_c{c}", cin, classes, 1, h, w)] = ms + values[pool] + values[fc]
            used |= {text, pool, fc}
    return heads, used


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
    """A LUT of an HW-NAS-Bench lookup table (JSON or CSV, values in ms), plus the overhead (see the module)."""
    src = options.source
    text = decode(data, src)
    as_json = options.suffix == ".json" or (options.suffix != ".csv" and text.lstrip().startswith("{"))
    pairs = _json_pairs(text, src) if as_json else _csv_pairs(text, src)
    values = {k: positive_ms(v, where) for k, v, where in pairs}
    given = fixed_ms(options)
    overhead = given.get("overhead", MIN_MS) if options.space else 0.0  # no --space: no overhead row, none added
    prov = provenance(LABEL, options.provenance)
    heads, used = _heads(values)
    found: dict[Key, float] = dict(heads)
    foreign = []
    for text_key, ms in values.items():
        key = parse_key(text_key)
        if key is not None:
            if key in found:
                raise ValueError(f"{src}: {text_key} and another key are the same lutnas key {key}")
            found[key] = ms
        elif text_key not in used:
            foreign.append(text_key)
    rows = [row(key, [ms + overhead], prov) for key, ms in found.items()]
    notes = [] if not options.space else [
        f"each value is stored plus the overhead, {overhead:.6f} ms"
        + ("" if "overhead" in given else " (effectively 0: give the device's with --fixed-ms overhead=MS)")
        + ", so lut predict counts it once per network and sums the table's values as HW-NAS-Bench does"]
    rows += _fixed_rows(found, given, overhead, options, prov, notes)
    dropped = left_out(foreign, "key(s)", "a lutnas LUT", "not a ConvBlock_/Skip_/stem/head key our block names "
                                                         "can hold")
    return Imported(build(rows, src), notes, dropped)


def _fixed_rows(found: dict[Key, float], given: dict[str, float], overhead: float, options: Options, prov: dict,
                notes: list[str]) -> list[dict]:
    """The overhead row and any --fixed-ms stem/head of ``--space`` (refused without it, or where the table has one)."""
    if not options.space:
        if given:
            raise ValueError("--fixed-ms needs --space (the space whose overhead, stem and head keys they are)")
        notes.append("no --space: the overhead row is not written (its key depends on the space's input size); "
                     "lut predict needs one: convert again with --space")
        return []
    from search.space import get_space

    keys = get_space(options.space).fixed_keys()
    rows = [row(keys["overhead"], [overhead], prov)]
    for name in ("stem", "head"):
        if name in given:
            if keys[name] in found:
                raise ValueError(f"--fixed-ms {name}: the table already has {keys[name]}; leave it out")
            rows.append(row(keys[name], [given[name] + overhead], prov))
        elif keys[name] not in found:
            notes.append(f"the table has no {name} of space {options.space} ({keys[name]}): give it with "
                         f"--fixed-ms {name}=MS, or merge the row measured by profiler.run on the same device")
    return rows


def write(lut: LUT, options: Options) -> Exported:
    """The LUT's blocks and stem as HW-NAS-Bench keys (values less the overhead): JSON for .json, CSV for .csv."""
    if options.suffix not in (".json", ".csv"):
        raise ValueError(f"{options.source}: {NAME} files end in .json or .csv")
    overheads = [k for k in lut.keys() if k.block == "overhead"]
    if len({lut.latency(k) for k in overheads}) > 1:
        raise ValueError(f"{options.source}: the LUT has overhead rows of different values ({len(overheads)}); "
                         f"export one space's rows")
    overhead = lut.latency(overheads[0]) if overheads else 0.0
    pairs, other = [], []
    for key in sorted(lut.keys()):
        text = format_key(key)
        if text is None:
            other.append(key)
        else:
            pairs.append((text, round(max(lut.latency(key) - overhead, MIN_MS), 6)))
    dropped = left_out(other, "row(s)", NAME, "HW-NAS-Bench splits the head into ConvNorm, AvgP and FC, and has no "
                                             "overhead key")
    if options.suffix == ".json":
        data = json.dumps(dict(pairs), indent=2) + "\n"
    else:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["key", "value"])
        writer.writerows((k, f"{v:.6f}") for k, v in pairs)
        data = out.getvalue()
    return Exported(data.encode("utf-8"), left_out=dropped)


FORMAT = Format(NAME, "HW-NAS-Bench lookup-table keys (ConvBlock_/Skip_/ConvNorm_/AvgP_/FC_) -> ms, as .json or .csv",
                read, write, read_options=frozenset({"space", "fixed_ms"}))
