"""The emulator's services: ``shell:`` (v1 and shell protocol v2), ``exec:`` and ``sync:``.

Shell commands run for real with /bin/sh in the sandbox; absolute device paths
under the mapped roots (/data, /sdcard, /sys, /system, /storage) are rewritten
into the sandbox and written back in the output. Closing the stream or
dropping the connection hangs up the command (SIGHUP to its process group),
as adbd does; ``nohup`` jobs survive, as on a phone.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable

from devices.emulator.phone import MAPPED, shell_env
from devices.emulator.server import AdbEmulator, Connection
from devices.emulator.streams import Closed, Stream

Handler = Callable[[AdbEmulator, Connection, Stream, str], None]
SYNC_DATA_MAX = 64 * 1024
# shell protocol v2 packet ids
STDIN, STDOUT, STDERR, EXIT, CLOSE_STDIN, WINDOW = 0, 1, 2, 3, 4, 5


def device_path_pattern() -> re.Pattern[str]:
    roots = "|".join(MAPPED)
    return re.compile(rf"(?<![\w.\-/~$])/({roots})(?=/|\s|$|['\";|&)<>])")


_DEVICE_PATH = device_path_pattern()


def to_sandbox(command: str, sandbox: Path) -> str:
    """``command`` with device paths under the mapped roots pointing into the sandbox."""
    return _DEVICE_PATH.sub(lambda m: f"{sandbox}/{m.group(1)}", command)


def sandbox_file(sandbox: Path, device_path: str) -> Path:
    """The sandbox file standing for an absolute device path; PermissionError outside the sandbox."""
    if not device_path.startswith("/"):
        raise PermissionError(f"{device_path}: not an absolute path")
    p = Path(os.path.normpath(sandbox / device_path.lstrip("/")))
    if p != sandbox and sandbox not in p.parents:
        raise PermissionError(f"{device_path}: Permission denied")
    return p


def _parse_shell(service: str) -> tuple[bool, str]:
    """(v2, command) of 'shell[,args]:command' or 'exec:command'."""
    head, _, command = service.partition(":")
    return "v2" in head.split(",")[1:], command


def shell_service(emu: AdbEmulator, conn: Connection, stream: Stream, service: str) -> None:
    """Run one shell command (or an interactive /bin/sh reading stdin)."""
    v2, command = _parse_shell(service)
    if emu.faults.shell(command):
        conn.drop()
        return
    if emu.faults.unplug(command):
        emu.stop()
        return
    sandbox = emu.sandbox
    argv = ["/bin/sh", "-c", to_sandbox(command, sandbox)] if command.strip() else ["/bin/sh"]
    proc = subprocess.Popen(argv, cwd=sandbox, env=shell_env(sandbox), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE if v2 else subprocess.STDOUT,
                            start_new_session=True)
    prefix = f"{sandbox}/".encode()

    def hang_up() -> None:
        if proc.poll() is not None:
            return  # the command ended by itself; its background jobs live on, as on a phone
        try:
            os.killpg(proc.pid, signal.SIGHUP)
        except (ProcessLookupError, PermissionError):
            pass

    stream.on_close.append(hang_up)
    if stream.closed.is_set():
        hang_up()
    lock = threading.Lock()

    def forward(pipe, packet_id: int) -> None:
        try:
            while True:
                chunk = os.read(pipe.fileno(), 65536)
                if not chunk:
                    return
                chunk = chunk.replace(prefix, b"/")
                with lock:
                    stream.write(struct.pack("<BI", packet_id, len(chunk)) + chunk if v2 else chunk)
        except (Closed, OSError):
            hang_up()

    readers = [threading.Thread(target=forward, args=(proc.stdout, STDOUT), daemon=True)]
    if v2:
        readers.append(threading.Thread(target=forward, args=(proc.stderr, STDERR), daemon=True))
    threading.Thread(target=_feed_stdin, args=(stream, proc, v2), daemon=True).start()
    for r in readers:
        r.start()
    code = proc.wait()
    for r in readers:
        r.join(timeout=0.5)  # a background job may keep the pipe open; the shell itself is done
    if v2 and not stream.closed.is_set():
        with lock:
            stream.write(struct.pack("<BI", EXIT, 1) + bytes([code & 0xFF]))
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _feed_stdin(stream: Stream, proc: subprocess.Popen, v2: bool) -> None:
    """What the host writes goes to the command's stdin (v2: only STDIN packets; CLOSE_STDIN closes it)."""
    assert proc.stdin is not None
    try:
        while True:
            if v2:
                packet_id, length = struct.unpack("<BI", stream.read_exact(5))
                data = stream.read_exact(length) if length else b""
                if packet_id == CLOSE_STDIN:
                    break
                if packet_id != STDIN:
                    continue
            else:
                data = stream.read_some()
                if not data:
                    break
            proc.stdin.write(data)
            proc.stdin.flush()
    except (Closed, OSError, ValueError):
        pass
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass


# ----------------------------------------------------------------------------- sync
_STAT_V1 = struct.Struct("<4sIII")  # id, mode, size, mtime
_STAT_V2 = struct.Struct("<4sIQQIIIIQqqq")  # id, error, dev, ino, mode, nlink, uid, gid, size, atime, mtime, ctime
_DENT = struct.Struct("<4sIIII")  # id, mode, size, mtime, namelen


def _fail(stream: Stream, message: str) -> None:
    data = message.encode()
    stream.write(b"FAIL" + struct.pack("<I", len(data)) + data)


def _stat(path: Path, follow: bool) -> os.stat_result | None:
    try:
        return os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None


def _stat_v2(ident: bytes, st: os.stat_result | None, error: int) -> bytes:
    if st is None:
        return _STAT_V2.pack(ident, error, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return _STAT_V2.pack(ident, 0, st.st_dev, st.st_ino, st.st_mode, st.st_nlink, 0, 0, st.st_size,
                         int(st.st_atime), int(st.st_mtime), int(st.st_ctime))


def sync_service(emu: AdbEmulator, conn: Connection, stream: Stream, service: str) -> None:
    """The file sync protocol: STAT/LSTAT (v1, v2), LIST, RECV, SEND, QUIT."""
    while True:
        ident, length = struct.unpack("<4sI", stream.read_exact(8))
        if ident == b"QUIT":
            return
        if ident == b"SEND":
            spec = stream.read_exact(length).decode("utf-8", "replace")
            _receive_file(emu, conn, stream, spec)
            continue
        path = stream.read_exact(length).decode("utf-8", "replace")
        try:
            target = sandbox_file(emu.sandbox, path)
        except PermissionError as e:
            target, denied = None, str(e)
        else:
            denied = ""
        if ident == b"STAT":
            st = _stat(target, follow=False) if target else None
            stream.write(_STAT_V1.pack(b"STAT", *((st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime))
                                                  if st else (0, 0, 0))))
        elif ident in (b"STA2", b"LST2"):
            st = _stat(target, follow=ident == b"STA2") if target else None
            stream.write(_stat_v2(ident, st, 13 if denied else 2))
        elif ident == b"LIST":
            if target is not None and target.is_dir():
                for entry in sorted(os.listdir(target)):
                    st = _stat(target / entry, follow=False)
                    if st is None:
                        continue
                    name = entry.encode()
                    stream.write(_DENT.pack(b"DENT", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime),
                                            len(name)) + name)
            stream.write(_DENT.pack(b"DONE", 0, 0, 0, 0))
        elif ident == b"RECV":
            if target is None or not target.is_file():
                _fail(stream, denied or f"remote object '{path}' does not exist")
                continue
            with open(target, "rb") as f:
                while chunk := f.read(SYNC_DATA_MAX):
                    stream.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
            stream.write(b"DONE" + struct.pack("<I", 0))
        else:
            _fail(stream, f"unknown sync request {ident!r}")
            return


def _receive_file(emu: AdbEmulator, conn: Connection, stream: Stream, spec: str) -> None:
    """SEND 'path,mode' then DATA chunks and DONE(mtime): write the file atomically, answer OKAY or FAIL."""
    path, _, mode_text = spec.rpartition(",")
    if not path:
        path, mode_text = spec, "33188"
    error = ""
    try:
        target = sandbox_file(emu.sandbox, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.adbpart")
        out = open(tmp, "wb")
    except (PermissionError, OSError) as e:
        error, out, tmp, target = f"{path}: {e.strerror or e}", None, None, None  # type: ignore[assignment]
    total = 0
    try:
        while True:
            ident, length = struct.unpack("<4sI", stream.read_exact(8))
            if ident == b"DATA":
                data = stream.read_exact(length)
                total += len(data)
                if out is not None:
                    out.write(data)
                if emu.faults.push_bytes(total):
                    conn.drop()
                    raise Closed()
            elif ident == b"DONE":
                break
            else:
                error = error or f"unexpected {ident!r} in a SEND"
                break
    finally:
        if out is not None:
            out.close()
    if error:
        if tmp is not None and tmp.exists():
            tmp.unlink()
        _fail(stream, error)
        return
    mode = int(mode_text) if mode_text.isdigit() else 0o644
    os.chmod(tmp, stat.S_IMODE(mode) or 0o644)
    os.replace(tmp, target)
    os.utime(target, (time.time(), length or time.time()))
    stream.write(b"OKAY" + struct.pack("<I", 0))


SERVICES: dict[str, Handler] = {"shell": shell_service, "exec": shell_service, "sync": sync_service}


def find_service(service: str) -> Handler | None:
    """The handler of an OPEN request such as 'shell,v2,raw:ls' or 'sync:' (None when unknown)."""
    head = service.partition(":")[0].split(",")[0]
    return SERVICES.get(head)
