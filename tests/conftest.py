"""Shared test helpers: paths to the repo and fixtures."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
PHONE = FIXTURES / "phones" / "pixel7-emulated.toml"  # the emulated phone's description
PHONE_PROFILE = FIXTURES / "phones" / "emulated-profile.toml"  # the device profile that reaches it
FAST = ["--budget", "0.03", "--min-runs", "5", "--tolerance", "0.2", "--quiet"]  # short profiler runs


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A HOME with an ADB key (as adb makes it) and an export cache shared by a module's profiler runs."""
    from devices.adb.keys import ensure_key

    h = tmp_path_factory.mktemp("home")
    ensure_key(h / ".android" / "adbkey")
    return h


def profile_phone(home: Path, *args, profile: Path = PHONE_PROFILE, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m profiler.run --device PROFILE ARGS`` with FAST settings, as a user with ``home``."""
    env = {**os.environ, "HOME": str(home), "LUTNAS_CACHE": str(home / "cache"), "PYTHONUNBUFFERED": "1"}
    return subprocess.run([sys.executable, "-m", "profiler.run", "--device", str(profile), *map(str, args), *FAST],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def interruptible() -> None:
    """``preexec_fn`` for a child that a test stops with SIGINT: Ctrl-C's default disposition.

    A shell without job control starts background commands (``cmd &``) with SIGINT ignored,
    and children inherit that; Python then installs no KeyboardInterrupt handler, so the
    signal a test sends would do nothing. A terminal user's Ctrl-C always has the default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
