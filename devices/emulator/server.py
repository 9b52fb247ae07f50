"""The ADB device emulator: the device side of the ADB protocol over TCP on 127.0.0.1.

One thread per connection reads messages; each opened stream (OPEN) runs its
service (shell, sync) in a thread of its own. Writes to the host honour ADB's
flow control (one WRTE in flight per stream until the host's OKAY). AUTH is
checked for real: the host's signature over our random token must verify
against one of the authorized public keys (adbd's /data/misc/adb/adb_keys);
a key the host offers afterwards is accepted only when it is authorized, or
when ``accept_new_keys`` stands for a person tapping "Allow" on the phone.

``faults`` injects what happens to real phones: the connection dropped
mid-push or when a given shell command starts.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from pathlib import Path
from typing import Iterable

from devices.emulator import wire
from devices.emulator.phone import Phone, install
from devices.emulator.userland import python_argv
from devices.emulator.streams import Closed, Faults, Stream
from devices.emulator.wire import Message

FEATURES = ("shell_v2", "cmd")
_SAFE_SANDBOX = re.compile(r"[A-Za-z0-9_./+-]+\Z")


class Connection:
    """One host connection: handshake, authentication, stream dispatch."""

    def __init__(self, emu: "AdbEmulator", sock: socket.socket) -> None:
        self.emu, self.sock = emu, sock
        self.version = wire.VERSION
        self.peer_maxdata = 4096
        self.online = False
        self.token = b""
        self.streams: dict[int, Stream] = {}
        self.next_id = 1
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.dead = False

    def send(self, msg: Message) -> None:
        with self.send_lock:
            self.sock.sendall(msg.pack())

    def forget(self, stream: Stream) -> None:
        with self.lock:
            self.streams.pop(stream.local_id, None)

    def drop(self) -> None:
        """End the connection as a pulled cable does: no CLSE, every service stopped."""
        self.dead = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            streams, self.streams = list(self.streams.values()), {}
        for s in streams:
            s.gone()

    def _recv_exact(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise Closed()
            out += chunk
        return out

    def serve(self) -> None:
        """Read and handle messages until the host goes away."""
        try:
            while not self.dead:
                command, arg0, arg1, length, check = wire.parse_header(self._recv_exact(wire.HEADER.size))
                data = self._recv_exact(length) if length else b""
                if not wire.checksum_ok(data, check, self.version):
                    raise wire.ProtocolError("bad payload checksum")
                self.handle(command, arg0, arg1, data)
        except (Closed, OSError, wire.ProtocolError):
            pass
        finally:
            self.drop()
            self.emu.forget(self)

    def _banner(self) -> bytes:
        p = self.emu.phone.props
        props = [f"ro.product.name={p.get('ro.product.name', '')}", f"ro.product.model={p.get('ro.product.model', '')}",
                 f"ro.product.device={p.get('ro.product.device', '')}", f"features={','.join(self.emu.features)}"]
        return ("device::" + ";".join(props)).encode()

    def _online(self) -> None:
        self.online = True
        self.send(Message(b"CNXN", self.version, wire.MAX_PAYLOAD, self._banner()))

    def _challenge(self) -> None:
        self.token = os.urandom(wire.TOKEN_SIZE)
        self.send(Message(b"AUTH", wire.AUTH_TOKEN, 0, self.token))

    def handle(self, command: bytes, arg0: int, arg1: int, data: bytes) -> None:
        if command == b"CNXN":
            self.version = min(arg0, wire.VERSION_SKIP_CHECKSUM)
            self.peer_maxdata = arg1
            self.online = False
            self._online() if not self.emu.auth else self._challenge()
        elif command == b"AUTH" and not self.online:
            self._auth(arg0, data)
        elif not self.online:
            return  # adbd ignores everything else until the host is authorized
        elif command == b"OPEN":
            self._open(arg0, data.rstrip(b"\0").decode("utf-8", "replace"))
        elif command == b"WRTE":
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.inbox.put(data)
                self.send(Message(b"OKAY", stream.local_id, stream.remote_id))
        elif command == b"OKAY":
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.ready.set()
        elif command == b"CLSE":
            stream = self.streams.get(arg1)
            if stream is not None:
                stream.close()  # the host closed it: stop the service and confirm

    def _auth(self, kind: int, data: bytes) -> None:
        if kind == wire.AUTH_SIGNATURE:
            if any(wire.signature_ok(k, self.token, data) for k in self.emu.authorized()):
                self._online()
            else:
                self.emu.stats["rejected_signatures"] += 1
                self._challenge()
        elif kind == wire.AUTH_RSAPUBLICKEY:
            try:
                key = wire.decode_public_key(data)
            except ValueError:
                return
            if wire.key_id(key) in {wire.key_id(k) for k in self.emu.authorized()}:
                self._online()
            elif self.emu.accept_new_keys:
                self.emu.authorize(data.rstrip(b"\0").decode())
                self._online()
            else:
                self.emu.stats["prompts"] += 1  # a real phone now shows "Allow USB debugging?"; nobody taps

    def _open(self, remote_id: int, service: str) -> None:
        from devices.emulator.services import find_service

        handler = find_service(service)
        if handler is None:
            self.send(Message(b"CLSE", 0, remote_id))
            return
        with self.lock:
            local_id, self.next_id = self.next_id, self.next_id + 1
            stream = Stream(self, local_id, remote_id)
            self.streams[local_id] = stream
        self.send(Message(b"OKAY", local_id, remote_id))

        def run() -> None:
            try:
                handler(self.emu, self, stream, service)
            except (Closed, OSError):
                pass
            finally:
                if not self.dead:
                    stream.close()

        threading.Thread(target=run, daemon=True, name=f"adb-emu-{service[:20]}").start()


class AdbEmulator:
    """An emulated phone listening on 127.0.0.1; use as a context manager or start()/stop()."""

    def __init__(self, phone: Phone, sandbox: Path | str, authorized_keys: Iterable[str] = (),
                 accept_new_keys: bool = False, auth: bool = True, port: int = 0,
                 features: Iterable[str] = FEATURES, arm64_root: Path | str | None = None) -> None:
        self.phone = phone
        self.sandbox = Path(sandbox).resolve()
        if not _SAFE_SANDBOX.match(str(self.sandbox)):
            raise ValueError(f"{self.sandbox}: the sandbox path may hold only letters, digits and _./+-")
        self.arm64_root = Path(arm64_root) if arm64_root is not None else None
        install(phone, self.sandbox, python_argv(self.arm64_root) if self.arm64_root is not None else None)
        self.auth, self.accept_new_keys, self.features = auth, accept_new_keys, tuple(features)
        self._keys: list[str] = []
        self._lock = threading.Lock()
        for k in authorized_keys:
            self.authorize(k)
        self.faults = Faults()
        self.stats = {"connections": 0, "rejected_signatures": 0, "prompts": 0}
        self._requested_port = port
        self._listener: socket.socket | None = None
        self._port: int | None = None
        self._conns: set[Connection] = set()

    def authorize(self, public_key: str) -> None:
        """Add a key (adbkey.pub text) to the phone's authorized keys; ValueError when it is not one."""
        wire.decode_public_key(public_key)
        with self._lock:
            self._keys.append(public_key.strip())

    def revoke_all(self) -> None:
        """Forget every authorized key (as 'Revoke USB debugging authorizations' does)."""
        with self._lock:
            self._keys.clear()

    def authorized(self) -> list:
        with self._lock:
            return [wire.decode_public_key(k) for k in self._keys]

    @property
    def port(self) -> int:
        """The TCP port (known once started; kept after stop)."""
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def address(self) -> str:
        """host:port to connect to."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> "AdbEmulator":
        self._listener = socket.create_server(("127.0.0.1", self._requested_port))
        self._port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="adb-emu-accept").start()
        return self

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(self, sock)
            with self._lock:
                self._conns.add(conn)
                self.stats["connections"] += 1
            threading.Thread(target=conn.serve, daemon=True, name="adb-emu-conn").start()

    def forget(self, conn: Connection) -> None:
        with self._lock:
            self._conns.discard(conn)

    def drop_connections(self) -> None:
        """Drop every host connection now (a cable pulled)."""
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.drop()

    def stop(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            self._listener.close()
        self.drop_connections()

    def __enter__(self) -> "AdbEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
