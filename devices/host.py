"""The local host: its fingerprint for LUT provenance, and CPU pinning."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip() or None
    except OSError:
        return None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (x86 'model name', ARM 'Hardware'/'CPU part')."""
    text = _read("/proc/cpuinfo") or ""
    for field in ("model name", "Hardware", "Model", "cpu model"):
        for line in text.splitlines():
            if line.split(":")[0].strip() == field and ":" in line and line.split(":", 1)[1].strip():
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown"


def format_cpus(cpus: set[int] | list[int]) -> str:
    """CPU ids as a compact list: {0,1,2,5} -> '0-2,5'."""
    ids = sorted(set(cpus))
    out: list[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        out.append(str(ids[i]) if i == j else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(out)


def parse_cpus(spec: str) -> set[int]:
    """'0-2,5' -> {0,1,2,5}; ValueError on anything else."""
    cpus: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.strip().partition("-")
        if not lo.isdigit() or (hi and not hi.isdigit()):
            raise ValueError(f"bad CPU list {spec!r}: expected ids like '0-3,6'")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def pin(affinity: str) -> str:
    """Pin this process: 'none' keeps the mask, 'last' takes the highest allowed CPU, else a CPU list.

    Returns the resulting mask as a CPU list (what the LUT records).
    """
    allowed = os.sched_getaffinity(0)
    if affinity == "last":
        os.sched_setaffinity(0, {max(allowed)})
    elif affinity != "none":
        wanted = parse_cpus(affinity)
        if not wanted <= allowed:
            raise ValueError(f"CPUs {format_cpus(wanted - allowed)} are not available; allowed: {format_cpus(allowed)}")
        os.sched_setaffinity(0, wanted)
    return format_cpus(os.sched_getaffinity(0))


def parse_size(text: str) -> int:
    """A sysfs cache size ('32K', '32768K', '1M', '512') in bytes; ValueError on anything else."""
    text = text.strip()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    if not digits.isdigit():
        raise ValueError(f"bad cache size {text!r}: expected a number with an optional K, M or G")
    return int(digits) * scale


def cache_sizes(cpu: int | None = None, root: str = "/sys/devices/system/cpu") -> list[int]:
    """Sizes in bytes of the data (and unified) caches of ``cpu``, smallest level first (default: the highest
    CPU this process may run on, the one ``pin('last')`` picks). Empty where sysfs does not say."""
    cpu = max(os.sched_getaffinity(0)) if cpu is None else cpu
    by_level: dict[int, int] = {}
    for index in sorted(Path(root, f"cpu{cpu}", "cache").glob("index*")):
        level, kind, size = (_read(str(index / f)) for f in ("level", "type", "size"))
        if not (level and level.isdigit() and size) or kind == "Instruction":
            continue
        try:
            by_level[int(level)] = max(by_level.get(int(level), 0), parse_size(size))
        except ValueError:
            continue
    return [by_level[level] for level in sorted(by_level)]


def fingerprint() -> dict[str, object]:
    """Provenance of this host: CPU model, core count, governor, OS."""
    return {
        "device_model": cpu_model(),
        "cores": os.cpu_count() or 1,
        "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") or "unknown",
        "os": f"{platform.system()} {platform.release()} {platform.machine()}",
    }
