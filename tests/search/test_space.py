import json

import pytest

from lut.schema import Key
from search.space import (FBNET_CANDIDATES, build_space, fbnet, fbnet_cifar, get_space, load_space_file,
                          round_channels)
from tests.conftest import FIXTURES

SPACES = FIXTURES / "spaces"


def layer_table(space):
    return [(l.cin, l.cout, l.stride, l.h) for l in space.layers]


def test_fbnet_matches_the_paper_macro():
    s = fbnet()
    assert len(s.layers) == 22
    assert all(l.candidates == FBNET_CANDIDATES for l in s.layers)
    assert len(s.candidates) == 9
    assert s.final_shape == (7, 7, 352)
    expected = [(16, 16, 1, 112)]
    cin, size = 16, 112
    for n, c, st in [(4, 24, 2), (4, 32, 2), (4, 64, 2), (4, 112, 1), (4, 184, 2), (1, 352, 1)]:
        for i in range(n):
            stride = st if i == 0 else 1
            expected.append((cin, c, stride, size))
            size //= stride
            cin = c
    assert layer_table(s) == expected
    fixed = s.fixed_keys()
    assert fixed["stem"] == Key("stem_k3", 3, 16, 2, 224, 224)
    assert fixed["head"] == Key("head_c1984", 352, 1000, 1, 7, 7)
    assert fixed["overhead"] == Key("overhead", 3, 3, 1, 224, 224)


def test_fbnet_cifar_macro():
    s = fbnet_cifar()
    assert len(s.layers) == 22
    assert s.stem_stride == 1
    assert [l.stride for l in s.layers if l.index in (0, 1, 5, 9, 13, 17, 21)] == [1, 1, 2, 2, 1, 2, 1]
    assert [s.layers[i].h for i in (0, 1, 5, 9, 13, 17, 21)] == [32, 32, 32, 16, 8, 8, 4]
    assert s.final_shape == (4, 4, 352)
    assert s.fixed_keys()["head"] == Key("head_c1504", 352, 10, 1, 4, 4)


@pytest.mark.parametrize("factory", [fbnet, fbnet_cifar])
def test_unique_keys_measure_identical_shapes_once(factory):
    s = factory()
    keys = s.keys()
    assert len(keys) == len(set(keys))
    # 7 stages: the first layer of each stage plus one repeat for the 5 stages of 4 layers.
    assert len(keys) == 3 + 12 * 9
    per_layer = {l.key(c) for l in s.layers for c in l.candidates}
    assert per_layer | set(s.fixed_keys().values()) == set(keys)


def test_layer_key_rejects_non_candidates():
    with pytest.raises(ValueError, match="not a candidate.*k3_e1"):
        fbnet().layers[0].key("k7_e6")


@pytest.mark.parametrize("mult", [0.25, 0.35, 0.5, 0.75, 1.0, 1.3])
def test_width_multiplier_rounds_to_divisible_channels(mult):
    s = fbnet(width_mult=mult)
    for l in s.layers:
        for c in (l.cin, l.cout):
            assert c % 8 == 0
            assert c % 2 == 0  # g2 candidates divide
    assert s.layers[-1].cout == round_channels(352 * mult)


def test_width_multiplier_honours_larger_groups():
    s = build_space("g6", input_size=32, stem_channels=16, stem_stride=1, stages=[(2, 20, 2)],
                    candidates=["k3_e1_g6", "skip"], head_channels=64, num_classes=10, width_mult=0.7)
    for l in s.layers:
        assert l.cin % 24 == 0 and l.cout % 24 == 0


def test_round_channels():
    assert round_channels(16 * 0.35) == 8
    assert round_channels(24 * 0.5) == 16  # 12 -> 16, never more than 10% down
    assert round_channels(100) == 104
    assert round_channels(35, 16) == 32  # nearest multiple, 8.6% down is allowed
    assert round_channels(20, 16) == 32  # 16 would be 20% down


@pytest.mark.parametrize("name", ["tiny.toml", "tiny.json"])
def test_user_space_file(name):
    s = load_space_file(SPACES / name)
    assert s.name == str(SPACES / name)
    assert layer_table(s) == [(8, 8, 1, 16), (8, 16, 2, 16), (16, 16, 1, 8)]
    assert s.candidates == ("k3_e1", "k3_e1_g2", "k5_e3", "skip")
    assert len(s.keys()) == 3 + 3 * 4
    assert s.fixed_keys()["head"] == Key("head_c32", 16, 10, 1, 8, 8)


def test_get_space_by_name_and_file():
    assert get_space("fbnet").name == "fbnet"
    assert get_space("fbnet", input_size=192).fixed_keys()["stem"].h == 192
    assert get_space(str(SPACES / "tiny.toml")).layers[0].h == 16


@pytest.mark.parametrize("spec, message", [
    ("fbnet-imagenet", "unknown space 'fbnet-imagenet'; built-in: fbnet, fbnet-cifar"),
    (str(SPACES / "missing.toml"), "no such space file"),
    (str(SPACES / "bad_candidate.toml"), "kernel 4 in 'k4' is not allowed"),
    (str(SPACES / "unknown_field.toml"), "unknown field.*depth_mult"),
    (str(SPACES / "broken.toml"), "not valid TOML"),
])
def test_bad_space_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        get_space(spec)


def test_bad_space_fields(tmp_path):
    base = json.loads((SPACES / "tiny.json").read_text())
    cases = [
        ({"stages": [[1, 0, 1]]}, "stage 0 channels must be a positive integer"),
        ({"stages": [[1, 8]]}, r"stage 0 must be \[n, channels, stride\]"),
        ({"candidates": ["stem_k3"]}, "cannot be a searchable candidate"),
        ({"candidates": ["skip", "skip"]}, "duplicate candidates"),
        ({"input_size": -1}, "input_size must be a positive integer"),
        ({"width_mult": 0}, r"width_mult must be a number in \(0, 16.0\], got 0"),
        ({"width_mult": "1"}, r"width_mult must be a number in \(0, 16.0\], got '1'"),
        ({"stem_kernel": 0}, "stem_kernel must be a positive integer, got 0"),
        ({"stem_kernel": -3}, "stem_kernel must be a positive integer, got -3"),
        ({"stem_kernel": 4}, "stem_kernel must be odd"),
        ({"head_channels": 10**6}, "head_channels is 1000000, more than the maximum 8192"),
        ({"num_classes": 10**9}, "num_classes is 1000000000, more than the maximum 100000"),
        ({"input_size": 100000}, "input_size is 100000, more than the maximum 1024"),
        ({"stages": [[1, 8.9, 1]]}, "stage 0 channels must be a positive integer, got 8.9"),
        ({"stages": [[1, "8", 1]]}, "stage 0 channels must be a positive integer, got '8'"),
        ({"stages": [[True, 8, 1]]}, "stage 0 n must be a positive integer, got True"),
        ({"stages": [[65, 8, 1]]}, "stage 0 n is 65, more than the maximum 64"),
        ({"stages": [[64, 8, 1]] * 5}, "more than the maximum 256 searchable layers"),
        ({"stem_channels": True}, "stem_channels must be a positive integer, got True"),
    ]
    for change, message in cases:
        f = tmp_path / "s.json"
        f.write_text(json.dumps({**base, **change}))
        with pytest.raises(ValueError, match=message):
            load_space_file(f)
    f = tmp_path / "s.json"
    f.write_text(json.dumps({k: v for k, v in base.items() if k != "num_classes"}))
    with pytest.raises(ValueError, match="missing field.*num_classes"):
        load_space_file(f)
