"""A space's latencies as arrays: what the search's latency loss reads.

Every measured latency includes the runtime's per-inference overhead (the
``overhead`` key, an identity model). The matrix holds NET latencies,
max(median - overhead, 0), for the searchable layers, the stem and the head;
a network's predicted latency is then ``fixed_ms`` (stem + head + overhead,
the overhead counted once) plus the net latency of the block chosen at each
layer. Spaces are duck-typed (``SpaceLike``): lut imports nothing of ours.
"""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Sequence

import numpy as np

from lut.schema import Key, LUTError

if TYPE_CHECKING:
    from lut.table import LUT

SHOWN = 5  # missing keys named in a MissingKeysError's message
DEFAULTS = {"device": "cpu", "runtime": "onnxruntime", "threads": "1"}


class LayerLike(Protocol):
    """A searchable layer: its candidate names and the LUT key of each at its slot."""

    @property
    def candidates(self) -> tuple[str, ...]: ...

    def key(self, candidate: str) -> Key: ...


class SpaceLike(Protocol):
    """A search space as the LUT sees it (``search.space.Space`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def layers(self) -> Sequence[LayerLike]: ...

    def fixed_keys(self) -> dict[str, Key]:
        """Keys of the ops run once per network: "overhead", "stem" and "head"."""
        ...


class MissingKeysError(LUTError):
    """The LUT lacks keys a space needs; ``.missing`` lists them, ``.command`` measures them."""

    def __init__(self, missing: list[Key], command: str, where: str, space: str) -> None:
        self.missing = list(missing)
        self.command = command
        shown = ", ".join(str(k) for k in self.missing[:SHOWN])
        more = f" and {len(self.missing) - SHOWN} more" if len(self.missing) > SHOWN else ""
        super().__init__(f"{where}: {len(self.missing)} key(s) of space {space} are missing: {shown}{more}; "
                         f"measure them with: {command}")


def profiler_command(lut: LUT, space: str | SpaceLike) -> str:
    """The profiler command that adds a space's missing keys to ``lut``'s file (a space that knows its
    ``cli_args``, as search.space.Space does, keeps its resolution and width multiplier)."""
    prov = lut.provenance()
    known = lambda c: prov[c][0] if prov[c] and str(prov[c][0]) != "unknown" else DEFAULTS[c]  # noqa: E731
    device, runtime, threads = (known(c) for c in ("device", "runtime", "threads"))
    if prov.get("device") and str(prov["device"][0]) == "unknown":  # imported rows: the user names the device
        device = "DEVICE"
    out = str(lut.source) if lut.source else f"lut/{device}.csv"
    cli_args = getattr(space, "cli_args", None)
    space_args = cli_args() if cli_args else ["--space", space if isinstance(space, str) else space.name]
    level = ["--opt-level", prov["opt_level"][0]] if prov.get("opt_level") and prov["opt_level"][0] != "unknown" else []
    args = ["python", "-m", "profiler.run", "--device", device, *space_args, "--runtime", runtime, *level,
            "--threads", threads, "--out", out, "--resume"]
    return " ".join(shlex.quote(a) for a in args)


@dataclass(frozen=True, eq=False)
class Matrix:
    """Net latencies (ms) of a space: ``latency_ms[layer, j]`` is candidate ``candidates[j]`` at that layer.

    ``candidates`` is the layers' shared candidate list; when layers differ it is the union in first-seen
    order and a layer's absent candidates are NaN. ``layer_candidates`` keeps each layer's own list.
    """

    space: str
    candidates: tuple[str, ...]
    layer_candidates: tuple[tuple[str, ...], ...]
    latency_ms: np.ndarray
    stem_ms: float
    head_ms: float
    overhead_ms: float

    @property
    def fixed_ms(self) -> float:
        """Stem + head + the runtime overhead (counted once): the part every network pays."""
        return self.stem_ms + self.head_ms + self.overhead_ms

    @property
    def shape(self) -> tuple[int, int]:
        """(layers, candidates)."""
        return self.latency_ms.shape  # type: ignore[return-value]

    def layer_ms(self, layer: int) -> np.ndarray:
        """Net latencies of one layer in that layer's own candidate order (no NaN)."""
        cols = [self.candidates.index(c) for c in self.layer_candidates[layer]]
        return self.latency_ms[layer, cols]

    def predict(self, choices: Sequence[str]) -> float:
        """Predicted latency (ms) of the network picking ``choices[l]`` at layer ``l``."""
        if len(choices) != len(self.layer_candidates):
            raise ValueError(f"space {self.space}: expected {len(self.layer_candidates)} choices, one per layer, "
                             f"got {len(choices)}")
        total = self.fixed_ms
        for layer, (choice, allowed) in enumerate(zip(choices, self.layer_candidates)):
            if choice not in allowed:
                raise ValueError(f"layer {layer}: {choice!r} is not a candidate; candidates: {', '.join(allowed)}")
            total += float(self.latency_ms[layer, self.candidates.index(choice)])
        return total


