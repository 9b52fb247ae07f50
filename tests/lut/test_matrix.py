"""matrix(space): net latencies, prediction, and the error that says how to fill missing keys."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lut import LUT, Key, MissingKeysError, load
from lut.schema import LUTError

from .conftest import VALID, FakeLayer, FakeSpace, make_row


def test_net_latencies(space):
    m = load(VALID).matrix(space)
    assert m.space == "fake"
    assert m.candidates == ("k3_e1", "k3_e1_g2", "skip")
    assert m.layer_candidates == (m.candidates, m.candidates)
    assert m.latency_ms.shape == m.shape == (2, 3)
    # medians 0.30 0.28 0.04 / 0.40 0.35 0.12 minus overhead 0.05 (skip at layer 0 clamps to 0)
    np.testing.assert_allclose(m.latency_ms, [[0.25, 0.23, 0.0], [0.35, 0.30, 0.07]])
    assert m.overhead_ms == 0.05
    assert m.stem_ms == pytest.approx(0.20) and m.head_ms == pytest.approx(0.10)
    assert m.fixed_ms == pytest.approx(0.35)
    assert not m.latency_ms.flags.writeable


def test_predict_counts_overhead_once(space):
    m = load(VALID).matrix(space)
    assert m.predict(["k3_e1", "skip"]) == pytest.approx(0.35 + 0.25 + 0.07)
    assert m.predict(("skip", "k3_e1_g2")) == pytest.approx(0.35 + 0.0 + 0.30)
    with pytest.raises(ValueError, match="expected 2 choices"):
        m.predict(["k3_e1"])
    with pytest.raises(ValueError, match="layer 1: 'k5_e6' is not a candidate"):
        m.predict(["k3_e1", "k5_e6"])


def test_layers_with_different_candidates_are_padded_with_nan():
    table = load(VALID)
    space = FakeSpace(layers=(
        FakeLayer(16, 16, 1, 32, 32, ("skip", "k3_e1")),
        FakeLayer(16, 24, 2, 32, 32, ("k3_e1_g2", "skip", "k3_e1")),
    ))
    m = table.matrix(space)
    assert m.candidates == ("skip", "k3_e1", "k3_e1_g2")
    assert m.layer_candidates == (("skip", "k3_e1"), ("k3_e1_g2", "skip", "k3_e1"))
    assert math.isnan(m.latency_ms[0, 2])
    np.testing.assert_allclose(m.layer_ms(0), [0.0, 0.25])
    np.testing.assert_allclose(m.layer_ms(1), [0.30, 0.07, 0.35])
    assert m.predict(["k3_e1", "k3_e1_g2"]) == pytest.approx(0.35 + 0.25 + 0.30)
    with pytest.raises(ValueError, match="layer 0: 'k3_e1_g2' is not a candidate"):
        m.predict(["k3_e1_g2", "skip"])


def test_missing_keys_error_gives_the_profiler_command(space):
    table = load(VALID)
    bigger = FakeSpace(name="fbnet-cifar", layers=space.layers + (
        FakeLayer(24, 24, 1, 16, 16, ("k3_e1", "k3_e1_g2", "skip")),))
    with pytest.raises(MissingKeysError) as info:
        table.matrix(bigger)
    err = info.value
    assert isinstance(err, LUTError)
    assert err.missing == [Key("k3_e1", 24, 24, 1, 16, 16), Key("k3_e1_g2", 24, 24, 1, 16, 16),
                           Key("skip", 24, 24, 1, 16, 16)]
    command = (f"python -m profiler.run --device cpu --space fbnet-cifar --runtime onnxruntime --opt-level all "
               f"--threads 1 "
               f"--out {VALID} --resume")
    assert err.command == command
    message = str(err)
    assert "\n" not in message
    assert message.startswith(f"{VALID}: 3 key(s) of space fbnet-cifar are missing: k3_e1@24>24/s1@16x16")
    assert message.endswith(f"measure them with: {command}")


def test_missing_keys_of_an_empty_lut_use_defaults(space):
    with pytest.raises(MissingKeysError) as info:
        LUT.empty().matrix(space)
    err = info.value
    assert len(err.missing) == 9
    assert err.missing[:3] == list(space.fixed_keys().values())  # fixed ops first
    assert "and 4 more" in str(err)
    assert err.command == ("python -m profiler.run --device cpu --space fake --runtime onnxruntime --threads 1 "
                           "--out lut/cpu.csv --resume")


def test_missing_keys_command_follows_provenance(space):
    rows = [make_row("overhead", 3, 3, 1, 32, 32, 0.05, device="pixel", runtime="executorch", threads=4,
                     opt_level="xnnpack")]
    with pytest.raises(MissingKeysError) as info:
        LUT.from_rows(rows).matrix(replace(space, name="my space.toml"))
    assert info.value.command == ("python -m profiler.run --device pixel --space 'my space.toml' --runtime "
                                  "executorch --opt-level xnnpack --threads 4 --out lut/pixel.csv --resume")


def test_space_without_fixed_keys_is_refused():
    class Bad(FakeSpace):
        def fixed_keys(self):
            return {"stem": Key("stem_k3", 3, 16, 1, 32, 32)}

    with pytest.raises(ValueError, match="lacks overhead, head"):
        load(VALID).matrix(Bad())


def test_missing_keys_command_keeps_resolution_and_width():
    from search.space import get_space

    table = load(VALID)
    for space, extra in [(get_space("fbnet-cifar", input_size=16), " --resolution 16"),
                         (get_space("fbnet", width_mult=0.5), " --width-mult 0.5"),
                         (get_space("fbnet-cifar"), "")]:
        with pytest.raises(MissingKeysError) as info:
            table.matrix(space)
        assert f"--space {space.name}{extra} --runtime onnxruntime" in info.value.command


def test_an_overhead_dearer_than_most_blocks_is_refused(space, tmp_path):
    text = VALID.read_text().splitlines(keepends=True)
    header = text[0].strip().split(",")
    rows = []
    for line in text[1:]:
        cells = line.rstrip("\n").split(",")
        if cells[header.index("block")] == "overhead":
            for col in ("median_ms", "p10_ms", "p90_ms"):
                cells[header.index(col)] = "0.500000"  # dearer than every block of the fake space
        rows.append(",".join(cells) + "\n")
    bad = tmp_path / "overhead.csv"
    bad.write_text(text[0] + "".join(rows))
    with pytest.raises(ValueError, match=r"overhead.csv: its overhead row \(0.5 ms\) is at least the latency of 4 "
                                         r"of the 4 blocks of space fake, which would then cost nothing"):
        load(bad).matrix(space)


def test_the_profiler_command_for_an_imported_lut_names_no_unknown_device():
    from luttools.formats import Options, get_format
    from lut.matrix import profiler_command

    from .conftest import LUT_FIXTURES

    path = LUT_FIXTURES / "formats" / "hwnas.json"
    imported = get_format("hwnas-bench").read(path.read_bytes(), Options(source="h.csv", suffix=".json")).lut
    command = profiler_command(imported, "fbnet-cifar")
    assert command == ("python -m profiler.run --device DEVICE --space fbnet-cifar --runtime onnxruntime --threads 1 "
                       "--out h.csv --resume")
