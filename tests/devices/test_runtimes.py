import numpy as np
import onnx
import pytest
import torch

from devices.cache import ArtifactCache, content_hash
from devices.runtimes import RUNTIMES, get_runtime
from devices.runtimes.onnxrt import OPSET
from lut.schema import Key
from search.blocks import build_module, input_shape

KEYS = [
    Key("k3_e1", 16, 16, 1, 8, 8), Key("k3_e1_g2", 16, 24, 2, 8, 8), Key("k5_e6", 16, 16, 1, 8, 8),
    Key("k5_e3", 24, 32, 2, 9, 9), Key("skip", 16, 16, 1, 8, 8), Key("skip", 16, 24, 2, 8, 8),
    Key("stem_k3", 3, 16, 2, 32, 32), Key("head_c64", 32, 10, 1, 4, 4), Key("overhead", 3, 3, 1, 32, 32),
]


def torch_output(module, session):
    with torch.no_grad():
        return module(torch.from_numpy(np.asarray(session.x))).numpy()


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_onnx_export_is_self_contained_checked_and_equal_to_torch(key, tmp_path):
    rt = get_runtime("onnxruntime")
    torch.manual_seed(0)
    module = build_module(key)
    path = tmp_path / "m.onnx"
    rt.export(module, input_shape(key), path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # no external .data file
    model = onnx.load(str(path))
    onnx.checker.check_model(model)
    assert model.opset_import[0].version == OPSET
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    s = rt.open(path, input_shape(key))
    np.testing.assert_allclose(s.output(), torch_output(module, s), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_torchscript_export_equal_to_torch(key, tmp_path):
    rt = get_runtime("torchscript")
    module = build_module(key)
    path = tmp_path / "m.pt"
    rt.export(module, input_shape(key), path)
    s = rt.open(path, input_shape(key))
    with torch.no_grad():
        expected = module(s.x).numpy()
    np.testing.assert_allclose(s.output(), expected, atol=1e-4, rtol=1e-4)


def test_provenance_records_level_threads_and_exporter():
    p = get_runtime("onnxruntime", threads=2, opt_level="basic").provenance()
    assert p["runtime"] == "onnxruntime" and p["opt_level"] == "basic" and p["threads"] == 2
    assert p["opset"] == OPSET and p["exporter"].startswith("torch.onnx-torchscript/")
    assert get_runtime("onnxruntime").provenance()["opt_level"] == "all"
    assert get_runtime("torchscript").provenance()["opt_level"] == "freeze"


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown runtime .tflite.; known: onnxruntime, torchscript, executorch"):
        get_runtime("tflite")
    with pytest.raises(ValueError, match="unknown ONNX Runtime optimization level 'max'; known: disable"):
        get_runtime("onnxruntime", opt_level="max")
    with pytest.raises(ValueError, match="threads must be >= 1"):
        get_runtime("onnxruntime", threads=0)
    assert set(RUNTIMES) >= {"onnxruntime", "torchscript", "executorch"}


def test_cache_exports_once_per_content(tmp_path):
    rt = get_runtime("onnxruntime")
    cache = ArtifactCache(tmp_path)
    key = KEYS[0]
    p1 = cache.get(lambda: build_module(key), input_shape(key), rt)
    mtime = p1.stat().st_mtime_ns
    p2 = cache.get(lambda: build_module(key), input_shape(key), rt)
    assert p1 == p2 and p2.stat().st_mtime_ns == mtime
    assert (cache.hits, cache.misses) == (1, 1)
    other = cache.get(lambda: build_module(KEYS[1]), input_shape(KEYS[1]), rt)
    assert other != p1 and cache.misses == 2
    assert not list(tmp_path.rglob("*.part"))


def test_content_hash_depends_on_structure_shape_and_exporter():
    a = content_hash(build_module(KEYS[0]), (1, 16, 8, 8), get_runtime("onnxruntime"))
    assert a == content_hash(build_module(KEYS[0]), (1, 16, 8, 8), get_runtime("onnxruntime"))
    assert a != content_hash(build_module(KEYS[0]), (1, 16, 9, 9), get_runtime("onnxruntime"))
    assert a != content_hash(build_module(KEYS[2]), (1, 16, 8, 8), get_runtime("onnxruntime"))
    assert a != content_hash(build_module(KEYS[0]), (1, 16, 8, 8), get_runtime("torchscript"))


@pytest.mark.parametrize("key", KEYS, ids=str)
def test_executorch_pte_runs_and_equals_torch(key, tmp_path):
    rt = get_runtime("executorch")
    module = build_module(key)
    path = tmp_path / "m.pte"
    rt.export(module, input_shape(key), path)
    assert path.read_bytes()[4:8] == b"ET12"  # the ExecuTorch flatbuffer identifier
    s = rt.open(path, input_shape(key))
    with torch.no_grad():
        expected = module(s.x).numpy()
    np.testing.assert_allclose(s.output(), expected, atol=1e-4, rtol=1e-4)
    s.close()


def test_executorch_levels_change_the_export_and_both_run(tmp_path):
    key = KEYS[2]
    module = build_module(key)
    sizes = {}
    for level in ("xnnpack", "portable"):
        rt = get_runtime("executorch", opt_level=level)
        path = tmp_path / f"{level}.pte"
        rt.export(module, input_shape(key), path)
        sizes[level] = path.read_bytes()
        s = rt.open(path, input_shape(key))
        with torch.no_grad():
            np.testing.assert_allclose(s.output(), module(s.x).numpy(), atol=1e-4, rtol=1e-4)
        assert level in rt.export_id()
    assert sizes["xnnpack"] != sizes["portable"]
    assert b"XnnpackBackend" in sizes["xnnpack"] and b"XnnpackBackend" not in sizes["portable"]


def test_executorch_thread_pool_follows_the_runtime(tmp_path):
    from devices.runtimes.executorch_rt import thread_count

    key = KEYS[0]
    path = tmp_path / "m.pte"
    get_runtime("executorch").export(build_module(key), input_shape(key), path)
    for threads in (2, 1):
        get_runtime("executorch", threads=threads).open(path, input_shape(key)).run()
        assert thread_count() == threads


def test_executorch_provenance_and_errors(monkeypatch):
    p = get_runtime("executorch", threads=3).provenance()
    assert p["runtime"] == "executorch" and p["opt_level"] == "xnnpack" and p["threads"] == 3
    assert p["runtime_version"] == "1.5.1" and p["exporter"].startswith("torch.export+executorch/")
    with pytest.raises(ValueError, match="unknown ExecuTorch optimization level 'all'; known: xnnpack, portable"):
        get_runtime("executorch", opt_level="all")
    monkeypatch.setitem(__import__("sys").modules, "executorch.runtime", None)  # as if not installed
    with pytest.raises(ValueError, match=r"ExecuTorch is not installed: pip install 'lutnas\[executorch\]'"):
        get_runtime("executorch")


def test_onnx_copies_rotate_per_run_and_share_one_input_and_output(tmp_path):
    from devices.runtimes.base import Rotation

    rt = get_runtime("onnxruntime")
    key = Key("k3_e1", 16, 16, 1, 8, 8)
    torch.manual_seed(0)
    module = build_module(key)
    path = tmp_path / "m.onnx"
    rt.export(module, input_shape(key), path)
    single = rt.open(path, input_shape(key))
    rot = rt.open_copies(path, input_shape(key), 3)
    assert isinstance(rot, Rotation) and len(rot.sessions) == 3
    assert len({id(s.sess) for s in rot.sessions}) == 3  # three loaded copies: their own weights
    assert all(s.x is rot.sessions[0].x and s.y is rot.sessions[0].y for s in rot.sessions)
    np.testing.assert_allclose(rot.output(), single.output(), atol=1e-6)  # the same model on the same input
    order = []
    for i, s in enumerate(rot.sessions):
        s.run = (lambda i=i: order.append(i))
    for _ in range(7):
        rot.run()
    assert order == [0, 1, 2, 0, 1, 2, 0]
    assert not isinstance(rt.open_copies(path, input_shape(key), 1), Rotation)
    with pytest.raises(ValueError, match="copies must be >= 1"):
        rt.open_copies(path, input_shape(key), 0)


def test_every_runtime_opens_copies(tmp_path):
    from devices.runtimes.base import Rotation

    key = Key("k3_e1", 16, 16, 1, 8, 8)
    rt = get_runtime("torchscript")
    path = tmp_path / f"m{rt.suffix}"
    rt.export(build_module(key), input_shape(key), path)
    rot = rt.open_copies(path, input_shape(key), 2)
    assert isinstance(rot, Rotation) and len(rot.sessions) == 2
    rot.run()
    assert rot.next == 1
    rot.close()


@pytest.mark.parametrize("runtime", ["onnxruntime", "torchscript", "executorch"])
def test_output_on_a_given_input_is_the_module_on_that_input(runtime, tmp_path):
    key = Key("k5_e3", 24, 32, 2, 9, 9)
    rt = get_runtime(runtime)
    torch.manual_seed(0)
    module = build_module(key).eval()
    path = tmp_path / f"m{rt.suffix}"
    rt.export(module, input_shape(key), path)
    s = rt.open(path, input_shape(key))
    x = np.random.default_rng(5).standard_normal(input_shape(key)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    assert not np.allclose(s.output(), expected, atol=1e-3)  # the bound input is another one ...
    np.testing.assert_allclose(s.output(x), expected, atol=1e-4, rtol=1e-4)  # ... until x is given
    np.testing.assert_allclose(s.output(), expected, atol=1e-4, rtol=1e-4)  # and x stays bound
    s.close()
