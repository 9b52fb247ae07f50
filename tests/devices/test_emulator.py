"""The ADB device emulator driven by adb-shell: handshake, AUTH, shell, sync, phone answers, faults."""

import hashlib
import os
import struct
import socket
from pathlib import Path

import pytest
from adb_shell.adb_device import AdbDeviceTcp
from adb_shell.auth.sign_pythonrsa import PythonRSASigner
from adb_shell.exceptions import AdbConnectionError, DeviceAuthError, TcpTimeoutException

from devices.emulator import AdbEmulator, load_phone
from devices.emulator import wire
from devices.emulator.services import sandbox_file, to_sandbox
from tests.devices.conftest import PHONE


def signer(key: Path) -> PythonRSASigner:
    return PythonRSASigner(Path(f"{key}.pub").read_text(), key.read_text())


def connect(emu, key, timeout=5.0, auth_timeout=1.0) -> AdbDeviceTcp:
    dev = AdbDeviceTcp("127.0.0.1", emu.port, default_transport_timeout_s=timeout)
    assert dev.connect(rsa_keys=[signer(key)], auth_timeout_s=auth_timeout)
    return dev


def test_handshake_banner_and_version(phone):
    sock = socket.create_connection(("127.0.0.1", phone.port), timeout=5)
    sock.sendall(wire.Message(b"CNXN", wire.VERSION, 4096, b"host::\0").pack())
    command, arg0, _, length, _ = wire.parse_header(sock.recv(24))
    token = sock.recv(length)
    assert (command, arg0, len(token)) == (b"AUTH", wire.AUTH_TOKEN, 20)
    sock.close()


def test_shell_answers_from_the_phone_description(phone, adb_key):
    dev = connect(phone, adb_key)
    out = dev.shell("getprop ro.product.model; getprop ro.build.version.sdk; uname -r; "
                    "cat /sys/devices/system/cpu/cpu7/cpufreq/cpuinfo_max_freq; echo $((6*7))")
    assert out.split("\n")[:5] == ["Pixel 7", "34", load_phone(PHONE).kernel, "2850000", "42"]
    battery = dev.shell("dumpsys battery")
    assert "  level: 87" in battery and "  temperature: 291" in battery
    thermal = dev.shell("dumpsys thermalservice")
    assert "Thermal Status: 0" in thermal and "mValue=33.4, mType=3, mName=skin-therm" in thermal
    dev.close()


def test_shell_runs_in_the_sandbox(phone, adb_key):
    dev = connect(phone, adb_key)
    dev.shell("mkdir -p /data/local/tmp/a && echo content > /data/local/tmp/a/f.txt")
    assert (phone.sandbox / "data/local/tmp/a/f.txt").read_text() == "content\n"
    # paths in the output are the device's, not the sandbox's
    assert dev.shell("ls -d /data/local/tmp/a; cd /data/local/tmp/a && pwd").split() == [
        "/data/local/tmp/a", "/data/local/tmp/a"]
    dev.close()


def test_sync_push_stat_list_pull_round_trip(phone, adb_key, tmp_path):
    dev = connect(phone, adb_key)
    data = os.urandom(300_000)  # several DATA chunks, several WRTE messages
    (tmp_path / "in.bin").write_bytes(data)
    dev.push(str(tmp_path / "in.bin"), "/data/local/tmp/lutnas/m.bin", st_mode=0o100644, mtime=1_700_000_000)
    mode, size, mtime = dev.stat("/data/local/tmp/lutnas/m.bin")
    assert (size, mtime, mode & 0o777) == (300_000, 1_700_000_000, 0o644)
    assert [f.filename for f in dev.list("/data/local/tmp/lutnas")] == [b"m.bin"]
    assert dev.shell("sha256sum /data/local/tmp/lutnas/m.bin").split()[0] == hashlib.sha256(data).hexdigest()
    dev.pull("/data/local/tmp/lutnas/m.bin", str(tmp_path / "out.bin"))
    assert (tmp_path / "out.bin").read_bytes() == data
    assert dev.stat("/data/local/tmp/missing") == (0, 0, 0)
    dev.close()


def test_wrong_key_is_refused(phone, other_key):
    dev = AdbDeviceTcp("127.0.0.1", phone.port, default_transport_timeout_s=2)
    with pytest.raises((DeviceAuthError, TcpTimeoutException, AdbConnectionError)):
        dev.connect(rsa_keys=[signer(other_key)], auth_timeout_s=0.5)
    assert phone.stats["rejected_signatures"] >= 1 and phone.stats["prompts"] == 1
    dev.close()


