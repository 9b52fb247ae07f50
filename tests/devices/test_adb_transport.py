"""The ADB transport against the emulated phone: exit codes, long silent jobs, faults, clear errors."""

import importlib.util
import os
import socket
from pathlib import Path

import pytest

from devices.adb.keys import ensure_key
from devices.adb.transport import (AdbError, AdbTransport, ConnectionLost, Endpoint, Unauthorized, Unreachable,
                                   UsbBusy, parse_rc, usb_error)
from devices.emulator import AdbEmulator, load_phone, wire
from tests.devices.conftest import PHONE


def transport(emu, key, timeout=2.0, retries=3):
    return AdbTransport(Endpoint.parse(emu.address), key, timeout_s=timeout, retries=retries, backoff_s=0.01,
                        auth_timeout_s=0.5)


def test_exit_codes_are_captured(phone, adb_key):
    t = transport(phone, adb_key)
    assert t.shell("echo hi; false", check=False) == parse_rc("hi\n\n__lutnas_rc=1\n")
    r = t.shell("printf abc; exit 7", check=False)
    assert (r.rc, r.output) == (7, "abc")
    with pytest.raises(AdbError, match=r"`ls /nope` exited [12]: .*No such file"):
        t.shell("ls /nope")


def test_silent_job_longer_than_the_transport_timeout(phone, adb_key):
    t = transport(phone, adb_key, timeout=0.5, retries=0)
    with pytest.raises(ConnectionLost, match="timed out"):  # what a plain shell() does with a silent command
        t.shell("sleep 1.2; echo late")
    r = t.run_long("sleep 1.2; echo done; exit 4", "/data/local/tmp/lutnas/jobs")
    assert (r.rc, r.output) == (4, "done\n")
    assert os.listdir(phone.sandbox / "data/local/tmp/lutnas/jobs") == []  # job files cleaned up


def test_connection_dropped_while_polling_resumes_the_same_job(phone, adb_key):
    t = transport(phone, adb_key, timeout=0.7)
    phone.faults.drop_on_shell = "lutnas-poll"
    r = t.run_long("sleep 0.5; echo once >> /data/local/tmp/count; cat /data/local/tmp/count", "/data/local/tmp/j")
    assert phone.faults.fired == ["shell"] and t.reconnects == 1
    assert r.output == "once\n"  # the job ran exactly once


def test_connection_dropped_mid_push_is_retried(phone, adb_key, tmp_path):
    data = os.urandom(150_000)
    (tmp_path / "m.bin").write_bytes(data)
    t = transport(phone, adb_key, timeout=0.7)
    phone.faults.drop_after_push_bytes = 60_000
    t.push(tmp_path / "m.bin", "/data/local/tmp/m.bin")
    assert phone.faults.fired == ["push"] and t.reconnects == 1
    assert (phone.sandbox / "data/local/tmp/m.bin").read_bytes() == data
    assert t.listdir("/data/local/tmp") == {"m.bin": 150_000}


def test_transport_gives_up_after_retries(phone, adb_key):
    t = transport(phone, adb_key, retries=1)
    t.shell("true")
    phone.stop()
    with pytest.raises(Unreachable, match="nothing answers"):
        t.shell("true")


def test_nothing_listening_is_unreachable(adb_key):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = AdbTransport(Endpoint("127.0.0.1", port), adb_key, timeout_s=0.5, retries=1, backoff_s=0.01)
    with pytest.raises(Unreachable, match=rf"127.0.0.1:{port}: nothing answers .*wireless debugging"):
        t.shell("true")


def test_refused_key_says_accept_the_prompt(tmp_path, other_key):
    with AdbEmulator(load_phone(PHONE), tmp_path / "p") as emu:
        t = transport(emu, other_key)
        with pytest.raises(Unauthorized, match="device unauthorized: accept the 'Allow USB debugging.' prompt"):
            t.shell("true")
        assert emu.stats["prompts"] == 1  # not retried: only the person at the phone can fix it


def test_key_made_in_android_format_when_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    path = ensure_key()
    assert path == tmp_path / ".android" / "adbkey" and oct(path.stat().st_mode & 0o777) == "0o600"
    key = wire.decode_public_key(Path(f"{path}.pub").read_text())
    assert key.key_size == 2048 and ensure_key() == path  # kept, not remade
    (Path(f"{path}.pub")).unlink()
    ensure_key(path)
    assert wire.key_id(wire.decode_public_key(Path(f"{path}.pub").read_text())) == wire.key_id(key)


def test_endpoints():
    assert Endpoint.parse("192.168.1.20:5555") == Endpoint("192.168.1.20", 5555)
    assert Endpoint.parse("phone.local") == Endpoint("phone.local", 5555)
    assert Endpoint.parse("usb:R58M123") == Endpoint(serial="R58M123") and str(Endpoint.parse("usb")) == "usb"
    with pytest.raises(ValueError, match="bad ADB address 'h:99999'"):
        Endpoint.parse("h:99999")


def test_usb_messages():
    class BusyError(Exception):
        pass

    assert isinstance(usb_error(Endpoint(), BusyError("LIBUSB_ERROR_BUSY [-6]")), UsbBusy)
    assert "adb kill-server" in str(usb_error(Endpoint(), BusyError("LIBUSB_ERROR_BUSY [-6]")))
    assert "no such USB device" in str(usb_error(Endpoint(serial="X"), Exception("UsbDeviceNotFoundError")))


@pytest.mark.skipif(importlib.util.find_spec("usb1") is not None, reason="adb-shell's USB extra is installed")
def test_usb_without_the_extra(adb_key):
    with pytest.raises(AdbError, match=r"USB needs adb-shell's USB extra: pip install 'adb-shell\[usb\]'"):
        AdbTransport(Endpoint(serial="X"), adb_key).shell("true")
