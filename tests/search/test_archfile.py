"""arch.json: round trips, hand-written files, and one clear line for every malformed file."""

import json

import pytest

from search.archfile import FORMAT, VERSION, Arch, arch_to_json, make_arch, read_arch, write_arch
from search.spacejson import space_from_json, space_to_json
from search.space import fbnet, fbnet_cifar, load_space_file
from tests.conftest import FIXTURES

ARCH = FIXTURES / "arch"
TINY = FIXTURES / "spaces" / "tiny.toml"


def tiny_arch(**extra) -> Arch:
    space = load_space_file(TINY)
    fields = dict(num_classes=10, predicted_ms=0.25,
                  lut={"path": "lut/cpu.csv", "hash": "sha256:" + "ab" * 32, "device": "cpu",
                       "runtime": "onnxruntime"},
                  probabilities=[[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]],
                  candidates=list(space.candidates),
                  top_k=[{"blocks": ["skip", "k3_e1", "k3_e1"], "probability": 0.028, "predicted_ms": 0.2}],
                  search={"loss": "fbnet", "alpha": 0.2, "beta": 0.6, "target_ms": None, "epochs": 3,
                          "seed": 0, "dataset": "digits"})
    fields.update(extra)
    return make_arch(space, ["skip", "k3_e1", "k3_e1"], **fields)


