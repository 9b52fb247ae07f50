"""Atomic file writes: the one way every lutnas package replaces a file.

A write goes to a temporary file beside the target (``.<name>.<pid>.<random><suffix>``), which is
flushed to disk (fsync), given the target's mode (or the mode a new file gets under the umask) and
renamed over the target; the folder is then fsynced so the rename survives a power cut. On any error,
Ctrl-C included, the temporary file is removed and the target is untouched. Temporary files that a
killed writer (kill -9) left behind are removed by the next write of the same target.
"""

from __future__ import annotations

import glob
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Union

PathLike = Union[str, "os.PathLike[str]"]


def new_file_mode(path: Path | None = None) -> int:
    """The mode ``path`` has, or the one a plainly created file gets (0666 less the umask) when it does not exist."""
    if path is not None:
        try:
            return os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def replacing(path: PathLike, suffix: str = ".tmp", parents: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` for the caller to write (by name: an exporter, ``savefig``, ``torch.save``);
    on leaving the block without an error it replaces ``path`` durably, on an error it is removed.

    ``suffix`` ends the temporary name, for writers that choose a format by it (".png"). The folder must exist,
    or is made with ``parents``.
    """
    target = Path(path)
    if parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    mode = new_file_mode(target)
    remove_stale_temps(target)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync_file(tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(target.parent)


def write_atomic(path: PathLike, data: bytes | str, parents: bool = False) -> None:
    """Write ``data`` (str: as UTF-8, newlines as given) to ``path`` atomically (see the module docstring);
    ``parents``: make missing folders."""
    with replacing(path, parents=parents) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def remove_stale_temps(target: Path) -> list[Path]:
    """Remove the temporary files that writes of ``target`` by processes no longer running left behind (a kill -9
    mid-write): ``.<name>.<pid>.<random><suffix>`` whose pid is gone. A live writer's file, and any other, stay."""
    removed = []
    prefix = f".{target.name}."
    ours = re.compile(rf"{re.escape(prefix)}(\d+)\.[^.]+(\..*)?")
    for p in target.parent.glob(f"{glob.escape(prefix)}*"):
        match = ours.fullmatch(p.name)
        pid = int(match.group(1)) if match else None
        if pid is not None and pid != os.getpid() and not _running(pid) and p.is_file():
            try:
                p.unlink()
                removed.append(p)
            except OSError:
                pass
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable where the OS allows it (best effort)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
