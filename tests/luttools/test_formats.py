"""Converters: the formats registry, import and export of each format, round trips, and bad files."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lut import LUT, Key, load
from lutnas import __version__
from luttools.formats import Options, get_format, names, register
from luttools.formats.common import MIN_MS
from lut.schema import IMPORTED_PREFIX, LUTError
from search.space import get_space

from tests.lut.conftest import LUT_FIXTURES, VALID, make_row

FORMATS = LUT_FIXTURES / "formats"
TABLE = FORMATS / "lookup_table.txt"
MEASURED = LUT_FIXTURES / "fbnet-cifar-cpu.csv"


def read(fmt: str, data: bytes, suffix: str = "", **options):
    return get_format(fmt).read(data, Options(source="IN", suffix=suffix, **options))


def write(fmt: str, table: LUT, suffix: str = "", **options):
    return get_format(fmt).write(table, Options(source="OUT", suffix=suffix, **options))


def table_values(data: bytes) -> tuple[list[str], np.ndarray]:
    lines = data.decode().splitlines()
    return lines[0].split(), np.array([[float(v) for v in line.split()] for line in lines[1:]])


# ---- registry ---------------------------------------------------------------------------------
def test_registry_names_and_unknown_format():
    assert names() == ["lutnas", "fbnet-lookup-table", "hwnas-bench", "ofa-yaml", "proxylessnas-yaml"]
    with pytest.raises(ValueError, match="unknown format 'tflite'; known formats: lutnas, fbnet-lookup-table, "
                                         "hwnas-bench, ofa-yaml, proxylessnas-yaml"):
        get_format("tflite")
    with pytest.raises(ValueError, match="already registered"):
        register(get_format("lutnas"))


def test_native_format_round_trips_bytes():
    imported = read("lutnas", MEASURED.read_bytes())
    assert write("lutnas", imported.lut).data == MEASURED.read_bytes()
    assert imported.notes == imported.left_out == []


# ---- fbnet-lookup-table -----------------------------------------------------------------------
def test_lookup_table_imports_into_a_full_fbnet_matrix():
    imported = read("fbnet-lookup-table", TABLE.read_bytes())
    table, space = imported.lut, get_space("fbnet")
    per_layer = {k for k in table.keys() if k.layer != -1}
    assert {k.any_layer() for k in table.keys()} == set(space.keys()) and len(table) - len(per_layer) == 111
    assert len(per_layer) == 135 and all(k.at_layer(-1) in table for k in per_layer)
    matrix = table.matrix(space)  # what search.run does with --space fbnet
    assert matrix.shape == (22, 9)
    ops, micro = table_values(TABLE.read_bytes())
    assert ops == ["ir_k3_e1", "ir_k3_s2", "ir_k3_e3", "ir_k3_e6", "ir_k5_e1", "ir_k5_s2", "ir_k5_e3", "ir_k5_e6",
                   "skip"]
    # every layer's value arrives as the table has it (µs -> ms, six decimals), also at slots several layers
    # share (their per-layer rows); stored plus the overhead (0.000001 ms by default), so the net latencies
    # are the table's values
    np.testing.assert_allclose(matrix.latency_ms, micro / 1000, atol=1.5e-6)
    assert matrix.overhead_ms == MIN_MS and matrix.stem_ms == 0 and matrix.head_ms == 0
    assert matrix.predict(["k3_e1"] * 22) == pytest.approx(sum(matrix.latency_ms[:, 0]) + MIN_MS)


def test_lookup_table_predicts_the_tables_own_sum():
    """lut predict on the imported table equals the source tool's own sum (its 22 values of the architecture, plus
    the overhead counted once), for random architectures."""
    _, micro = table_values(TABLE.read_bytes())
    space = get_space("fbnet")
    matrix = read("fbnet-lookup-table", TABLE.read_bytes()).lut.matrix(space)
    rng = np.random.default_rng(0)
    for _ in range(5):
        cols = rng.integers(0, 9, size=22)
        blocks = [space.layers[i].candidates[c] for i, c in enumerate(cols)]
        own = sum(micro[i, c] for i, c in enumerate(cols)) / 1000
        assert matrix.predict(blocks) == pytest.approx(own + MIN_MS, abs=22 * 1e-6)


def test_lookup_table_combines_layers_at_the_same_slot():
    table = read("fbnet-lookup-table", TABLE.read_bytes()).lut
    _, micro = table_values(TABLE.read_bytes())
    space = get_space("fbnet")
    assert space.layers[2].key("k3_e3") == space.layers[3].key("k3_e3") == space.layers[4].key("k3_e3")
    row = table.row(space.layers[2].key("k3_e3"))
    values = micro[2:5, 2] / 1000
    assert row["n"] == 3
    assert row["median_ms"] == pytest.approx(np.median(values) + MIN_MS, abs=1e-6)
    assert (row["p10_ms"], row["p90_ms"]) == pytest.approx((values.min() + MIN_MS, values.max() + MIN_MS), abs=1e-6)
    assert row["std_ms"] == pytest.approx(values.std(), abs=1e-6)
    single = table.row(space.layers[0].key("k3_e1"))
    assert single["n"] == 1 and single["p10_ms"] == single["median_ms"] == single["p90_ms"]
    for layer in (2, 3, 4):  # each layer of the shared slot keeps its own value in its own row
        own = table.row(space.layers[layer].key("k3_e3").at_layer(layer))
        assert own["n"] == 1 and own["median_ms"] == pytest.approx(micro[layer, 2] / 1000 + MIN_MS, abs=1e-6)
    assert space.layers[0].key("k3_e1").at_layer(0) not in table  # a slot of one layer needs no per-layer row


def test_imported_rows_say_they_have_no_provenance():
    imported = read("fbnet-lookup-table", TABLE.read_bytes())
    prov = imported.lut.provenance()
    assert prov["device_model"] == [f"{IMPORTED_PREFIX}lookup_table.txt)"]
    assert prov["measured_at"] == ["unknown"] and prov["runtime"] == ["unknown"] and prov["device"] == ["unknown"]
    assert prov["toolkit"] == [f"unknown (imported by lutnas {__version__})"]
    assert set(imported.lut.frame["stable"]) == {0}
    assert imported.notes[0].startswith("10 of 22 layers sit at the same slot as an earlier layer")
    assert imported.notes[1] == (
        "45 slot(s) shared by several layers have different values at different layers: 135 per-layer row(s) "
        "(column layer) keep each layer's own value, which lut predict and the search use there; the slot's row "
        "holds their median for layer-unaware uses, up to 27% off a layer's value (e.g. layer 2 ir_k3_e6: "
        "5813.846 us, median 7381.383 us)")
    assert imported.notes[2].startswith("lookup_table.txt has no overhead, stem, head: written as 0.000001 ms")
    assert imported.left_out == []  # nothing of the table is lost


def test_lookup_table_fixed_ops_and_provenance_can_be_given():
    imported = read("fbnet-lookup-table", TABLE.read_bytes(), fixed_ms={"stem": 0.5, "head": 0.25},
                     provenance={"device_model": "Samsung S8", "threads": "4"})
    matrix = imported.lut.matrix(get_space("fbnet"))
    assert (matrix.stem_ms, matrix.head_ms) == pytest.approx((0.5, 0.25), abs=1e-9)
    assert "has no overhead: written as" in imported.notes[2]
    assert imported.lut.provenance()["device_model"] == ["Samsung S8"]
    assert imported.lut.provenance()["threads"] == ["4"]
    with pytest.raises(ValueError, match="--fixed-ms: unknown op\\(s\\) tail; known: overhead, stem, head"):
        read("fbnet-lookup-table", TABLE.read_bytes(), fixed_ms={"tail": 1.0})
    with pytest.raises(ValueError, match="unknown provenance column\\(s\\) gpu"):
        read("fbnet-lookup-table", TABLE.read_bytes(), provenance={"gpu": "x"})
    with pytest.raises(LUTError, match="column threads: 'four' is not an integer"):
        read("fbnet-lookup-table", TABLE.read_bytes(), provenance={"threads": "four"})


def test_lookup_table_overhead_is_counted_once_per_network():
    """The table's values have no per-inference overhead; --fixed-ms overhead=X is added to each stored value and
    counted once by predict, so a prediction is the table's own sum plus X (not minus 22 X)."""
    _, micro = table_values(TABLE.read_bytes())
    space = get_space("fbnet")
    fixed = {"overhead": 0.05, "stem": 0.5, "head": 0.25}
    imported = read("fbnet-lookup-table", TABLE.read_bytes(), fixed_ms=fixed)
    matrix = imported.lut.matrix(space)
    layer = [space.layers[i].key("k5_e6") for i in range(2)]
    assert [imported.lut.latency(k) for k in layer] == pytest.approx(list(micro[:2, 7] / 1000 + 0.05), abs=1e-6)
    blocks = ["k5_e6"] * 2 + ["skip"] * 20
    expected = micro[0, 7] / 1000 + micro[1, 7] / 1000 + 0.5 + 0.25 + 0.05 + sum(
        matrix.latency_ms[i, 8] for i in range(2, 22))
    assert matrix.predict(blocks) == pytest.approx(expected, abs=1e-5)
    back = write("fbnet-lookup-table", imported.lut)  # the overhead is subtracted again
    _, again = table_values(back.data)
    np.testing.assert_allclose(again[:2], np.round(micro[:2], 3), atol=1.5e-3)


