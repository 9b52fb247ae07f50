"""A folder lut/ of LUT files in the working directory (profiler.run's default output) does not hide the lut
package, also under the editable install the tests run with."""

import os
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES


@pytest.mark.parametrize("argv, expected", [
    (["-m", "search.run", "--lut", "lut/tiny.csv", "--space", "nope"], "error: unknown space 'nope'"),
    (["-m", "profiler.run", "--device", "cpu", "--space", "nope"], "error: unknown space 'nope'"),
    (["-m", "lut", "info", "lut/tiny.csv"], "schema"),
    (["-c", "import search, lut; print(lut.load.__module__)"], "lut.io"),
])
def test_commands_work_beside_a_lut_folder(tmp_path, argv, expected):
    (tmp_path / "lut").mkdir()
    (tmp_path / "lut" / "tiny.csv").write_bytes((FIXTURES / "measured" / "tiny-cpu.csv").read_bytes())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert "cannot import name" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert expected in proc.stdout + proc.stderr
