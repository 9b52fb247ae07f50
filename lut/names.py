"""Block-name grammar: the one spelling of every op a LUT can hold.

A name is an op's full identity (everything that changes its latency); the
slot (cin, cout, stride, H, W) says where it sits. Searchable blocks:

    k<K>_e<E>[_g<G>]   inverted residual: 1x1 (groups G) -> KxK dw -> 1x1 (groups G)
    skip               identity where the shape is kept, else 1x1 conv (stride s) + BN

Fixed ops of a network: ``stem_k<K>`` (KxK conv + BN + ReLU), ``head_c<C>``
(1x1 conv to C + BN + ReLU, global average pool, FC to cout) and ``overhead``
(an identity model: the runtime's per-inference cost, counted once per network).
Calibration rows of whole networks: ``calib_offset`` and ``calib_scale`` (lut.calibration).

``format_name(parse_name(s)) == s`` for every valid name; anything else raises
ValueError naming the bad part and what is allowed. Lives in ``lut`` (not in
``search.space``) because the LUT validates names and ``lut`` imports nothing
of ours; ``search.space`` re-exports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

KERNELS = (3, 5, 7)
EXPANSIONS = range(1, 13)
GROUPS = range(2, 9)
STEM_KERNELS = (1, 3, 5, 7)
HEAD_CHANNELS = range(1, 100001)

_INT = re.compile(r"[1-9][0-9]*\Z")


@dataclass(frozen=True)
class BlockName:
    """A parsed op name. ``kind`` is one of KINDS; unused fields are 0."""

    kind: str
    kernel: int = 0
    expansion: int = 0
    groups: int = 1
    channels: int = 0
    part: str = ""  # calib: "offset" or "scale"

    @property
    def searchable(self) -> bool:
        """True for ops a searchable layer can pick (``ir`` blocks and ``skip``)."""
        return self.kind in ("ir", "skip")

    def __str__(self) -> str:
        return format_name(self)


def _allowed(values) -> str:
    values = list(values)
    if len(values) > 8 and values == list(range(values[0], values[-1] + 1)):
        return f"an integer {values[0]}-{values[-1]}"
    return "one of " + ", ".join(str(v) for v in values)


def _number(part: str, letter: str, allowed, what: str, name: str) -> int:
    digits = part[len(letter):]
    if not part.startswith(letter) or not _INT.match(digits):
        raise ValueError(
            f"block name {name!r}: bad {what} part {part!r}; expected {letter}<{what}> "
            f"with {what} {_allowed(allowed)}"
        )
    value = int(digits)
    if value not in allowed:
        raise ValueError(
            f"block name {name!r}: {what} {value} in {part!r} is not allowed; "
            f"{what} must be {_allowed(allowed)}"
        )
    return value


def _no_more(parts: list[str], name: str, after: str) -> None:
    if parts:
        raise ValueError(
            f"block name {name!r}: unknown part {parts[0]!r}; nothing may follow {after}"
        )


def _parse_ir(parts: list[str], name: str) -> BlockName:
    k = _number(parts[0], "k", KERNELS, "kernel", name)
    if len(parts) < 2:
        raise ValueError(f"block name {name!r}: missing expansion part; expected k<K>_e<E>[_g<G>]")
    e = _number(parts[1], "e", EXPANSIONS, "expansion", name)
    g = 1
    rest = parts[2:]
    if rest:
        if not rest[0].startswith("g"):
            raise ValueError(
                f"block name {name!r}: unknown part {rest[0]!r}; allowed after k<K>_e<E>: _g<G> "
                f"with G {_allowed(GROUPS)}"
            )
        if rest[0] == "g1":
            raise ValueError(f"block name {name!r}: write groups 1 by leaving out '_g1'")
        g = _number(rest[0], "g", GROUPS, "groups", name)
        _no_more(rest[1:], name, "_g<G>")
    return BlockName("ir", kernel=k, expansion=e, groups=g)


def _parse_skip(parts: list[str], name: str) -> BlockName:
    _no_more(parts[1:], name, "'skip'")
    return BlockName("skip")


def _parse_overhead(parts: list[str], name: str) -> BlockName:
    _no_more(parts[1:], name, "'overhead'")
    return BlockName("overhead")


def _parse_stem(parts: list[str], name: str) -> BlockName:
    if len(parts) < 2:
        raise ValueError(f"block name {name!r}: missing kernel part; expected stem_k<K>")
    k = _number(parts[1], "k", STEM_KERNELS, "kernel", name)
    _no_more(parts[2:], name, "stem_k<K>")
    return BlockName("stem", kernel=k)


def _parse_head(parts: list[str], name: str) -> BlockName:
    if len(parts) < 2:
        raise ValueError(f"block name {name!r}: missing channels part; expected head_c<C>")
    c = _number(parts[1], "c", HEAD_CHANNELS, "channels", name)
    _no_more(parts[2:], name, "head_c<C>")
    return BlockName("head", channels=c)


CALIB_PARTS = ("offset", "scale")


def _parse_calib(parts: list[str], name: str) -> BlockName:
    if len(parts) < 2 or parts[1] not in CALIB_PARTS:
        got = f"part {parts[1]!r}" if len(parts) > 1 else "no part"
        raise ValueError(f"block name {name!r}: {got} after 'calib'; expected calib_offset or calib_scale")
    _no_more(parts[2:], name, f"calib_{parts[1]}")
    return BlockName("calib", part=parts[1])


def _format_ir(b: BlockName) -> str:
    return f"k{b.kernel}_e{b.expansion}" + (f"_g{b.groups}" if b.groups > 1 else "")


# kind -> (how a name of that kind starts, parser, formatter)
_KINDS: dict[str, tuple[Callable[[str], bool], Callable, Callable[[BlockName], str]]] = {
    "ir": (lambda head: head.startswith("k"), _parse_ir, _format_ir),
    "skip": (lambda head: head == "skip", _parse_skip, lambda b: "skip"),
    "stem": (lambda head: head == "stem", _parse_stem, lambda b: f"stem_k{b.kernel}"),
    "head": (lambda head: head == "head", _parse_head, lambda b: f"head_c{b.channels}"),
    "overhead": (lambda head: head == "overhead", _parse_overhead, lambda b: "overhead"),
    "calib": (lambda head: head == "calib", _parse_calib, lambda b: f"calib_{b.part}"),
}
KINDS = tuple(_KINDS)
SYNTAX = "k<K>_e<E>[_g<G>], skip, stem_k<K>, head_c<C>, overhead, calib_offset or calib_scale"


def parse_name(name: str) -> BlockName:
    """Parse an op name; ValueError naming the bad part and what is allowed."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"block name {name!r}: empty; expected {SYNTAX}")
    parts = name.split("_")
    if any(p == "" for p in parts):
        raise ValueError(f"block name {name!r}: empty part (doubled, leading or trailing '_')")
    for matches, parse, _ in _KINDS.values():
        if matches(parts[0]):
            return parse(parts, name)
    raise ValueError(f"block name {name!r}: unknown block {parts[0]!r}; expected {SYNTAX}")


def format_name(block: BlockName) -> str:
    """The canonical spelling of a parsed name."""
    try:
        return _KINDS[block.kind][2](block)
    except KeyError:
        raise ValueError(f"unknown block kind {block.kind!r}; known: {', '.join(KINDS)}") from None


def is_valid_name(name: str) -> bool:
    """True when ``name`` parses and is in its canonical spelling."""
    try:
        return format_name(parse_name(name)) == name
    except ValueError:
        return False
