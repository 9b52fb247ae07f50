"""ADB path overhead: profile a small space on the emulated phone and on this host, same entries.

    python benchmarks/adb_overhead.py [--space tests/fixtures/spaces/tiny.toml] [--budget 0.1] [--repeat 2]

Starts the project's ADB device emulator (devices/emulator) on 127.0.0.1, then in one process,
alternating, profiles the same keys (same measurement settings, warm export cache):
  phone-cold  a fresh emulated phone: fingerprint, runner and models pushed, runner calls, parsing
  phone-warm  the same phone again (runner and models already there: nothing pushed)
  local       this host in-process (--device cpu path)
The emulated phone runs the runner for real on this host, so the difference between the phone
and the local wall time is the ADB path's overhead: push + runner start + polling + parse.
Prints wall seconds per run and the overhead per entry.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devices.adb.device import AdbDevice  # noqa: E402
from devices.adb.keys import ensure_key  # noqa: E402
from devices.cache import ArtifactCache  # noqa: E402
from devices.adb.phones import PhoneFarm  # noqa: E402
from devices.local import LocalDevice  # noqa: E402
from devices.emulator import AdbEmulator, load_phone  # noqa: E402
from devices.profiles import get_profile  # noqa: E402
from devices.runtimes import get_runtime  # noqa: E402
from devices.runners.bundle import build_portable_runner  # noqa: E402
from devices.measure import Settings  # noqa: E402
from profiler.pipeline import profile as run_pipeline  # noqa: E402
from search.blocks import build_module, input_shape  # noqa: E402
from search.space import get_space  # noqa: E402

PHONE = ROOT / "tests" / "fixtures" / "phones" / "pixel7-emulated.toml"
PROFILE = ROOT / "tests" / "fixtures" / "phones" / "emulated-profile.toml"


def timed(device, names: tuple[str, ...]) -> dict[str, float]:
    """Wrap the device's methods to add up the seconds spent in each (prepare includes the runner push)."""
    spent = {n: 0.0 for n in names}
    for n in names:
        fn = getattr(device, n)

        def wrapper(*a, _fn=fn, _n=n, **k):
            t0 = time.perf_counter()
            try:
                return _fn(*a, **k)
            finally:
                spent[_n] += time.perf_counter() - t0

        setattr(device, n, wrapper)
    return spent


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--space", default=str(ROOT / "tests" / "fixtures" / "spaces" / "tiny.toml"))
    p.add_argument("--budget", type=float, default=0.1, help="timed seconds per entry (default 0.1)")
    p.add_argument("--repeat", type=int, default=2, help="rounds of (phone-cold, phone-warm, local)")
    args = p.parse_args()

    work = Path(tempfile.mkdtemp(prefix="adb-overhead-"))
    key = ensure_key(work / "home" / ".android" / "adbkey")
    space = get_space(args.space)
    keys = space.keys()
    last = space.layers[-1]
    canary = last.key(next(c for c in last.candidates if c != "skip"))
    runtime = get_runtime("onnxruntime")
    cache = ArtifactCache(work / "cache")
    settings = Settings(budget_s=args.budget, tolerance=0.05, min_runs=10)
    build_portable_runner(work / "cache" / "runners")  # built once, outside the timed runs
    for k in keys + [canary]:  # warm export cache: exports are the same on both paths
        cache.get(lambda k=k: build_module(k), input_shape(k), runtime)
    profile = get_profile(str(PROFILE))
    common = dict(runtime=runtime, cache=cache, build=build_module, input_shape=input_shape, settings=settings,
                  overwrite=True, canary=canary)
    times: dict[str, list[float]] = {"phone-cold": [], "phone-warm": [], "local": []}
    print(f"{space.name}: {len(keys)} entries, budget {args.budget} s/entry, "
          f"runner {profile.runner}, batch {profile.batch}", flush=True)
    for r in range(args.repeat):
        with AdbEmulator(load_phone(PHONE), work / f"phone{r}", authorized_keys=[Path(f"{key}.pub").read_text()]) as emu:
            for label in ("phone-cold", "phone-warm"):
                phone = AdbDevice(profile, host=emu.address, key_path=key)
                spent = timed(phone, ("prepare", "sync_models", "cooldown", "run_models", "battery"))
                t0 = time.perf_counter()
                farm = PhoneFarm(profile, [phone], work / "cache" / "runners")
                res = run_pipeline(keys, work / f"{label}.csv", device=farm, **common)
                times[label].append(time.perf_counter() - t0)
                assert res.measured == len(keys)
                parts = ", ".join(f"{k} {v:.2f}" for k, v in spent.items())
                print(f"  round {r + 1} {label:<10} {times[label][-1]:6.2f} s  [{parts}]", flush=True)
        t0 = time.perf_counter()
        res = run_pipeline(keys, work / "local.csv", device=LocalDevice(get_profile("cpu"), "none"), **common)
        times["local"].append(time.perf_counter() - t0)
        print(f"  round {r + 1} {'local':<10} {times['local'][-1]:6.2f} s (timed inference {res.timed_s:.2f} s)",
              flush=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(keys)
    print(f"time to profile {space.name} ({n} entries): emulated phone {med['phone-cold']:.2f} s cold, "
          f"{med['phone-warm']:.2f} s warm; local {med['local']:.2f} s (medians of {args.repeat})")
    for label in ("phone-cold", "phone-warm"):
        print(f"ADB overhead per entry ({label}): {(med[label] - med['local']) / n * 1e3:.0f} ms "
              f"(push + run + parse, vs local on the same entries)")


if __name__ == "__main__":
    main()
