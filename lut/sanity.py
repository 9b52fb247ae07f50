"""Plausibility checks of a LUT's values: what physics expects, reported as warnings, never as errors.

Two checks, each over pairs of rows that differ in one thing only:

- expansion ordering: at the same slot, kernel and groups, a block with a larger expansion does more
  work, so ``k3_e1 <= k3_e3 <= k3_e6`` (each adjacent pair of expansions present is one check);
- stride: the same block at the same slot (cin, cout, input H x W) with stride 2 computes a quarter
  of the output pixels, so it should not be dearer than with stride 1.

Timing noise can break either on small blocks, so a failed check is a warning: worth a look (or a
re-measurement), not a broken file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lut.names import parse_name
from lut.schema import Key

if TYPE_CHECKING:
    from lut.table import LUT


@dataclass(frozen=True)
class SanityWarning:
    """One failed check: the cheaper-expected key is dearer than the dearer-expected one."""

    check: str  # "expansion" or "stride"
    cheaper: Key  # expected to be at most as slow as ``dearer``
    cheaper_ms: float
    dearer: Key
    dearer_ms: float

    def __str__(self) -> str:
        expect = "larger expansion" if self.check == "expansion" else "stride 1"
        return (f"{self.check}: {self.cheaper} takes {self.cheaper_ms:.6f} ms > {self.dearer} "
                f"{self.dearer_ms:.6f} ms (expected the {expect} to be at least as slow)")


@dataclass(frozen=True)
class SanityReport:
    """Checks run and failed, per check."""

    checks: dict[str, int]
    warnings: list[SanityWarning]

    def failed(self, check: str) -> int:
        """Failed checks of one kind."""
        return sum(1 for w in self.warnings if w.check == check)

    def summary(self) -> list[str]:
        """One line per check kind: 'expansion ordering: 3 of 48 checks fail'."""
        titles = {"expansion": "expansion ordering (e1 <= e3 <= e6)", "stride": "stride 2 not dearer than stride 1"}
        return [f"{titles[c]}: {self.failed(c)} of {n} checks fail" for c, n in self.checks.items()]


def check(lut: LUT) -> SanityReport:
    """Run both checks over every applicable pair of rows of ``lut``."""
    latency = {k: lut.latency(k) for k in sorted(lut.keys())}
    warnings: list[SanityWarning] = []
    checks = {"expansion": 0, "stride": 0}
    for pair in _expansion_pairs(latency):
        checks["expansion"] += 1
        if latency[pair[0]] > latency[pair[1]]:
            warnings.append(SanityWarning("expansion", pair[0], latency[pair[0]], pair[1], latency[pair[1]]))
    for s2, s1 in _stride_pairs(latency):
        checks["stride"] += 1
        if latency[s2] > latency[s1]:
            warnings.append(SanityWarning("stride", s2, latency[s2], s1, latency[s1]))
    return SanityReport(checks, warnings)


def _expansion_pairs(latency: dict[Key, float]) -> list[tuple[Key, Key]]:
    groups: dict[tuple, list[tuple[int, Key]]] = defaultdict(list)
    for key in latency:
        name = parse_name(key.block)
        if name.kind == "ir":
            groups[(name.kernel, name.groups, *key[1:])].append((name.expansion, key))
    pairs = []
    for members in groups.values():
        members.sort()
        pairs += [(a[1], b[1]) for a, b in zip(members, members[1:])]
    return pairs


def _stride_pairs(latency: dict[Key, float]) -> list[tuple[Key, Key]]:
    pairs = []
    for key in latency:
        if key.stride == 2 and parse_name(key.block).searchable:
            twin = key._replace(stride=1)
            if twin in latency:
                pairs.append((key, twin))
    return pairs
