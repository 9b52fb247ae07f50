"""search.run and search.train never lose results, never leave a dead-end folder, and check every setting
before work starts (subprocesses through the CLIs, on the tiny space with a real measured LUT)."""

import json
import os
import shutil
import stat

import pytest
import torch

from tests.search.test_run_cli import BASE, LUT, search

ARCH = ["--arch", "tests/fixtures/arch/tiny_minimal.json"]


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """A finished 2-epoch search (1 warm-up, 1 search epoch)."""
    out = tmp_path_factory.mktemp("safety") / "run"
    proc = search(*BASE, "--epochs", "2", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


def snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def refused(proc, message):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_search_stopped_before_its_first_checkpoint_resumes_from_the_start(done, tmp_path):
    """The state a kill or Ctrl-C in epoch 1 leaves (search.json, no checkpoint) continues to the same result."""
    out = tmp_path / "early"
    out.mkdir()
    shutil.copy(done / "search.json", out / "search.json")
    proc = search("--resume", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "starts from the beginning" in proc.stderr
    a, b = json.loads((done / "arch.json").read_text()), json.loads((out / "arch.json").read_text())
    assert a["probabilities"] == b["probabilities"] and a["blocks"] == b["blocks"]


def test_an_unreadable_search_json_is_refused_and_overwrite_starts_again_keeping_other_files(tmp_path):
    out = tmp_path / "broken"
    out.mkdir()
    (out / "search.json").write_bytes(b"")  # what a full disk left behind
    (out / "notes.txt").write_text("mine")
    refused(search("--resume", out), f"{out / 'search.json'}: cannot resume")
    proc = search(*BASE, "--epochs", "1", "--out", out)
    refused(proc, f"{out} already holds a search")
    assert "--overwrite" in proc.stderr and (out / "search.json").read_bytes() == b""
    proc = search(*BASE, "--epochs", "1", "--out", out, "--overwrite")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "search.json").read_text())["config"]["epochs"] == 1
    assert (out / "arch.json").exists() and (out / "notes.txt").read_text() == "mine"


def test_resume_refuses_a_changed_lut(done, tmp_path):
    lut = tmp_path / "lut.csv"
    shutil.copy(LUT, lut)
    out = tmp_path / "run"
    assert search(*BASE, "--lut", lut, "--epochs", "1", "--out", out).returncode == 0
    before = snapshot(out)
    lines = lut.read_text().splitlines(keepends=True)
    header = lines[0].strip().split(",")
    row = next(i for i, line in enumerate(lines) if ",k3_e1," in line)
    cells = lines[row].rstrip("\n").split(",")
    for col, name in enumerate(header):
        if name.endswith("_ms") and cells[col]:
            cells[col] = str(float(cells[col]) * 50)  # the same block, 50 times slower
    lines[row] = ",".join(cells) + "\n"
    lut.write_text("".join(lines))
    proc = search("--resume", out)
    refused(proc, f"{lut}: its content changed since the search in {out} started")
    assert snapshot(out) == before


def test_resume_refuses_a_checkpoint_of_another_search(done, tmp_path):
    out = tmp_path / "mixed"
    shutil.copytree(done, out)
    saved = json.loads((out / "search.json").read_text())
    saved["config"]["seed"] = 7
    (out / "search.json").write_text(json.dumps(saved))
    before = snapshot(out)
    refused(search("--resume", out), "disagree on seed")
    assert snapshot(out) == before


@pytest.mark.parametrize("flags, named", [(["--epochs", "5"], "--epochs"),
                                          (["--lut", str(LUT), "--seed", "3"], "--lut, --seed")])
def test_flags_beside_resume_are_refused(done, flags, named):
    before = snapshot(done)
    refused(search("--resume", done, *flags), f"{named}: not allowed with --resume")
    assert snapshot(done) == before


@pytest.mark.parametrize("args, message", [
    (["--lr-w", "nan"], "lr-w must be a positive number, got nan"),
    (["--lr-theta", "-1"], "lr-theta must be a positive number"),
    (["--lambda", "nan"], "lambda must be a number >= 0, got nan"),
    (["--beta", "inf"], "beta must be a number >= 0, got inf"),
    (["--top-k", "0"], "--top-k must be >= 1, got 0"),
    (["--top-k", "-1"], "--top-k must be >= 1, got -1"),
    (["--threads", "-1"], "--threads must be >= 1, got -1"),
    (["--width-mult", "inf"], "--width-mult must be a number in (0, 16], got inf"),
    (["--batch-size", "64", "--limit", "200"], "the theta part of the training data has 40 images, fewer than one "
                                               "batch of 64: raise --limit or lower --batch-size"),
    (["--batch-size", "100000"], "the weights' (w) part of the training data has 240 images, fewer than one batch"),
])
def test_settings_that_cannot_work_stop_before_anything_is_written(tmp_path, args, message):
    out = tmp_path / "r"
    refused(search(*BASE, "--epochs", "2", "--out", out, *args), message)
    assert not out.exists()


