"""``ofa-yaml``: the latency tables of once-for-all / ProxylessNAS (YAML, values in ms).

One mapping per op::

    expanded_conv-input:112x112x16-output:56x56x24-expand:3-kernel:5-stride:2-idskip:0:
      count: 50
      mean: 1.234      # ms
      var: 0.0004      # ms^2

``expanded_conv`` with expansion E and kernel K is our ``k<K>_e<E>`` (one group); input is
H x W x cin, output H' x W' x cout with H' = ceil(H / stride); ``idskip`` is 1 where the block adds
its input (stride 1 and cin == cout), exactly where ours does. Import: ``median_ms`` = mean (the
format has no median), ``std_ms`` = sqrt(var), ``n`` = count, ``p10_ms`` = ``p90_ms`` = mean (no
percentiles), ``ci_rel`` = 1.96 * 1.2533 * sqrt(var / count) / mean (the normal-theory 95% CI of a
median). Other keys (``Conv``, ``Conv_1``, ``Logits``, ...), an output shape or ``idskip`` that does
not match our block, are named in a note. Export: grouped blocks, ``skip``, stem, head and overhead
have no key and are named in a note. Read with ``yaml.safe_load`` (no object construction).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from lut.formats.common import (Exported, Format, Imported, Options, build, decode, left_out, positive_ms,
                                provenance, row)
from lut.names import BlockName, format_name, parse_name
from lut.schema import Key

if TYPE_CHECKING:
    from lut.table import LUT

NAME = "ofa-yaml"
LABEL = "once-for-all YAML"
FIELDS = ("count", "mean", "var")
_KEY = re.compile(r"expanded_conv-input:([0-9]+)x([0-9]+)x([0-9]+)-output:([0-9]+)x([0-9]+)x([0-9]+)"
                  r"-expand:([0-9]+)-kernel:([0-9]+)-stride:([0-9]+)-idskip:([01])\Z")
MEDIAN_SE = 1.2533  # standard error of a normal sample's median over that of its mean: sqrt(pi / 2)


def _out(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


def parse_key(text: str) -> Key | None:
    """Our key of an ``expanded_conv`` key, or None when our blocks cannot be that op."""
    m = _KEY.match(text)
    if not m:
        return None
    h, w, cin, ho, wo, cout, e, k, s, idskip = map(int, m.groups())
    if min(h, w, cin, cout, s) < 1 or (ho, wo) != (_out(h, s), _out(w, s)):
        return None
    if bool(idskip) != (s == 1 and cin == cout):
        return None
    try:
        block = format_name(parse_name(format_name(BlockName("ir", k, e, 1))))
    except ValueError:
        return None
    return Key(block, cin, cout, s, h, w)


def format_key(key: Key) -> str | None:
    """The ``expanded_conv`` key of ours, or None for ops the format has no key for."""
    name = parse_name(key.block)
    if name.kind != "ir" or name.groups != 1:
        return None
    idskip = int(key.stride == 1 and key.cin == key.cout)
    return (f"expanded_conv-input:{key.h}x{key.w}x{key.cin}-output:{_out(key.h, key.stride)}x"
            f"{_out(key.w, key.stride)}x{key.cout}-expand:{name.expansion}-kernel:{name.kernel}"
            f"-stride:{key.stride}-idskip:{idskip}")


def _entry(value: Any, where: str) -> tuple[int, float, float]:
    if not isinstance(value, dict) or any(f not in value for f in FIELDS):
        raise ValueError(f"{where}: expected a mapping with {', '.join(FIELDS)}, got {value!r:.80}")
    count, mean, var = (value[f] for f in FIELDS)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{where}: count {count!r} is not a positive integer")
    mean = positive_ms(mean, f"{where}: mean")
    if isinstance(var, bool) or not isinstance(var, (int, float)) or not math.isfinite(var) or var < 0:
        raise ValueError(f"{where}: var {var!r} is not a finite number >= 0")
    return count, mean, float(var)


def read(data: bytes, options: Options) -> Imported:
    """A LUT of the ``expanded_conv`` ops of a once-for-all / ProxylessNAS latency YAML."""
    import yaml

    src = options.source
    try:
        table = yaml.safe_load(decode(data, src))
    except yaml.YAMLError as e:
        raise ValueError(f"{src}: not valid YAML: {' '.join(str(e).split())}") from None
    if not isinstance(table, dict):
        raise ValueError(f"{src}: expected a YAML mapping of op key -> {{count, mean, var}}, "
                         f"got {type(table).__name__}")
    prov = provenance(LABEL, options.provenance)
    rows, foreign = [], []
    for text, value in table.items():
        count, mean, var = _entry(value, f"{src}: key {text}")
        key = parse_key(str(text))
        if key is None:
            foreign.append(text)
            continue
        std = math.sqrt(var)
        ci_rel = 1.96 * MEDIAN_SE * std / math.sqrt(count) / mean
        rows.append(row(key, [mean], prov, std_ms=std, n=count, ci_rel=ci_rel))
    dropped = left_out(foreign, "key(s)", "a lutnas LUT",
                       "not an expanded_conv our k<K>_e<E> blocks match in output shape and idskip")
    return Imported(build(rows, src), left_out=dropped)


def write(lut: LUT, options: Options) -> Exported:
    """The LUT's ungrouped inverted-residual blocks as once-for-all YAML (keys sorted)."""
    import yaml

    table, other = {}, []
    for key in sorted(lut.keys()):
        text = format_key(key)
        if text is None:
            other.append(key)
            continue
        r = lut.row(key)
        table[text] = {"count": r["n"], "mean": r["median_ms"], "var": r["std_ms"] ** 2}
    dropped = left_out(other, "row(s)", NAME, "only k<K>_e<E> blocks without groups have expanded_conv keys")
    text = yaml.safe_dump(table, sort_keys=True, default_flow_style=False) if table else "{}\n"
    return Exported(text.encode("utf-8"), left_out=dropped)


FORMAT = Format(NAME, "once-for-all / ProxylessNAS latency YAML: expanded_conv keys -> count, mean, var (ms)",
                read, write)