def test_lookup_table_round_trip():
    first = read("fbnet-lookup-table", TABLE.read_bytes()).lut
    exported = write("fbnet-lookup-table", first)
    ops, micro = table_values(exported.data)
    assert ops == table_values(TABLE.read_bytes())[0] and micro.shape == (22, 9)
    assert exported.left_out == ["3 row(s) cannot be expressed in lookup_table.txt and were left out (not a candidate "
                              "at a layer of space fbnet): head_c1984@352>1000/s1@7x7, overhead@3>3/s1@224x224, "
                              "stem_k3@3>16/s2@224x224"]
    second = read("fbnet-lookup-table", exported.data).lut
    assert all(second.latency(k) == first.latency(k) for k in first.keys()) and second.keys() == first.keys()
    assert write("fbnet-lookup-table", second).data == exported.data  # byte-identical from here on
    # every layer keeps its value to the LUT's precision (µs with three decimals), shared slots included
    np.testing.assert_allclose(micro, np.round(table_values(TABLE.read_bytes())[1], 3), atol=1e-9)


def test_lookup_table_for_another_space():
    table = read("fbnet-lookup-table", TABLE.read_bytes(), space="fbnet-cifar").lut
    space = get_space("fbnet-cifar")
    assert {k.any_layer() for k in table.keys()} == set(space.keys())
    _, micro = table_values(TABLE.read_bytes())
    np.testing.assert_allclose(table.matrix(space).latency_ms, micro / 1000, atol=1.5e-6)