def test_write_read_round_trip(tmp_path):
    arch = tiny_arch()
    path = write_arch(arch, tmp_path / "sub" / "arch.json")
    back = read_arch(path)
    assert back == arch
    assert back.space.params == arch.space.params
    # a second write gives byte-identical text (stable key order and number formatting)
    text = path.read_text()
    write_arch(back, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text
    data = json.loads(text)
    assert list(data) == ["format", "version", "space", "blocks", "num_classes", "predicted_ms", "lut",
                          "probabilities", "candidates", "top_k", "search"]
    assert data["format"] == FORMAT and data["version"] == VERSION
    assert not list(tmp_path.glob("**/*.part"))  # no temp files left behind


def test_round_trip_accepts_tensor_probabilities(tmp_path):
    torch = pytest.importorskip("torch")
    probs = torch.softmax(torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    back = read_arch(write_arch(tiny_arch(probabilities=probs), tmp_path / "a.json"))
    for row, expected in zip(back.probabilities, probs.tolist()):
        assert row == pytest.approx(expected, abs=1e-7)


def test_optional_fields_may_be_empty(tmp_path):
    space = fbnet_cifar()
    arch = make_arch(space, ["k3_e1"] * 22)
    back = read_arch(write_arch(arch, tmp_path / "a.json"))
    assert back == arch
    assert back.num_classes is None and back.classes == 10
    assert back.probabilities is None and back.top_k == [] and back.search == {}


def test_hand_written_minimal_files_are_accepted():
    a = read_arch(ARCH / "minimal.json")
    assert a.space == fbnet_cifar()
    assert len(a.blocks) == 22 and a.blocks[3] == "k5_e6"
    assert a.predicted_ms is None and a.lut is None and a.classes == 10
    # a space file named relative to the arch.json's folder
    t = read_arch(ARCH / "tiny_minimal.json")
    assert t.space.layers == load_space_file(TINY).layers
    assert t.space.name == "../spaces/tiny.toml"
    assert t.blocks == ["k3_e1", "k5_e3", "skip"]


def test_full_fixture():
    a = read_arch(ARCH / "tiny_full.json")
    assert a.space.name == "tiny" and len(a.space.layers) == 3
    assert a.predicted_ms == 0.123 and a.lut["hash"].startswith("sha256:")
    assert a.probabilities[2] == [0.1, 0.1, 0.1, 0.7]
    assert [t["probability"] for t in a.top_k] == [0.168, 0.105]
    assert a.search["loss"] == "fbnet"


@pytest.mark.parametrize("name, message", [
    ("bad_json.json", "not valid JSON: Expecting ',' delimiter at line 4"),
    ("wrong_format.json", "not a lutnas arch file (format is 'lutnas-lut', expected 'lutnas-arch')"),
    ("newer_version.json", "version 2 was written by a newer lutnas"),
    ("wrong_block_count.json", "has 3 searchable layers, got 2 block names"),
    ("block_not_allowed.json", "layer 1: 'k5_e6' is not a candidate; candidates: k3_e1, k3_e1_g2, k5_e3, skip"),
    ("unknown_space.json", "unknown space 'mobilenet-v9'"),
    ("bad_probabilities.json", "probabilities must have one row per searchable layer (3), got 2"),
    ("builtin_params_differ.json", "param(s) head_channels differ from the built-in space"),
    ("unknown_key.json", "unknown key(s) predicted_latency"),
    ("not_an_object.json", "expected a JSON object, got a list"),
    ("does_not_exist.json", "no such file"),
])
def test_malformed_files_give_one_line(name, message):
    path = ARCH / name
    with pytest.raises(ValueError) as err:
        read_arch(path)
    text = str(err.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version="1"), "version must be a positive integer"),
    (lambda d: d.pop("blocks"), "missing key(s) blocks"),
    (lambda d: d.update(blocks="k3_e1"), "blocks must be a list of block names"),
    (lambda d: d.update(num_classes=0), "num_classes must be a positive integer"),
    (lambda d: d.update(predicted_ms=-1), "predicted_ms must be a finite number >= 0"),
    (lambda d: d["probabilities"][0].append(0.0), "row 0 must have one value per candidate (4), got 5"),
    (lambda d: d["probabilities"][1].__setitem__(0, 0.9), "probabilities row 1 sums to 1.2"),
    (lambda d: d.update(candidates=["skip", "k3_e1", "k3_e1_g2", "k5_e3"]), "are not the space's"),
    (lambda d: d["top_k"][0].update(blocks=["k3_e1"]), "top_k[0].blocks: space"),
    (lambda d: d["space"]["params"].update(stages="x"), "stages must be a list of [n, channels, stride], got 'x'"),
    (lambda d: d["space"].update(kind="x"), "space: unknown key(s) kind"),
])
def test_invalid_fields(tmp_path, change, message):
    data = arch_to_json(tiny_arch())
    change(data)
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError) as err:
        read_arch(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_nan_is_not_json(tmp_path):
    path = tmp_path / "arch.json"
    path.write_text(json.dumps(arch_to_json(tiny_arch())).replace('"predicted_ms": 0.25', '"predicted_ms": NaN'))
    with pytest.raises(ValueError, match="NaN is not a JSON number"):
        read_arch(path)


def test_write_refuses_an_invalid_arch(tmp_path):
    bad = tiny_arch()
    bad.blocks = ["k3_e1"]
    with pytest.raises(ValueError, match="refusing to write an invalid arch: blocks: space"):
        write_arch(bad, tmp_path / "arch.json")
    assert not (tmp_path / "arch.json").exists()
    with pytest.raises(ValueError, match="not the space's"):
        write_arch(tiny_arch(candidates=["a", "b", "c", "d"]), tmp_path / "arch.json")
    with pytest.raises(ValueError, match="blocks: layer 0: 'k7_e1' is not a candidate"):
        make_arch(load_space_file(TINY), ["k7_e1", "k5_e3", "skip"])


@pytest.mark.parametrize("space", [fbnet(), fbnet_cifar(width_mult=0.5), fbnet(input_size=128),
                                   load_space_file(TINY)], ids=["fbnet", "fbnet-cifar-0.5", "fbnet-128", "tiny"])
def test_space_json_round_trip(space):
    data = json.loads(json.dumps(space_to_json(space)))
    back = space_from_json(data)
    assert back == space
    assert back.params == space.params
    assert back.name == space.name
    assert [l.cout for l in back.layers] == [l.cout for l in space.layers]


def test_builtin_space_by_name_only_and_width():
    assert space_from_json({"name": "fbnet-cifar", "params": {"width_mult": 0.5}}) == fbnet_cifar(0.5)
    assert space_from_json({"name": "fbnet"}) == fbnet()
    with pytest.raises(ValueError, match="width_mult must be a number"):
        space_from_json({"name": "fbnet", "params": {"width_mult": "half"}})
