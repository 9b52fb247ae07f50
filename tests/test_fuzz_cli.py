"""Fuzz (bounded, seeded, seconds): malformed arch.json, space files and LUT rows thrown at the CLIs.

Each case mutates a valid fixture (a value replaced by a hostile one, a key dropped, the text cut short
or nested deeply), runs a command's ``main`` in this process, and asserts what a user would see from the
shell: an exit status of 0 or 2 (1 where ``lut validate`` reports problems), no exception escaping (no
traceback), a one-line ``error:`` when it fails, and the input file unchanged.
"""

from __future__ import annotations

import copy
import json
import random

import pytest

from tests.conftest import FIXTURES

SEED, CASES = 20261130, 40
HOSTILE = [None, True, False, 0, -1, 8.9, 1e308, -1e308, 10**12, "", "8", "x", "=cmd|' /C calc'!A0", "@SUM(1)",
           "../../etc/passwd", [], {}, [[[[1]]]], {"a": 1}, "k9_e9", "skip", "\x00", "é" * 3]
CSV_HOSTILE = ["", "inf", "-inf", "nan", "1e308", "-0", "0", "1e-30", "=1+1", "+1+1", "-x", "@x", "\tx", "\"",
               "a,b", "NA", "k4_e1", "2024-13-45T99:99:99Z", "9" * 30, "é", "1_0"]


def _paths(value, prefix=()):
    """Every path (a tuple of keys / indices) into a parsed JSON value."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _set(doc, path, value):
    if not path:
        return value
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


_DROP = object()


def mutate_json(text: str, rng: random.Random) -> str:
    """A malformed variant of a JSON document."""
    kind = rng.choice(["replace", "replace", "replace", "drop", "cut", "deep"])
    if kind == "cut":
        return text[:rng.randrange(len(text))]
    if kind == "deep":
        return "[" * 100_000 + "]" * 100_000
    doc = json.loads(text)
    path = rng.choice([p for p in _paths(doc)])
    if kind == "drop" and path:
        return json.dumps(_set(doc, path, _DROP))
    return json.dumps(_set(copy.deepcopy(doc), path, rng.choice(HOSTILE)))


def mutate_csv(text: str, rng: random.Random) -> str:
    """A malformed variant of a LUT file: a hostile cell, a cut, a dropped column or a duplicated row."""
    lines = text.splitlines(keepends=True)
    kind = rng.choice(["cell", "cell", "cell", "cut", "column", "duplicate"])
    if kind == "cut":
        return text[:rng.randrange(len(text))]
    if kind == "duplicate":
        return text + lines[rng.randrange(1, len(lines))]
    rows = [line.rstrip("\n").split(",") for line in lines]
    col = rng.randrange(len(rows[0]))
    if kind == "column":
        return "".join(",".join(r[:col] + r[col + 1:]) + "\n" for r in rows)
    row = rng.randrange(1, len(rows))
    rows[row][col] = rng.choice(CSV_HOSTILE)
    return "".join(",".join(r) + "\n" for r in rows)


def run_main(main, argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own usage errors exit 2 with one line
        code = e.code
    out = capsys.readouterr()
    return code, out.err


def check(code, err, allowed=(0, 2)):
    assert code in allowed, err
    assert "Traceback" not in err
    if code == 2:
        assert [line for line in err.strip().splitlines() if line.startswith("error:")], err


@pytest.mark.parametrize("case", range(CASES))
def test_malformed_arch_json(case, tmp_path, capsys):
    from search.export import main as export_main

    rng = random.Random(SEED + case)
    arch = tmp_path / "arch.json"
    arch.write_text(mutate_json((FIXTURES / "arch" / "tiny_full.json").read_text(), rng))
    before = arch.read_bytes()
    code, err = run_main(export_main, ["--arch", arch, "--out", tmp_path / "m.onnx"], capsys)
    check(code, err)
    assert arch.read_bytes() == before
    assert (tmp_path / "m.onnx").exists() == (code == 0)


@pytest.mark.parametrize("case", range(CASES))
def test_malformed_space_file(case, tmp_path, capsys):
    from luttools.cli import main as lut_main

    rng = random.Random(SEED + 1000 + case)
    space = tmp_path / "space.json"
    space.write_text(mutate_json((FIXTURES / "spaces" / "tiny.json").read_text(), rng))
    before = space.read_bytes()
    code, err = run_main(lut_main, ["validate", FIXTURES / "measured" / "tiny-cpu.csv", "--space", space], capsys)
    check(code, err, (0, 1, 2))
    assert space.read_bytes() == before


@pytest.mark.parametrize("case", range(CASES))
def test_malformed_lut_rows(case, tmp_path, capsys):
    from luttools.cli import main as lut_main

    rng = random.Random(SEED + 2000 + case)
    table = tmp_path / "lut.csv"
    table.write_text(mutate_csv((FIXTURES / "measured" / "tiny-cpu.csv").read_text(), rng))
    before = table.read_bytes()
    for argv, allowed in ((["validate", table], (0, 1, 2)), (["info", table], (0, 2)),
                          (["predict", "--lut", table, "--arch", FIXTURES / "arch" / "tiny_full.json"], (0, 2))):
        code, err = run_main(lut_main, argv, capsys)
        check(code, err, allowed)
    assert table.read_bytes() == before
