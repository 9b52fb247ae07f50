"""load / save: byte-identical round trips, plain-pandas readability, atomic writes, migrations."""

from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

import lut
from lut import LUT, load, save, to_csv_text
from lut import migrations, schema
from lut.schema import COLUMNS, FLOAT_COLUMNS, INT_COLUMNS, SCHEMA_VERSION, LUTError

from .conftest import VALID, make_row, table_of


def test_load_save_is_byte_identical(tmp_path):
    table = load(VALID)
    out = tmp_path / "copy.csv"
    save(table, out)
    assert out.read_bytes() == VALID.read_bytes()
    assert to_csv_text(table).encode() == VALID.read_bytes()
    save(load(out), out)
    assert out.read_bytes() == VALID.read_bytes()


def test_loaded_lut_knows_its_source():
    assert load(VALID).source == VALID
    assert load(str(VALID)).source == VALID


def test_saved_file_loads_with_plain_pandas(tmp_path):
    table = LUT.from_rows([make_row("k3_e1", 16, 16, 1, 32, 32, 0.123456789, device_model="Xeon, \"2.2\" GHz"),
                           make_row("skip", 16, 24, 2, 8, 8, 1.5, affinity="0-2,5")])
    out = tmp_path / "t.csv"
    save(table, out)
    plain = pd.read_csv(out)
    assert list(plain.columns) == list(COLUMNS)
    ours = table.frame
    for c in INT_COLUMNS:
        assert plain[c].dtype == np.int64 and plain[c].tolist() == ours[c].tolist(), c
    for c in FLOAT_COLUMNS:
        assert plain[c].dtype == np.float64 and plain[c].tolist() == ours[c].tolist(), c
    for c in set(COLUMNS) - set(INT_COLUMNS) - set(FLOAT_COLUMNS):
        assert plain[c].astype(str).tolist() == ours[c].tolist(), c
    assert plain["device_model"][0] == 'Xeon, "2.2" GHz'
    assert plain["affinity"].tolist() == ["1", "0-2,5"]
    assert load(out) == table
    assert not plain.isna().any().any()


def test_non_canonical_input_is_written_canonically(tmp_path):
    frame = pd.read_csv(VALID, dtype=str, keep_default_na=False)
    frame = frame.iloc[::-1][list(reversed(COLUMNS))]
    frame["median_ms"] = [str(float(v)) for v in frame["median_ms"]]  # 0.15 rather than 0.150000
    messy = tmp_path / "messy.csv"
    messy.write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode())
    out = tmp_path / "clean.csv"
    save(load(messy), out)
    assert out.read_bytes() == VALID.read_bytes()


def test_stored_precision_is_applied_in_memory(tmp_path):
    table = LUT.from_rows([make_row("k3_e1", 16, 16, 1, 32, 32, 0.1234567891)])
    assert table.latency(("k3_e1", 16, 16, 1, 32, 32)) == 0.123457
    save(table, tmp_path / "t.csv")
    assert load(tmp_path / "t.csv") == table


def test_save_failure_leaves_old_file_intact(tmp_path, monkeypatch):
    out = tmp_path / "lut.csv"
    save(load(VALID), out)
    before = out.read_bytes()
    bigger = load(VALID).add([make_row("k5_e6", 16, 16, 1, 32, 32, 0.9)])

    def broken(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk on fire"):
        save(bigger, out)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["lut.csv"]  # no temp file left behind


def test_save_failure_while_writing_leaves_no_file(tmp_path, monkeypatch):
    out = tmp_path / "new.csv"

    def broken(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="fsync failed"):
        save(load(VALID), out)
    assert list(tmp_path.iterdir()) == []


def test_save_keeps_the_file_mode(tmp_path):
    out = tmp_path / "lut.csv"
    out.write_text("old")
    out.chmod(0o644)
    save(load(VALID), out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644


def test_empty_lut_round_trips(tmp_path):
    out = tmp_path / "empty.csv"
    save(LUT.empty(), out)
    assert out.read_text() == ",".join(COLUMNS) + "\n"
    assert len(load(out)) == 0
    assert len(pd.read_csv(out)) == 0


def test_load_of_missing_file_and_directory(tmp_path):
    with pytest.raises(LUTError, match=r"nope\.csv: no such file$"):
        load(tmp_path / "nope.csv")
    with pytest.raises(LUTError, match="is a directory"):
        load(tmp_path)


V1 = VALID.parent / "versions" / "v1.csv"


def test_loader_applies_registered_migration(tmp_path, monkeypatch):
    """A schema-1 file goes through MIGRATIONS[1] (here a stand-in for the real one), then the real later ones."""
    monkeypatch.setattr(migrations, "MIGRATIONS", table_of({v: migrations.MIGRATIONS[v] for v in range(2, SCHEMA_VERSION)}))
    seen = []

    @migrations.register(1)
    def rename_device(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(list(frame.index))
        frame["device"] = frame["device"] + "-v2"
        return frame

    table = load(V1)
    assert seen == [list(range(2, 12))]  # the raw table, indexed by file line
    assert table.provenance()["device"] == ["cpu-v2"]
    assert set(table.frame["schema"]) == {SCHEMA_VERSION} and table.provenance()["conditions"] == ["warm"]
    assert set(table.frame["layer"]) == {-1}  # schema 4: every earlier row holds at every layer
    out = tmp_path / "now.csv"
    save(table, out)
    assert out.read_text().splitlines()[1].startswith(f"{SCHEMA_VERSION},")
    assert load(out) == table  # a file of the current schema needs no migration


def test_migration_problems_point_at_the_file_line(monkeypatch):
    monkeypatch.setattr(migrations, "MIGRATIONS", table_of({1: lambda f: f.assign(median_ms="0"),
                                                           **{v: migrations.MIGRATIONS[v] for v in range(2, SCHEMA_VERSION)}}))
    with pytest.raises(LUTError, match=r"v1\.csv: line 2, column median_ms: 0 must be > 0"):
        load(V1)


def test_missing_migration_is_reported(monkeypatch):
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(migrations, "MIGRATIONS", table_of({}))
    with pytest.raises(LUTError, match="line 2, column schema: no migration from schema 1 to 2"):
        load(V1)


def test_register_refuses_duplicates(monkeypatch):
    monkeypatch.setattr(migrations, "MIGRATIONS", table_of({}))
    migrations.register(1)(lambda f: f)
    with pytest.raises(ValueError, match="already registered"):
        migrations.register(1)(lambda f: f)


def test_public_api_is_exported():
    for name in ("Key", "LUT", "LUTError", "MissingKeysError", "load", "save", "SCHEMA_VERSION",
                 "parse_name", "format_name", "Matrix"):
        assert hasattr(lut, name), name
    assert issubclass(lut.MissingKeysError, lut.LUTError)


def test_a_write_removes_temp_files_that_killed_writers_left(tmp_path):
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(dead.stdout)
    stale = tmp_path / f".out.csv.{pid}.abc123.tmp"  # what a kill -9 during a write leaves
    live = tmp_path / f".out.csv.{os.getppid()}.def456.tmp"  # a running process's write in progress
    other = tmp_path / ".out.csv.notes.tmp"
    for p in (stale, live, other):
        p.write_text("partial")
    save(load(VALID), tmp_path / "out.csv")
    assert not stale.exists() and live.exists() and other.exists()
    assert load(tmp_path / "out.csv").frame.equals(load(VALID).frame)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.csv", live.name, other.name])
