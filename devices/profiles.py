"""Device profiles: TOML files naming how a device is reached and measured.

The fields every device has (name, kind, description, runtime, threads, affinity, opt_level) stand at the
top; the fields of one kind of device stand in a table named after it, e.g. a phone's in ``[adb]``
(connection, runner, cooldown, ...). Phone profiles written before that table existed have those fields at the
top level; they are read as before.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROFILE_DIR = Path(__file__).parent / "profiles"
COMMON_FIELDS = {"name", "kind", "description", "runtime", "threads", "affinity", "opt_level"}
KIND_FIELDS = {  # the table of each kind that has fields of its own
    "adb": {"connection", "abi", "runner", "runner_binary", "python", "workdir", "timeout_s", "retries",
            "cooldown_c", "cooldown_max_s", "thermal_zones", "batch", "repeats", "drift_limit"},
}
_FIELDS = COMMON_FIELDS.union(*KIND_FIELDS.values())


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
    # phones over ADB
    connection: str = "usb"  # "usb", "usb:SERIAL" or "HOST:PORT"
    abi: str = "arm64-v8a"
    runner: str = "portable"  # a name in devices.runners.registry.RUNNERS
    runner_binary: str = ""  # local file pushed to the phone (native runners); relative to the profile
    python: str = "python3"  # the phone's Python, for the portable runner
    workdir: str = "/data/local/tmp/lutnas"
    timeout_s: float = 10.0  # transport timeout of one exchange (benchmarks run in the background)
    retries: int = 3
    cooldown_c: float = 45.0  # wait before an entry while the hottest matching zone is above this
    cooldown_max_s: float = 300.0
    thermal_zones: str = "cpu|soc|skin|battery"  # regex of the zone types watched
    batch: int = 32  # entries measured interleaved in one runner invocation (portable runner)
    repeats: int = 5  # invocations per entry for native runners (their medians are the samples)
    drift_limit: float = 0.10  # re-measure a batch when the canary drifts more than this from its first value
    source: Path | None = field(default=None, compare=False)


def load_profile(path: Path) -> Profile:
    """Parse one profile file; ValueError naming the file and field on bad content."""
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ValueError(f"{path}: cannot read device profile: {e}") from None
    data = _flatten(path, data)
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_FIELDS))}")
    for req in ("name", "kind"):
        if req not in data:
            raise ValueError(f"{path}: missing field {req!r}")
    foreign = sorted(set(data) - COMMON_FIELDS - KIND_FIELDS.get(data["kind"], set()))
    if foreign and data["kind"] not in KIND_FIELDS:
        owner = next(k for k, fields in KIND_FIELDS.items() if foreign[0] in fields)
        raise ValueError(f"{path}: {', '.join(foreign)}: field(s) of kind {owner} profiles (its [{owner}] table), "
                         f"not of kind {data['kind']}")
    from devices.device import KINDS  # the registry of device kinds (a new kind registers there)

    if data["kind"] not in KINDS:
        raise ValueError(f"{path}: unknown kind {data['kind']!r}; known: {', '.join(KINDS)}")
    for name in ("threads", "retries", "batch", "repeats"):
        value = data.get(name, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "retries" else 1):
            raise ValueError(f"{path}: {name} must be a {'non-negative' if name == 'retries' else 'positive'} integer")
    for name in ("timeout_s", "cooldown_c", "cooldown_max_s", "drift_limit"):
        value = data.get(name, 1.0)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{path}: {name} must be a positive number")
        if name in data:
            data[name] = float(value)
    for name in ("timeout_s", "cooldown_c", "cooldown_max_s", "drift_limit"):
        if name in data and not math.isfinite(data[name]):
            raise ValueError(f"{path}: {name} must be a finite number")
    if "thermal_zones" in data:
        if not isinstance(data["thermal_zones"], str):
            raise ValueError(f"{path}: thermal_zones must be a regular expression (a string)")
        try:
            re.compile(data["thermal_zones"])
        except re.error as e:
            raise ValueError(f"{path}: thermal_zones is not a valid regular expression: {e}") from None
    if not isinstance(data["name"], str) or not data["name"].strip():
        raise ValueError(f"{path}: name must be a non-empty string")
    from devices.runners.registry import RUNNERS

    if data.get("runner", "portable") not in RUNNERS:
        raise ValueError(f"{path}: unknown runner {data['runner']!r}; known: {', '.join(RUNNERS)}")
    if data.get("runner_binary"):
        binary = Path(data["runner_binary"]).expanduser()
        data["runner_binary"] = str(binary if binary.is_absolute() else (path.parent / binary).resolve())
    return Profile(**{k: str(v) if k == "affinity" else v for k, v in data.items()}, source=path)


def _flatten(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    """The profile's fields in one mapping: a kind's table ([adb]) merged into the top level, after checking
    that it belongs to the profile's kind, holds only that kind's fields and repeats none of the top level."""
    flat = {k: v for k, v in data.items() if k not in KIND_FIELDS}
    for kind in KIND_FIELDS:
        if kind not in data:
            continue
        table = data[kind]
        if not isinstance(table, dict):
            raise ValueError(f"{path}: {kind} must be a table ([{kind}]) of a {kind} device's fields")
        if data.get("kind") != kind:
            raise ValueError(f"{path}: an [{kind}] table belongs in a profile of kind {kind}, "
                             f"not {data.get('kind')!r}")
        unknown = sorted(set(table) - KIND_FIELDS[kind])
        if unknown:
            raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)} in [{kind}]; "
                             f"allowed: {', '.join(sorted(KIND_FIELDS[kind]))}")
        twice = sorted(set(table) & set(flat))
        if twice:
            raise ValueError(f"{path}: {', '.join(twice)} given both at the top and in [{kind}]; keep one")
        flat.update(table)
    return flat


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
