"""The emulator against Debian's real adb client (adb connect / shell / push / pull), on a private server port."""

import os
import shutil
import socket
import subprocess

import pytest

from devices.emulator import AdbEmulator, load_phone
from tests.devices.conftest import PHONE

pytestmark = pytest.mark.skipif(shutil.which("adb") is None, reason="Debian's adb client is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def adb(tmp_path_factory):
    """Run the adb client with its own server port and a HOME of its own (its keys are made there)."""
    home = tmp_path_factory.mktemp("adbhome")
    env = {**os.environ, "HOME": str(home), "ANDROID_ADB_SERVER_PORT": str(free_port())}
    env.pop("ADB_SERVER_SOCKET", None)

    def run(*args, check=True):
        proc = subprocess.run(["adb", *map(str, args)], env=env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        if check:
            assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc

    run("start-server")
    run.home = home
    yield run
    run("kill-server", check=False)


@pytest.fixture
def phone(adb, tmp_path):
    pub = (adb.home / ".android" / "adbkey.pub").read_text()
    with AdbEmulator(load_phone(PHONE), tmp_path / "phone", authorized_keys=[pub]) as emu:
        yield emu
        adb("disconnect", emu.address, check=False)


def test_connect_lists_the_phone(adb, phone):
    assert f"connected to {phone.address}" in adb("connect", phone.address).stdout
    devices = adb("devices", "-l").stdout
    line = next(x for x in devices.splitlines() if x.startswith(phone.address))
    assert line.split()[1] == "device" and "model:Pixel_7" in line and "device:panther" in line


def test_shell_output_and_exit_code(adb, phone):
    adb("connect", phone.address)
    assert adb("-s", phone.address, "shell", "echo hi").stdout == "hi\n"
    proc = adb("-s", phone.address, "shell", "echo out; echo err >&2; exit 3", check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    assert adb("-s", phone.address, "shell", "getprop", "ro.build.version.release").stdout == "14\n"


def test_push_and_pull(adb, phone, tmp_path):
    adb("connect", phone.address)
    data = os.urandom(500_000)
    (tmp_path / "m.onnx").write_bytes(data)
    adb("-s", phone.address, "push", tmp_path / "m.onnx", "/data/local/tmp/")
    assert (phone.sandbox / "data/local/tmp/m.onnx").read_bytes() == data
    adb("-s", phone.address, "pull", "/data/local/tmp/m.onnx", tmp_path / "back.onnx")
    assert (tmp_path / "back.onnx").read_bytes() == data
    listing = adb("-s", phone.address, "shell", "ls", "/data/local/tmp").stdout.split()
    assert "m.onnx" in listing


def test_unknown_key_stays_unauthorized(adb, tmp_path):
    with AdbEmulator(load_phone(PHONE), tmp_path / "p") as emu:  # no key authorized
        adb("connect", emu.address, check=False)
        proc = adb("-s", emu.address, "shell", "echo hi", check=False)
        assert proc.returncode != 0 and "unauthorized" in proc.stderr
        assert emu.stats["prompts"] >= 1
        adb("disconnect", emu.address, check=False)