def needed_keys(space: SpaceLike) -> list[Key]:
    """Every key ``space`` needs: overhead, stem, head, then each layer's candidates (unique, in that order)."""
    fixed = space.fixed_keys()
    keys = dict.fromkeys(fixed[k] for k in ("overhead", "stem", "head"))
    for layer in space.layers:
        keys.update(dict.fromkeys(layer.key(c) for c in layer.candidates))
    return list(keys)


def layer_keys(lut: LUT, space: SpaceLike) -> list[dict[str, Key]]:
    """For each searchable layer, candidate -> the LUT key its latency comes from: the layer's own row
    (``Key.layer`` = that layer, imported per-layer values) where the LUT has one, else its slot's row."""
    out = []
    for i, layer in enumerate(space.layers):
        keys = {}
        for c in layer.candidates:
            slot = layer.key(c)
            keys[c] = slot.at_layer(i) if slot.at_layer(i) in lut else slot
        out.append(keys)
    return out


def check_overhead(lut: LUT, space: SpaceLike, overhead: float) -> None:
    """ValueError when the per-inference overhead is at least the latency of half or more of the space's
    blocks (not skip): subtracting it would make them free, so it was not measured with them."""
    keys = {k for layer in layer_keys(lut, space) for c, k in layer.items() if c != "skip" and k in lut}
    if not keys:
        return
    free = sum(lut.latency(k) <= overhead for k in keys)
    if 2 * free >= len(keys):
        where = str(lut.source) if lut.source else "LUT"
        raise ValueError(f"{where}: its overhead row ({overhead:.6g} ms) is at least the latency of {free} of the "
                         f"{len(keys)} blocks of space {space.name}, which would then cost nothing: it was not "
                         f"measured with them (re-measure it: python -m profiler.run ... --resume after deleting "
                         f"the overhead row)")


def build_matrix(lut: LUT, space: SpaceLike, calibrated: bool = True) -> Matrix:
    """The Matrix of ``space`` from ``lut``; MissingKeysError when keys are absent.

    With ``calibrated`` (default) a whole-network calibration the LUT stores for the space
    (lut.calibration) is folded in; without, the Matrix holds the LUT's plain sums."""
    fixed = space.fixed_keys()
    absent = [k for k in ("overhead", "stem", "head") if k not in fixed]
    if absent:
        raise ValueError(f"space {space.name}: fixed_keys() lacks {', '.join(absent)}")
    resolved = layer_keys(lut, space)
    missing = [k for k in (*(fixed[k] for k in ("overhead", "stem", "head")),
                           *(k for layer in resolved for k in layer.values())) if k not in lut]
    missing = list(dict.fromkeys(missing))
    if missing:
        where = str(lut.source) if lut.source else "LUT"
        raise MissingKeysError(missing, profiler_command(lut, space), where, space.name)
    overhead = lut.latency(fixed["overhead"])
    check_overhead(lut, space, overhead)

    def net(key: Key) -> float:
        return max(lut.latency(key) - overhead, 0.0)

    layer_candidates = tuple(tuple(layer.candidates) for layer in space.layers)
    candidates = tuple(dict.fromkeys(c for cands in layer_candidates for c in cands))
    table = np.full((len(layer_candidates), len(candidates)), math.nan)
    for i, keys in enumerate(resolved):
        for c, key in keys.items():
            table[i, candidates.index(c)] = net(key)
    table.setflags(write=False)
    raw = Matrix(space.name, candidates, layer_candidates, table, net(fixed["stem"]), net(fixed["head"]), overhead)
    if not calibrated:
        return raw
    from lut.calibration import calibrate_matrix, read_calibration

    return calibrate_matrix(raw, read_calibration(lut, space))
