"""``ofa-yaml`` and ``proxylessnas-yaml``: the latency tables of once-for-all and ProxylessNAS (YAML, ms).

One mapping per op, in one of two dialects (both read by either format, key by key)::

    # once-for-all (latency_table@note10/*_lookup_table.yaml): expand = the middle channel count
    expanded_conv-input:112x112x24-output:56x56x32-expand:144-kernel:5-stride:2-idskip:0-se:0-hs:0:
      count: 63
      mean: 6.585063     # ms
      std: 0.216371      # ms
    # ProxylessNAS (pixel_trim.yaml): expand = the expansion ratio, var instead of std
    expanded_conv-input:112x112x16-output:56x56x24-expand:3-kernel:5-stride:2-idskip:0:
      count: 50
      mean: 1.234
      var: 0.0004        # ms^2

``expanded_conv`` with expansion E (once-for-all: middle channels / cin, which must divide) and
kernel K is our ``k<K>_e<E>`` (one group); input is H x W x cin, output H' x W' x cout with
H' = ceil(H / stride); ``idskip`` is 1 where the block adds its input (stride 1 and cin == cout),
exactly where ours does. Blocks with squeeze-excite (``se:1``) or hard-swish (``hs:1``) have no lutnas
block and are named in a note (``--strict`` refuses). Import: ``median_ms`` = mean (the format has no
median), ``std_ms`` = std or sqrt(var), ``n`` = count, ``p10_ms`` = ``p90_ms`` = mean (no percentiles),
``ci_rel`` = 1.96 * 1.2533 * std / sqrt(count) / mean (the normal-theory 95% CI of a median). Other
keys (``Conv``, ``Conv_1``, ``Logits``, ...), an output shape or ``idskip`` that does not match our
block, are named in a note. A key twice in a file, or an entry with fields other than count, mean
and std/var, is refused. ``ofa-yaml`` writes the once-for-all dialect, ``proxylessnas-yaml`` the
ProxylessNAS one; grouped blocks, ``skip``, stem, head and overhead have no key and are named in a
note. Values round-trip at the LUT's precision (six decimals of ms). Read with a safe YAML loader
(no object construction).
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from luttools.formats.common import (Exported, Format, Imported, Options, build, decode, left_out, positive_ms,
                                provenance, row)
from lut.names import BlockName, format_name, parse_name
from lut.schema import Key

if TYPE_CHECKING:
    from lut.table import LUT

NAME = "ofa-yaml"
PROXYLESS = "proxylessnas-yaml"
LABEL = "once-for-all YAML"
_KEY = re.compile(r"expanded_conv-input:([0-9]+)x([0-9]+)x([0-9]+)-output:([0-9]+)x([0-9]+)x([0-9]+)"
                  r"-expand:([0-9]+)-kernel:([0-9]+)-stride:([0-9]+)-idskip:([01])(?:-se:([01])-hs:([01]))?\Z")
MEDIAN_SE = 1.2533  # standard error of a normal sample's median over that of its mean: sqrt(pi / 2)


def _out(size: int, stride: int) -> int:
    return (size - 1) // stride + 1


def parse_key(text: str) -> Key | None:
    """Our key of an ``expanded_conv`` key (either dialect), or None when our blocks cannot be that op."""
    m = _KEY.match(text)
    if not m:
        return None
    h, w, cin, ho, wo, cout, expand, k, s, idskip = map(int, m.groups()[:10])
    se, hs = m.group(11), m.group(12)
    if se is not None and (se == "1" or hs == "1"):
        return None
    if min(h, w, cin, cout, s, expand) < 1 or (ho, wo) != (_out(h, s), _out(w, s)):
        return None
    if bool(idskip) != (s == 1 and cin == cout):
        return None
    if se is not None:  # once-for-all: expand is the middle channel count
        if expand % cin:
            return None
        expand //= cin
    try:
        block = format_name(parse_name(format_name(BlockName("ir", k, expand, 1))))
    except ValueError:
        return None
    return Key(block, cin, cout, s, h, w)


def _why(text: str) -> str:
    """Why a key is left out (for the note)."""
    m = _KEY.match(text)
    if not m:
        return "other op"
    if m.group(11) == "1" or m.group(12) == "1":
        return "squeeze-excite or hard-swish"
    return "no matching k<K>_e<E> block"


def format_key(key: Key, dialect: str = NAME) -> str | None:
    """The ``expanded_conv`` key of ours in a dialect (ofa-yaml or proxylessnas-yaml), or None for ops it has no
    key for."""
    name = parse_name(key.block)
    if name.kind != "ir" or name.groups != 1:
        return None
    idskip = int(key.stride == 1 and key.cin == key.cout)
    once_for_all = dialect == NAME
    expand = key.cin * name.expansion if once_for_all else name.expansion
    return (f"expanded_conv-input:{key.h}x{key.w}x{key.cin}-output:{_out(key.h, key.stride)}x"
            f"{_out(key.w, key.stride)}x{key.cout}-expand:{expand}-kernel:{name.kernel}"
            f"-stride:{key.stride}-idskip:{idskip}" + ("-se:0-hs:0" if once_for_all else ""))


def _entry(value: Any, where: str) -> tuple[int, float, float]:
    """(count, mean, std) of one entry, with std or var; ValueError naming ``where`` otherwise."""
    if not isinstance(value, dict) or any(f not in value for f in ("count", "mean")) or \
            ("std" in value) == ("var" in value):
        raise ValueError(f"{where}: expected a mapping with count, mean and one of std or var, got {value!r:.80}")
    extra = sorted(set(value) - {"count", "mean", "std", "var"}, key=str)
    if extra:
        raise ValueError(f"{where}: unknown field(s) {', '.join(map(str, extra))}; known: count, mean, std, var")
    count, mean = value["count"], value["mean"]
    spread = "std" if "std" in value else "var"
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"{where}: count {count!r} is not a positive integer")
    mean = positive_ms(mean, f"{where}: mean")
    v = value[spread]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
        raise ValueError(f"{where}: {spread} {v!r} is not a finite number >= 0")
    return count, mean, float(v) if spread == "std" else math.sqrt(v)


def _unique_loader():
    """A yaml.SafeLoader that refuses a key twice in one mapping (plain safe_load keeps the last silently)."""
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice",
                                                            key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    return UniqueKeys


def read(data: bytes, options: Options) -> Imported:
    """A LUT of the ``expanded_conv`` ops of a once-for-all or ProxylessNAS latency YAML."""
    import yaml

    src = options.source
    try:
        table = yaml.load(decode(data, src), Loader=_unique_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise ValueError(f"{src}: not valid YAML: {' '.join(str(e).split())}") from None
    if table is None:
        raise ValueError(f"{src}: empty: no entries")
    if not isinstance(table, dict):
        raise ValueError(f"{src}: expected a YAML mapping of op key -> {{count, mean, std or var}}, "
                         f"got {type(table).__name__}")
    prov = provenance(LABEL, options.provenance)
    rows, foreign = [], {}
    for text, value in table.items():
        count, mean, std = _entry(value, f"{src}: key {text}")
        key = parse_key(str(text))
        if key is None:
            foreign.setdefault(_why(str(text)), []).append(text)
            continue
        ci_rel = 1.96 * MEDIAN_SE * std / math.sqrt(count) / mean
        rows.append(row(key, [mean], prov, std_ms=std, n=count, ci_rel=ci_rel))
    reasons = {"other op": "not an expanded_conv block",
               "squeeze-excite or hard-swish": "squeeze-excite (se:1) or hard-swish (hs:1): lutnas blocks have "
                                               "neither",
               "no matching k<K>_e<E> block": "not an expanded_conv our k<K>_e<E> blocks match in output shape, "
                                              "expansion and idskip"}
    dropped = [note for why, keys in foreign.items() for note in left_out(keys, "key(s)", "a lutnas LUT", reasons[why])]
    return Imported(build(rows, src), left_out=dropped)


def _writer(dialect: str):
    def write(lut: LUT, options: Options) -> Exported:
        """The LUT's ungrouped inverted-residual blocks as the dialect's YAML (keys sorted)."""
        import yaml

        table, other = {}, []
        for key in sorted(lut.keys()):
            text = format_key(key, dialect)
            if text is None:
                other.append(key)
                continue
            r = lut.row(key)
            spread = {"std": r["std_ms"]} if dialect == NAME else {"var": r["std_ms"] ** 2}
            table[text] = {"count": r["n"], "mean": r["median_ms"], **spread}
        dropped = left_out(other, "row(s)", dialect, "only k<K>_e<E> blocks without groups have expanded_conv keys")
        text = yaml.safe_dump(table, sort_keys=True, default_flow_style=False) if table else "{}\n"
        return Exported(text.encode("utf-8"), left_out=dropped)

    return write


write = _writer(NAME)

FORMAT = Format(NAME, "once-for-all latency YAML (latency_table@note10): expanded_conv keys with expand as channels "
                      "and se/hs -> count, mean, std (ms); reads the ProxylessNAS dialect too", read, write)
PROXYLESS_FORMAT = Format(PROXYLESS, "ProxylessNAS latency YAML (pixel_trim.yaml): expanded_conv keys with expand as "
                                     "the ratio -> count, mean, var (ms); reads the once-for-all dialect too",
                          read, _writer(PROXYLESS))
