"""End to end: python -m search.run in subprocesses on the tiny space, digits data, a real measured LUT."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from operator import itemgetter

import numpy as np
import onnxruntime as ort
import pytest
import torch

from lut import load
from search.archfile import read_arch
from search.results import read_metrics
from tests.conftest import FIXTURES, ROOT

TINY = FIXTURES / "spaces" / "tiny.toml"
LUT = FIXTURES / "measured" / "tiny-cpu.csv"  # measured on this project's build VM
BASE = ["--lut", LUT, "--space", TINY, "--limit", "300", "--batch-size", "32",
        "--threads", "1", "--quiet"]


def search(*args, module="search.run", prefix=()):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *prefix, "-m", module, *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "run"
    proc = search(*BASE, "--epochs", "4", "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_search_writes_every_result(finished):
    out, proc = finished
    assert f"wrote {out / 'arch.json'}" in proc.stdout
    for name in ("arch.json", "metrics.csv", "theta.png", "curves.png", "model.onnx", "checkpoint.pt", "search.json"):
        assert (out / name).stat().st_size > 0, name
    arch = read_arch(out / "arch.json")
    lut = load(LUT)
    matrix = lut.matrix(arch.space)
    assert len(arch.blocks) == 3
    assert arch.predicted_ms == pytest.approx(matrix.predict(arch.blocks))
    assert arch.lut["hash"] == lut.content_hash()
    probs = np.array(arch.probabilities)
    assert probs.shape == (3, 4) and np.allclose(probs.sum(1), 1)
    sel = arch.search["selection"]  # --select 10 by default: the argmax and others of its latency, judged
    assert [arch.candidates[i] for i in probs.argmax(1)] == sel["argmax"] == sel["judged"][0]["blocks"]
    assert arch.top_k[0]["blocks"] == sel["argmax"]
    assert sel["steps"] == 150 and 1 <= len(sel["judged"]) <= 10  # fewer where its band holds fewer
    best = max(range(len(sel["judged"])), key=lambda i: (sel["judged"][i]["val_acc"], i == 0))
    assert arch.blocks == sel["judged"][best]["blocks"]
    assert f"select: {len(sel['judged'])} architecture{'s' * (len(sel['judged']) != 1)} of" in proc.stderr
    assert [t["probability"] for t in arch.top_k] == sorted((t["probability"] for t in arch.top_k), reverse=True)
    rows = read_metrics(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert [r["phase"] for r in rows] == ["warmup", "warmup", "search", "search"]  # 50% warm-up
    assert rows[1]["tau"] == pytest.approx(1.0)  # the default temperature stays at 1.0
    assert all(0 <= r["val_acc"] <= 100 for r in rows)
    assert "epoch 4/4 search" in proc.stderr
    assert json.loads((out / "search.json").read_text())["config"]["lat_unit"] == "us"  # auto: nets under e ms


def test_an_existing_search_is_not_overwritten(finished):
    out, _ = finished
    before = (out / "arch.json").read_bytes()
    proc = search(*BASE, "--epochs", "1", "--out", out)
    assert proc.returncode == 2
    assert f"{out} already holds a search" in proc.stderr and "--resume" in proc.stderr and "--overwrite" in proc.stderr
    assert (out / "arch.json").read_bytes() == before


def test_model_onnx_is_the_derived_architecture_with_the_supernet_weights(finished):
    out, _ = finished
    from search.derive import inherit
    from search.supernet import Supernet

    arch = read_arch(out / "arch.json")
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    net = Supernet(arch.space, arch.num_classes)
    net.load_state_dict(ckpt["net"])
    child = inherit(net, arch.space, arch.blocks, arch.num_classes)
    x = torch.randn(1, 3, 16, 16)
    sess = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, child(x).numpy(), atol=1e-4, rtol=1e-4)


def strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


@pytest.mark.parametrize("variant", [(), ("--weights", "independent", "--mode", "hard")])
def test_resume_after_kill_gives_the_same_result(finished, tmp_path, variant):
    if variant:
        reference = tmp_path / "reference"
        proc = search(*BASE, *variant, "--epochs", "4", "--out", reference)
        assert proc.returncode == 0, proc.stderr
    else:
        reference, _ = finished
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "search.run", *map(str, BASE), *variant, "--epochs", "4",
                             "--out", str(out)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if (out / "metrics.csv").exists() and len(read_metrics(out / "metrics.csv")) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(read_metrics(out / "metrics.csv"))
    assert 2 <= done < 4 and not (out / "arch.json").exists()
    again = search("--resume", out)
    assert again.returncode == 0, again.stderr
    assert f"resuming {out} after epoch {done} of 4" in again.stderr
    a, b = json.loads((reference / "arch.json").read_text()), json.loads((out / "arch.json").read_text())
    assert a["blocks"] == b["blocks"]
    assert a["probabilities"] == b["probabilities"]  # bit for bit
    assert strip(read_metrics(reference / "metrics.csv")) == strip(read_metrics(out / "metrics.csv"))


def test_missing_lut_entries_stop_before_training(tmp_path):
    lines = LUT.read_text().splitlines(keepends=True)
    partial = tmp_path / "partial.csv"
    partial.write_text("".join(l for l in lines if ",k5_e3," not in l))
    proc = search(*BASE, "--lut", partial, "--epochs", "1", "--out", tmp_path / "r")
    assert proc.returncode == 2
    assert "k5_e3" in proc.stderr
    assert f"python -m profiler.run --device cpu --space {TINY}" in proc.stderr and "--resume" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message", [
    (["--loss", "target"], "target loss needs --target-ms"),
    (["--lut", "nope.csv"], "nope.csv"),
    (["--space", "fbnet-imagenet"], "unknown space"),
    (["--data", "mnist"], "unknown dataset"),
    (["--epochs", "0"], "epochs must be >= 1"),
    (["--loss", "target-abs"], "target-abs loss needs --target-ms"),
    (["--select", "-1"], "--select must be a whole number >= 0"),
    (["--select", "3", "--select-steps", "0"], "--select-steps must be a whole number >= 1"),
    (["--select-images", "-5"], "--select-images must be a whole number >= 0, got -5"),
    (["--select-epochs", "0"], "--select-epochs must be a whole number >= 1, got 0"),
    (["--select-seeds", "0"], "--select-seeds must be a whole number >= 1, got 0"),
    (["--select-finalists", "-1"], "--select-finalists must be a whole number >= 0, got -1"),
    (["--select-judge", "oracle"], "argument --select-judge: invalid choice: 'oracle'"),
    (["--select-jobs", "0"], "--select-jobs must be >= 1, got 0"),
    *([(["--train-device", "cuda"], "--train-device cuda: no CUDA GPU is usable here")]
      if not torch.cuda.is_available() else []),
])
def test_bad_input(tmp_path, args, message):
    proc = search(*BASE, "--epochs", "1", "--out", tmp_path / "r", *args)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("variant", [(), ("--weights", "independent", "--mode", "soft")])
def test_two_process_ddp_on_cpu(tmp_path, variant):
    out = tmp_path / "ddp"
    proc = search(*BASE, *variant, "--limit", "400", "--epochs", "2", "--out", out, prefix=(  # 80 theta images: a batch of 32 per rank
        "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
        f"--master_port={free_port()}"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "theta identical on 2 ranks" in proc.stderr
    assert proc.stdout.count("wrote ") == 1  # rank 0 only
    arch = read_arch(out / "arch.json")
    assert len(arch.blocks) == 3 and len(read_metrics(out / "metrics.csv")) == 2


def test_resume_needs_a_search_folder(tmp_path):
    proc = search("--resume", tmp_path)
    assert proc.returncode == 2
    assert f"{tmp_path}: no search.json, so no search to resume" in proc.stderr and "Traceback" not in proc.stderr


def test_resume_of_a_search_from_before_shared_weights_keeps_independent_weights(tmp_path):
    from search.run import _settings, build_parser

    out = tmp_path / "old"
    out.mkdir()
    config = {"epochs": 3, "batch_size": 32, "mode": "hard", "loss": "none", "seed": 0}  # no "weights": lutnas 0.2
    run = {"lut": str(LUT), "space": str(TINY), "data": "digits"}
    (out / "search.json").write_text(json.dumps({"config": config, "run": run}))
    cfg, _, where = _settings(build_parser().parse_args(["--resume", str(out)]))
    assert cfg.weights == "independent" and cfg.mode == "hard" and where == out
    config["weights"] = "shared"
    (out / "search.json").write_text(json.dumps({"config": config, "run": run}))
    assert _settings(build_parser().parse_args(["--resume", str(out)]))[0].weights == "shared"


def test_theta_paths_default_is_stored_and_an_older_search_resumes_with_every_candidate(tmp_path):
    from search.run import _settings, build_parser

    cfg = _settings(build_parser().parse_args(["--lut", str(LUT), "--space", str(TINY), "--out", str(tmp_path / "n")]))[0]
    assert (cfg.mode, cfg.theta_paths) == ("hybrid", 2)
    assert _settings(build_parser().parse_args(["--lut", str(LUT), "--space", str(TINY), "--mode", "soft",
                                                "--out", str(tmp_path / "s")]))[0].theta_paths == 0
    out = tmp_path / "old"
    out.mkdir()
    config = {"epochs": 3, "batch_size": 32, "mode": "hybrid", "weights": "shared", "loss": "none", "seed": 0}
    run = {"lut": str(LUT), "space": str(TINY), "data": "digits"}  # no "theta_paths": lutnas 0.4 before --theta-paths
    (out / "search.json").write_text(json.dumps({"config": config, "run": run}))
    assert _settings(build_parser().parse_args(["--resume", str(out)]))[0].theta_paths == 0


def test_restore_supernet_and_judge_a_path_with_its_weights(finished, tmp_path):
    from search.data import load_data
    from search.checkpoint import path_accuracy, restore_supernet

    out, _ = finished
    net, saved = restore_supernet(out)
    arch = read_arch(out / "arch.json")
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert torch.equal(net.theta.detach(), ckpt["net"]["theta"]) and not net.training
    assert net.mode == saved["config"]["mode"] == "hybrid" and net.weights == "shared"
    assert net.choices(net.probabilities().argmax(1)) == arch.search["selection"]["argmax"]
    splits = load_data("digits", seed=0, limit=300)
    before = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "batches" not in k}
    acc = path_accuracy(net, arch.blocks, splits.train_w, splits.test, net.space.input_size)
    assert 0 <= acc <= 100 and acc == path_accuracy(net, arch.blocks, splits.train_w, splits.test, 16)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in before.items())  # only statistics change
    with torch.no_grad():  # a head that always answers class 3 scores class 3's share of the test set
        net.head.fc.weight.zero_()
        net.head.fc.bias.copy_(torch.nn.functional.one_hot(torch.tensor(3), 10).float())
    share = 100 * float((splits.test.labels == 3).float().mean())
    assert path_accuracy(net, arch.blocks, splits.train_w, splits.test, 16) == pytest.approx(share)
    with pytest.raises(ValueError, match="search.json: cannot read"):
        restore_supernet(tmp_path)


def test_a_fine_tuned_judgement_trains_a_copy_and_leaves_the_supernet_as_it_was(finished):
    from search.data import load_data
    from search.checkpoint import finetune, path_accuracy, restore_supernet

    out, _ = finished
    net, _ = restore_supernet(out)
    arch = read_arch(out / "arch.json")
    splits = load_data("digits", seed=0, limit=300)
    weights = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "batches" not in k}
    plain = path_accuracy(net, arch.blocks, splits.train_w, splits.test, 16)
    tuned = path_accuracy(net, arch.blocks, splits.train_w, splits.test, 16, finetune_steps=20, finetune_lr=0.05)
    assert tuned == path_accuracy(net, arch.blocks, splits.train_w, splits.test, 16, finetune_steps=20,
                                  finetune_lr=0.05)  # seeded: the same judgement twice
    assert tuned != plain
    assert all(torch.equal(net.state_dict()[k], v) for k, v in weights.items())
    child = net.child(arch.blocks)
    start = {k: v.clone() for k, v in child.state_dict().items()}
    assert finetune(child, splits.train_w, 16, 0) == 0 and all(torch.equal(child.state_dict()[k], v)
                                                               for k, v in start.items())
    n = len(splits.train_w)
    assert finetune(child, splits.train_w, 16, steps=3 * (n // 32) + 1, batch_size=32) == 32 * (3 * (n // 32) + 1)
    assert not torch.equal(child.state_dict()["head.fc.weight"], start["head.fc.weight"])
    with pytest.raises(ValueError, match="steps >= 0 and lr > 0"):
        finetune(child, splits.train_w, 16, -1)


def test_select_1_judges_the_argmax_alone_and_says_so_in_the_singular(tmp_path):
    proc = search(*BASE, "--epochs", "1", "--select", "1", "--select-steps", "2", "--no-export", "--out",
                  tmp_path / "one")
    assert proc.returncode == 0, proc.stderr
    sel = read_arch(tmp_path / "one" / "arch.json").search["selection"]
    assert [j["blocks"] for j in sel["judged"]] == [sel["argmax"]]
    assert "select: 1 architecture of " in proc.stderr and "(the argmax)" in proc.stderr


def test_select_10_is_the_default_and_older_searches_resume_as_they_judged(tmp_path):
    from search.run import _settings, build_parser

    run = _settings(build_parser().parse_args(["--lut", str(LUT), "--space", str(TINY), "--out", str(tmp_path / "n")]))[1]
    assert (run["select"], run["select_steps"], run["select_images"]) == (10, 150, 5000)
    assert (run["select_judge"], run["select_epochs"], run["select_seeds"]) == ("supernet", 3, 1)
    assert run["select_finalists"] == 5
    out = tmp_path / "old"
    out.mkdir()
    config = {"epochs": 3, "batch_size": 32, "mode": "hybrid", "weights": "shared", "loss": "none", "seed": 0}
    old = {"lut": str(LUT), "space": str(TINY), "data": "digits"}  # no "select": lutnas 0.6 and before
    (out / "search.json").write_text(json.dumps({"config": config, "run": old}))
    assert _settings(build_parser().parse_args(["--resume", str(out)]))[1]["select"] == 0
    # lutnas 0.7 judged with 50 fine-tuning batches: its searches resume with them, not with 0.8's 150
    (out / "search.json").write_text(json.dumps({"config": config, "run": {**old, "select": 10, "select_steps": 50}}))
    assert itemgetter("select", "select_steps", "select_images")(
        _settings(build_parser().parse_args(["--resume", str(out)]))[1]) == (10, 50, 0)
    # lutnas 0.8 tested on the theta split alone: its searches resume so, not with 0.9's spare images
    (out / "search.json").write_text(json.dumps({"config": config, "run": {**old, "select": 10, "select_steps": 150}}))
    assert _settings(build_parser().parse_args(["--resume", str(out)]))[1]["select_images"] == 0
    # before lutnas 0.11 only the fine-tuned supernet judged: its searches resume with it
    assert itemgetter("select_judge", "select_epochs")(
        _settings(build_parser().parse_args(["--resume", str(out)]))[1]) == ("supernet", 3)
    # lutnas 0.11's scratch judge trained each candidate once: its searches resume so (no select_seeds)
    (out / "search.json").write_text(json.dumps({"config": config, "run": {**old, "select": 10, "select_steps": 150,
                                                                           "select_judge": "scratch"}}))
    assert itemgetter("select_judge", "select_seeds")(
        _settings(build_parser().parse_args(["--resume", str(out)]))[1]) == ("scratch", 1)
    # lutnas 0.12's scratch judge of several seeds trained every candidate from each (no select_finalists)
    (out / "search.json").write_text(json.dumps({"config": config, "run": {**old, "select": 10, "select_steps": 150,
                                                                           "select_judge": "scratch",
                                                                           "select_seeds": 3}}))
    resumed = _settings(build_parser().parse_args(["--resume", str(out)]))[1]
    assert itemgetter("select_seeds", "select_finalists")(resumed) == (3, 0)
    from search.select import JudgeSettings, judge_settings

    assert judge_settings(resumed, 64) == JudgeSettings("scratch", 150, 3, 64, 3, 0)
    assert judge_settings({**resumed, "select_finalists": 5}, 64).finalists == 5
    assert judge_settings({**resumed, "select_finalists": 10}, 64).finalists == 0  # all 10 of --select 10
    assert judge_settings({**resumed, "select_finalists": 5, "select_seeds": 1}, 64).finalists == 0  # one seed
    (out / "search.json").write_text(json.dumps({"config": config, "run": {**old, "select": 10, "select_judge": "x"}}))
    with pytest.raises(ValueError, match="--select-judge must be one of supernet, scratch, got 'x'"):
        _settings(build_parser().parse_args(["--resume", str(out)]))


def test_select_jobs_judges_in_workers_resumes_with_it_and_warns_where_unused(tmp_path):
    """--select-jobs 2 with the scratch judge: the search ends as with one job (same pick, same judgements) and is
    not recorded in search.json (it changes no result), so --resume accepts it; with the supernet judge it is said
    to be unused, once."""
    common = (*BASE, "--epochs", "1", "--loss", "target-abs", "--target-ms", "0.035", "--select", "3",
              "--select-judge", "scratch", "--select-epochs", "1", "--select-images", "100", "--no-export")
    one = search(*common, "--out", tmp_path / "one")
    two = search(*common, "--select-jobs", "2", "--out", tmp_path / "two")
    assert one.returncode == 0 and two.returncode == 0, two.stderr
    picked = [read_arch(tmp_path / name / "arch.json").search["selection"] for name in ("one", "two")]
    assert picked[1]["judged"] == picked[0]["judged"] and len(picked[1]["judged"]) == 3
    assert "select_jobs" not in json.loads((tmp_path / "two" / "search.json").read_text())["run"]
    resumed = search("--resume", tmp_path / "two", "--select-jobs", "2", "--quiet")
    assert resumed.returncode == 0 and "not allowed with --resume" not in resumed.stderr, resumed.stderr
    unused = search(*BASE, "--epochs", "1", "--select", "2", "--select-steps", "2", "--select-jobs", "2",
                    "--no-export", "--out", tmp_path / "sup")
    assert unused.returncode == 0, unused.stderr
    assert unused.stderr.count("warning: --select-jobs 2: --select-judge supernet on cpu judges one at a time, "
                               "so unused\n") == 1
