"""The phone's Python as an arm64 Python under qemu-user: the runner, the runtimes and their outputs on arm64.

The tests that run arm64 code need the userland that tools/arm64_userland.sh builds (outside the
repository); without it they are skipped with the one-line reason. The rest check the plumbing here.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from devices.emulator import AdbEmulator, load_phone
from devices.emulator.phone import install
from devices.emulator.userland import QEMU, READY, arm64_root, missing, python_argv
from lut import load
from profiler.crosscheck import crosscheck
from search.space import load_space_file
from tests.conftest import FIXTURES, PHONE, ROOT, profile_phone

TINY = FIXTURES / "spaces" / "tiny.toml"
WHY = missing(arm64_root())
needs_arm64 = pytest.mark.skipif(WHY is not None, reason=str(WHY))


# ---- here, without the userland -------------------------------------------------------------------
def test_missing_userland_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LUTNAS_ARM64_ROOT", str(tmp_path / "nowhere"))
    assert arm64_root() == tmp_path / "nowhere"
    reason = missing(arm64_root())
    assert reason is not None and (QEMU in reason or "tools/arm64_userland.sh" in reason)
    with pytest.raises(ValueError, match="arm64"):
        python_argv(tmp_path / "nowhere")
    proc = subprocess.run([sys.executable, "-m", "profiler.crosscheck", "--space", str(TINY), "--arm64",
                           str(tmp_path / "nowhere")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_a_half_built_userland_is_not_used(tmp_path):
    (tmp_path / "usr" / "bin").mkdir(parents=True)
    (tmp_path / "usr" / "bin" / "python3").write_text("")
    have_qemu = shutil.which(QEMU) is not None
    reason = missing(tmp_path)  # no ready marker yet
    assert reason is not None and ("no arm64 userland" in reason if have_qemu else QEMU in reason)
    (tmp_path / READY).write_text("")
    if have_qemu:  # now usable
        assert missing(tmp_path) is None
        argv = python_argv(tmp_path)
        assert argv[1:] == ["-L", str(tmp_path.resolve()), str(tmp_path.resolve() / "usr/bin/python3")]
    else:
        assert QEMU in (missing(tmp_path) or "")


def test_the_phone_python3_runs_the_given_command(tmp_path):
    install(load_phone(PHONE), tmp_path, ["/opt/qemu-aarch64-static", "-L", "/srv/root", "/srv/root/usr/bin/python3"])
    wrapper = (tmp_path / "system" / "bin" / "python3").read_text()
    assert wrapper == '#!/bin/sh\nexec /opt/qemu-aarch64-static -L /srv/root /srv/root/usr/bin/python3 "$@"\n'
    install(load_phone(PHONE), tmp_path)
    assert f"exec {sys.executable} " in (tmp_path / "system" / "bin" / "python3").read_text()


def test_emulator_cli_refuses_a_missing_userland_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "devices.emulator", "--phone", str(PHONE), "--sandbox",
                           str(tmp_path / "s"), "--arm64", str(tmp_path / "nowhere")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "arm64" in proc.stderr


def test_crosscheck_of_this_host_against_itself_is_exact(tmp_path):
    """The comparison machinery with this host's Python as the other side: every block bit-identical."""
    keys = load_space_file(TINY).keys()[:4]
    compared, host, guest = crosscheck(keys, "onnxruntime", [sys.executable], tmp_path)
    assert [c.key for c in compared] == keys
    assert all(c.max_abs_diff == 0.0 and c.max_abs > 0 for c in compared)
    assert guest["machine"] == host["machine"] == platform.machine()
    assert guest["onnxruntime"] == host["onnxruntime"]


# ---- arm64 code, under qemu --------------------------------------------------------------------------
@pytest.fixture
def arm64_phone(home, tmp_path):
    pub = (home / ".android" / "adbkey.pub").read_text()
    with AdbEmulator(load_phone(PHONE), tmp_path / "phone", authorized_keys=[pub], arm64_root=arm64_root()) as emu:
        yield emu


@needs_arm64
@pytest.mark.parametrize("runtime, version", [("onnxruntime", "1.32.0"), ("executorch", "1.5.1")])
def test_profiles_the_tiny_space_with_arm64_runtimes(home, arm64_phone, tmp_path, runtime, version):
    out = tmp_path / f"arm64-{runtime}.csv"
    proc = profile_phone(home, "--host", arm64_phone.address, "--space", TINY, "--out", out, "--runtime", runtime,
                         timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load(out).keys() == set(load_space_file(TINY).keys())
    frame = pd.read_csv(out)
    assert (frame["median_ms"] > 0).all()
    # what ran was arm64: the phone's Python reported aarch64 with the arm64 wheel's version
    assert frame["runtime_version"].str.startswith(f"{version} aarch64 (runner portable sha256:").all()


@needs_arm64
@pytest.mark.parametrize("runtime", ["onnxruntime", "executorch"])
def test_arm64_outputs_match_this_host(tmp_path, runtime):
    keys = load_space_file(TINY).keys()
    compared, host, guest = crosscheck(keys, runtime, python_argv(arm64_root()), tmp_path)
    assert guest["machine"] == "aarch64" and host["machine"] == platform.machine()
    assert len(compared) == len(keys) == 15
    bad = [(str(c.key), c.max_abs_diff) for c in compared if not c.ok(1e-4, 1e-4)]
    assert not bad, bad
