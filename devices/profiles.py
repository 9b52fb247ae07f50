"""Device profiles: TOML files naming how a device is reached and measured."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILE_DIR = Path(__file__).parent / "profiles"
KINDS = ("local", "adb")
_FIELDS = {"name", "kind", "description", "runtime", "threads", "affinity", "opt_level"}


class DeviceUnavailable(RuntimeError):
    """A device profile exists but cannot be used by this toolkit yet, or here."""


@dataclass(frozen=True)
class Profile:
    """One device profile."""

    name: str
    kind: str
    description: str = ""
    runtime: str = "onnxruntime"
    threads: int = 1
    affinity: str = "none"
    opt_level: str | None = None
    source: Path | None = field(default=None, compare=False)


def load_profile(path: Path) -> Profile:
    """Parse one profile file; ValueError naming the file and field on bad content."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{path}: cannot read device profile: {e}") from None
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}")
    for req in ("name", "kind"):
        if req not in data:
            raise ValueError(f"{path}: missing field {req!r}")
    if data["kind"] not in KINDS:
        raise ValueError(f"{path}: unknown kind {data['kind']!r}; known: {', '.join(KINDS)}")
    if not isinstance(data.get("threads", 1), int) or data.get("threads", 1) < 1:
        raise ValueError(f"{path}: threads must be a positive integer")
    return Profile(**{k: str(v) if k == "affinity" else v for k, v in data.items()}, source=path)


def profiles(directory: Path = PROFILE_DIR) -> dict[str, Profile]:
    """Every shipped profile by name; a duplicate name is an error."""
    found: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.toml")):
        p = load_profile(path)
        if p.name in found:
            raise ValueError(f"{path}: device name {p.name!r} already defined in {found[p.name].source}")
        found[p.name] = p
    return found


def get_profile(name: str) -> Profile:
    """A shipped profile by name, or a profile file by path."""
    if name.endswith(".toml"):
        return load_profile(Path(name))
    known = profiles()
    if name not in known:
        raise ValueError(f"unknown device {name!r}; known: {', '.join(known)}, or a profile .toml file")
    return known[name]
