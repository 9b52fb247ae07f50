"""From a device profile to a device the profiler can run on (a registry of kinds)."""

from __future__ import annotations

from typing import Any, Callable

from devices import host
from devices.profiles import Profile


class LocalDevice:
    """This host: benchmarks run in-process, pinned as the profile says."""

    def __init__(self, profile: Profile, affinity: str | None = None) -> None:
        self.profile = profile
        self.affinity = affinity or profile.affinity

    def prepare(self) -> dict[str, object]:
        """Pin the process and return the device's provenance fields."""
        mask = host.pin(self.affinity)
        return {"device": self.profile.name, **host.fingerprint(), "affinity": mask}


def _local(profile: Profile, affinity: str | None = None, host: str | None = None,
           serial: str | None = None) -> LocalDevice:
    if host or serial:
        raise ValueError(f"--host and --serial pick a phone; device {profile.name!r} is this host")
    return LocalDevice(profile, affinity)


def _adb(profile: Profile, affinity: str | None = None, host: str | None = None, serial: str | None = None):
    from devices.adb.device import AdbDevice

    return AdbDevice(profile, affinity, host=host, serial=serial)


DEVICE_KINDS: dict[str, Callable[..., Any]] = {"local": _local, "adb": _adb}


def open_device(profile: Profile, affinity: str | None = None, host: str | None = None,
                serial: str | None = None) -> Any:
    """The device a profile describes (a LocalDevice, or an AdbDevice for phones)."""
    return DEVICE_KINDS[profile.kind](profile, affinity, host=host, serial=serial)
