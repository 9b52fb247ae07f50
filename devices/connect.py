"""From a device profile to a device the profiler can run on (a registry of kinds)."""

from __future__ import annotations

from typing import Callable

from devices import host
from devices.profiles import DeviceUnavailable, Profile


class LocalDevice:
    """This host: benchmarks run in-process, pinned as the profile says."""

    def __init__(self, profile: Profile, affinity: str | None = None) -> None:
        self.profile = profile
        self.affinity = affinity or profile.affinity

    def prepare(self) -> dict[str, object]:
        """Pin the process and return the device's provenance fields."""
        mask = host.pin(self.affinity)
        return {"device": self.profile.name, **host.fingerprint(), "affinity": mask}


def _adb(profile: Profile, affinity: str | None = None) -> LocalDevice:
    raise DeviceUnavailable(
        f"device {profile.name!r} is a phone over ADB; phone profiling is not available yet "
        f"in this version of lutnas. Use --device cpu to profile this host."
    )


DEVICE_KINDS: dict[str, Callable[..., LocalDevice]] = {"local": LocalDevice, "adb": _adb}


def open_device(profile: Profile, affinity: str | None = None) -> LocalDevice:
    """The device a profile describes; DeviceUnavailable when this toolkit cannot drive it."""
    return DEVICE_KINDS[profile.kind](profile, affinity)
