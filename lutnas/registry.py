"""Registries: the one way a lutnas package holds named, pluggable things (spaces, losses, datasets,
runtimes, runners, LUT formats, commands, schema migrations).

A ``Registry`` is a read-only mapping from name to thing, in registration order, with ``register``
(a second thing of the same name is an error, never a silent replacement) and ``get`` (an unknown
name is a one-line ValueError that lists the known ones).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class Registry(Mapping[K, T], Generic[K, T]):
    """Named things of one kind; ``what`` names the kind in messages ("space", "loss", "runtime")."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[K, T] = {}

    def register(self, name: K, thing: T) -> T:
        """Add ``thing`` under ``name`` and return it; ValueError when the name is taken."""
        if name in self._items:
            raise ValueError(f"{self.what} {name!r} is already registered")
        self._items[name] = thing
        return thing

    def decorator(self, name: K) -> Callable[[T], T]:
        """``@REGISTRY.decorator(name)``: register the decorated function or class under ``name``."""
        return lambda thing: self.register(name, thing)

    def get(self, name: K, default: T | None = None) -> T:  # type: ignore[override]
        """The thing called ``name``; ValueError 'unknown <what> ...; known: ...' when there is none
        (``default``, when given, instead)."""
        if name in self._items:
            return self._items[name]
        if default is not None:
            return default
        raise ValueError(self.unknown(name))

    def unknown(self, name: object) -> str:
        """The one-line message for a name that is not registered."""
        return f"unknown {self.what} {name!r}; known: {', '.join(map(str, self._items))}"

    def __getitem__(self, name: K) -> T:
        return self._items[name]

    def __iter__(self) -> Iterator[K]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}: {', '.join(map(str, self._items))})"