def test_lookup_table_with_an_op_outside_the_space_and_a_missing_candidate():
    lines = TABLE.read_text().splitlines()
    misspelt = [lines[0].replace("skip", "ir_k3_s4")] + lines[1:]  # skip's column under another op's name
    with pytest.raises(ValueError, match=r"IN: line 1: op\(s\) ir_k3_s4 are not candidates of space fbnet, and its "
                                         r"candidate\(s\) skip have no column: a misspelt op name\? \(skip expected\)"):
        read("fbnet-lookup-table", "\n".join(misspelt).encode())
    extra = [lines[0] + " ir_k3_s4"] + [line + " 1.5" for line in lines[1:]]  # an op the space does not have
    imported = read("fbnet-lookup-table", "\n".join(extra).encode())
    assert imported.left_out[0] == ("1 op column(s) cannot be expressed in space fbnet and were left out (not a "
                                    "candidate of its layers): ir_k3_s4 (k3_e1_g4)")
    fewer = [" ".join(line.split()[:-1]) for line in lines]  # no skip column at all
    imported = read("fbnet-lookup-table", "\n".join(fewer).encode())
    assert imported.notes[0] == "space fbnet's candidate(s) skip have no column in IN; the LUT lacks them"
    assert not any(k.block == "skip" for k in imported.lut.keys())


