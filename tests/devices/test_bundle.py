"""The portable runner bundle: reproducible bytes, self-contained, same statistics as the profiler."""

import ast
import hashlib
import subprocess
import sys
import zipfile

from devices.runners import parse_output
from devices.runners.bundle import MEMBERS, build_portable_runner, bundle_bytes
from search.blocks import build_module, input_shape
from search.space import load_space_file
from tests.conftest import FIXTURES

ALLOWED_TOP = {"__future__", "argparse", "dataclasses", "gc", "json", "math", "os", "pathlib", "platform", "random",
               "statistics", "sys", "time", "typing", "numpy", "onnxruntime", "torch", "executorch", "profiler",
               "devices"}


def test_bundle_is_reproducible_and_named_by_its_hash(tmp_path):
    a = build_portable_runner(tmp_path)
    assert a.read_bytes() == bundle_bytes() and build_portable_runner(tmp_path) == a
    assert a.name == f"lutnas-runner-{hashlib.sha256(a.read_bytes()).hexdigest()[:12]}.pyz"
    assert sorted(zipfile.ZipFile(a).namelist()) == sorted(MEMBERS)


def test_bundled_code_imports_only_what_a_phone_has():
    """Only the stdlib, numpy, the runtimes (onnxruntime; executorch with torch) and the bundled profiler modules."""
    bundled = {name[:-3].replace("/", ".") for name in MEMBERS if name.startswith(("profiler/", "devices/"))}
    for name, path in MEMBERS.items():
        text = path.decode() if isinstance(path, bytes) else path.read_text()
        for node in ast.walk(ast.parse(text)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for mod in mods:
                assert mod.split(".")[0] in ALLOWED_TOP, f"{name} imports {mod}"
                if mod.startswith(("profiler.", "devices.")):
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


def test_bundle_times_in_network_with_copies_sized_by_this_cores_caches(tmp_path):
    """--network-bytes and a --footprint per model: the runner applies devices.conditions to its own caches."""
    from devices.host import cache_sizes
    from devices.runtimes import get_runtime
    from devices.conditions import copies_for, rotation_bytes

    space = load_space_file(FIXTURES / "spaces" / "tiny.toml")
    models = []
    for i, cand in enumerate(("k3_e1", "k5_e3")):
        key = space.layers[2].key(cand)
        models.append(tmp_path / f"m{i}.onnx")
        get_runtime("onnxruntime").export(build_module(key), input_shape(key), models[-1])
    runner = build_portable_runner(tmp_path)
    base = [sys.executable, str(runner), "--budget", "0.05", "--min-runs", "5", "--tolerance", "0.2"]
    network, footprints = 40 * 2**20, [2**20, 5 * 2**20]
    args = base + ["--network-bytes", str(network)]
    for m, f in zip(models, footprints):
        args += ["--model", str(m), "--footprint", str(f)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = parse_output("portable", proc.stdout)
    rotation = rotation_bytes(network, cache_sizes())
    assert [r.copies for r in results] == [copies_for(f, rotation) for f in footprints]
    assert {r.conditions for r in results} == {"in-network"}
    if cache_sizes() and cache_sizes()[-1] < network:  # this host's L3 is overflowed: several copies of each
        assert all(r.copies > 1 for r in results)
    warm = subprocess.run(base + ["--model", str(models[0])], capture_output=True, text=True, timeout=120)
    [r] = parse_output("portable", warm.stdout)
    assert (r.copies, r.conditions) == (1, "warm")
    bad = subprocess.run(base + ["--network-bytes", "100", "--model", str(models[0])], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr == "error: --footprint given 0 times for 1 --model\n"


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


def test_bundle_probes_the_runtime_version_and_machine(tmp_path):
    """--probe: what the phone's provenance records (the runtime's version, platform.machine()), one per line."""
    import platform

    import onnxruntime

    runner = build_portable_runner(tmp_path)
    proc = subprocess.run([sys.executable, str(runner), "--runtime", "onnxruntime", "--probe"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.splitlines() == [onnxruntime.__version__, platform.machine()]
    shadow = tmp_path / "site" / "onnxruntime"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError(\"No module named 'onnxruntime'\", name='onnxruntime')\n")
    proc = subprocess.run([sys.executable, str(runner), "--probe"], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site")})
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip() == "error: runtime onnxruntime is not installed on this device (onnxruntime)"
    proc = subprocess.run([sys.executable, str(runner)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--model is required (or --probe)" in proc.stderr