def test_a_malformed_lut_latency_stops_the_search(tmp_path):
    lut = tmp_path / "huge.csv"
    lines = LUT.read_text().splitlines(keepends=True)
    col = lines[0].strip().split(",").index("median_ms")
    cells = lines[1].rstrip("\n").split(",")
    cells[col] = "1e308"
    lut.write_text(lines[0] + ",".join(cells) + "\n" + "".join(lines[2:]))
    proc = search(*BASE, "--lut", lut, "--epochs", "2", "--out", tmp_path / "r")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(lut) in proc.stderr and not (tmp_path / "r").exists()


# ---- search.train ------------------------------------------------------------------------------------------------
TRAIN = [*ARCH, "--limit", "120", "--epochs", "1", "--threads", "1", "--quiet"]


def test_train_refuses_to_replace_results_without_overwrite(tmp_path):
    out = tmp_path / "t"
    first = search(*TRAIN, "--out", out, module="search.train")
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE((out / "weights.pt").stat().st_mode) == 0o666 & ~_umask()
    assert stat.S_IMODE((out / "arch.json").stat().st_mode) == 0o666 & ~_umask()
    before = snapshot(out)
    proc = search(*TRAIN, "--out", out, "--seed", "1", module="search.train")
    refused(proc, f"{out} already holds weights.pt, train.csv, arch.json: pass --overwrite")
    assert snapshot(out) == before
    again = search(*TRAIN, "--out", out, "--seed", "1", "--overwrite", module="search.train")
    assert again.returncode == 0, again.stderr
    assert (out / "weights.pt").read_bytes() != before["weights.pt"]


def test_train_never_writes_into_a_search_folder(done):
    before = snapshot(done)
    for extra in ([], ["--overwrite"]):
        proc = search(*TRAIN, "--out", done, *extra, module="search.train")
        refused(proc, f"{done} holds a search (search.json): train into a folder of its own")
    assert snapshot(done) == before


@pytest.mark.parametrize("content, message", [
    (b"", "empty file (expected a search checkpoint"),
    (b"not a zip", "not a torch.save file (expected a search checkpoint)"),
])
def test_a_damaged_checkpoint_is_one_line(done, tmp_path, content, message):
    out = tmp_path / "damaged"
    shutil.copytree(done, out)
    (out / "checkpoint.pt").write_bytes(content)
    refused(search("--resume", out), message)


def test_a_checkpoint_holding_code_is_refused_without_torchs_advice(done, tmp_path):
    out = tmp_path / "evil"
    shutil.copytree(done, out)
    torch.save({"format": "lutnas-search-checkpoint", "x": os.system}, out / "checkpoint.pt")
    proc = search("--resume", out)
    refused(proc, "refused: it holds objects other than tensors and plain values")
    assert "weights_only" not in proc.stderr


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "not a lutnas search (expected an object with 'config' and 'run' objects)"),
    ('{"config": {}, "run": {"lut": "x.csv"}}', "its 'run' lacks space, data"),
    ('{"config": {"colour": 1}, "run": {"lut": "x.csv", "space": "fbnet-cifar", "data": "digits"}}',
     "unknown search settings colour"),
    ('{"config": {"epochs": "ten"}, "run": {"lut": "x.csv", "space": "fbnet-cifar", "data": "digits"}}',
     "search.json: "),
    ("[" * 100000 + "]" * 100000, "cannot resume"),
])
def test_a_malformed_search_json_is_one_line(tmp_path, content, message):
    out = tmp_path / "bad"
    out.mkdir()
    (out / "search.json").write_text(content)
    refused(search("--resume", out), message)
    assert (out / "search.json").read_text() == content


def test_resume_of_a_search_without_a_lut_hash_says_the_lut_is_unchecked(done, tmp_path):
    out = tmp_path / "old"
    shutil.copytree(done, out)
    saved = json.loads((out / "search.json").read_text())
    del saved["run"]["lut_hash"]  # what search.json held before lutnas 0.3
    (out / "search.json").write_text(json.dumps(saved))
    proc = search("--resume", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert f"note: {out / 'search.json'} records no LUT hash" in proc.stderr
