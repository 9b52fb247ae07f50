"""devices/ stands alone: it imports nothing of lut, search or profiler (they build on it, not it on them)."""

import ast

import pytest

from tests.conftest import ROOT

OURS = {"lut", "search", "profiler"}


@pytest.mark.parametrize("path", sorted((ROOT / "devices").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_devices_imports_none_of_the_other_packages(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in OURS, f"{path.relative_to(ROOT)} imports {name}"
