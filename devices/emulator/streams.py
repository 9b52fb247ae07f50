"""The emulator's streams (one per OPEN: a queue of what the host wrote, writes honouring ADB's one-WRTE-in-flight
flow control) and the faults it injects (a connection dropped mid-push, or when a shell command starts)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from devices.emulator import wire
from devices.emulator.wire import Message

if TYPE_CHECKING:
    from devices.emulator.server import Connection


class Closed(Exception):
    """The stream or its connection is gone."""


@dataclass
class Faults:
    """One-shot faults; each fires once, then resets itself."""

    drop_after_push_bytes: int | None = None  # drop the connection once this many bytes of a push arrived
    drop_on_shell: str | None = None  # drop the connection when a shell command containing this starts
    unplug_on_shell: str | None = None  # stop the phone for good when a shell command containing this starts
    fired: list[str] = field(default_factory=list)

    def _once(self, armed: str, label: str, hit: bool) -> bool:
        """Fire the fault held in field ``armed`` when ``hit`` (it is armed and its moment came): disarm it
        and record ``label``."""
        if not hit:
            return False
        setattr(self, armed, None)
        self.fired.append(label)
        return True

    def unplug(self, command: str) -> bool:
        """Whether the phone goes away as ``command`` starts."""
        needle = self.unplug_on_shell
        return self._once("unplug_on_shell", "unplug", needle is not None and needle in command)

    def push_bytes(self, total: int) -> bool:
        """Whether to drop now, ``total`` bytes into a push."""
        limit = self.drop_after_push_bytes
        return self._once("drop_after_push_bytes", "push", limit is not None and total >= limit)

    def shell(self, command: str) -> bool:
        """Whether to drop as ``command`` starts."""
        needle = self.drop_on_shell
        return self._once("drop_on_shell", "shell", needle is not None and needle in command)


class Stream:
    """One side of an ADB stream: ``write`` to the host (flow-controlled), ``read`` what it wrote."""

    def __init__(self, conn: "Connection", local_id: int, remote_id: int) -> None:
        self.conn, self.local_id, self.remote_id = conn, local_id, remote_id
        self.inbox: queue.Queue[bytes | None] = queue.Queue()
        self.buffer = b""
        self.ready = threading.Event()
        self.ready.set()
        self.closed = threading.Event()
        self.on_close: list[Callable[[], None]] = []

    def write(self, data: bytes) -> None:
        """Send ``data`` in WRTE messages no larger than the host accepts; Closed when the stream is gone."""
        step = max(1, min(self.conn.peer_maxdata, wire.MAX_PAYLOAD))
        for i in range(0, len(data), step):
            while not self.ready.wait(0.1):
                if self.closed.is_set():
                    raise Closed()
            if self.closed.is_set():
                raise Closed()
            self.ready.clear()
            self.conn.send(Message(b"WRTE", self.local_id, self.remote_id, data[i:i + step]))

    def read_some(self) -> bytes:
        """The next bytes the host wrote (b'' at end of stream)."""
        if self.buffer:
            out, self.buffer = self.buffer, b""
            return out
        item = self.inbox.get()
        if item is None:
            self.inbox.put(None)
            return b""
        return item

    def read_exact(self, n: int) -> bytes:
        """Exactly ``n`` bytes; Closed when the stream ends first."""
        while len(self.buffer) < n:
            item = self.inbox.get()
            if item is None:
                self.inbox.put(None)
                raise Closed()
            self.buffer += item
        out, self.buffer = self.buffer[:n], self.buffer[n:]
        return out

    def gone(self) -> None:
        """The host closed the stream or the connection dropped: stop the service."""
        if not self.closed.is_set():
            self.closed.set()
            self.inbox.put(None)
            for fn in self.on_close:
                fn()

    def close(self) -> None:
        """Close from our side (CLSE to the host)."""
        if self.closed.is_set():
            return
        self.gone()
        self.conn.forget(self)
        try:
            self.conn.send(Message(b"CLSE", self.local_id, self.remote_id))
        except OSError:
            pass
