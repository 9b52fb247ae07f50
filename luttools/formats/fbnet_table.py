"""``fbnet-lookup-table``: the ``lookup_table.txt`` of the widely used PyTorch FBNet reimplementation.

The file is one header line of op names separated by spaces, then one line per searchable layer of
the space (22 for ``fbnet``) with one latency per op, in microseconds::

    ir_k3_e1 ir_k3_s2 ir_k3_e3 ir_k3_e6 ir_k5_e1 ir_k5_s2 ir_k5_e3 ir_k5_e6 skip
    5129.798054695129 3028.797898441553 ... 1.613609492778778
    ...

``ir_k<K>_e<E>`` is our ``k<K>_e<E>``; ``ir_k<K>_s<G>`` (groups G with a channel shuffle, expansion
1) is our ``k<K>_e1_g<G>``; ``skip`` is ``skip``. Line ``l`` holds layer ``l`` of the space, so each
value lands on that layer's LUT key (``search.space``: cin, cout, stride, input H x W).

Import: layers with the same slot share a key (the fbnet space's 22 layers have 12 distinct slots);
their values are combined into the slot's row (median; p10_ms / p90_ms the smallest / largest value; n
the number of values) and a note says so. Where the layers of one slot give different values, each of
those layers also gets its own row (``Key.layer`` = its index, 0-based, with its own value), which a
space's matrix takes at that layer: ``lut predict`` then gives the table's own per-layer sum, and an
export writes every value back as it was. The table has no stem, head or runtime overhead: they are
taken from ``Options.fixed_ms`` or written as 0.000001 ms (the smallest value a LUT stores:
effectively 0, so a predicted network latency is the sum of its 22 layers), with a note. Its values
have no per-inference overhead in them and a LUT row includes it (the overhead convention), so every
imported value (and a given stem or head) is stored plus the overhead, which ``lut predict`` then
counts once per network.
Export: the LUT's median of each layer's own row, else its slot's row, less the space's overhead row (when present), in
microseconds with three decimals (exactly the LUT's six decimals of ms); rows that are not a layer's
candidate (stem, head, overhead, other slots) are named in a note.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from typing import TYPE_CHECKING

from luttools.formats.common import (FIXED, MIN_MS, Exported, Format, Imported, Options, build, decode, examples,
                                fixed_ms, left_out, number, positive_ms, provenance, row)
from lut.cells import round_float
from lut.names import BlockName, format_name, parse_name
from lut.schema import Key, LUTError

if TYPE_CHECKING:
    from lut.matrix import SpaceLike
    from lut.table import LUT

NAME = "fbnet-lookup-table"
LABEL = "lookup_table.txt"
DEFAULT_SPACE = "fbnet"
_OP = re.compile(r"ir_k([0-9]+)_([es])([0-9]+)\Z")


def op_to_block(op: str) -> str | None:
    """Our block name of a reimplementation op name, or None when it is not one."""
    if op == "skip":
        return "skip"
    m = _OP.match(op)
    if not m:
        return None
    kernel, kind, n = int(m.group(1)), m.group(2), int(m.group(3))
    name = BlockName("ir", kernel, n, 1) if kind == "e" else BlockName("ir", kernel, 1, n)
    try:
        return format_name(parse_name(format_name(name)))
    except ValueError:
        return None


def block_to_op(block: str) -> str | None:
    """The reimplementation's op name of our block, or None when it has none (e.g. k3_e3_g2, stem_k3)."""
    name = parse_name(block)
    if name.kind == "skip":
        return "skip"
    if name.kind != "ir":
        return None
    if name.groups == 1:
        return f"ir_k{name.kernel}_e{name.expansion}"
    return f"ir_k{name.kernel}_s{name.groups}" if name.expansion == 1 else None


def _space(options: Options) -> SpaceLike:
    from search.space import get_space

    return get_space(options.space or DEFAULT_SPACE)


