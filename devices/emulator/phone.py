"""A phone description (TOML or JSON) and the sandbox folder that stands in for its filesystem.

The sandbox holds what a benchmark run on a phone reads and writes:
/data/local/tmp, /sdcard, the /sys files of CPU frequencies, thermal zones and
the battery, and a /system/bin of small programs answering as Android's do
(getprop, dumpsys battery|thermalservice, toybox-style taskset, uname -r) plus
``python3``, the Python that runs the emulator (so the project's portable
runner runs for real, as it would on a phone with Termux), or an arm64
Python under qemu-user (``devices.emulator.userland``).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
MAPPED = ("data", "sdcard", "sys", "system", "storage")  # device roots that live in the sandbox
_TOP = {"format", "serial", "kernel", "props", "cpu", "battery", "thermal"}


@dataclass(frozen=True)
class Phone:
    """What an emulated phone answers about itself."""

    serial: str
    kernel: str
    props: dict[str, str]
    max_freq_khz: list[int]
    governor: str
    battery: dict[str, Any] = field(default_factory=dict)
    thermal: list[dict[str, Any]] = field(default_factory=list)


def load_phone(path: Path | str) -> Phone:
    """Read a phone description; ValueError naming the file and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{path}: cannot read phone description: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a phone description is a table of fields")
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_TOP))}")
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: format must be {FORMAT}, got {data.get('format')!r}")
    cpu = data.get("cpu", {})
    freqs = cpu.get("max_freq_khz")
    if not freqs or not all(isinstance(f, int) and f > 0 for f in freqs):
        raise ValueError(f"{path}: cpu.max_freq_khz must be a list of positive integers, one per core")
    props = data.get("props", {})
    if not all(isinstance(v, str) for v in props.values()):
        raise ValueError(f"{path}: every value in [props] must be a string")
    return Phone(serial=str(data.get("serial", "emulator")), kernel=str(data.get("kernel", "unknown")),
                 props=dict(props), max_freq_khz=list(freqs), governor=str(cpu.get("governor", "schedutil")),
                 battery=dict(data.get("battery", {})), thermal=list(data.get("thermal", [])))


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


_GETPROP = '''#!{python}
import sys
props = {{}}
for line in open({props!r}, encoding="utf-8"):
    k, _, v = line.rstrip("\\n").partition("=")
    props[k] = v
if len(sys.argv) > 1:
    print(props.get(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""))
else:
    for k in sorted(props):
        print(f"[{{k}}]: [{{props[k]}}]")
'''

_DUMPSYS = '''#!{python}
import glob, os, sys
root = {root!r}
def read(p, default=""):
    try:
        return open(p).read().strip()
    except OSError:
        return default
what = sys.argv[1] if len(sys.argv) > 1 else ""
if what == "battery":
    b = root + "/sys/class/power_supply/battery/"
    usb = read(b + "usb_powered", "0") == "1"
    print("Current Battery Service state:")
    print("  AC powered: false")
    print("  USB powered: " + ("true" if usb else "false"))
    print("  Wireless powered: false")
    print("  status: " + read(b + "status_code", "3"))
    print("  health: 2")
    print("  present: true")
    print("  level: " + read(b + "capacity", "0"))
    print("  scale: 100")
    print("  temperature: " + str(int(read(b + "temp", "0"))))
    print("  technology: Li-ion")
elif what == "thermalservice":
    print("IsStatusOverride: false")
    print("Thermal Status: " + read(root + "/system/thermal_status", "0"))
    print("HAL Ready: true")
    print("Current temperatures from HAL:")
    zones = sorted(glob.glob(root + "/sys/class/thermal/thermal_zone*"), key=lambda p: int(p.rsplit("zone", 1)[1]))
    for z in zones:
        t = int(read(z + "/temp", "0")) / 1000
        print("\\tTemperature{{mValue=%.1f, mType=3, mName=%s, mStatus=0}}" % (t, read(z + "/type")))
else:
    print("Can't find service: " + what)
    sys.exit(1)
'''

