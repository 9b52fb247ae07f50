"""merge(): environments kept apart, duplicate policies, order independence, shards give back the whole."""

from __future__ import annotations

import pytest

from lut import LUT, Key, load, save
from lut.merge import POLICIES, merge
from lut.schema import LUTError

from .conftest import LUT_FIXTURES, VALID, make_row

K = ("k3_e1", 16, 16, 1, 8, 8)
KEY = Key(*K)
WHOLE = LUT_FIXTURES / "fbnet-cifar-cpu.csv"
SHARDS = sorted((LUT_FIXTURES / "shards").glob("fbnet-cifar-cpu.*-of-2.csv"))


def one(median=1.0, **over) -> LUT:
    return LUT.from_rows([make_row(*K, median, **over)])


def test_shards_merge_back_into_the_whole_byte_for_byte(tmp_path):
    assert len(SHARDS) == 2
    shards = [load(p) for p in SHARDS]
    assert all(0 < len(s) < 111 for s in shards) and not (shards[0].keys() & shards[1].keys())
    merged = merge(shards)
    whole = load(WHOLE)
    assert merged.lut.keys() == whole.keys()
    assert merged.lut == whole and merged.lut.content_hash() == whole.content_hash()
    assert merged.resolved == [] and merged.identical == 0
    save(merged.lut, tmp_path / "m.csv")
    assert (tmp_path / "m.csv").read_bytes() == WHOLE.read_bytes()


def test_identical_rows_are_folded_not_conflicts():
    a = load(VALID)
    for policy in POLICIES:
        m = merge([a, a], policy)
        assert m.lut == a and m.identical == 10 and m.resolved == []


def test_most_precise_prefers_stable_then_small_ci_then_more_runs():
    stable_wide = one(1.0, ci_rel=0.05)
    unstable_tight = one(1.1, ci_rel=0.001, stable=0)
    assert merge([unstable_tight, stable_wide]).lut.latency(KEY) == 1.0
    tight = one(1.2, ci_rel=0.01)
    assert merge([stable_wide, tight]).lut.latency(KEY) == 1.2
    more_runs = one(1.3, ci_rel=0.01, n=500)
    m = merge([tight, more_runs])
    assert m.lut.latency(KEY) == 1.3
    assert m.resolved[0].key == KEY and m.resolved[0].kept == "input 2" and m.resolved[0].dropped == ("input 1",)


def test_newest_prefers_the_latest_date_and_unknown_is_oldest():
    old = one(1.0, measured_at="2025-01-01T00:00:00Z", ci_rel=0.001)
    new = one(2.0, measured_at="2025-06-01T00:00:00+02:00", ci_rel=0.2)
    unknown = one(3.0, measured_at="unknown")
    assert merge([old, new, unknown], "newest").lut.latency(KEY) == 2.0
    assert merge([old, new, unknown], "most-precise").lut.latency(KEY) == 1.0


def test_fail_policy_names_the_conflicting_keys_and_inputs():
    with pytest.raises(LUTError, match=r"1 key\(s\) have different rows in different inputs: "
                                       r"k3_e1@16>16/s1@8x8 in input 1, input 2; choose a policy"):
        merge([one(1.0), one(2.0)], "fail")


def test_result_does_not_depend_on_input_order():
    luts = [one(1.0, ci_rel=0.01), one(2.0, ci_rel=0.01), one(3.0, ci_rel=0.01)]  # a full tie but for the value
    results = {merge(order).lut.to_csv_text() for order in (luts, luts[::-1], luts[1:] + luts[:1])}
    assert len(results) == 1


def test_mixed_environments_are_refused_unless_allowed():
    a = one(1.0)
    b = LUT.from_rows([make_row("k5_e1", 16, 16, 1, 8, 8, 1.0, threads=2)])
    with pytest.raises(LUTError, match=r"refusing to merge rows measured in 2 environments \(input 1: "
                                       r".*threads=1, conditions=warm; input 2: "
                                       r".*threads=2, conditions=warm\).*--allow-mixed"):
        merge([a, b])
    m = merge([a, b], allow_mixed=True)
    assert len(m.lut) == 2 and len(m.lut.environments()) == 2


@pytest.mark.parametrize("column, value", [("device_model", "Pixel 3"), ("runtime", "torchscript"),
                                           ("runtime_version", "1.19.0"), ("opt_level", "basic")])
def test_every_environment_column_separates(column, value):
    b = LUT.from_rows([make_row("k5_e1", 16, 16, 1, 8, 8, 1.0, **{column: value})])
    with pytest.raises(LUTError, match="refusing to merge"):
        merge([one(), b])


def test_other_provenance_does_not_separate():
    b = LUT.from_rows([make_row("k5_e1", 16, 16, 1, 8, 8, 1.0, os="Linux 6.2", measured_at="2026-01-01T00:00:00Z")])
    assert len(merge([one(), b]).lut) == 2


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown merge policy 'oldest'; known: most-precise, newest, fail"):
        merge([one()], "oldest")
    with pytest.raises(ValueError, match="nothing to merge"):
        merge([])


def test_command_lists_the_same_policies():
    from luttools.commands.merge import POLICIES as NAMES

    assert tuple(POLICIES) == NAMES


def test_imported_tables_of_unknown_devices_are_not_merged_unless_forced(tmp_path):
    from luttools.formats import Options, get_format

    path = LUT_FIXTURES / "formats" / "hwnas_imagenet.csv"
    fmt = get_format("hwnas-bench")
    a = fmt.read(path.read_bytes(), Options(source="a.csv", suffix=".csv")).lut
    text = path.read_text().replace(",1.", ",2.")  # another device's table: other numbers, the same keys
    b = fmt.read(text.encode(), Options(source="b.csv", suffix=".csv")).lut
    with pytest.raises(LUTError, match=r"a.csv: holds imported rows of an unknown device \(unknown \(imported from "
                                       r"HW-NAS-Bench keys\)\), which cannot be told from any other's: name it when "
                                       r"converting \(lut convert ... --set device_model='Pixel 3'\)"):
        merge([a, b])
    assert len(merge([a, b], allow_mixed=True).lut) == len(a)
    named = [fmt.read(p.read_bytes() if isinstance(p, type(path)) else p, Options(
        source=f"{n}.csv", suffix=".csv", provenance={"device_model": n})).lut
        for n, p in (("Pixel 3", path), ("Pixel 4", text.encode()))]
    with pytest.raises(LUTError, match="refusing to merge rows measured in 2 environments"):
        merge(named)  # named devices: the usual environment check, which says they differ
