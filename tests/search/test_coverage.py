"""Which space a LUT covers (search.coverage)."""

import pytest

from lut import LUT, load
from search.coverage import best_space, input_sizes, resolve_space, share_covered
from search.space import get_space
from tests.conftest import FIXTURES

TINY_LUT = FIXTURES / "measured" / "tiny-cpu.csv"
TINY_SPACE = FIXTURES / "spaces" / "tiny.toml"
ENV = dict(device="cpu", device_model="Test CPU", cores=2, governor="unknown", os="Linux", affinity="0",
           runtime="onnxruntime", runtime_version="1.0", opt_level="all", threads=1, conditions="warm", copies=1,
           exporter="x", opset=17, toolkit="0.1.0", measured_at="2025-01-15T10:00:00Z")


def lut_of(*spaces, **over):
    keys = dict.fromkeys(k for s in spaces for k in s.keys())
    return LUT.from_rows([dict(**k._asdict(), median_ms=0.1, p10_ms=0.09, p90_ms=0.11, std_ms=0.01, n=10,
                               ci_rel=0.01, stable=1, **{**ENV, **over}) for k in keys], source="x.csv")


def test_infers_the_one_builtin_space_at_the_luts_input_size():
    s = resolve_space(lut_of(get_space("fbnet-cifar")))
    assert (s.name, s.input_size) == ("fbnet-cifar", 32)
    s = resolve_space(lut_of(get_space("fbnet-cifar", input_size=16)))
    assert (s.name, s.input_size) == ("fbnet-cifar", 16)
    s = resolve_space(lut_of(get_space("fbnet-cifar", input_size=16)), "fbnet-cifar")
    assert s.input_size == 16  # a named built-in space takes the LUT's input size


def test_several_complete_spaces_need_a_name():
    lut = lut_of(get_space("fbnet-cifar"), get_space("fbnet-cifar", input_size=16))
    assert input_sizes(lut) == [16, 32]
    with pytest.raises(ValueError, match="covers several spaces .*--space"):
        resolve_space(lut)
    assert resolve_space(lut, "fbnet-cifar", resolution=16).input_size == 16


def test_a_partial_lut_gives_its_best_space_and_a_foreign_one_an_error():
    space = get_space("fbnet-cifar")
    keys = space.keys()
    part = LUT.from_rows([r for r in lut_of(space).frame.to_dict("records")
                          if tuple(r[c] for c in ("block", "cin", "cout", "stride", "h", "w", "layer")) != tuple(keys[-1])])
    assert share_covered(part, space) == pytest.approx((len(keys) - 1) / len(keys))
    assert resolve_space(part).name == "fbnet-cifar"  # lut.matrix then names what is missing
    with pytest.raises(ValueError, match="covers no built-in space .*--space"):
        resolve_space(load(TINY_LUT))
    s = resolve_space(load(TINY_LUT), str(TINY_SPACE))
    assert s.name == str(TINY_SPACE) and share_covered(load(TINY_LUT), s) == 1.0


def test_best_space_ranks_the_same_candidates_as_resolve_space():
    small = lut_of(get_space("fbnet-cifar", input_size=16))
    assert (best_space(small).name, best_space(small).input_size) == ("fbnet-cifar", 16)  # the LUT's input size
    assert best_space(LUT.empty()) is None  # no key of any built-in space
    both = lut_of(get_space("fbnet-cifar"), get_space("fbnet-cifar", input_size=16))
    assert best_space(both).input_size == 32  # a tie goes to the space's own size, where resolve_space refuses
    with pytest.raises(ValueError, match="covers several spaces"):
        resolve_space(both)
