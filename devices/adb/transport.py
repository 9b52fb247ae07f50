"""One phone over ADB: connect (TCP or USB), shell with exit codes, push/pull, long jobs, retries.

Everything a phone can do wrong ends in one of a few errors, each one line
that says what to do: ``Unreachable`` (nothing answers), ``Unauthorized``
(accept the prompt on the phone), ``UsbBusy`` (an adb server holds the
interface), ``ConnectionLost`` (the transport kept failing after retries),
``CommandFailed`` (a device command exited non-zero). Transport errors are
retried with exponential backoff over a fresh connection.

adb-shell's ``shell()`` gives no exit code and raises when a command stays
silent longer than the transport timeout, so: every command ends with an
exit-code marker, and benchmarks run as ``run_long`` jobs (nohup in the
background, output to a file, polled with short commands).
"""

from __future__ import annotations

import shlex
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from devices.adb.keys import ensure_key, load_signer
from devices.profiles import DeviceUnavailable

T = TypeVar("T")
RC_MARK = "__lutnas_rc="
POLL_MARK = ": lutnas-poll;"


class AdbError(DeviceUnavailable):
    """A phone that cannot be used right now; the message is one line saying why and what to do."""


class Unreachable(AdbError):
    """Nothing answers at the address or no such USB device."""


class Unauthorized(AdbError):
    """The phone does not trust this computer's key (yet)."""


class UsbBusy(AdbError):
    """Another program (an adb server) holds the phone's USB interface."""


class ConnectionLost(AdbError):
    """The transport kept failing after every retry."""


class CommandFailed(AdbError):
    """A command on the phone exited non-zero or did not finish."""


@dataclass(frozen=True)
class Endpoint:
    """Where the phone is: TCP host:port, or USB (optionally one serial)."""

    host: str | None = None
    port: int = 5555
    serial: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Endpoint":
        """'host:port', 'host' (port 5555), 'usb' or 'usb:SERIAL'; ValueError on anything else."""
        text = text.strip()
        if text == "usb" or text.startswith("usb:"):
            return cls(serial=text[4:] or None)
        host, _, port = text.rpartition(":") if ":" in text else (text, "", "5555")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"bad ADB address {text!r}: expected HOST:PORT (e.g. 192.168.1.20:5555), usb or usb:SERIAL")
        return cls(host=host, port=int(port))

    @property
    def usb(self) -> bool:
        return self.host is None

    def __str__(self) -> str:
        return (f"usb:{self.serial}" if self.serial else "usb") if self.usb else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Result:
    """A finished device command."""

    rc: int
    output: str


def _transient() -> tuple[type[BaseException], ...]:
    from adb_shell import exceptions as x

    return (OSError, x.AdbConnectionError, x.AdbTimeoutError, x.TcpTimeoutException, x.InvalidResponseError,
            x.InvalidChecksumError, x.InvalidCommandError, x.UsbReadFailedError, x.UsbWriteFailedError)


def usb_error(endpoint: Endpoint, error: BaseException) -> AdbError:
    """The one-line error for a failure opening a USB device."""
    text = f"{type(error).__name__}: {error}"
    if "InvalidTransportError" in text or "adb-shell[usb]" in text:
        return AdbError("USB needs adb-shell's USB extra: pip install 'adb-shell[usb]' (or lutnas[usb]); "
                        "or connect over Wi-Fi with --host HOST:PORT")
    if "BUSY" in text.upper() or "Busy" in text:
        return UsbBusy(f"{endpoint}: USB interface busy: an adb server holds the phone; run `adb kill-server` "
                       f"and try again")
    if "NotFound" in text or "NOT_FOUND" in text.upper():
        return Unreachable(f"{endpoint}: no such USB device; is the cable in and USB debugging enabled "
                           f"(Settings > Developer options)?")
    return Unreachable(f"{endpoint}: cannot open the USB device ({' '.join(text.split())})")


