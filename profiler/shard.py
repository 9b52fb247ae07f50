"""Splitting a space's keys across hosts: --shard i/n takes every n-th key, starting at the i-th."""

from __future__ import annotations

from lut import Key


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4); ValueError unless 1 <= i <= n."""
    i, sep, n = text.partition("/")
    if not sep or not i.strip().isdigit() or not n.strip().isdigit() or not 1 <= int(i) <= int(n):
        raise ValueError(f"bad --shard {text!r}: expected i/n with 1 <= i <= n, e.g. 1/4")
    return int(i), int(n)


def shard_keys(keys: list[Key], i: int, n: int) -> list[Key]:
    """The i-th of n disjoint shares of ``keys`` (in sorted key order, so every host agrees)."""
    return sorted(keys)[i - 1::n]
