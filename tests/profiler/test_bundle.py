"""The portable runner bundle: reproducible bytes, self-contained, same statistics as the profiler."""

import ast
import hashlib
import subprocess
import sys
import zipfile

from devices.runners import parse_output
from profiler.bundle import MEMBERS, build_portable_runner, bundle_bytes
from search.blocks import build_module, input_shape
from search.space import load_space_file
from tests.conftest import FIXTURES

ALLOWED_TOP = {"__future__", "argparse", "dataclasses", "gc", "json", "math", "random", "sys", "time", "typing",
               "numpy", "onnxruntime", "torch", "executorch", "profiler"}


def test_bundle_is_reproducible_and_named_by_its_hash(tmp_path):
    a = build_portable_runner(tmp_path)
    assert a.read_bytes() == bundle_bytes() and build_portable_runner(tmp_path) == a
    assert a.name == f"lutnas-runner-{hashlib.sha256(a.read_bytes()).hexdigest()[:12]}.pyz"
    assert sorted(zipfile.ZipFile(a).namelist()) == sorted(MEMBERS)


def test_bundled_code_imports_only_what_a_phone_has():
    """Only the stdlib, numpy, the runtimes (onnxruntime; executorch with torch) and the bundled profiler modules."""
    bundled = {name[:-3].replace("/", ".") for name in MEMBERS if name.startswith("profiler/")}
    for name, path in MEMBERS.items():
        for node in ast.walk(ast.parse(path.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for mod in mods:
                assert mod.split(".")[0] in ALLOWED_TOP, f"{name} imports {mod}"
                if mod.startswith("profiler."):
                    assert mod in bundled, f"{name} imports {mod}, which is not in the bundle"


def test_bundle_measures_a_model(tmp_path):
    from devices.runtimes import get_runtime

    space = load_space_file(FIXTURES / "spaces" / "tiny.toml")
    key = space.layers[2].key("k3_e1")
    model = tmp_path / "m.onnx"
    get_runtime("onnxruntime").export(build_module(key), input_shape(key), model)
    runner = build_portable_runner(tmp_path)
    proc = subprocess.run([sys.executable, str(runner), "--model", str(model), "--budget", "0.05", "--min-runs", "5",
                           "--tolerance", "0.2"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [r] = parse_output("portable", proc.stdout)
    assert r.model == str(model) and r.n >= 5 and r.p10_ms <= r.median_ms <= r.p90_ms
    bad = subprocess.run([sys.executable, str(runner), "--model", str(tmp_path / "missing.onnx")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "missing.onnx: cannot load the model" in bad.stderr


def test_bundle_measures_an_executorch_program(tmp_path):
    from devices.runtimes import get_runtime

    space = load_space_file(FIXTURES / "spaces" / "tiny.toml")
    key = space.layers[2].key("k3_e1")
    model = tmp_path / "m.pte"
    get_runtime("executorch").export(build_module(key), input_shape(key), model)
    runner = build_portable_runner(tmp_path)
    args = [sys.executable, str(runner), "--runtime", "executorch", "--threads", "2", "--budget", "0.05",
            "--min-runs", "5", "--tolerance", "0.2"]
    proc = subprocess.run([*args, "--opt-level", "xnnpack", "--model", str(model)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    [r] = parse_output("portable", proc.stdout)
    assert r.model == str(model) and r.n >= 5 and r.runtime_version == "1.5.1"
    assert '"runtime": "executorch"' in proc.stdout
    bad = subprocess.run([*args, "--model", str(model)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "optimization level 'all' is an ONNX Runtime level; a .pte has xnnpack or portable" in bad.stderr


def test_bundle_says_when_the_device_lacks_the_runtime(tmp_path):
    shadow = tmp_path / "site" / "executorch"  # an executorch that cannot be imported, as on a phone without it
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'executorch'\", name='executorch')\n")
    runner = build_portable_runner(tmp_path)
    proc = subprocess.run([sys.executable, str(runner), "--runtime", "executorch", "--opt-level", "xnnpack",
                           "--model", str(tmp_path / "m.pte")], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site")})
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: runtime executorch is not installed on this device (executorch)"
