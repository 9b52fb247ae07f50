"""lutnas.registry: named things in registration order; duplicates and unknown names are one-line errors."""

import pytest

from lutnas.registry import Registry


def test_register_get_and_mapping_order():
    reg: Registry[str, int] = Registry("colour")
    assert reg.register("red", 1) == 1
    reg.decorator("green")(2)
    assert list(reg) == ["red", "green"] and len(reg) == 2 and reg["green"] == 2 and "red" in reg
    assert reg.get("red") == 1 and dict(reg) == {"red": 1, "green": 2}
    assert ", ".join(reg) == "red, green"


def test_duplicates_and_unknown_names_are_errors_that_list_what_is_known():
    reg: Registry[str, int] = Registry("colour")
    reg.register("red", 1)
    with pytest.raises(ValueError, match="^colour 'red' is already registered$"):
        reg.register("red", 3)
    assert reg["red"] == 1  # never silently replaced
    with pytest.raises(ValueError, match="^unknown colour 'blue'; known: red$"):
        reg.get("blue")
    assert reg.get("blue", 7) == 7
    with pytest.raises(KeyError):
        reg["blue"]
