"""Was the host quiet while it measured? CPU contention, hypervisor steal and frequency changes, pyperf style.

A snapshot reads /proc/loadavg, the aggregate ``cpu`` line of /proc/stat (ticks spent busy, idle and
stolen by the hypervisor) and, where the kernel exposes them, each CPU's current frequency from
/sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq. Two snapshots, taken before and after a
measurement, say how busy the CPUs were in between: the share used by other processes is the busy
share less what the measuring process itself can use (its threads). Pure parsing and arithmetic,
no third-party imports; the readers take the root folders so tests can hand in fixture files.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OTHERS_BUSY_PCT = 25.0  # other processes using more than this share of all CPUs: likely disturbed
STEAL_PCT = 2.0  # the hypervisor taking more than this share of CPU time: likely disturbed
FREQ_CHANGE_PCT = 10.0  # the CPU clock moving by more than this between snapshots or across CPUs


@dataclass(frozen=True)
class Snapshot:
    """The host's counters at one moment."""

    time: float
    load1: float | None  # 1-minute load average
    ticks: tuple[int, ...] | None  # /proc/stat cpu: user nice system idle iowait irq softirq steal ...
    freqs_khz: tuple[int, ...] = ()  # current frequency per CPU, where visible


@dataclass
class HostReport:
    """How quiet the host was between two snapshots, and one-line warnings when it was not."""

    cpus: int
    own_threads: int
    seconds: float
    load1: float | None
    busy_pct: float | None  # share of all CPUs' time that was busy
    others_pct: float | None  # busy_pct less what the measuring threads can use
    steal_pct: float | None
    freq_min_mhz: float | None
    freq_max_mhz: float | None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain values (for JSON)."""
        return asdict(self)


def parse_loadavg(text: str) -> float | None:
    """The 1-minute load average of /proc/loadavg's text (None when unreadable)."""
    try:
        return float(text.split()[0])
    except (IndexError, ValueError):
        return None


def parse_stat(text: str) -> tuple[int, ...] | None:
    """The aggregate ``cpu`` line of /proc/stat as ticks (None when absent)."""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            try:
                return tuple(int(v) for v in fields[1:])
            except ValueError:
                return None
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def snapshot(proc: Path = Path("/proc"), sysfs: Path = Path("/sys")) -> Snapshot:
    """The host's counters now (fields the OS does not expose are None or empty)."""
    freqs = []
    for f in sorted((sysfs / "devices" / "system" / "cpu").glob("cpu[0-9]*/cpufreq/scaling_cur_freq")):
        try:
            freqs.append(int(_read(f).strip()))
        except ValueError:
            pass
    return Snapshot(time.monotonic(), parse_loadavg(_read(proc / "loadavg")), parse_stat(_read(proc / "stat")),
                    tuple(freqs))


def assess(before: Snapshot, after: Snapshot, own_threads: int, cpus: int | None = None) -> HostReport:
    """How busy the host was between ``before`` and ``after`` besides the measuring process's own threads."""
    cpus = cpus or os.cpu_count() or 1
    busy = others = steal = None
    if before.ticks and after.ticks and len(before.ticks) >= 8 and len(after.ticks) >= 8:
        delta = [a - b for a, b in zip(after.ticks[:8], before.ticks[:8])]
        total = sum(delta)
        if total > 0:
            idle = delta[3] + delta[4]
            steal = 100.0 * delta[7] / total
            busy = 100.0 * (total - idle - delta[7]) / total
            others = max(0.0, busy - 100.0 * min(own_threads, cpus) / cpus)
    freqs = list(before.freqs_khz) + list(after.freqs_khz)
    fmin = min(freqs) / 1000 if freqs else None
    fmax = max(freqs) / 1000 if freqs else None
    warnings = []
    if others is not None and others > OTHERS_BUSY_PCT:
        warnings.append(f"other processes kept {others:.0f}% of the {cpus} CPUs busy")
    if steal is not None and steal > STEAL_PCT:
        warnings.append(f"the hypervisor stole {steal:.1f}% of the CPU time")
    if fmin and fmax and 100.0 * (fmax - fmin) / fmax > FREQ_CHANGE_PCT:
        warnings.append(f"the CPU clock varied between {fmin:.0f} and {fmax:.0f} MHz")
    return HostReport(cpus, own_threads, after.time - before.time, after.load1, busy, others, steal, fmin, fmax,
                      warnings)


def warning_line(report: HostReport, what: str) -> str | None:
    """One line for the user when the host was not quiet, or None."""
    if not report.warnings:
        return None
    return (f"warning: {what} is likely disturbed: {'; '.join(report.warnings)} while measuring "
            f"(load average {report.load1}); re-measure on a quiet host")
