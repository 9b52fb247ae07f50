"""Fixtures for the ADB tests: an RSA key in Android's format and a running emulated phone."""

from pathlib import Path

import pytest

from devices.emulator import AdbEmulator, load_phone
from tests.conftest import FIXTURES

PHONE = FIXTURES / "phones" / "pixel7-emulated.toml"


@pytest.fixture(scope="session")
def adb_key(tmp_path_factory) -> Path:
    """A private key file (adbkey) with its adbkey.pub beside it."""
    from adb_shell.auth.keygen import keygen

    path = tmp_path_factory.mktemp("adbkey") / "adbkey"
    keygen(str(path))
    return path


@pytest.fixture(scope="session")
def other_key(tmp_path_factory) -> Path:
    """A second key the phone does not know."""
    from adb_shell.auth.keygen import keygen

    path = tmp_path_factory.mktemp("otherkey") / "adbkey"
    keygen(str(path))
    return path


@pytest.fixture
def phone(tmp_path, adb_key):
    """An emulated phone that authorizes ``adb_key``."""
    pub = Path(f"{adb_key}.pub").read_text()
    with AdbEmulator(load_phone(PHONE), tmp_path / "phone", authorized_keys=[pub]) as emu:
        yield emu
