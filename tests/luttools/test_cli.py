"""``python -m lut`` through a subprocess: exit codes, one-line errors, no tracebacks, files untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from luttools.cli import main

from tests.lut.conftest import LUT_FIXTURES, ROOT, VALID
from tests.lut.test_checks import CASES

NOT_READABLE = {"not_utf8.csv"}  # validate exits 2: the file cannot be read as text at all


def run(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lut", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_info_on_valid_file():
    res = run("info", rel(VALID))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert f"file:          {rel(VALID)}" in out
    assert "schema:        4\n" in out
    assert "rows:          10 (9 stable, 1 unstable)" in out
    from lut import load

    assert f"content hash:  {load(VALID).content_hash()}" in out
    assert "device:          cpu" in out and "runtime:         onnxruntime" in out
    assert "threads:         1" in out
    assert "warning" not in out and res.stderr == ""


def test_validate_on_valid_file():
    res = run("validate", rel(VALID))
    assert (res.returncode, res.stdout, res.stderr) == (0, "ok: 10 rows\n", "")


@pytest.mark.parametrize("name", sorted(CASES))
def test_info_on_bad_file(name):
    path = LUT_FIXTURES / name
    before = path.read_bytes()
    res = run("info", rel(path))
    assert res.returncode == 2
    assert res.stdout == ""
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1
    line, column, fragment = CASES[name]
    where = f"line {line}, column {column}: " if column else f"line {line}: "
    assert lines[0].startswith(f"error: {rel(path)}: {where}")
    assert fragment in lines[0]
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_on_bad_file(name):
    path = LUT_FIXTURES / name
    before = path.read_bytes()
    res = run("validate", rel(path))
    assert "Traceback" not in res.stderr
    line, column, fragment = CASES[name]
    where = f"line {line}, column {column}: " if column else f"line {line}: "
    if name in NOT_READABLE:
        assert res.returncode == 2 and res.stdout == ""
        assert res.stderr.splitlines() == [res.stderr.strip()]
        assert res.stderr.startswith(f"error: {rel(path)}: {where}") and fragment in res.stderr
    else:
        assert res.returncode == 1 and res.stderr == ""
        first = res.stdout.splitlines()[0]
        assert first.startswith(f"{rel(path)}: {where}") and fragment in first
        assert all(out.startswith(f"{rel(path)}: line ") for out in res.stdout.splitlines())
    assert path.read_bytes() == before


@pytest.mark.parametrize("command", ["info", "validate"])
def test_missing_file_and_directory(command, tmp_path):
    res = run(command, tmp_path / "nope.csv")
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr == f"error: {tmp_path / 'nope.csv'}: no such file\n"
    res = run(command, tmp_path)
    assert res.returncode == 2 and "is a directory" in res.stderr and "Traceback" not in res.stderr


def test_validate_lists_every_problem(tmp_path):
    bad = tmp_path / "two.csv"
    bad.write_text(VALID.read_text().replace("0.300000,", "nan,", 1).replace(",k3_e1_g2,", ",k3_e1_g1,", 1))
    res = run("validate", bad)
    assert res.returncode == 1
    assert len(res.stdout.splitlines()) == 2


def test_info_warns_about_mixed_environments(tmp_path):
    mixed = tmp_path / "mixed.csv"
    text = VALID.read_text()
    lines = text.splitlines()
    lines[2] = lines[2].replace(",onnxruntime,", ",torchscript,")
    mixed.write_text("\n".join(lines) + "\n")
    res = run("info", mixed)
    assert res.returncode == 0
    assert "runtime:         onnxruntime, torchscript" in res.stdout
    assert "warning: rows from 2 environments" in res.stdout


def test_help_explains_each_command():
    res = run("--help")
    assert res.returncode == 0
    assert "info FILE" in res.stdout and "validate FILE" in res.stdout
    assert "content hash" in res.stdout and "exit status" in res.stdout
    assert run().returncode == 2
    assert run("frobnicate", "x").returncode == 2


def test_main_in_process(capsys):
    assert main(["validate", str(VALID)]) == 0
    assert capsys.readouterr().out == "ok: 10 rows\n"
    assert main(["info", str(LUT_FIXTURES / "empty.csv")]) == 2


def test_info_does_not_import_torch_or_our_other_packages():
    """info reads the built-in spaces' coverage (search.space and search.coverage, pure Python), and nothing else of ours (but
    search.importpath, the standard-library guard search/__init__ runs)."""
    code = ("import sys, runpy; sys.argv = ['lut', 'info', %r]\n"
            "try:\n    runpy.run_module('lut', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'search', 'devices', 'profiler', 'yaml',\n"
            "       'matplotlib') and m not in ('search', 'search.space', 'search.coverage', 'search.importpath')]\n"
            "print('BAD', bad)") % rel(VALID)
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert "BAD []" in res.stdout, res.stdout + res.stderr


def test_names_and_schema_do_not_import_pandas():
    code = "import sys, lut.names, lut.schema, lut; print('pandas' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "False", res.stderr


@pytest.mark.parametrize("argv", [["info", str(VALID)], ["convert", str(VALID), "--to", "hwnas-bench", "-o", "{out}"]])
def test_a_reader_that_goes_away_ends_quietly(tmp_path, argv):
    """`lut info FILE | head -1`: stdout closed before the command writes; exit 141, nothing on stderr, and an
    output file is whole."""
    out = tmp_path / "out.json"
    argv = [a.replace("{out}", str(out)) for a in argv]
    proc = subprocess.Popen([sys.executable, "-m", "lut", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141, err
    assert "Broken pipe" not in err and "Traceback" not in err and "error" not in err
    if argv[0] == "convert":
        assert json.loads(out.read_text())  # whole
    else:
        assert err == ""
