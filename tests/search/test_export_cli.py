"""python -m search.export: the files it writes run and match the torch network; bad input is one line."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from search.archfile import read_arch
from search.export import export_arch, summarize_blocks
from search.childnet import ChildNet
from tests.conftest import FIXTURES, ROOT

ARCH = FIXTURES / "arch"
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
TINY_ARCH = ARCH / "tiny_full.json"


def export(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "search.export", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def trained_like(arch, seed=1):
    """A ChildNet with non-trivial weights and BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    net = ChildNet(arch.space, arch.blocks, arch.classes)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1, generator=g)
                m.running_var.uniform_(0.5, 1.5, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(0, 0.1, generator=g)
    return net.eval()


def sample_input(arch):
    s = arch.space.input_size
    return torch.randn(2, 3, s, s, generator=torch.Generator().manual_seed(7))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    arch = read_arch(TINY_ARCH)
    net = trained_like(arch)
    path = tmp_path_factory.mktemp("w") / "weights.pt"
    torch.save(net.state_dict(), path)
    return path, net, arch


def run_onnx(path, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x[i:i + 1].numpy()})[0] for i in range(len(x))])


def test_onnx_matches_torch(tmp_path, weights):
    wpath, net, arch = weights
    out = tmp_path / "model.onnx"
    r = export("--arch", TINY_ARCH, "--out", out, "--weights", wpath)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and out.stat().st_size > 1000
    assert f"wrote {out} (onnx," in r.stdout
    assert "blocks: k3_e1_g2, k5_e3, skip" in r.stdout
    params = sum(p.numel() for p in net.parameters())
    assert f"parameters: {params:,}" in r.stdout
    x = sample_input(arch)
    with torch.no_grad():
        expected = net(x).numpy()
    got = run_onnx(out, x)
    assert got.shape == (2, 10)
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)
    assert not list(tmp_path.glob(".*.part"))


def test_torchscript_matches_torch(tmp_path, weights):
    wpath, net, arch = weights
    out = tmp_path / "model.pt"
    r = export("--arch", TINY_ARCH, "--out", out, "--weights", wpath, "--format", "torchscript")
    assert r.returncode == 0, r.stderr
    assert "(torchscript," in r.stdout
    loaded = torch.jit.load(str(out))
    x = sample_input(arch)
    with torch.no_grad():
        np.testing.assert_allclose(loaded(x).numpy(), net(x).numpy(), atol=1e-4, rtol=0)


def test_executorch_pte_from_the_suffix_matches_torch(tmp_path, weights):
    from executorch.runtime import Runtime

    wpath, net, arch = weights
    out = tmp_path / "model.pte"
    r = export("--arch", TINY_ARCH, "--out", out, "--weights", wpath)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out} (executorch," in r.stdout
    method = Runtime.get().load_program(out).load_method("forward")
    x = sample_input(arch)
    with torch.no_grad():
        for i in range(len(x)):  # exported at batch 1
            np.testing.assert_allclose(method.execute([x[i:i + 1]])[0].numpy(), net(x[i:i + 1]).numpy(), atol=1e-4)


def test_format_from_suffix_and_seeded_init(tmp_path):
    """Without --weights the network is the seeded fresh one (same as ChildNet after manual_seed)."""
    arch = read_arch(ARCH / "tiny_minimal.json")
    r = export("--arch", ARCH / "tiny_minimal.json", "--out", tmp_path / "m.pt")
    assert r.returncode == 0, r.stderr
    assert "(torchscript," in r.stdout and "fresh initialization" in r.stdout
    torch.manual_seed(0)
    net = ChildNet(arch.space, arch.blocks, arch.classes).eval()
    x = sample_input(arch)
    with torch.no_grad():
        np.testing.assert_allclose(torch.jit.load(str(tmp_path / "m.pt"))(x).numpy(), net(x).numpy(), atol=1e-5)


def test_hand_written_fbnet_cifar_exports(tmp_path):
    out = tmp_path / "deep" / "er" / "fbnet.onnx"
    r = export("--arch", ARCH / "minimal.json", "--out", out, "--num-classes", "7")
    assert r.returncode == 0, r.stderr
    assert "fbnet-cifar (22 searchable layers, input 1x3x32x32, 7 classes)" in r.stdout
    x = torch.randn(1, 3, 32, 32)
    assert run_onnx(out, x).shape == (1, 7)


def test_export_arch_api(tmp_path, weights):
    wpath, net, arch = weights
    path = export_arch(arch, tmp_path / "api.onnx", "onnx", weights=wpath)
    x = sample_input(arch)
    with torch.no_grad():
        np.testing.assert_allclose(run_onnx(path, x), net(x).numpy(), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="unknown format 'tflite'; known: onnx, torchscript"):
        export_arch(arch, tmp_path / "x.tflite", "tflite")


def test_summarize_blocks():
    assert summarize_blocks(["k3_e1", "k3_e1", "skip", "k5_e6", "k5_e6", "k5_e6"]) == "k3_e1 x2, skip, k5_e6 x3"


@pytest.mark.parametrize("args, message", [
    (["--arch", "{tmp}/missing.json", "--out", "{tmp}/m.onnx"], "missing.json: no such file"),
    (["--arch", str(ARCH / "block_not_allowed.json"), "--out", "{tmp}/m.onnx"], "'k5_e6' is not a candidate"),
    (["--arch", str(ARCH / "bad_json.json"), "--out", "{tmp}/m.onnx"], "not valid JSON"),
    (["--arch", str(ARCH / "newer_version.json"), "--out", "{tmp}/m.onnx"], "written by a newer lutnas"),
    (["--arch", str(TINY_ARCH), "--out", "{tmp}/m.onnx", "--format", "tflite"],
     "unknown format 'tflite'; known: onnx, torchscript"),
    (["--arch", str(TINY_ARCH), "--out", "{tmp}/afile/m.onnx"], "afile is a file, not a folder"),
    (["--arch", str(TINY_ARCH), "--out", "{tmp}"], "is a directory"),
    (["--arch", str(TINY_ARCH), "--out", "{tmp}/m.onnx", "--weights", "{tmp}/afile"], "not a torch.save file"),
    (["--arch", str(TINY_ARCH), "--out", "{tmp}/m.onnx", "--weights", "{weights}", "--num-classes", "5"],
     "the weights do not fit this architecture (5 classes)"),
    (["--out", "{tmp}/m.onnx"], "the following arguments are required: --arch"),
    (["--arch", str(TINY_ARCH), "--out", "{tmp}/m.onnx", "--num-classes", "many"], "invalid int value: 'many'"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, weights, args, message):
    (tmp_path / "afile").write_text("not a folder\n")
    args = [a.format(tmp=tmp_path, weights=weights[0]) for a in args]
    r = export(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ")
    assert message in lines[0]
    assert not (tmp_path / "m.onnx").exists()


def test_help_explains_every_option():
    r = export("--help")
    assert r.returncode == 0
    for opt in ("--arch", "--out", "--format", "onnx", "torchscript", "--num-classes", "--weights", "--seed"):
        assert opt in r.stdout
