"""The packages' layers: every import of ours, at module level or inside a function, goes down.

    lutnas                    (version, one-line command-line errors: what every layer shares)
    lut                       (the LUT format; pandas and numpy only)
    devices                   (hosts, phones, runners, runtimes)
    search -> lut, devices    (devices' runtimes only: exporting)
    luttools -> lut, search   (the `python -m lut` command line, converters, plots)
    profiler -> lut, devices, search

A package's ``__main__.py`` is its program, not its library: ``lut/__main__.py`` runs luttools' command line.
"""

from __future__ import annotations

import ast
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.conftest import ROOT

BELOW: dict[str, set[str]] = {
    "lutnas": set(),
    "lut": {"lutnas"},
    "devices": {"lutnas"},
    "search": {"lutnas", "lut", "devices"},
    "luttools": {"lutnas", "lut", "search"},
    "profiler": {"lutnas", "lut", "devices", "search"},
}
ONLY = {("search", "devices"): "devices.runtimes"}  # where a package may reach only part of one below it
PROGRAMS = {"lut/__main__.py": {"luttools"}}  # programs' extra imports, above their package's library
THIRD_PARTY = {"lut": {"pandas", "numpy"}}  # packages held to a short list of outside libraries
MODULES = sorted(p for pkg in BELOW for p in (ROOT / pkg).rglob("*.py"))


def imports(path: Path) -> list[str]:
    """Every absolute import in ``path``, wherever it stands (module level, functions, TYPE_CHECKING blocks)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module)
    return found


def test_the_layers_are_a_graph_without_cycles_and_name_every_package():
    try:
        order = list(TopologicalSorter(BELOW).static_order())
    except CycleError as e:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"the layers have a cycle: {e.args[1]}")
    assert order[0] == "lutnas"
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == set(BELOW), "a package without a layer (or a layer without a package)"
    setup = (ROOT / "setup.cfg").read_text()
    assert all(f"\n    {p}\n" in setup for p in BELOW), "every package is installed"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_of_ours_goes_down(path):
    rel = str(path.relative_to(ROOT))
    package = rel.split("/")[0]
    allowed = BELOW[package] | PROGRAMS.get(rel, set()) | {package}
    for name in imports(path):
        top = name.split(".")[0]
        if top in BELOW:
            assert top in allowed, f"{rel} imports {name}: {top} is not below {package}"
            part = ONLY.get((package, top))
            assert part is None or name == part or name.startswith(part + "."), f"{rel} imports {name}, not {part}"
        elif package in THIRD_PARTY:
            assert top in THIRD_PARTY[package] | set(sys.stdlib_module_names), f"{rel} imports {name}"


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from search.space import get_space\n    import profiler.run\n")
    assert imports(module) == ["search.space", "profiler.run"]