class AdbTransport:
    """A connection to one phone that reconnects and retries on transport errors."""

    def __init__(self, endpoint: Endpoint, key_path: Path | None = None, timeout_s: float = 10.0,
                 retries: int = 3, backoff_s: float = 0.5, auth_timeout_s: float = 10.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint
        self.key_path = key_path  # made (ensure_key) on the first connect
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self.auth_timeout_s = auth_timeout_s
        self.sleep = sleep
        self.reconnects = 0
        self._dev = None

    # ------------------------------------------------------------------ connection
    def _make_device(self):
        from adb_shell.adb_device import AdbDeviceTcp, AdbDeviceUsb

        if not self.endpoint.usb:
            return AdbDeviceTcp(self.endpoint.host, self.endpoint.port, default_transport_timeout_s=self.timeout_s)
        try:
            return AdbDeviceUsb(serial=self.endpoint.serial, default_transport_timeout_s=self.timeout_s)
        except Exception as e:  # adb-shell raises its own and libusb's errors here
            raise usb_error(self.endpoint, e) from None

    def connect(self) -> None:
        """Open the connection: Unreachable, Unauthorized or UsbBusy with what to do when it fails."""
        self.close()
        self.key_path = ensure_key(self.key_path)
        prompted: list[bool] = []
        dev = self._make_device()
        try:
            dev.connect(rsa_keys=[load_signer(self.key_path)], transport_timeout_s=self.timeout_s,
                        auth_timeout_s=self.auth_timeout_s, read_timeout_s=self.timeout_s,
                        auth_callback=lambda _d: prompted.append(True))
        except AdbError:
            raise
        except Exception as e:
            dev.close()
            if prompted:
                raise Unauthorized(f"{self.endpoint}: device unauthorized: accept the 'Allow USB debugging?' prompt "
                                   f"on the phone (key {self.key_path}.pub), then run again") from None
            if self.endpoint.usb:
                raise usb_error(self.endpoint, e) from None
            if isinstance(e, (ConnectionRefusedError, socket.gaierror, socket.timeout, TimeoutError, OSError)):
                raise Unreachable(f"{self.endpoint}: nothing answers ({' '.join(str(e).split()) or type(e).__name__});"
                                  f" is wireless debugging on (or `adb tcpip 5555` run) and the phone on this "
                                  f"network?") from None
            raise Unreachable(f"{self.endpoint}: not an ADB device ({type(e).__name__}: {e})") from None
        conn = getattr(getattr(getattr(dev, "_io_manager", None), "_transport", None), "_connection", None)
        if isinstance(conn, socket.socket):  # adb-shell writes header and payload apart: no Nagle delays
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._dev = dev

    def close(self) -> None:
        """Close the connection (a later call reconnects)."""
        if self._dev is not None:
            try:
                self._dev.close()
            except Exception:
                pass
            self._dev = None

    def call(self, what: str, fn: Callable[[object], T]) -> T:
        """``fn(device)``, retried over a fresh connection with exponential backoff on transport errors."""
        transient = _transient()
        for attempt in range(self.retries + 1):
            try:
                if self._dev is None:
                    if attempt:
                        self.reconnects += 1
                    self.connect()
                return fn(self._dev)
            except (Unauthorized, UsbBusy, CommandFailed):
                raise
            except (Unreachable, *transient) as e:
                self.close()
                if attempt == self.retries:
                    if isinstance(e, Unreachable):
                        raise
                    raise ConnectionLost(f"{self.endpoint}: connection lost during {what} after {self.retries + 1} "
                                         f"tries ({type(e).__name__}: {' '.join(str(e).split())[:200]})") from None
                self.sleep(self.backoff_s * 2 ** attempt)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ commands
    def shell(self, command: str, check: bool = True, timeout_s: float | None = None) -> Result:
        """Run ``command`` (stdout and stderr together); its exit code from a marker line.

        CommandFailed when ``check`` and the exit code is not 0. Keep it short: long runs go to ``run_long``.
        """
        wrapped = f"({command}\n) 2>&1; r=$?; echo; echo {RC_MARK}$r"
        t = timeout_s or self.timeout_s
        result = self.call(f"`{command[:60]}`",
                           lambda d: parse_rc(d.shell(wrapped, transport_timeout_s=t, read_timeout_s=t), command))
        if check and result.rc != 0:
            raise CommandFailed(f"{self.endpoint}: `{command[:120]}` exited {result.rc}: "
                                f"{' '.join(result.output.split())[:300]}")
        return result

    def push(self, local: Path, remote: str) -> None:
        """Copy a file to the phone (the whole file again on a retry)."""
        from adb_shell.exceptions import PushFailedError

        def go(d) -> None:
            try:
                d.push(str(local), remote, transport_timeout_s=self.timeout_s, read_timeout_s=self.timeout_s)
            except PushFailedError as e:
                raise CommandFailed(f"{self.endpoint}: cannot push {local} to {remote}: {e}") from None

        self.call(f"push of {Path(local).name}", go)

    def pull(self, remote: str, local: Path) -> None:
        """Copy a file from the phone."""
        self.call(f"pull of {remote}", lambda d: d.pull(remote, str(local), transport_timeout_s=self.timeout_s,
                                                        read_timeout_s=self.timeout_s))

    def listdir(self, remote: str) -> dict[str, int]:
        """Files in a phone folder with their sizes (empty when the folder is missing)."""
        entries = self.call(f"list of {remote}", lambda d: d.list(remote, transport_timeout_s=self.timeout_s,
                                                                   read_timeout_s=self.timeout_s))
        out = {}
        for e in entries:
            name = e.filename.decode("utf-8", "replace") if isinstance(e.filename, (bytes, bytearray)) else e.filename
            if name not in (".", ".."):
                out[name] = e.size
        return out

    def run_long(self, command: str, jobdir: str, timeout_s: float = 3600.0, poll_s: float = 1.0) -> Result:
        """Run ``command`` as a background job (nohup, output to a file) and poll until it ends.

        A silent benchmark never trips the transport timeout, and a dropped connection only
        interrupts the polling: after a reconnect it goes on with the same job.
        """
        q = shlex.quote
        job = f"{jobdir}/{uuid.uuid4().hex[:12]}"
        out, rc, pid = f"{job}.out", f"{job}.rc", f"{job}.pid"
        inner = f"({command}\n) > {q(out)} 2>&1; echo $? > {q(rc)}.tmp; mv {q(rc)}.tmp {q(rc)}"
        # idempotent: a retry after a dropped connection does not start the job twice; HUP is ignored
        # before the fork, so a hang-up right after the launch cannot reach the job
        self.shell(f"mkdir -p {q(jobdir)} && if [ ! -e {q(pid)} ]; then trap '' HUP; nohup sh -c {q(inner)} > /dev/null 2>&1 & "
                   f"echo $! > {q(pid)}; fi")
        start, wait = time.monotonic(), 0.05
        while True:
            text = self.call("polling a benchmark", lambda d: d.shell(f"{POLL_MARK} cat {q(rc)} 2>/dev/null",
                                                                       transport_timeout_s=self.timeout_s,
                                                                       read_timeout_s=self.timeout_s)).strip()
            if text.isdigit():
                break
            if time.monotonic() - start > timeout_s:
                self.shell(f"kill $(cat {q(pid)}) 2>/dev/null; rm -f {q(out)} {q(rc)} {q(pid)}", check=False)
                raise CommandFailed(f"{self.endpoint}: `{command[:120]}` did not finish within {timeout_s:.0f} s")
            self.sleep(wait)
            wait = min(poll_s, wait * 1.5)
        output = self.shell(f"cat {q(out)}; rm -f {q(out)} {q(rc)} {q(pid)}").output
        return Result(int(text), output)


def parse_rc(text: str, command: str = "") -> Result:
    """Split a marked shell output into (exit code, output); ConnectionError when the marker is missing."""
    head, mark, tail = text.rpartition(RC_MARK)
    code = tail.strip()
    if not mark or not code.lstrip("-").isdigit():
        raise ConnectionError(f"the output of `{command[:60]}` ended early (no exit-code marker)")
    return Result(int(code), head[:-1] if head.endswith("\n") else head)
