"""profiler.host_drift: which entries a fidelity check re-times, and the host's drift from them."""

import pytest

from lut import load
from lut.schema import Key
from profiler.host_drift import drift_factor, key_uses, retime_keys
from search.space import load_space_file
from tests.conftest import FIXTURES

LUT_FILE = FIXTURES / "measured" / "tiny-cpu.csv"
TINY = FIXTURES / "spaces" / "tiny.toml"
ARCHS = [["k5_e3", "k5_e3", "skip"], ["k5_e3", "k3_e1", "k3_e1_g2"], ["k3_e1", "k5_e3", "k5_e3"]]


def test_uses_count_the_key_each_layer_reads():
    lut, space = load(LUT_FILE), load_space_file(TINY)
    uses = key_uses(lut, space, ARCHS)
    assert sum(uses.values()) == 9
    assert uses[space.layers[0].key("k5_e3")] == 2 and uses[space.layers[0].key("k3_e1")] == 1
    assert uses[space.layers[2].key("skip")] == 1


def test_retimed_are_the_heaviest_by_uses_times_latency():
    lut, space = load(LUT_FILE), load_space_file(TINY)
    uses = key_uses(lut, space, ARCHS)
    weight = {k: n * lut.latency(k) for k, n in uses.items()}
    top = retime_keys(lut, space, ARCHS, 3)
    assert len(top) == 3 and [weight[k] for k in top] == sorted(weight.values(), reverse=True)[:3]
    assert retime_keys(lut, space, ARCHS, 100) == sorted(weight, key=lambda k: (-weight[k], str(k)))
    assert retime_keys(lut, space, ARCHS, 0) == []
    fixed = set(space.fixed_keys().values())
    assert not fixed & set(retime_keys(lut, space, ARCHS, 100))  # overhead, stem and head are timed anyway


OV, STEM, HEAD = Key("overhead", 3, 3, 1, 8, 8), Key("stem_k3", 3, 8, 1, 8, 8), Key("head_c32", 16, 10, 1, 8, 8)
A, B = Key("k3_e1", 8, 8, 1, 8, 8), Key("k5_e3", 8, 8, 1, 8, 8)


def test_drift_is_the_networks_sums_now_over_then_net_of_the_overhead():
    then = {OV: 0.1, STEM: 0.6, HEAD: 1.1, A: 0.3, B: 2.1}
    now = {OV: 0.2, STEM: 0.5, HEAD: 1.0, A: 0.25, B: 1.8}
    # 2 networks: overhead once each, stem and head once each, A chosen 3 times and B once
    total_then = 2 * 0.1 + 2 * 0.5 + 2 * 1.0 + 3 * 0.2 + 1 * 2.0
    total_now = 2 * 0.2 + 2 * 0.3 + 2 * 0.8 + 3 * 0.05 + 1 * 1.6
    got = drift_factor({A: 3, B: 1}, 2, then, now, OV, [STEM, HEAD])
    assert got == pytest.approx(total_now / total_then)
    assert drift_factor({A: 3, B: 1}, 2, then, then, OV, [STEM, HEAD]) == pytest.approx(1.0)
    scaled = {k: 0.9 * v for k, v in then.items()}  # everything 10% faster: the factor is 0.9
    assert drift_factor({A: 3, B: 1}, 2, then, scaled, OV, [STEM, HEAD]) == pytest.approx(0.9)


def test_an_entry_faster_than_the_overhead_counts_zero():
    then = {OV: 0.1, STEM: 0.6, HEAD: 1.1, A: 0.05}
    now = {OV: 0.1, STEM: 0.6, HEAD: 1.1, A: 0.02}
    assert drift_factor({A: 5}, 1, then, now, OV, [STEM, HEAD]) == pytest.approx(1.0)


def test_no_factor_without_every_entry_or_networks():
    then = {OV: 0.1, STEM: 0.6, HEAD: 1.1, A: 0.3}
    now = {OV: 0.1, STEM: 0.6, A: 0.3}  # head not re-timed (a resumed check measured nothing)
    assert drift_factor({A: 1}, 1, then, now, OV, [STEM, HEAD]) is None
    assert drift_factor({A: 1}, 0, then, then, OV, [STEM, HEAD]) is None
