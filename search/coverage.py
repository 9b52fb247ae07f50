"""Which search space a LUT covers: one rule for every command that must tell.

A LUT does not name its space, but its keys give it away: the ``overhead`` row sits at the input
size (3 x H x W), and a space is covered when every key it needs is there. The candidates are the
built-in spaces at their own input size and at each input size the LUT holds; a user space (a
.toml/.json file) or a width multiplier other than 1 is named by the caller. ``best_space`` (the
LUT plots) and ``resolve_space`` (the fidelity check, which must refuse an ambiguous LUT) rank the
same candidates the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lut.matrix import SpaceLike, needed_keys
from lut.schema import Key
from search.space import SPACES, Space, get_space

if TYPE_CHECKING:
    from lut.table import LUT

ENOUGH = 0.5  # share of a built-in space's keys a LUT must hold before it is taken to be that space's


def builtin_spaces() -> list[Space]:
    """Every built-in space at its defaults, in registry order."""
    return [get_space(name) for name in SPACES]


@dataclass(frozen=True)
class Coverage:
    """How many of the keys a space needs a LUT holds."""

    space: str
    have: int
    needed: int
    missing: tuple[Key, ...]

    @property
    def complete(self) -> bool:
        """True when the LUT holds every key of the space (``LUT.matrix(space)`` works)."""
        return not self.missing

    @property
    def share(self) -> float:
        """The share of the space's keys the LUT holds (1.0: complete)."""
        return self.have / self.needed if self.needed else 0.0

    def __str__(self) -> str:
        share = 100.0 * self.have / self.needed if self.needed else 100.0
        return f"{self.space}: {self.have} of {self.needed} keys ({share:.0f}%)"


def coverage(lut: LUT, space: SpaceLike) -> Coverage:
    """The keys of ``space`` that ``lut`` holds and the ones it lacks (in the space's order)."""
    needed = needed_keys(space)
    missing = tuple(k for k in needed if k not in lut)
    return Coverage(space.name, len(needed) - len(missing), len(needed), missing)


def stray_layer_rows(lut: LUT, space: SpaceLike) -> list[Key]:
    """Per-layer rows (``Key.layer`` >= 0) that no layer of ``space`` reads: their layer is not one of the
    space's, or that layer's slot or candidates are not theirs."""
    read = {layer.key(c).at_layer(i) for i, layer in enumerate(space.layers) for c in layer.candidates}
    return sorted(k for k in lut.keys() if k.layer >= 0 and k not in read)


def builtin_coverage(lut: LUT) -> list[Coverage]:
    """Coverage of every built-in space at its defaults, in registry order."""
    return [coverage(lut, space) for space in builtin_spaces()]


def input_sizes(lut: LUT) -> list[int]:
    """The input sizes of the LUT's ``overhead`` rows (square inputs), ascending."""
    return sorted({k.h for k in lut.keys() if k.block == "overhead" and k.h == k.w})


def share_covered(lut: LUT, space: SpaceLike) -> float:
    """The share of ``space``'s keys that ``lut`` holds (1.0: complete)."""
    return coverage(lut, space).share


def candidates(lut: LUT, names: list[str] | None = None, width_mult: float | None = None) -> list[Space]:
    """The built-in spaces ``names`` (default: all) at their own input size and at each of the LUT's, once each."""
    spaces: dict[tuple[str, int], Space] = {}
    for name in SPACES if names is None else names:
        for size in (None, *input_sizes(lut)):  # None: the space's own default size
            space = get_space(name, width_mult, size)
            spaces.setdefault((space.name, space.input_size), space)
    return list(spaces.values())


def ranked(lut: LUT, spaces: list[Space]) -> list[tuple[float, Space]]:
    """``spaces`` with the share of their keys ``lut`` holds, the best covered first (ties: given order)."""
    shares = [(share_covered(lut, s), -i, s) for i, s in enumerate(spaces)]
    return [(share, s) for share, _, s in sorted(shares, key=lambda t: (t[0], t[1]), reverse=True)]


def best_space(lut: LUT) -> Space | None:
    """The built-in space (at one of the LUT's input sizes) the LUT covers best; None if it holds no key of any."""
    best = ranked(lut, candidates(lut))
    return best[0][1] if best and best[0][0] > 0 else None


def _where(lut: LUT) -> str:
    return str(lut.source) if lut.source else "LUT"


def resolve_space(lut: LUT, spec: str | None = None, width_mult: float | None = None,
                  resolution: int | None = None) -> Space:
    """The space of ``lut``: ``spec`` when given (a built-in name at the LUT's input size unless
    ``resolution`` says otherwise, or a space file), else the one built-in space it covers completely.

    The space returned may still lack keys: ``lut.matrix(space)`` then raises MissingKeysError with
    the profiler command that measures them. ValueError when no space fits or several do.
    """
    if spec is not None and (resolution is not None or spec not in SPACES):
        return get_space(spec, width_mult, resolution)
    tried = ranked(lut, candidates(lut, None if spec is None else [spec], width_mult))
    complete = [s for share, s in tried if share == 1.0]
    if len(complete) == 1:
        return complete[0]
    if len(complete) > 1:
        listed = ", ".join(f"{s.name} at {s.input_size}x{s.input_size}" for s in complete)
        raise ValueError(f"{_where(lut)}: covers several spaces ({listed}); name one with --space and --resolution")
    best_share, best = tried[0]
    if spec is not None or best_share >= ENOUGH:
        return best  # incomplete: the caller's lut.matrix(best) names the missing keys and the profiler command
    sizes = ", ".join(str(s) for s in input_sizes(lut)) or "none (no overhead row)"
    raise ValueError(f"{_where(lut)}: covers no built-in space (best: {best.name} at {best.input_size}x"
                     f"{best.input_size}, {best_share:.0%} of its keys; input sizes in the LUT: {sizes}); "
                     f"name its space with --space (a .toml/.json file for a space of your own)")
