"""One Device interface for every kind of device the profiler measures on, and the registry of kinds.

The profiling pipeline (profiler.pipeline) and the fidelity check (profiler.validate) only talk to a
``Device``; what differs between this host, a phone over ADB and a farm of phones lives behind it:

- ``prepare(runtime)``: connect, pin, install what must run there; returns the LUT provenance columns
  of the device (device, device_model, cores, governor, os, affinity, and runtime_version where the
  device knows it better than this host).
- ``caches()``: the cache sizes in-network copies are sized by on this host, or None where the device
  sizes them itself (the portable runner on a phone reads its own).
- ``measure(request, on_rows, progress)``: time every job of the request (exported model files), hand
  rows to ``on_rows`` as they finish (``id``, the statistics columns, ``copies``), return a ``Report``.
- ``partial_rows()``: summaries of the jobs not finished yet (after an interrupt), where the device has them.
- ``finish(out)``: write the device's record beside the LUT ``out``; returns (lines to print, warnings).
- ``close()``.

A new kind of device is one module with a class like these and one ``register_kind`` line (the
profile's ``kind`` names it); nothing else branches on a device's kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Hashable, Protocol

from devices.conditions import Plan, plan_warm
from devices.measure import Report, Settings
from devices.profiles import Profile
from devices.runtimes.base import Runtime
from lutnas.registry import Registry


@dataclass(frozen=True)
class Job:
    """One thing to time: an exported model file and how to feed it."""

    id: Hashable
    artifact: Path
    input_shape: tuple[int, ...]
    copies: int = 1  # copies rotated call after call (in-network on this host; 1: warm)
    footprint: int = 0  # bytes the model touches (in-network on devices that size the copies themselves)


@dataclass
class Request:
    """What to time and how."""

    jobs: list[Job]
    settings: Settings = field(default_factory=Settings)
    plan: Plan = field(default_factory=lambda: plan_warm([]))  # warm or in-network (devices.conditions)
    canary: Job | None = None  # timed with every round or batch: drift
    out: Path | None = None  # the LUT the rows go to (devices keep their record beside it)
    on_round: Callable[[], None] | None = None  # after every round (a phone: every batch): the caller saves rows


Rows = Callable[[list[dict[str, Any]]], None]


class Device(Protocol):
    """A device the profiler measures on (see the module docstring)."""

    profile: Profile
    in_network: bool  # can time in-network (rotate copies of a model)

    def prepare(self, runtime: Runtime) -> dict[str, object]: ...
    def caches(self) -> list[int] | None: ...
    def measure(self, request: Request, on_rows: Rows, progress: Callable[[int], None]) -> Report: ...
    def partial_rows(self) -> dict[Hashable, dict[str, Any]]: ...
    def finish(self, out: Path) -> tuple[list[str], list[str]]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class Where:
    """Where a device is, as the command line may override the profile: CPU affinity, one phone (``host``
    or ``serial``), a farm of phones (``serials``), and the folder for built runners."""

    affinity: str | None = None
    host: str | None = None
    serial: str | None = None
    serials: tuple[str, ...] = ()
    runner_dir: Path | None = None


Opener = Callable[[Profile, Where], Device]
KINDS: Registry[str, Opener] = Registry("device kind")


def register_kind(name: str, opener: Opener) -> None:
    """Add a kind of device: ``opener(profile, where)`` returns a Device; a duplicate name is an error."""
    KINDS.register(name, opener)


def open_device(profile: Profile, where: Where = Where()) -> Device:
    """The device a profile describes, by its kind."""
    return KINDS.get(profile.kind)(profile, where)


def _lazy(target: str) -> Opener:
    """An opener that imports ``module:function`` on first use (a phone's modules are not loaded for the host)."""
    def opener(profile: Profile, where: Where) -> Device:
        module, _, name = target.partition(":")
        return getattr(import_module(module), name)(profile, where)
    return opener


register_kind("local", _lazy("devices.local:open_local"))
register_kind("adb", _lazy("devices.adb.phones:open_phones"))
