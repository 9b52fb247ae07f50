"""A phone as the profiler sees it: fingerprint, runner and models on the phone, hygiene, benchmark runs.

Files live under the profile's workdir (/data/local/tmp/lutnas): the runner
is pushed once and checked by sha256; models are named by their content hash
and pushed only when missing (to a .part name, then renamed, so a dropped
push never leaves a file that looks complete).
"""

from __future__ import annotations

import hashlib
import shlex
import time
from pathlib import Path
from typing import Any

from devices.adb import facts
from devices.adb.transport import AdbTransport, CommandFailed, Endpoint
from devices.host import format_cpus, parse_cpus
from devices.profiles import Profile
from devices.runners.base import RunnerOutputError, RunnerResult
from devices.runners.commands import Invocation, command
from devices.runners.parsers import parse_output
from devices.runners.registry import get_runner

q = shlex.quote


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class AdbDevice:
    """One phone named by a profile (its connection overridden by ``host`` or ``serial``)."""

    def __init__(self, profile: Profile, affinity: str | None = None, host: str | None = None,
                 serial: str | None = None, key_path: Path | None = None,
                 transport: AdbTransport | None = None) -> None:
        if host and serial:
            raise ValueError("give --host or --serial, not both")
        endpoint = Endpoint.parse(host) if host else Endpoint(serial=serial) if serial else \
            Endpoint.parse(profile.connection)
        self.profile = profile
        self.affinity = affinity or profile.affinity
        self.transport = transport or AdbTransport(endpoint, key_path, timeout_s=profile.timeout_s,
                                                   retries=profile.retries, auth_timeout_s=profile.timeout_s)
        self.workdir = profile.workdir.rstrip("/")
        self.runner_path: str | None = None
        self.runner_sha: str | None = None
        self.mask: str | None = None
        self.info: dict[str, Any] = {}
        self.log: dict[str, list] = {"battery": [], "thermal": [], "cooldown_s": [], "canary_ms": [], "drift": []}

    # ------------------------------------------------------------------ facts
    def fingerprint(self) -> dict[str, Any]:
        """Everything the phone says about itself that changes a latency (structured)."""
        text = self.transport.shell(facts.FINGERPRINT_SCRIPT).output
        props_text, kernel, cores_text = facts.sections(text, 3)[:3]
        props = facts.parse_getprop(props_text)
        cores = facts.parse_cores(cores_text)
        if not props or not cores:
            raise CommandFailed(f"{self.transport.endpoint}: the phone answered no getprop or CPU facts; "
                                f"is it an Android device?")
        g = props.get
        return {
            "manufacturer": g("ro.product.manufacturer", "unknown"), "model": g("ro.product.model", "unknown"),
            "device": g("ro.product.device", "unknown"), "board": g("ro.product.board", "unknown"),
            "platform": g("ro.board.platform", "unknown"),
            "soc": " ".join(x for x in (g("ro.soc.manufacturer"), g("ro.soc.model")) if x) or "unknown",
            "abi": g("ro.product.cpu.abi", "unknown"), "release": g("ro.build.version.release", "unknown"),
            "sdk": g("ro.build.version.sdk", "unknown"), "build": g("ro.build.fingerprint", "unknown"),
            "kernel": kernel.strip() or "unknown",
            "cores": [{"id": c.id, "max_khz": c.max_khz, "governor": c.governor} for c in cores],
        }

    def _mask(self, cores: list[facts.Core]) -> tuple[str | None, str]:
        """(taskset hex mask or None, CPU list for the LUT) for the affinity setting."""
        ids = [c.id for c in cores]
        if self.affinity in ("none", ""):
            return None, format_cpus(ids)
        wanted = facts.big_cores(cores) if self.affinity == "big" else sorted(parse_cpus(self.affinity))
        missing = set(wanted) - set(ids)
        if missing:
            raise ValueError(f"affinity {self.affinity!r}: the phone has no CPU {format_cpus(missing)} "
                             f"(it has {format_cpus(ids)})")
        return facts.cpu_mask(wanted), format_cpus(wanted)

    def thermal(self) -> facts.Thermal:
        """Thermal zones and status now."""
        return facts.parse_thermal(self.transport.shell(facts.THERMAL_SCRIPT, check=False).output)

    def battery(self) -> facts.Battery:
        """Battery level, temperature, charging now (recorded in the session log)."""
        b = facts.parse_battery(self.transport.shell(facts.BATTERY_SCRIPT, check=False).output)
        self.log["battery"].append({"at": time.time(), "level": b.level, "temp_c": b.temp_c, "charging": b.charging})
        return b

    def cooldown(self) -> float:
        """Wait while the hottest watched zone is above the profile's threshold or Android reports thermal
        status moderate or worse (at most cooldown_max_s); returns seconds waited."""
        start = time.monotonic()
        wait = 1.0
        while True:
            t = self.thermal()
            hot = t.hottest(self.profile.thermal_zones)
            self.log["thermal"].append({"at": time.time(), "hottest_c": hot, "status": t.status})
            waited = time.monotonic() - start
            cool = (hot is None or hot <= self.profile.cooldown_c) and t.status < 2  # 2: Android's "moderate"
            if cool or waited >= self.profile.cooldown_max_s:
                self.log["cooldown_s"].append(round(waited, 3))
                return waited
            self.transport.sleep(min(wait, max(0.0, self.profile.cooldown_max_s - waited)))
            wait = min(wait * 2, 10.0)

    # ------------------------------------------------------------------ files
    def install_runner(self, local: Path) -> str:
        """Push the runner unless the phone has the same bytes (sha256); returns its path on the phone."""
        local = Path(local)
        if not local.is_file():
            raise ValueError(f"{local}: runner not found (set runner_binary in the device profile)")
        sha = sha256_file(local)
        remote = f"{self.workdir}/bin/{local.name}"
        have = self.transport.shell(f"sha256sum {q(remote)} 2>/dev/null", check=False).output.split()
        if not have or have[0] != sha:
            self.transport.shell(f"mkdir -p {q(self.workdir + '/bin')}")
            self.transport.push(local, remote + ".part")
            self.transport.shell(f"chmod 755 {q(remote + '.part')} && mv {q(remote + '.part')} {q(remote)}")
            have = self.transport.shell(f"sha256sum {q(remote)}").output.split()
            if not have or have[0] != sha:
                raise CommandFailed(f"{self.transport.endpoint}: the runner on the phone does not match {local} "
                                    f"after the push (sha256 {have[0] if have else 'missing'})")
        self.runner_path, self.runner_sha = remote, sha
        return remote

    def sync_models(self, files: list[Path]) -> dict[Path, str]:
        """Push the models the phone lacks (names are content hashes); returns local -> phone path."""
        folder = f"{self.workdir}/models"
        self.transport.shell(f"mkdir -p {q(folder)}")
        have = self.transport.listdir(folder)
        out = {}
        for f in files:
            remote = f"{folder}/{f.name}"
            if have.get(f.name) != f.stat().st_size:
                self.transport.push(f, remote + ".part")
                self.transport.shell(f"mv {q(remote + '.part')} {q(remote)}")
            out[f] = remote
        return out

    # ------------------------------------------------------------------ runs
    def prepare(self, runner_file: Path, runtime: str = "onnxruntime") -> dict[str, object]:
        """Connect, fingerprint, install the runner; returns the LUT provenance of this phone."""
        info = self.fingerprint()
        cores = [facts.Core(c["id"], c["max_khz"], c["governor"]) for c in info["cores"]]
        self.mask, cpus = self._mask(cores)
        self.install_runner(runner_file)
        version, machine = self.runtime_version(runtime)
        self.battery()
        info.update(affinity_mask=self.mask or "none", affinity=cpus, runner=self.profile.runner,
                    runner_sha256=self.runner_sha, runtime_version=version, endpoint=str(self.transport.endpoint),
                    runner_machine=machine)
        ran = f" {machine}" if machine else ""  # the machine the phone's Python ran the runtime on
        self.info = info
        return {
            "device": self.profile.name,
            "device_model": f"{info['manufacturer']} {info['model']} ({info['device']}, board {info['board']}, "
                            f"SoC {info['soc']} {info['platform']}, {info['abi']})",
            "cores": len(cores),
            "governor": facts.clusters(cores),
            "os": f"Android {info['release']} (SDK {info['sdk']}); kernel {info['kernel']}; build {info['build']}",
            "affinity": cpus,
            "runtime_version": f"{version}{ran} (runner {self.profile.runner} sha256:{self.runner_sha})",
        }

    def runtime_version(self, runtime: str = "onnxruntime") -> tuple[str, str]:
        """(the runtime's version, the machine it runs on) as the phone's Python reports them (portable
        runner: its package and ``platform.machine()``, e.g. aarch64; native runners: unknown, "")."""
        if not get_runner(self.profile.runner).bundled:
            return "unknown", ""
        probe = f"{q(self.profile.python)} {q(self.runner_path or '')} --runtime {q(runtime)} --probe"
        res = self.transport.run_long(probe, f"{self.workdir}/jobs", timeout_s=300, poll_s=0.2)  # an import may be slow
        lines = res.output.strip().splitlines()
        version, machine = (lines[-2].strip(), lines[-1].strip()) if len(lines) >= 2 else ("", "")
        if res.rc != 0 or not version or not machine.isidentifier():
            raise CommandFailed(f"{self.transport.endpoint}: the portable runner needs Python with {runtime} on the "
                                f"phone; `{self.profile.python}` said: {' '.join(res.output.split())[:200]}")
        return version, machine

    def run_models(self, models: list[str], inv: Invocation, timeout_s: float = 3600.0) -> list[RunnerResult]:
        """Run the runner on phone paths ``models``; one result per model, or RunnerOutputError (nothing partial)."""
        cmd = command(self.profile.runner, inv, models, self.mask)
        res = self.transport.run_long(cmd, f"{self.workdir}/jobs", timeout_s=timeout_s, poll_s=0.25)
        if res.rc != 0:
            raise CommandFailed(f"{self.transport.endpoint}: the {self.profile.runner} runner exited {res.rc}: "
                                f"{' '.join(res.output.split())[-300:]}")
        try:
            results = parse_output(self.profile.runner, res.output)
        except RunnerOutputError as e:
            raise RunnerOutputError(f"{self.transport.endpoint}: {e}") from None
        if get_runner(self.profile.runner).models_per_call == 0:  # one result per model, named by path
            by_model = {r.model: r for r in results}
            missing = [m for m in models if m not in by_model]
            if missing:
                raise RunnerOutputError(f"{self.transport.endpoint}: portable runner: no result for "
                                        f"{len(missing)} of {len(models)} models (first {missing[0]})")
            return [by_model[m] for m in models]
        return results

    def close(self) -> None:
        """Close the connection."""
        self.transport.close()
