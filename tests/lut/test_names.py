"""The block-name grammar: every valid name round-trips, every malformed one names its bad part."""

from __future__ import annotations

import itertools

import pytest

from lut.names import BlockName, format_name, is_valid_name, parse_name

IR_NAMES = [
    f"k{k}_e{e}" + (f"_g{g}" if g else "")
    for k, e, g in itertools.product((3, 5, 7), range(1, 13), (None, *range(2, 9)))
]
FIXED_NAMES = ["skip", "overhead", *(f"stem_k{k}" for k in (1, 3, 5, 7)),
               *(f"head_c{c}" for c in (1, 8, 1504, 1984, 100000))]


def test_every_inverted_residual_name_is_enumerated():
    assert len(IR_NAMES) == 3 * 12 * 8 == len(set(IR_NAMES))


@pytest.mark.parametrize("name", IR_NAMES + FIXED_NAMES)
def test_valid_name_round_trips(name):
    block = parse_name(name)
    assert format_name(block) == name
    assert str(block) == name
    assert is_valid_name(name)


def test_parsed_fields():
    assert parse_name("k5_e6_g2") == BlockName("ir", kernel=5, expansion=6, groups=2)
    assert parse_name("k3_e1").groups == 1
    assert parse_name("skip").searchable and parse_name("k7_e12").searchable
    assert parse_name("stem_k3") == BlockName("stem", kernel=3)
    assert parse_name("head_c1504") == BlockName("head", channels=1504)
    assert not parse_name("overhead").searchable


# name -> the bad part the message must name
MALFORMED = {
    "k4_e1": "'k4'",
    "k3": "missing expansion",
    "k3_e0": "'e0'",
    "k3_e01": "'e01'",
    "k03_e1": "'k03'",
    "k3_e1_g1": "'_g1'",
    "k3_e1_g9": "'g9'",
    "k3_e1_x2": "'x2'",
    "k3_e1_g2_g2": "'g2'",
    "k3__e1": "empty part",
    "_k3_e1": "empty part",
    "k3_e1_": "empty part",
    "": "empty",
    "conv": "'conv'",
    "skip_1": "'1'",
    "stem": "missing kernel",
    "stem_k2": "'k2'",
    "head_c0": "'c0'",
    "head_c100001": "'c100001'",
    "overhead_x": "'x'",
    "K3_E1": "'K3'",
    " k3_e1": "' k3'",
    "k3_e13": "'e13'",
}


@pytest.mark.parametrize("name,bad_part", MALFORMED.items())
def test_malformed_name_is_rejected_naming_the_bad_part(name, bad_part):
    with pytest.raises(ValueError) as info:
        parse_name(name)
    message = str(info.value)
    assert bad_part in message
    assert repr(name) in message  # the whole name too
    assert "\n" not in message
    assert not is_valid_name(name)


@pytest.mark.parametrize("name", ["k4_e1", "k3_e1_g9", "stem_k2"])
def test_message_lists_what_is_allowed(name):
    with pytest.raises(ValueError, match="must be one of"):
        parse_name(name)


def test_non_string_is_rejected():
    with pytest.raises(ValueError):
        parse_name(None)  # type: ignore[arg-type]
    assert not is_valid_name(3)  # type: ignore[arg-type]


def test_unknown_kind_cannot_be_formatted():
    with pytest.raises(ValueError, match="unknown block kind 'conv'"):
        format_name(BlockName("conv"))
