"""How much faster or slower the host runs now than when a LUT was built, from some of the LUT's entries
re-timed beside the networks of a fidelity check (profiler.validate).

A shared host's speed moves by 10% and more over tens of minutes (measured on this project's build VM:
docs/lut-format.md, "Host drift"), as a level shift that no noise gate removes. A LUT built in a slow
stretch then over-predicts networks measured in a fast one, though its sum is right for the host it was
built on. The drift factor says how much of a check's bias is the host's: the sampled networks'
predicted sums over the re-timed entries, with their latencies now against those in the LUT.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from lut.matrix import layer_keys
from lut.schema import Key

DRIFT_ENTRIES = 16  # entries re-timed by default: the 16 that weigh most estimated fbnet's drift within 1%


def key_uses(lut, space, archs: Sequence[Sequence[str]]) -> dict[Key, int]:
    """How many times each LUT key (the one the prediction reads: a layer's own row or its slot's) is
    chosen by ``archs``."""
    keys = layer_keys(lut, space)
    uses: dict[Key, int] = {}
    for arch in archs:
        for layer, block in zip(keys, arch):
            uses[layer[block]] = uses.get(layer[block], 0) + 1
    return uses


def retime_keys(lut, space, archs: Sequence[Sequence[str]], count: int) -> list[Key]:
    """The ``count`` searchable-layer entries that weigh most in ``archs``' predicted sums (uses x the
    LUT's latency; ties by key), heaviest first. The fixed keys are timed beside the networks anyway."""
    uses = key_uses(lut, space, archs)
    weight = {k: n * lut.latency(k) for k, n in uses.items()}
    return sorted(weight, key=lambda k: (-weight[k], str(k)))[:max(count, 0)]


def drift_factor(uses: Mapping[Key, int], networks: int, lut_ms: Mapping[Key, float],
                 now_ms: Mapping[Key, float], overhead: Key, fixed: Sequence[Key]) -> float | None:
    """Now / then of the networks' predicted sums restricted to the re-timed entries (``uses`` of each
    re-timed layer entry, ``networks`` times overhead and each ``fixed`` key), under the LUT's overhead
    convention (an entry counts net of the overhead). None when a needed entry was not re-timed."""
    keys = [overhead, *fixed, *uses]
    if networks < 1 or any(k not in now_ms or k not in lut_ms for k in keys):
        return None

    def total(ms: Mapping[Key, float]) -> float:
        ov = ms[overhead]
        return (networks * ov + sum(networks * max(ms[k] - ov, 0.0) for k in fixed)
                + sum(n * max(ms[k] - ov, 0.0) for k, n in uses.items()))

    then = total(lut_ms)
    return total(now_ms) / then if then > 0 else None
