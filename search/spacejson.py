"""A space as arch.json holds it: its name and build arguments (``{"name": ..., "params": {...}}``), enough to
rebuild it without its source file; built-in names rebuild with their factory and must agree with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from search.space import SPACES, Space, get_space, load_space_file, space_from_dict


def kind_of(value: Any) -> str:
    """What a JSON value is, for messages ("a string", "null", ...)."""
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


def space_to_json(space: Space) -> dict[str, Any]:
    """The space's name and build arguments (enough to rebuild it without its source file)."""
    return {"name": space.name, "params": json.loads(json.dumps(space.params))}


def space_from_json(data: Any, base: Path | None = None) -> Space:
    """Rebuild a space written by ``space_to_json`` (or hand-written: ``{"name": "fbnet-cifar"}``).

    Built-in names rebuild with the built-in factory (width_mult / input_size from params) and
    any other stored param must match it, so a file never silently builds a different network.
    Other names rebuild from their params; without params, a name ending in .toml/.json is
    loaded as a space file (relative to ``base`` if it exists there).
    """
    if not isinstance(data, dict):
        raise ValueError(f"space must be an object with name and params, got {kind_of(data)}")
    unknown = sorted(set(data) - {"name", "params"})
    if unknown:
        raise ValueError(f"space: unknown key(s) {', '.join(unknown)}; allowed: name, params")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("space: name must be a non-empty string")
    params = data.get("params")
    if params is not None and not isinstance(params, dict):
        raise ValueError(f"space {name!r}: params must be an object, got {kind_of(params)}")
    if name in SPACES:
        return _builtin(name, params or {})
    if params:
        return space_from_dict(params, name)
    if name.endswith((".toml", ".json")):
        path = Path(name)
        if base is not None and not path.is_absolute() and (base / path).exists():
            path = base / path
        return load_space_file(path) if path == Path(name) else _renamed(load_space_file(path), name)
    raise ValueError(f"unknown space {name!r} and no params to build it; "
                     f"built-in: {', '.join(SPACES)}, or give params / a .toml/.json space file")


def _builtin(name: str, params: dict[str, Any]) -> Space:
    width, size = params.get("width_mult"), params.get("input_size")
    if width is not None and (isinstance(width, bool) or not isinstance(width, (int, float))):
        raise ValueError(f"space {name!r}: width_mult must be a number, got {width!r}")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int)):
        raise ValueError(f"space {name!r}: input_size must be an integer, got {size!r}")
    space = get_space(name, width, size)
    unknown = sorted(set(params) - set(space.params))
    if unknown:
        raise ValueError(f"space {name!r}: unknown param(s) {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(space.params))}")
    differ = sorted(k for k, v in params.items() if json.loads(json.dumps(space.params[k])) != v)
    if differ:
        raise ValueError(f"space {name!r}: param(s) {', '.join(differ)} differ from the built-in space "
                         f"(only width_mult and input_size may be set); drop them or rename the space")
    return space


def _renamed(space: Space, name: str) -> Space:
    from dataclasses import replace

    return replace(space, name=name)