def _lines(text: str) -> list[tuple[int, list[str]]]:
    return [(i, line.split()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]


def read(data: bytes, options: Options) -> Imported:
    """A LUT of the space's layer keys (plus stem, head, overhead) from a lookup_table.txt."""
    src = options.source
    lines = _lines(decode(data, src))
    if not lines:
        raise ValueError(f"{src}: empty file; expected a header line of op names (ir_k3_e1 ... skip)")
    (_, header), body = lines[0], lines[1:]
    blocks = [op_to_block(op) for op in header]
    bad = [op for op, b in zip(header, blocks) if b is None]
    if bad:
        raise ValueError(f"{src}: line {lines[0][0]}: {bad[0]!r} is not an op name of {LABEL} "
                         f"(ir_k<K>_e<E>, ir_k<K>_s<G>, skip)")
    twice = [op for i, op in enumerate(header) if blocks[i] in blocks[:i]]
    if twice:
        raise ValueError(f"{src}: line {lines[0][0]}: op {twice[0]!r} ({blocks[header.index(twice[0])]}) "
                         f"appears twice in the header")
    space = _space(options)
    if len(body) != len(space.layers):
        raise ValueError(f"{src}: {len(body)} layer line(s) after the header; space {space.name} has "
                         f"{len(space.layers)} searchable layers (one line each)")
    values: dict[Key, list[float]] = defaultdict(list)
    where: dict[Key, list[tuple[int, str]]] = defaultdict(list)  # (layer index, op) of each value
    outside: list[str] = []
    for i, (layer, (line, fields)) in enumerate(zip(space.layers, body)):
        if len(fields) != len(header):
            raise ValueError(f"{src}: line {line}: {len(fields)} values; the header names {len(header)} ops")
        for op, block, text in zip(header, blocks, fields):
            ms = positive_ms(number(text, f"{src}: line {line}, op {op}"), f"{src}: line {line}, op {op}", 1e-3)
            if block in layer.candidates:
                values[layer.key(block)].append(ms)
                where[layer.key(block)].append((i, op))
            elif op not in outside:
                outside.append(op)
    prov = provenance(LABEL, options.provenance)
    given = fixed_ms(options)
    overhead = given.get("overhead", MIN_MS)  # the table's values have none; a LUT row includes it
    rows = [row(key, [ms + overhead for ms in v], prov) for key, v in values.items()]
    notes = []
    dropped = left_out([f"{op} ({op_to_block(op)})" for op in outside], "op column(s)", f"space {space.name}",
                       "not a candidate of its layers")
    absent = [c for c in space.layers[0].candidates if c not in blocks]
    if absent and outside:
        raise ValueError(f"{src}: line {lines[0][0]}: op(s) {', '.join(outside)} are not candidates of space "
                         f"{space.name}, and its candidate(s) {', '.join(absent)} have no column: a misspelt op "
                         f"name? ({', '.join(filter(None, map(block_to_op, absent)))} expected)")
    if absent:
        notes.append(f"space {space.name}'s candidate(s) {', '.join(absent)} have no column in {src}; "
                     f"the LUT lacks them")
    shared = len(body) - len({layer.key(space.layers[0].candidates[0]) for layer in space.layers})
    if shared:
        notes.append(f"{shared} of {len(body)} layers sit at the same slot as an earlier layer and share its "
                     f"keys; each shared key's values were combined into one row (median_ms the median, "
                     f"p10_ms/p90_ms the smallest/largest, n the number of values)")
    rows += _per_layer_rows(values, where, overhead, prov, notes)
    rows += _fixed_rows(space, given, prov, notes)
    return Imported(build(rows, src), notes, dropped)


def _per_layer_rows(values: dict[Key, list[float]], where: dict[Key, list[tuple[int, str]]], overhead: float,
                    prov: dict, notes: list[str]) -> list[dict]:
    """One row per layer (``Key.layer``) at each slot whose layers give different values, so that no
    per-layer value is lost to the slot's median; a note says how many and the largest difference."""
    rows: list[dict] = []
    slots = 0
    worst = (0.0, 0, "", 0.0, 0.0)
    for key, vs in values.items():
        if len({round_float(ms) for ms in vs}) < 2:
            continue
        slots += 1
        median = float(statistics.median(vs))
        for (layer, op), ms in zip(where[key], vs):
            rows.append(row(key.at_layer(layer), [ms + overhead], prov))
            worst = max(worst, (abs(median / ms - 1), layer, op, ms, median))
    if rows:
        notes.append(f"{slots} slot(s) shared by several layers have different values at different layers: "
                     f"{len(rows)} per-layer row(s) (column layer) keep each layer's own value, which lut predict "
                     f"and the search use there; the slot's row holds their median for layer-unaware uses, up to "
                     f"{worst[0] * 100:.0f}% off a layer's value (e.g. layer {worst[1]} {worst[2]}: "
                     f"{worst[3] * 1e3:.3f} us, median {worst[4] * 1e3:.3f} us)")
    return rows


def _fixed_rows(space: SpaceLike, given: dict[str, float], prov: dict, notes: list[str]) -> list[dict]:
    keys = space.fixed_keys()
    defaulted = [k for k in FIXED if k not in given]
    if defaulted:
        notes.append(f"{LABEL} has no {', '.join(defaulted)}: written as {MIN_MS:.6f} ms (effectively 0), so "
                     f"predicted latencies are the layers' sum only; give real values with --fixed-ms "
                     f"{','.join(f'{k}=MS' for k in defaulted)}")
    overhead = given.get("overhead", MIN_MS)
    return [row(keys[k], [given[k] + overhead if k in given and k != "overhead" else given.get(k, MIN_MS)], prov)
            for k in FIXED]


def write(lut: LUT, options: Options) -> Exported:
    """The lookup_table.txt of the space's layers (µs); LUTError when a layer's key is missing."""
    space = _space(options)
    candidates = tuple(space.layers[0].candidates)
    if any(tuple(layer.candidates) != candidates for layer in space.layers):
        raise ValueError(f"space {space.name}: {LABEL} needs the same candidates at every layer")
    ops = [block_to_op(c) for c in candidates]
    if None in ops:
        bad = [c for c, op in zip(candidates, ops) if op is None]
        raise ValueError(f"space {space.name}: candidate(s) {', '.join(bad)} have no {LABEL} op name "
                         f"(only k<K>_e<E>, k<K>_e1_g<G> and skip do)")
    from lut.matrix import layer_keys

    resolved = layer_keys(lut, space)  # each layer's own row where the LUT has one, else its slot's
    used = {k for keys in resolved for k in keys.values()} | {layer.key(c) for layer in space.layers for c in candidates}
    missing = [k for keys in resolved for k in keys.values() if k not in lut]
    if missing:
        missing = list(dict.fromkeys(missing))
        raise LUTError(f"{lut.source or 'LUT'}: {len(missing)} key(s) of space {space.name}'s layers are missing: "
                       f"{examples(missing)}; {LABEL} needs all {len(space.layers)} x {len(candidates)} values")
    overhead_key = space.fixed_keys()["overhead"]
    overhead = lut.latency(overhead_key) if overhead_key in lut else 0.0  # subtracted again: the table has none
    lines = [" ".join(op for op in ops if op)]
    for keys in resolved:
        lines.append(" ".join(f"{max(lut.latency(keys[c]) - overhead, MIN_MS) * 1000:.3f}" for c in candidates))
    extra = sorted(k for k in lut.keys() if k not in used)
    dropped = left_out(extra, "row(s)", LABEL, f"not a candidate at a layer of space {space.name}")
    return Exported(("\n".join(lines) + "\n").encode("utf-8"), left_out=dropped)


FORMAT = Format(NAME, f"the PyTorch FBNet reimplementation's {LABEL}: op names, then one line of µs per layer",
                read, write, read_options=frozenset({"space", "fixed_ms"}), write_options=frozenset({"space"}))
