"""Measurement conditions: what the caches hold when a LUT entry is timed.

A block timed alone, run after run (``warm``), finds its weights and buffers in the
fastest cache they fit in. Inside a network the rest of the network runs between two
runs of that block, and streams the network's weights and activations through the
caches: a block of fbnet (a network of about 37 MiB, on a CPU with a 32 MiB last-level
cache) then reads its weights from memory, one of fbnet-cifar (about 12 MiB) from the
last-level cache.
``in-network`` reproduces that without any timing of whole networks: each timed run
uses the next of ``copies`` copies of the block (own weights, own buffers, the same
input), and the copies together span twice the largest cache level that a typical
network of the space overflows. Measured on this project's build VM (docs/lut-format.md,
"Measurement conditions"): fbnet's plain LUT sum moved from 11-12% below whole networks
to within 1%.

On phones the portable runner applies the same rules to the caches of the core it is
pinned to (this module travels in its bundle, standard library only); the host sends each
model's footprint and the network's.

The rules here are pure: sizes in bytes in, copies out (standard library only).
``profiler.footprint`` counts an entry's bytes and plans a space on the host.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Hashable, Iterable, Mapping, Sequence

Key = Hashable  # a lut.Key; not imported: the portable runner carries this module to phones, where lut is not

MAX_COPIES = 16  # more copies than this changed fbnet's sum by under 1% and cost memory and session setup
SAMPLE_NETWORKS = 20  # random architectures whose median footprint stands for "a network of the space"
SAMPLE_SEED = 0
FLOAT_BYTES = 4
MEMORY_BUDGET = 2**30  # bytes of copies held open at a time: entries interleaved at once = this / rotation_bytes
MIN_WINDOW = 8  # at least this many entries interleaved, however large the rotation


@dataclass(frozen=True)
class Plan:
    """How a profile times its entries: the conditions, the copies per key, and the sizes they came from."""

    conditions: str
    copies: Mapping[Key, int]
    network_bytes: int = 0  # median footprint of a network of the space
    caches: tuple[int, ...] = ()  # data cache sizes of the measuring CPU, smallest first
    rotation_bytes: int = 0  # what the copies of each entry span together (at least)
    footprints: Mapping[Key, int] = field(default_factory=dict)  # bytes each entry touches (in-network plans)

    @property
    def window(self) -> int:
        """Entries to interleave at a time so their copies stay within MEMORY_BUDGET (0: all at once)."""
        return window_for(self.rotation_bytes)

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly summary (for the profile's host report)."""
        counts = sorted(self.copies.values()) or [1]
        return {"conditions": self.conditions, "network_bytes": self.network_bytes, "caches": list(self.caches),
                "rotation_bytes": self.rotation_bytes, "copies_min": counts[0], "copies_max": counts[-1],
                "copies_median": statistics.median(counts), "window": self.window}


def rotation_bytes(network_bytes: int, caches: Sequence[int]) -> int:
    """Twice the largest cache level smaller than the network's footprint (what the network's own traffic
    overflows between two runs of one of its blocks); 0 when the network fits in the smallest level."""
    if network_bytes < 0 or any(c <= 0 for c in caches):
        raise ValueError("sizes must be positive")
    overflowed = [c for c in caches if c < network_bytes]
    return 2 * max(overflowed) if overflowed else 0


def copies_for(entry_bytes: int, rotation: int, max_copies: int = MAX_COPIES) -> int:
    """Copies of an entry of ``entry_bytes`` that together span ``rotation`` bytes, within 1..``max_copies``."""
    if max_copies < 1:
        raise ValueError(f"max_copies must be >= 1, got {max_copies}")
    if rotation <= 0:
        return 1
    return max(1, min(max_copies, math.ceil(rotation / max(entry_bytes, 1))))


def window_for(rotation: int, budget: int = MEMORY_BUDGET) -> int:
    """How many entries, each holding about ``rotation`` bytes of copies, fit in ``budget`` (at least MIN_WINDOW);
    0 (all at once) when there is no rotation or more than 1000 fit."""
    if rotation <= 0 or budget // rotation > 1000:
        return 0
    return max(MIN_WINDOW, budget // rotation)


def network_bytes(architectures: Iterable[Sequence[Key]], footprints: Mapping[Key, int]) -> int:
    """Median over ``architectures`` (each the keys of one network) of the sum of their entries' footprints."""
    sums = [sum(footprints[k] for k in keys) for keys in architectures]
    if not sums:
        raise ValueError("no architectures")
    return int(statistics.median(sums))


def plan_warm(keys: Sequence[Key]) -> Plan:
    """Every key on one copy, run after run."""
    return Plan("warm", {k: 1 for k in keys})


CONDITIONS = ("in-network", "warm")
DEFAULT_CONDITIONS = "in-network"
