"""Reading and writing LUT files: validated loads, atomic canonical saves.

``load`` refuses any file with a problem (one-line LUTError naming the file,
line and column); ``save`` writes the canonical text (lut.canonical) to a
temporary file beside the target and renames it over, so a reader never sees
a partial file and a failed save leaves the old file as it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

from lut import canonical
from lut.checks import check_text, decode
from lut.schema import LUTError
from lut.table import LUT, problems_error
from lutnas import files

PathLike = Union[str, "os.PathLike[str]"]


def read_bytes(path: PathLike) -> bytes:
    """The file's bytes; LUTError (one line, naming the file) when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise LUTError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LUTError(f"{path}: is a directory, not a LUT file") from None
    except OSError as e:
        raise LUTError(f"{path}: cannot read: {e.strerror or e}") from None


def loads(data: bytes, source: PathLike | None = None) -> LUT:
    """A LUT from a file's bytes; LUTError with the first problem (and how many more)."""
    where = str(source) if source is not None else "<bytes>"
    text, problem = decode(data)
    if problem:
        raise problems_error(where, [problem])
    checked = check_text(text)
    if checked.problems:
        raise problems_error(where, checked.problems)
    return LUT(canonical.typed_frame(checked.frame), source)


def load(path: PathLike) -> LUT:
    """Load and validate a LUT file (earlier schema versions are upgraded); LUTError on any problem."""
    return loads(read_bytes(path), path)


def to_csv_text(lut: LUT) -> str:
    """The canonical CSV text of ``lut`` (what ``save`` writes)."""
    return lut.to_csv_text()


def save(lut: LUT, path: PathLike) -> None:
    """Write ``lut`` to ``path`` in canonical form, atomically (old file untouched on any error)."""
    write_atomic(path, lut.to_csv_text().encode("utf-8"))


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``lutnas.files``: old file untouched on error, fsynced).

    A missing parent directory is a LUTError naming it (not a temporary file's name).
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise LUTError(f"{path}: directory {target.parent} does not exist")
    files.write_atomic(target, data)
