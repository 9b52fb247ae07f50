"""Search spaces as the LUT commands see them: coverage of a space, the best-covered built-in space.

The spaces themselves live in ``search.space`` (pure Python, no torch). This is the one module of
``lut`` that reaches for them, and only inside functions, so ``import lut`` and the LUT format never
depend on ``search``; the commands that need a space (info, validate --space, plot, predict, the
``fbnet-lookup-table`` converter) come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lut.matrix import SpaceLike, needed_keys
from lut.schema import Key

if TYPE_CHECKING:
    from lut.table import LUT


def builtin_names() -> list[str]:
    """Names of the built-in spaces (``search.space.SPACES``)."""
    from search.space import SPACES

    return list(SPACES)


def get_space(spec: str) -> SpaceLike:
    """A built-in space by name or a user space from a .toml/.json file; ValueError otherwise."""
    from search.space import get_space as _get

    return _get(spec)


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

    def __str__(self) -> str:
        share = 100.0 * self.have / self.needed if self.needed else 100.0
        return f"{self.space}: {self.have} of {self.needed} keys ({share:.0f}%)"


def coverage(lut: LUT, space: SpaceLike) -> Coverage:
    """The keys of ``space`` that ``lut`` holds and the ones it lacks (in the space's order)."""
    needed = needed_keys(space)
    missing = tuple(k for k in needed if k not in lut)
    return Coverage(space.name, len(needed) - len(missing), len(needed), missing)


def builtin_spaces() -> list[SpaceLike]:
    """Every built-in space at its defaults, in registry order."""
    return [get_space(name) for name in builtin_names()]


def builtin_coverage(lut: LUT) -> list[Coverage]:
    """Coverage of every built-in space, in registry order."""
    return [coverage(lut, space) for space in builtin_spaces()]


def best_space(lut: LUT) -> SpaceLike | None:
    """The built-in space the LUT covers best (complete first, then the largest share); None if it has none."""
    ranked = [(c.have / c.needed if c.needed else 0.0, -i, name)
              for i, (name, c) in enumerate(zip(builtin_names(), builtin_coverage(lut))) if c.have]
    if not ranked:
        return None
    return get_space(max(ranked)[2])
