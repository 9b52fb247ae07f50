"""python -m search.train: trains an arch.json from scratch, deterministically, and reports test accuracy."""

import csv
import re
import subprocess
import sys

import pytest
import torch

from search.archfile import read_arch
from tests.conftest import FIXTURES, ROOT

ARCH = FIXTURES / "arch"
TINY_ARCH = ARCH / "tiny_minimal.json"
COMMON = ["--data", "digits", "--epochs", "2", "--limit", "300", "--threads", "1", "--quiet"]


def train(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "search.train", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def numbers(path):
    """train.csv without the wall-clock column."""
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("train")
    runs = []
    for name in ("a", "b"):
        out = base / name
        runs.append((train("--arch", TINY_ARCH, *COMMON, "--seed", "3", "--out", out), out))
    return runs


def test_train_writes_results(two_runs):
    r, out = two_runs[0]
    assert r.returncode == 0, r.stderr
    m = re.search(r"^test accuracy: (\d+\.\d\d)% \((\d+) images\)$", r.stdout, re.M)
    assert m, r.stdout
    assert 0.0 <= float(m.group(1)) <= 100.0
    assert int(m.group(2)) > 0
    assert len(re.findall(r"^epoch \d/2: loss ", r.stdout, re.M)) == 2
    state = torch.load(out / "weights.pt", weights_only=True)
    assert isinstance(state, dict) and state["head.fc.weight"].shape[0] == 10
    rows = list(csv.DictReader(open(out / "train.csv", newline="")))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert list(rows[0]) == ["epoch", "loss", "train_acc", "test_acc", "seconds"]
    assert float(rows[-1]["test_acc"]) == pytest.approx(float(m.group(1)), abs=0.005)
    for row in rows:
        assert float(row["loss"]) > 0 and 0 <= float(row["train_acc"]) <= 100
    # the copied arch.json carries the data's classes and the training settings
    arch = read_arch(out / "arch.json")
    assert arch.blocks == ["k3_e1", "k5_e3", "skip"] and arch.num_classes == 10
    assert arch.search["trained"]["epochs"] == 2 and arch.search["trained"]["seed"] == 3


def test_same_seed_same_numbers(two_runs):
    (ra, a), (rb, b) = two_runs
    assert ra.returncode == 0 and rb.returncode == 0
    assert numbers(a / "train.csv") == numbers(b / "train.csv")
    wa, wb = torch.load(a / "weights.pt", weights_only=True), torch.load(b / "weights.pt", weights_only=True)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_trained_weights_export(two_runs, tmp_path):
    _, out = two_runs[0]
    r = subprocess.run([sys.executable, "-m", "search.export", "--arch", str(out / "arch.json"), "--weights",
                        str(out / "weights.pt"), "--out", str(tmp_path / "m.onnx")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m.onnx").stat().st_size > 1000


def test_train_arch_api_is_deterministic():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _check_train_arch()
    finally:
        torch.set_num_threads(threads)


def _check_train_arch():
    from search.data import load_data
    from search.train import train_arch

    arch = read_arch(TINY_ARCH)
    splits = load_data("digits", seed=0, limit=128)
    seen = []
    a = train_arch(arch, splits, epochs=1, batch_size=32, lr=0.05, seed=1, on_epoch=seen.append)
    b = train_arch(arch, splits, epochs=1, batch_size=32, lr=0.05, seed=1)
    assert seen == a["history"] and len(a["history"]) == 1
    assert a["history"][0]["loss"] == b["history"][0]["loss"]
    assert a["test_acc"] == b["test_acc"] and 0 <= a["test_acc"] <= 100
    assert a["test_images"] == len(splits.test)
    c = train_arch(arch, splits, epochs=1, batch_size=32, lr=0.05, seed=2)
    assert c["history"][0]["loss"] != a["history"][0]["loss"]
    with pytest.raises(ValueError, match="--epochs must be >= 1"):
        train_arch(arch, splits, epochs=0)


@pytest.mark.parametrize("args, message", [
    (["--arch", "{tmp}/missing.json"], "missing.json: no such file"),
    (["--arch", str(ARCH / "wrong_block_count.json")], "has 3 searchable layers, got 2 block names"),
    (["--arch", str(TINY_ARCH), "--data", "mnist-of-my-dreams"], "mnist-of-my-dreams"),
    (["--arch", str(TINY_ARCH), "--data", "cifar10:{tmp}/nowhere"], "nowhere"),
    (["--arch", str(TINY_ARCH), "--epochs", "0"], "--epochs must be >= 1, got 0"),
    (["--arch", str(TINY_ARCH), "--lr", "-1"], "--lr must be a positive number"),
    (["--arch", str(TINY_ARCH), "--batch-size", "x"], "invalid int value: 'x'"),
    (["--arch", str(TINY_ARCH), "--out", "{tmp}/afile/run"], "cannot write to"),
    ([], "the following arguments are required: --arch"),
    *([(["--arch", str(TINY_ARCH), "--train-device", "cuda"], "--train-device cuda: no CUDA GPU is usable here")]
      if not torch.cuda.is_available() else []),
])
def test_bad_input_is_one_line_exit_2(tmp_path, args, message):
    (tmp_path / "afile").write_text("not a folder\n")
    quick = ["--limit", "50", "--epochs", "1", "--quiet", "--out", str(tmp_path / "out")] if args else []
    r = train(*quick, *[a.format(tmp=tmp_path) for a in args])  # later options win
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and message in lines[0]


def test_help():
    r = train("--help")
    assert r.returncode == 0
    for opt in ("--arch", "--data", "--epochs", "--batch-size", "--lr", "--seed", "--limit", "--out", "--threads"):
        assert opt in r.stdout