def test_lookup_table_export_needs_every_layer_key():
    with pytest.raises(LUTError, match=r"108 key\(s\) of space fbnet's layers are missing: k3_e1@16>16/s1@112x112"):
        write("fbnet-lookup-table", load(MEASURED))
    fbnet_cifar = write("fbnet-lookup-table", load(MEASURED), space="fbnet-cifar")
    assert len(fbnet_cifar.data.decode().splitlines()) == 23


def _bad_table(edit) -> bytes:
    lines = TABLE.read_text().splitlines()
    return "\n".join(edit(lines)).encode()


@pytest.mark.parametrize("edit, message", [
    (lambda ls: ls[:-1], "IN: 21 layer line(s) after the header; space fbnet has 22 searchable layers"),
    (lambda ls: ls + [ls[-1]], "IN: 23 layer line(s)"),
    (lambda ls: [ls[0]] + [ls[1].rsplit(" ", 1)[0]] + ls[2:], "IN: line 2: 8 values; the header names 9 ops"),
    (lambda ls: [ls[0]] + [ls[1].replace(ls[1].split()[0], "fast")] + ls[2:],
     "IN: line 2, op ir_k3_e1: 'fast' is not a number"),
    (lambda ls: ls[:3] + ["0 " + ls[3].split(" ", 1)[1]] + ls[4:], "IN: line 4, op ir_k3_e1: 0.0 is not a latency"),
    (lambda ls: ls[:3] + ["nan " + ls[3].split(" ", 1)[1]] + ls[4:], "IN: line 4, op ir_k3_e1: nan is not a latency"),
    (lambda ls: ls[:3] + ["0.0001 " + ls[3].split(" ", 1)[1]] + ls[4:], "rounds to 0 at the LUT's six decimals"),
    (lambda ls: [ls[0].replace("ir_k3_e6", "conv3x3")] + ls[1:], "IN: line 1: 'conv3x3' is not an op name"),
    (lambda ls: [ls[0].replace("ir_k3_e6", "ir_k3_e3")] + ls[1:], "IN: line 1: op 'ir_k3_e3' (k3_e3) appears twice"),
    (lambda ls: [ls[0].replace("ir_k3_e6", "ir_k4_e6")] + ls[1:], "'ir_k4_e6' is not an op name"),
    (lambda ls: [], "IN: empty file"),
])
def test_bad_lookup_tables(edit, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read("fbnet-lookup-table", _bad_table(edit))


def test_not_utf8():
    with pytest.raises(ValueError, match=r"IN: not UTF-8 text \(byte 0xff at offset 3\)"):
        read("fbnet-lookup-table", b"ir_\xff")


# ---- hwnas-bench ------------------------------------------------------------------------------
HWNAS_KEYS = {
    Key("k3_e1", 16, 16, 1, 32, 32): 0.029127,
    Key("k3_e1_g2", 16, 16, 1, 32, 32): 0.031505,
    Key("k5_e6", 16, 24, 1, 32, 32): 0.207311,
    Key("k3_e3", 24, 32, 2, 32, 32): 0.0981,
    Key("skip", 16, 16, 1, 32, 32): 0.004022,
    Key("skip", 16, 24, 1, 32, 32): 0.020415,
}


@pytest.mark.parametrize("name", ["hwnas.json", "hwnas.csv"])
def test_hwnas_import_of_the_spelling_earlier_lutnas_wrote(name):
    path = FORMATS / name
    imported = read("hwnas-bench", path.read_bytes(), path.suffix)
    assert {k: imported.lut.latency(k) for k in imported.lut.keys()} == HWNAS_KEYS
    assert imported.left_out == ["2 key(s) cannot be expressed in a lutnas LUT and were left out (not a ConvBlock_/"
                                 "Skip_/stem/head key our block names can hold): ConvBlock_H32_W32_16_16_1_4_1_1, "
                                 "Stem_H32_W32_3_16_1"]
    assert imported.lut.provenance()["device_model"] == [f"{IMPORTED_PREFIX}HW-NAS-Bench keys)"]
    assert any("convert again with --space" in n for n in imported.notes)


def test_hwnas_json_and_csv_agree_and_sniffing_works():
    a = read("hwnas-bench", (FORMATS / "hwnas.json").read_bytes(), ".json").lut
    b = read("hwnas-bench", (FORMATS / "hwnas.csv").read_bytes(), ".csv").lut
    c = read("hwnas-bench", (FORMATS / "hwnas.json").read_bytes(), ".txt").lut
    assert a == b == c


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_hwnas_round_trip(suffix):
    measured = load(MEASURED)
    overhead = measured.latency(Key("overhead", 3, 3, 1, 32, 32))
    exported = write("hwnas-bench", measured, suffix)
    assert exported.left_out == ["2 row(s) cannot be expressed in hwnas-bench and were left out (HW-NAS-Bench splits "
                                 "the head into ConvNorm, AvgP and FC, and has no overhead key): "
                                 "head_c1504@352>10/s1@4x4, overhead@3>3/s1@32x32"]
    back = read("hwnas-bench", exported.data, suffix, space="fbnet-cifar",
                fixed_ms={"overhead": overhead}).lut
    assert len(back) == 110  # every block, the stem and the overhead; the head was left out
    net = lambda table, k: max(table.latency(k) - overhead, 0.0)  # noqa: E731 (what predictions use)
    assert all(net(back, k) == pytest.approx(net(measured, k), abs=2e-6) for k in back.keys())
    # a block timed below the overhead (noise on the smallest blocks) is free in both; its raw value is not kept
    assert sum(back.latency(k) != measured.latency(k) for k in back.keys()) == sum(
        measured.latency(k) < overhead for k in back.keys())
    assert write("hwnas-bench", back, suffix).data == exported.data
    if suffix == ".json":
        data = json.loads(exported.data)
        assert data["ConvBlock_H32_W32_Cin16_Cout16_exp1_kernel3_stride1_group2"] == pytest.approx(
            measured.latency(Key("k3_e1_g2", 16, 16, 1, 32, 32)) - overhead, abs=1e-9)
        assert data["Skip_H16_W16_Cin32_Cout64_stride2"] == pytest.approx(
            measured.latency(Key("skip", 32, 64, 2, 16, 16)) - overhead, abs=1e-9)
        assert "ConvNorm_H32_W32_Cin3_Cout16_kernel3_stride1_group1" in data
    else:
        assert exported.data.decode().splitlines()[0] == "key,value"


# HW-NAS-Bench's real spelling: its two FBNet spaces, tables written by make_hwnas_real.py (our numbers)
HWNAS_REAL = [("hwnas_cifar100.json", str(LUT_FIXTURES.parents[0] / "spaces" / "hwnas-cifar100.toml"), 1504, 100),
              ("hwnas_imagenet.csv", "fbnet", 1984, 1000)]


def hwnas_bench_sum(table: dict[str, float], space, blocks: list[str], head: int, classes: int) -> float:
    """What HW-NAS-Bench's fbnet_get_metrics sums for an architecture: the stem's ConvNorm, each layer's chosen
    ConvBlock or Skip at its input size, the head's ConvNorm, AvgP and FC (keys spelled as it spells them)."""
    s = space.input_size
    total = table[f"ConvNorm_H{s}_W{s}_Cin3_Cout16_kernel3_stride{space.stem_stride}_group1"]
    for layer, block in zip(space.layers, blocks):
        if block == "skip":
            key = f"Skip_H{layer.h}_W{layer.w}_Cin{layer.cin}_Cout{layer.cout}_stride{layer.stride}"
        else:
            k, e = int(block[1]), int(block.split("_")[1][1:])
            g = 2 if block.endswith("_g2") else 1
            key = (f"ConvBlock_H{layer.h}_W{layer.w}_Cin{layer.cin}_Cout{layer.cout}_exp{e}_kernel{k}"
                   f"_stride{layer.stride}_group{g}")
        total += table[key]
    hw = space.layers[-1].out_hw[0]
    return total + (table[f"ConvNorm_H{hw}_W{hw}_Cin352_Cout{head}_kernel1_stride1_group1"]
                    + table[f"AvgP_H{hw}_W{hw}_Cin{head}_Cout{head}_kernel{hw}_stride1"]
                    + table[f"FC_Cin{head}_Cout{classes}"])


def _hwnas_table(name: str) -> dict[str, float]:
    path = FORMATS / name
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return {k: float(v) for k, v in (line.split(",") for line in path.read_text().splitlines()[1:])}


@pytest.mark.parametrize("name, space_name, head, classes", HWNAS_REAL)
@pytest.mark.parametrize("overhead", [None, 0.05])
def test_hwnas_real_dialect_predicts_what_hwnas_bench_sums(name, space_name, head, classes, overhead):
    import random

    from search.space import get_space as lut_space

    path = FORMATS / name
    fixed = {} if overhead is None else {"overhead": overhead}
    imported = read("hwnas-bench", path.read_bytes(), path.suffix, space=space_name, fixed_ms=fixed)
    assert imported.left_out == []
    space = lut_space(space_name)
    matrix = imported.lut.matrix(space)
    table = _hwnas_table(name)
    rng = random.Random(7)
    for _ in range(5):
        blocks = [rng.choice(layer.candidates) for layer in space.layers]
        expected = hwnas_bench_sum(table, space, blocks, head, classes) + (overhead or MIN_MS)
        assert matrix.predict(blocks) == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("name, space_name, head, classes", HWNAS_REAL)
def test_hwnas_real_dialect_converts_back_exactly_but_for_the_split_head(name, space_name, head, classes):
    path = FORMATS / name
    imported = read("hwnas-bench", path.read_bytes(), path.suffix, space=space_name, fixed_ms={"overhead": 0.05})
    exported = write("hwnas-bench", imported.lut, path.suffix)
    table = _hwnas_table(name)
    back = json.loads(exported.data) if path.suffix == ".json" else {
        k: float(v) for k, v in (line.split(",") for line in exported.data.decode().splitlines()[1:])}
    head_keys = {k for k in table if k.startswith(("AvgP_", "FC_")) or (k.startswith("ConvNorm_") and "_Cin3_" not in k)}
    assert len(head_keys) == 3
    assert back == {k: v for k, v in table.items() if k not in head_keys}  # every other value exactly
    assert exported.left_out and "splits the head" in exported.left_out[0]


@pytest.mark.parametrize("fixed, space, message", [
    ({"stem": 1.0}, None, "--fixed-ms needs --space"),
    ({"overhead": 1.0}, None, "--fixed-ms needs --space"),
    ({"head": 1.0}, "fbnet", "--fixed-ms head: the table already has head_c1984@352>1000/s1@7x7; leave it out"),
    ({"gpu": 1.0}, "fbnet", "--fixed-ms: unknown op(s) gpu; known: overhead, stem, head"),
    ({"overhead": -1.0}, "fbnet", "--fixed-ms overhead: -1.0 is not a latency"),
])
def test_hwnas_fixed_ms_is_honoured_or_refused(fixed, space, message):
    data = (FORMATS / "hwnas_imagenet.csv").read_bytes()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read("hwnas-bench", data, ".csv", space=space, fixed_ms=fixed)


def test_hwnas_stem_and_head_given_where_a_table_lacks_them():
    data = (FORMATS / "hwnas.json").read_bytes()
    imported = read("hwnas-bench", data, ".json", space="fbnet-cifar", fixed_ms={"stem": 0.2, "head": 0.3,
                                                                                 "overhead": 0.05})
    keys = get_space("fbnet-cifar").fixed_keys()
    assert imported.lut.latency(keys["stem"]) == pytest.approx(0.25)
    assert imported.lut.latency(keys["head"]) == pytest.approx(0.35)
    assert imported.lut.latency(keys["overhead"]) == pytest.approx(0.05)


@pytest.mark.parametrize("data, suffix, message", [
    (b"[1, 2]", ".json", "IN: expected a JSON object of key -> latency in ms, got list"),
    (b'{"Skip_H8_W8_8_8_1": 1, "Skip_H8_W8_8_8_1": 2}', ".json", "IN: key 'Skip_H8_W8_8_8_1' appears twice"),
    (b'{"Skip_H8_W8_8_8_1": "fast"}', ".json", "IN: key Skip_H8_W8_8_8_1: 'fast' is not a number"),
    (b'{"Skip_H8_W8_8_8_1": NaN}', ".json", "IN: NaN is not a JSON number"),
    (b'{"Skip_H8_W8_8_8_1": -1}', ".json", "IN: key Skip_H8_W8_8_8_1: -1 is not a latency"),
    (b'{"Skip_H8_W8_8_8_1": 1', ".json", "IN: not valid JSON"),
    (b"key,value\nSkip_H8_W8_8_8_1,1,2\n", ".csv", "IN: line 2: 3 fields; expected key,value"),
    (b"Skip_H8_W8_8_8_1,abc\n", ".csv", "IN: line 1: 'abc' is not a number"),
    (b"Skip_H8_W8_8_8_1,1\nSkip_H8_W8_8_8_1,2\n", ".csv", "IN: line 2: key 'Skip_H8_W8_8_8_1' appears twice"),
])
def test_bad_hwnas_files(data, suffix, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read("hwnas-bench", data, suffix)


def test_hwnas_refuses_two_spellings_of_one_key_and_mixed_overheads():
    with pytest.raises(ValueError, match=r"IN: Skip_H8_W8_Cin8_Cout8_stride1 and another key are the same lutnas key"):
        read("hwnas-bench", b'{"Skip_H8_W8_8_8_1": 1, "Skip_H8_W8_Cin8_Cout8_stride1": 2}', ".json")
    mixed = LUT.from_rows([make_row("overhead", 3, 3, 1, 32, 32, 0.05), make_row("overhead", 3, 3, 1, 16, 16, 0.07)])
    with pytest.raises(ValueError, match=r"OUT: the LUT has overhead rows of different values \(2\)"):
        write("hwnas-bench", mixed, ".json")


def test_hwnas_writes_only_json_or_csv():
    with pytest.raises(ValueError, match=r"OUT: hwnas-bench files end in \.json or \.csv"):
        write("hwnas-bench", load(VALID), ".txt")


# ---- ofa-yaml ---------------------------------------------------------------------------------
def test_ofa_import():
    imported = read("ofa-yaml", (FORMATS / "ofa.yaml").read_bytes())
    table = imported.lut
    assert sorted(table.keys()) == [Key("k3_e1", 16, 16, 1, 112, 112), Key("k3_e6", 24, 24, 1, 56, 56),
                                    Key("k5_e3", 16, 24, 2, 112, 112), Key("k7_e3", 24, 24, 1, 56, 56)]
    row = table.row(Key("k5_e3", 16, 24, 2, 112, 112))
    assert (row["median_ms"], row["p10_ms"], row["p90_ms"], row["n"]) == (1.83, 1.83, 1.83, 40)
    assert row["std_ms"] == 0.06
    assert row["ci_rel"] == pytest.approx(1.96 * 1.2533 * 0.06 / math.sqrt(40) / 1.83, abs=1e-6)
    assert imported.left_out == [
        "2 key(s) cannot be expressed in a lutnas LUT and were left out (not an expanded_conv block): "
        "Conv-input:224x224x3-output:112x112x16, Logits-input:7x7x1280-output:1000",
        "1 key(s) cannot be expressed in a lutnas LUT and were left out (not an expanded_conv our k<K>_e<E> blocks "
        "match in output shape, expansion and idskip): expanded_conv-input:56x56x24-output:56x56x24-expand:4-"
        "kernel:3-stride:1-idskip:0"]


@pytest.mark.parametrize("fmt", ["ofa-yaml", "proxylessnas-yaml"])
def test_ofa_round_trip(fmt):
    measured = load(MEASURED)
    exported = write(fmt, measured)
    assert exported.left_out[0].startswith(f"39 row(s) cannot be expressed in {fmt} and were left out (only "
                                           f"k<K>_e<E> blocks without groups have expanded_conv keys): ")
    assert ("-se:0-hs:0:" in exported.data.decode()) == (fmt == "ofa-yaml")
    assert ("std:" in exported.data.decode()) == (fmt == "ofa-yaml")
    back = read(fmt, exported.data).lut
    assert len(back) == 72
    for k in back.keys():
        assert back.latency(k) == measured.latency(k)
        assert back.row(k)["std_ms"] == pytest.approx(measured.row(k)["std_ms"], abs=1e-12)
        assert back.row(k)["n"] == measured.row(k)["n"]
    assert write(fmt, back).data == exported.data
    assert read(fmt, exported.data).lut == back


def test_ofa_note10_dialect_imports_and_converts_back_exactly():
    import yaml

    path = FORMATS / "ofa_note10.yaml"
    imported = read("ofa-yaml", path.read_bytes())
    assert sorted(imported.lut.keys()) == [Key("k3_e1", 24, 24, 1, 112, 112), Key("k3_e3", 32, 32, 1, 56, 56),
                                           Key("k5_e6", 24, 32, 2, 112, 112), Key("k7_e3", 24, 32, 2, 112, 112)]
    row = imported.lut.row(Key("k5_e6", 24, 32, 2, 112, 112))  # expand:144 = 24 x 6
    assert (row["median_ms"], row["std_ms"], row["n"]) == (6.585063, 0.216371, 63)
    assert imported.left_out == [
        "3 key(s) cannot be expressed in a lutnas LUT and were left out (not an expanded_conv block): "
        "AvgPool2D-input:7x7x1152-output:1x1x1152, Conv-input:224x224x3-output:112x112x24, "
        "Logits-input:1x1x1536-output:1000",
        "1 key(s) cannot be expressed in a lutnas LUT and were left out (not an expanded_conv our k<K>_e<E> blocks "
        "match in output shape, expansion and idskip): "
        "expanded_conv-input:56x56x32-output:56x56x32-expand:100-kernel:3-stride:1-idskip:1-se:0-hs:0",
        "2 key(s) cannot be expressed in a lutnas LUT and were left out (squeeze-excite (se:1) or hard-swish (hs:1): "
        "lutnas blocks have neither): expanded_conv-input:56x56x32-output:28x28x48-expand:128-kernel:3-stride:2-"
        "idskip:0-se:1-hs:0, expanded_conv-input:28x28x48-output:14x14x96-expand:144-kernel:3-stride:2-idskip:0-"
        "se:0-hs:1"]
    source = yaml.safe_load(path.read_text())
    back = yaml.safe_load(write("ofa-yaml", imported.lut).data)
    kept = {k: v for k, v in source.items() if k.startswith("expanded_conv") and parse_ofa(k) is not None}
    assert back == kept  # every value of every key a LUT can hold, exactly


def parse_ofa(key):
    from luttools.formats.ofa import parse_key

    return parse_key(key)


@pytest.mark.parametrize("text, message", [
    ("- a\n- b\n", "IN: expected a YAML mapping of op key -> {count, mean, std or var}, got list"),
    ("a: [1\n", "IN: not valid YAML"),
    ("!!python/object/apply:os.system ['echo pwned']\n", "IN: not valid YAML"),  # safe_load builds no objects
    ("k:\n  count: 5\n  mean: 1.0\n", "IN: key k: expected a mapping with count, mean and one of std or var"),
    ("k:\n  count: 5\n  mean: 1.0\n  std: 0\n  var: 0\n", "IN: key k: expected a mapping with count, mean and one"),
    ("k:\n  count: 5\n  mean: 1.0\n  std: 0\n  median: 1\n", "IN: key k: unknown field(s) median; known: count"),
    ("k:\n  count: 5\n  mean: 1.0\n  std: 0\nk:\n  count: 5\n  mean: 2.0\n  std: 0\n",
     "IN: not valid YAML: key 'k' appears twice"),
    ("k:\n  count: 5\n  mean: 1.0\n  std: -1\n", "IN: key k: std -1 is not a finite number >= 0"),
    ("k:\n  count: 0.5\n  mean: 1.0\n  var: 0\n", "IN: key k: count 0.5 is not a positive integer"),
    ("k:\n  count: 5\n  mean: -1.0\n  var: 0\n", "IN: key k: mean: -1.0 is not a latency"),
    ("k:\n  count: 5\n  mean: 1.0\n  var: -0.1\n", "IN: key k: var -0.1 is not a finite number >= 0"),
])
def test_bad_ofa_files(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("{", r"\{")
                       .replace("}", r"\}").replace("[", r"\[")):
        read("ofa-yaml", text.encode())
