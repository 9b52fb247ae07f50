"""The portable runner as one file: a zip application (.pyz) with the host's own timing loop and statistics inside.

Built byte-for-byte reproducibly (fixed timestamps and order), so its sha256
identifies the runner in the LUT's provenance and tells whether the phone
already has it.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from lutnas import files

DEVICES = Path(__file__).parents[1]
MEMBERS: dict[str, Path | bytes] = {
    "__main__.py": DEVICES / "runners" / "portable_runner.py",
    "devices/__init__.py": b"",  # only the modules below, none of which imports more of ours
    "devices/stats.py": DEVICES / "stats.py",
    "devices/measure.py": DEVICES / "measure.py",
    "devices/conditions.py": DEVICES / "conditions.py",  # the in-network rules, applied to the phone's caches
    "devices/host.py": DEVICES / "host.py",  # it reads the caches from sysfs
}


def bundle_bytes() -> bytes:
    """The runner bundle's bytes (the same for the same sources)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(MEMBERS):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            member = MEMBERS[name]
            z.writestr(info, member if isinstance(member, bytes) else member.read_bytes())
    return buf.getvalue()


def build_portable_runner(directory: Path) -> Path:
    """Write the bundle as ``lutnas-runner-<sha256[:12]>.pyz`` in ``directory`` (atomically) and return it."""
    data = bundle_bytes()
    target = Path(directory) / f"lutnas-runner-{hashlib.sha256(data).hexdigest()[:12]}.pyz"
    if not target.exists():
        files.write_atomic(target, data, parents=True)
    return target