def test_new_key_accepted_when_someone_taps_allow(tmp_path, other_key):
    with AdbEmulator(load_phone(PHONE), tmp_path / "p", accept_new_keys=True) as emu:
        dev = connect(emu, other_key)
        assert dev.shell("echo ok") == "ok\n"
        dev.close()
        dev = connect(emu, other_key)  # now authorized: the signature alone suffices
        assert emu.stats["prompts"] == 0 and dev.shell("echo again") == "again\n"
        dev.close()


def test_signature_check_is_real(adb_key, other_key):
    pub = wire.decode_public_key(Path(f"{adb_key}.pub").read_text())
    token = b"t" * 20
    assert wire.signature_ok(pub, token, signer(adb_key).Sign(token))
    assert not wire.signature_ok(pub, token, signer(other_key).Sign(token))
    assert not wire.signature_ok(pub, b"u" * 20, signer(adb_key).Sign(token))
    with pytest.raises(ValueError, match="not an Android RSA public key"):
        wire.decode_public_key("bm90IGEga2V5 user@host")


def test_drop_mid_push(phone, adb_key, tmp_path):
    (tmp_path / "big.bin").write_bytes(os.urandom(200_000))
    phone.faults.drop_after_push_bytes = 70_000
    dev = connect(phone, adb_key, timeout=2)
    with pytest.raises(Exception):
        dev.push(str(tmp_path / "big.bin"), "/data/local/tmp/big.bin", read_timeout_s=1)
    assert phone.faults.fired == ["push"]
    assert not (phone.sandbox / "data/local/tmp/big.bin").exists()  # no half file under the real name
    dev = connect(phone, adb_key)  # the phone is still there
    dev.push(str(tmp_path / "big.bin"), "/data/local/tmp/big.bin")
    assert (phone.sandbox / "data/local/tmp/big.bin").read_bytes() == (tmp_path / "big.bin").read_bytes()
    dev.close()


def test_shell_v2_framing_and_exit_code(phone, adb_key):
    """shell,v2: stdout and stderr packets apart, then the exit code (what Debian's adb uses)."""
    dev = connect(phone, adb_key)
    raw = b"".join(dev._streaming_service(b"shell,v2,raw", b"echo out; echo err >&2; exit 5", decode=False))
    packets, i = [], 0
    while i < len(raw):
        pid, n = struct.unpack("<BI", raw[i:i + 5])
        packets.append((pid, raw[i + 5:i + 5 + n]))
        i += 5 + n
    assert (1, b"out\n") in packets and (2, b"err\n") in packets and packets[-1] == (3, b"\x05")
    dev.close()


def test_paths_are_mapped_into_the_sandbox(tmp_path):
    sb = tmp_path.resolve()
    assert to_sandbox("cat /sys/a '/data/local/tmp/x y' /proc/cpuinfo", sb) == \
        f"cat {sb}/sys/a '{sb}/data/local/tmp/x y' /proc/cpuinfo"
    assert to_sandbox("ls /usr/bin /database", sb) == "ls /usr/bin /database"
    assert sandbox_file(sb, "/data/local/tmp/f") == sb / "data/local/tmp/f"
    with pytest.raises(PermissionError):
        sandbox_file(sb, "/data/../../etc/passwd")


def test_phone_file_errors(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('format = 1\n[cpu]\nmax_freq_khz = []\n')
    with pytest.raises(ValueError, match="cpu.max_freq_khz must be a list of positive integers"):
        load_phone(bad)
    bad.write_text('format = 2\n')
    with pytest.raises(ValueError, match="format must be 1"):
        load_phone(bad)
    bad.write_text('format = 1\ncolour = "red"\n')
    with pytest.raises(ValueError, match="unknown field.*colour"):
        load_phone(bad)


def test_emulator_cli(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run([sys.executable, "-m", "devices.emulator", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and "adb connect 127.0.0.1:5555" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "devices.emulator", "--phone", str(tmp_path / "none.toml"),
                           "--sandbox", str(tmp_path / "sb")], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "none.toml" in proc.stderr
    # Ctrl-C is how it stops: exit 0 with one line
    import signal

    from tests.conftest import interruptible

    phone = ROOT / "tests" / "fixtures" / "phones" / "pixel7-emulated.toml"
    serving = subprocess.Popen([sys.executable, "-m", "devices.emulator", "--phone", str(phone), "--sandbox",
                                str(tmp_path / "sb")], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=interruptible)
    assert serving.stdout.readline().startswith("emulated phone listening on 127.0.0.1:")
    serving.send_signal(signal.SIGINT)
    out, err = serving.communicate(timeout=60)
    assert serving.returncode == 0 and err.strip() == "emulated phone stopped"