_TASKSET = '''#!/bin/sh
# toybox taskset: taskset [-p] MASK COMMAND...; the emulated cores are not this host's, so the
# mask is recorded (in /data/local/tmp/.taskset) and the command runs unpinned.
if [ "$1" = "-p" ]; then echo "pid $2's current affinity mask: ff"; exit 0; fi
mask="$1"; shift
case "$mask" in *[!0-9a-fA-Fx]*|"") echo "taskset: bad mask '$mask'" >&2; exit 1;; esac
echo "$mask" > {record}
exec "$@"
'''

_UNAME = '''#!/bin/sh
case "$1" in -r) echo {kernel};; -m) echo aarch64;; -a) echo Linux localhost {kernel} aarch64 Toybox;; *) echo Linux;; esac
'''


def install(phone: Phone, sandbox: Path, python: list[str] | None = None) -> None:
    """Lay out ``sandbox`` as the phone's filesystem (idempotent; files already pushed are kept).

    ``python``: the command the phone's ``python3`` runs (default: the Python running the emulator;
    ``devices.emulator.userland.python_argv`` for an arm64 Python under qemu)."""
    sandbox = sandbox.resolve()
    (sandbox / "data" / "local" / "tmp").mkdir(parents=True, exist_ok=True)
    (sandbox / "sdcard").mkdir(parents=True, exist_ok=True)
    props = {**phone.props, "ro.serialno": phone.props.get("ro.serialno", phone.serial)}
    _write(sandbox / "system" / "props", "".join(f"{k}={v}\n" for k, v in props.items()))
    cpu = sandbox / "sys" / "devices" / "system" / "cpu"
    n = len(phone.max_freq_khz)
    for name in ("possible", "present", "online"):
        _write(cpu / name, f"0-{n - 1}\n")
    for i, f in enumerate(phone.max_freq_khz):
        _write(cpu / f"cpu{i}" / "cpufreq" / "cpuinfo_max_freq", f"{f}\n")
        _write(cpu / f"cpu{i}" / "cpufreq" / "scaling_max_freq", f"{f}\n")
        _write(cpu / f"cpu{i}" / "cpufreq" / "scaling_governor", f"{phone.governor}\n")
    for i, zone in enumerate(phone.thermal):
        z = sandbox / "sys" / "class" / "thermal" / f"thermal_zone{i}"
        _write(z / "type", f"{zone.get('type', f'zone{i}')}\n")
        _write(z / "temp", f"{int(zone.get('temp_mc', 30000))}\n")
    bat = sandbox / "sys" / "class" / "power_supply" / "battery"
    b = phone.battery
    _write(bat / "capacity", f"{int(b.get('level', 100))}\n")
    _write(bat / "temp", f"{int(b.get('temperature', 250))}\n")
    _write(bat / "status_code", f"{int(b.get('status', 3))}\n")
    _write(bat / "status", {2: "Charging", 3: "Discharging", 5: "Full"}.get(int(b.get("status", 3)), "Unknown") + "\n")
    _write(bat / "usb_powered", "1\n" if b.get("usb_powered") else "0\n")
    _write(sandbox / "system" / "thermal_status", "0\n")
    bin_ = sandbox / "system" / "bin"
    host = sys.executable  # the phone's own small programs run on this host's Python
    _write(bin_ / "getprop", _GETPROP.format(python=host, props=str(sandbox / "system" / "props")), 0o755)
    _write(bin_ / "dumpsys", _DUMPSYS.format(python=host, root=str(sandbox)), 0o755)
    _write(bin_ / "taskset", _TASKSET.format(record=shlex.quote(str(sandbox / "data" / "local" / "tmp" / ".taskset"))),
           0o755)
    _write(bin_ / "uname", _UNAME.format(kernel=shlex.quote(phone.kernel)), 0o755)
    _write(bin_ / "python3", f"#!/bin/sh\nexec {shlex.join(python or [sys.executable])} \"$@\"\n", 0o755)


def shell_env(sandbox: Path) -> dict[str, str]:
    """The environment device shell commands run in."""
    sandbox = sandbox.resolve()
    host_path = os.environ.get("PATH", "/usr/bin:/bin")
    return {"PATH": f"{sandbox}/system/bin:{host_path}", "HOME": f"{sandbox}/data/local/tmp",
            "TMPDIR": f"{sandbox}/data/local/tmp", "ANDROID_DATA": f"{sandbox}/data", "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1"}
