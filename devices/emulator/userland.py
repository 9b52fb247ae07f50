"""An arm64 userland for the emulated phone: its ``python3`` is an arm64 Python run by qemu-user.

``tools/arm64_userland.sh`` builds the userland once (an arm64 Debian root with Python 3.11 and the
aarch64 wheels of numpy, ONNX Runtime, torch and ExecuTorch, outside the repository). With it, the
emulator's ``python3`` runs that root's Python under ``qemu-aarch64-static -L ROOT``: guest paths are
looked up in ROOT first and on this host otherwise, so the runner and models pushed into the sandbox
are read where the emulator put them, while Python, its packages and their shared libraries are the
arm64 ones. Everything the phone's Python computes is then computed by arm64 code (XNNPACK's and
MLAS's arm64 kernels); only its timings, under emulation, mean nothing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT_ENV = "LUTNAS_ARM64_ROOT"
DEFAULT_ROOT = Path("/var/cache/lutnas/arm64-root")
READY = ".lutnas-ready"  # written by tools/arm64_userland.sh when every package is in
QEMU = "qemu-aarch64-static"


def arm64_root() -> Path:
    """Where the userland is: $LUTNAS_ARM64_ROOT, else /var/cache/lutnas/arm64-root."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def missing(root: Path) -> str | None:
    """Why ``root`` cannot serve as the phone's userland (None when it can), in one line."""
    if shutil.which(QEMU) is None:
        return f"no arm64 userland: {QEMU} not found (apt-get install qemu-user-static, then build the root with " \
               f"sudo tools/arm64_userland.sh {root})"
    if not (root / READY).is_file():
        return f"{root}: no arm64 userland (build it with: sudo tools/arm64_userland.sh {root})"
    if not (root / "usr" / "bin" / "python3").exists():
        return f"{root}: the userland has no usr/bin/python3"
    return None


def python_argv(root: Path) -> list[str]:
    """The command line that runs the userland's Python (arguments follow)."""
    reason = missing(root)
    if reason:
        raise ValueError(reason)
    root = root.resolve()
    return [str(shutil.which(QEMU)), "-L", str(root), str(root / "usr" / "bin" / "python3")]
