"""lutnas.files: the one atomic writer (temp file beside the target, fsync, mode, rename; nothing left on error)."""

from __future__ import annotations

import os
import stat

import pytest

from lutnas import files


def test_write_replaces_the_file_and_keeps_its_mode(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    files.write_atomic(target, "new\n")
    assert target.read_text() == "new\n" and stat.S_IMODE(target.stat().st_mode) == 0o640
    files.write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.bin"]  # no temporary file left


def test_a_new_file_gets_the_umask_mode_and_parents_on_request(tmp_path):
    old = os.umask(0o027)
    try:
        files.write_atomic(tmp_path / "x" / "y" / "c.txt", "c", parents=True)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "x" / "y" / "c.txt").stat().st_mode) == 0o640
    with pytest.raises(FileNotFoundError):
        files.write_atomic(tmp_path / "missing" / "d.txt", "d")


def test_an_error_inside_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with files.replacing(target, suffix=".png") as tmp:
            assert tmp.parent == tmp_path and tmp.name.startswith(".plot.png.") and tmp.suffix == ".png"
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["plot.png"]


def test_the_data_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    files.write_atomic(tmp_path / "e.txt", "e")
    assert len(synced) == 2  # the file, then its folder


def test_stale_temporaries_of_dead_writers_go_and_others_stay(tmp_path):
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    stale = tmp_path / f".out.csv.{dead}.k2j3h4g5.part"
    live = tmp_path / f".out.csv.{os.getppid()}.abcdefgh.tmp"
    other = tmp_path / ".out.csv.notes.tmp"
    for p in (stale, live, other):
        p.write_text("x")
    files.write_atomic(tmp_path / "out.csv", "a,b\n")
    assert not stale.exists() and live.exists() and other.exists()
