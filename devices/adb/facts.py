"""What a phone says about itself, parsed: getprop, per-core CPU facts, thermal zones, battery.

Pure functions over command output (the transport runs the commands), so
every format is tested on fixtures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One round trip collects everything the fingerprint needs.
FINGERPRINT_SCRIPT = (
    "getprop; echo __lutnas_section__; uname -r; echo __lutnas_section__; "
    "for c in /sys/devices/system/cpu/cpu[0-9]*; do "
    "echo \"${c##*/} $(cat $c/cpufreq/cpuinfo_max_freq 2>/dev/null || echo 0) "
    "$(cat $c/cpufreq/scaling_governor 2>/dev/null || echo unknown)\"; done"
)
THERMAL_SCRIPT = (
    "for z in /sys/class/thermal/thermal_zone*; do "
    "echo \"$(cat $z/type 2>/dev/null) $(cat $z/temp 2>/dev/null)\"; done; "
    "echo __lutnas_section__; dumpsys thermalservice 2>/dev/null | grep -m1 'Thermal Status' || true"
)
BATTERY_SCRIPT = "dumpsys battery"
_PROP = re.compile(r"^\[([^\]]+)\]: \[(.*)\]$")


@dataclass(frozen=True)
class Core:
    """One CPU core: id, max frequency (kHz), governor."""

    id: int
    max_khz: int
    governor: str


@dataclass(frozen=True)
class Thermal:
    """Temperatures (degrees C) by zone type, and Android's thermal status (0 none .. 6 shutdown; -1 unknown)."""

    zones: dict[str, float]
    status: int

    def hottest(self, pattern: str = "") -> float | None:
        """The highest temperature among zones whose type matches ``pattern`` (a regex; all when empty)."""
        temps = [t for name, t in self.zones.items() if not pattern or re.search(pattern, name, re.I)]
        return max(temps) if temps else None


@dataclass(frozen=True)
class Battery:
    """Battery level (%), temperature (C) and whether it is charging or on power."""

    level: int | None
    temp_c: float | None
    charging: bool | None


def sections(text: str, n: int) -> list[str]:
    """Split a script's output at its section markers; ValueError when there are fewer than ``n``."""
    parts = text.split("__lutnas_section__")
    if len(parts) < n:
        raise ValueError(f"expected {n} sections of output, got {len(parts)}")
    return [p.strip("\n") for p in parts]


def parse_getprop(text: str) -> dict[str, str]:
    """``getprop`` output ('[key]: [value]' per line) as a dict."""
    props = {}
    for line in text.splitlines():
        m = _PROP.match(line.strip())
        if m:
            props[m.group(1)] = m.group(2)
    return props


def parse_cores(text: str) -> list[Core]:
    """Lines 'cpuN MAXKHZ GOVERNOR' as cores in id order."""
    cores = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("cpu") and parts[0][3:].isdigit() and parts[1].isdigit():
            cores.append(Core(int(parts[0][3:]), int(parts[1]), parts[2]))
    return sorted(cores, key=lambda c: c.id)


def parse_thermal(text: str) -> Thermal:
    """Lines 'TYPE MILLIDEGREES' then dumpsys' 'Thermal Status: N'."""
    zones_text, _, status_text = text.partition("__lutnas_section__")
    zones: dict[str, float] = {}
    for line in zones_text.splitlines():
        parts = line.rsplit(None, 1)
        if len(parts) == 2 and parts[1].lstrip("-").isdigit():
            value = int(parts[1])
            zones[parts[0]] = value / 1000 if abs(value) >= 200 else float(value)  # some zones report degrees
    m = re.search(r"Thermal Status:\s*(-?\d+)", status_text)
    return Thermal(zones, int(m.group(1)) if m else -1)


def parse_battery(text: str) -> Battery:
    """``dumpsys battery`` output."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep:
            fields[key.strip()] = value.strip()

    def num(key: str) -> int | None:
        v = fields.get(key, "")
        return int(v) if v.lstrip("-").isdigit() else None

    powered = [fields.get(k) == "true" for k in ("AC powered", "USB powered", "Wireless powered", "Dock powered")]
    status = num("status")
    charging = (any(powered) or status in (2, 5)) if (status is not None or any(k in fields for k in
                                                                                 ("AC powered", "USB powered"))) else None
    temp = num("temperature")
    return Battery(num("level"), temp / 10 if temp is not None else None, charging)


def clusters(cores: list[Core]) -> str:
    """Per-core max frequency and governor grouped by cluster: 'cpu0-3 1803MHz sched_pixel; cpu4-5 ...'."""
    groups: list[tuple[list[int], int, str]] = []
    for c in cores:
        if groups and groups[-1][1:] == (c.max_khz, c.governor) and groups[-1][0][-1] == c.id - 1:
            groups[-1][0].append(c.id)
        else:
            groups.append(([c.id], c.max_khz, c.governor))
    out = []
    for ids, khz, gov in groups:
        span = f"cpu{ids[0]}" if len(ids) == 1 else f"cpu{ids[0]}-{ids[-1]}"
        out.append(f"{span} {khz // 1000}MHz {gov}")
    return "; ".join(out)


def big_cores(cores: list[Core]) -> list[int]:
    """The fastest cluster: the cores with the highest max frequency."""
    if not cores:
        raise ValueError("the phone reported no CPU cores")
    top = max(c.max_khz for c in cores)
    return [c.id for c in cores if c.max_khz == top]


def cpu_mask(ids: list[int]) -> str:
    """CPU ids as taskset's hex mask: [6, 7] -> 'c0'."""
    return format(sum(1 << i for i in ids), "x")
