"""Schema versions: a fixture of every version loads, a newer one is refused naming the lutnas it needs,
and the version history is written down (what lut may import: tests/test_layering.py)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from lut import load, save
from lut import migrations
from lutnas import __version__
from lut.schema import SCHEMA_HISTORY, SCHEMA_VERSION, LUTError

from .conftest import LUT_FIXTURES, ROOT, table_of

VERSIONS = LUT_FIXTURES / "versions"
DOC = ROOT / "docs" / "lut-format.md"


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION + 1))
def test_a_fixture_of_every_schema_version_loads_into_the_current_one(version, tmp_path):
    path = VERSIONS / f"v{version}.csv"
    assert path.read_text().splitlines()[1].startswith(f"{version},")
    table = load(path)
    assert set(table.frame["schema"]) == {SCHEMA_VERSION} and len(table) == 10
    save(table, tmp_path / "now.csv")
    assert load(tmp_path / "now.csv") == table


def test_info_names_the_version_a_file_was_written_in():
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "lut", "info", str(VERSIONS / "v1.csv")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert f"schema:        1 (read as {SCHEMA_VERSION} through the migrations; saving writes {SCHEMA_VERSION})" \
        in res.stdout.splitlines()


def test_every_version_has_a_fixture_a_release_and_a_history_entry():
    assert sorted(int(p.stem[1:]) for p in VERSIONS.glob("v*.csv")) == list(range(1, SCHEMA_VERSION + 1))
    assert sorted(SCHEMA_HISTORY) == list(range(1, SCHEMA_VERSION + 1))
    history = DOC.read_text().split("## Version history", 1)[1]
    for version, (release, _) in SCHEMA_HISTORY.items():
        assert re.search(rf"^- \*\*{version}\*\* .*lutnas {re.escape(release)}", history, re.M), version


def test_a_newer_schema_names_the_lutnas_release_it_needs(tmp_path):
    newer = tmp_path / "v9.csv"
    text = (VERSIONS / "v1.csv").read_text()
    newer.write_text("\n".join(line.replace("1,", "9,", 1) if i else line
                               for i, line in enumerate(text.splitlines())) + "\n")
    with pytest.raises(LUTError) as e:
        load(newer)
    assert str(e.value) == (f"{newer}: line 2, column schema: written by a newer lutnas (schema 9); this toolkit "
                            f"(lutnas {__version__}) reads schema <= {SCHEMA_VERSION}: upgrade to a lutnas release "
                            f"after {__version__} that reads schema 9")
    major, minor = (int(p) for p in __version__.split(".")[:2])
    later = f"{major}.{minor + 1}.2"  # a release after this one, whatever this one is
    newer.write_text(newer.read_text().replace(",0.1.0,", f",{later},"))
    with pytest.raises(LUTError, match=rf"reads schema 9 \(its rows were measured with lutnas {re.escape(later)}\)"):
        load(newer)


def test_the_v1_fixture_goes_through_a_registered_migration(monkeypatch):
    """The v1 fixture is upgraded on load by MIGRATIONS[1] (a stand-in here), then the later ones, lines kept."""
    later = {v: migrations.MIGRATIONS[v] for v in range(2, SCHEMA_VERSION)}
    monkeypatch.setattr(migrations, "MIGRATIONS", table_of(later))
    seen = []

    @migrations.register(1)
    def to_v2(frame: pd.DataFrame) -> pd.DataFrame:
        seen.append(list(frame.index))
        frame["governor"] = frame["governor"].replace("unknown", "unrecorded")
        return frame

    table = load(VERSIONS / "v1.csv")
    assert seen == [list(range(2, 12))]
    assert set(table.frame["schema"]) == {SCHEMA_VERSION} and table.provenance()["governor"] == ["unrecorded"]


def test_schema_2_rows_read_as_timed_warm_on_one_copy():
    """MIGRATIONS[2] adds conditions and copies after threads: every row before schema 3 was timed warm."""
    table = load(VERSIONS / "v2.csv")
    assert table.provenance()["conditions"] == ["warm"]
    assert set(table.frame["copies"]) == {1}
    columns = list(table.frame.columns)
    assert columns[columns.index("threads") + 1: columns.index("threads") + 3] == ["conditions", "copies"]
    assert load(VERSIONS / "v3.csv").provenance()["conditions"] == ["in-network"]
