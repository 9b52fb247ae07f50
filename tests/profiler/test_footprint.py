"""The bytes a LUT entry touches, and the in-network plan of a space."""

import torch

from lut import Key
from devices.conditions import MAX_COPIES
from profiler.footprint import footprint, key_footprint, plan_in_network
from search.blocks import build_module, input_shape
from search.space import get_space, load_space_file
from tests.conftest import FIXTURES

KIB, MIB = 2**10, 2**20
EPYC = [32 * KIB, 512 * KIB, 32 * MIB]  # this build VM's data caches (L1d, L2, L3)


def test_footprint_counts_parameters_input_and_every_conv_output_in_float32():
    key = Key("k3_e1", 8, 16, 2, 16, 16)  # 1x1 8->8 at 16x16, depthwise 3x3 stride 2 -> 8x8, 1x1 8->16 at 8x8
    params = sum(p.numel() for p in build_module(key).parameters())
    expected = 4 * (params + 8 * 16 * 16 + 8 * 16 * 16 + 8 * 8 * 8 + 16 * 8 * 8)
    assert footprint(build_module(key), input_shape(key)) == expected


def test_a_keys_footprint_is_its_blocks():
    key = Key("k5_e6", 24, 32, 2, 28, 28)
    assert key_footprint(key) == footprint(build_module(key), input_shape(key))


def test_footprint_runs_on_the_meta_device_without_arithmetic():
    key = Key("k5_e6", 352, 352, 1, 224, 224)  # would take seconds and 400+ MB on the CPU
    module = build_module(key)
    n = footprint(module, input_shape(key))
    assert n > 4 * 352 * 224 * 224 * 6
    assert all(p.device == torch.device("meta") for p in module.parameters())


def test_fbnet_plans_a_last_level_rotation_and_fbnet_cifar_an_l2_one():
    """The built-in spaces on this VM's caches (footprints from the blocks themselves, on the meta device)."""
    size = key_footprint
    fbnet = get_space("fbnet")
    plan = plan_in_network(fbnet, fbnet.keys(), EPYC, size)
    assert 32 * MIB < plan.network_bytes < 64 * MIB and plan.rotation_bytes == 64 * MIB
    head = fbnet.fixed_keys()["head"]
    assert plan.copies[head] == 6  # 10.7 MiB of head weights and buffers: ceil(64 / 10.7)
    assert max(plan.copies.values()) == MAX_COPIES and plan.window == 16
    cifar = get_space("fbnet-cifar")
    plan = plan_in_network(cifar, cifar.keys(), EPYC, size)
    assert 512 * KIB < plan.network_bytes < 32 * MIB and plan.rotation_bytes == 1 * MIB
    assert plan.copies[cifar.fixed_keys()["head"]] == 1 and plan.window == 0


def test_the_plan_covers_the_keys_asked_for_and_is_reproducible():
    space = load_space_file(FIXTURES / "spaces" / "tiny.toml")
    keys = space.keys()
    # every entry 100 bytes: a network (stem, head, 3 layers) is 500 bytes
    plan = plan_in_network(space, keys, [1000, 10**6], lambda k: 100)
    assert plan.network_bytes == 500 and plan.rotation_bytes == 0 and set(plan.copies.values()) == {1}
    plan = plan_in_network(space, keys[:4], [100, 10**6], lambda k: 100)
    assert plan.rotation_bytes == 200 and plan.copies == {k: 2 for k in keys[:4]}
    assert plan == plan_in_network(space, keys[:4], [100, 10**6], lambda k: 100)
    assert plan.as_dict() == {"conditions": "in-network", "network_bytes": 500, "caches": [100, 10**6],
                              "rotation_bytes": 200, "copies_min": 2, "copies_max": 2, "copies_median": 2,
                              "window": 0}
