"""Measurement conditions: the pure rules that size the in-network rotation."""

import pytest

from lut import Key
from devices.conditions import (MAX_COPIES, MEMORY_BUDGET, MIN_WINDOW, Plan, copies_for, network_bytes, plan_warm,
                                 rotation_bytes, window_for)

KIB, MIB = 2**10, 2**20
EPYC = [32 * KIB, 512 * KIB, 32 * MIB]  # this build VM's data caches (L1d, L2, L3)


@pytest.mark.parametrize("network, expected", [
    (38 * MIB, 64 * MIB),  # fbnet (224): overflows the last level: the copies span twice the L3
    (12 * MIB, 1 * MIB),  # fbnet-cifar: overflows L2 only
    (100 * KIB, 64 * KIB),  # overflows L1 only
    (16 * KIB, 0),  # fits in L1: no rotation
    (32 * KIB, 0),  # exactly L1 fits
])
def test_the_rotation_spans_twice_the_largest_cache_level_the_network_overflows(network, expected):
    assert rotation_bytes(network, EPYC) == expected


def test_unknown_caches_mean_no_rotation_and_bad_sizes_are_refused():
    assert rotation_bytes(38 * MIB, []) == 0
    with pytest.raises(ValueError):
        rotation_bytes(38 * MIB, [0, 32 * KIB])
    with pytest.raises(ValueError):
        rotation_bytes(-1, EPYC)


@pytest.mark.parametrize("entry, rotation, expected", [
    (10 * MIB, 64 * MIB, 7),  # fbnet's head: ceil(64 / 10)
    (1 * MIB, 64 * MIB, MAX_COPIES),  # capped
    (300 * KIB, 1 * MIB, 4),
    (2 * MIB, 1 * MIB, 1),  # larger than the rotation: one copy already spans it
    (0, 1 * MIB, MAX_COPIES),
    (5 * MIB, 0, 1),  # no rotation
])
def test_copies_span_the_rotation_within_one_and_the_cap(entry, rotation, expected):
    assert copies_for(entry, rotation) == expected


def test_copies_cap_must_be_positive():
    with pytest.raises(ValueError, match="max_copies"):
        copies_for(1, 10, max_copies=0)


def test_window_keeps_the_copies_held_open_within_the_memory_budget():
    assert window_for(64 * MIB) == MEMORY_BUDGET // (64 * MIB) == 16
    assert window_for(1 * MIB) == 0  # 1024 fit: all at once
    assert window_for(0) == 0
    assert window_for(2**40) == MIN_WINDOW


def test_network_bytes_is_the_median_of_the_networks_sums():
    a, b, c = Key("k3_e1", 8, 8, 1, 4, 4), Key("k5_e6", 8, 8, 1, 4, 4), Key("skip", 8, 8, 1, 4, 4)
    sizes = {a: 100, b: 1000, c: 1}
    assert network_bytes([[a, c], [b, b], [a, a]], sizes) == 200  # sums 101, 2000, 200
    with pytest.raises(ValueError):
        network_bytes([], sizes)


def test_warm_is_one_copy_of_everything():
    keys = [Key("k3_e1", 8, 8, 1, 4, 4), Key("skip", 8, 8, 1, 4, 4)]
    assert plan_warm(keys) == Plan("warm", {k: 1 for k in keys})
