"""Keep a folder named ``lut/`` in the working directory from hiding the ``lut`` package.

``python -m ...`` puts the working directory first on ``sys.path``. A folder ``lut/`` there (LUT
files, no ``__init__.py``: the default place ``profiler.run`` writes to) becomes a namespace package,
and under an editable install (``pip install -e .``, whose import hook runs after the path search)
it wins over lutnas's own ``lut``: every command then failed with ``cannot import name 'load' from
'lut'``. A regular ``pip install`` finds the real package first; this makes both work. Called by
``search/__init__.py`` and by the profiler's commands (profiler/__init__.py is bundled to phones and
imports only the standard library). Standard library only.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys


def prefer_installed_lut() -> None:
    """Import the ``lut`` package itself when a data folder of that name would shadow it (no-op otherwise)."""
    if "lut" in sys.modules and getattr(sys.modules["lut"], "__file__", None):
        return
    spec = importlib.util.find_spec("lut")
    if spec is None or spec.origin not in (None, "namespace"):
        return  # the real package comes first anyway (or there is none to prefer)
    cwd = os.getcwd()
    saved = list(sys.path)
    sys.modules.pop("lut", None)
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.abspath(p) != cwd]
    try:
        importlib.import_module("lut")
    except ImportError:
        pass  # nothing better to offer: the later import reports it
    finally:
        sys.path[:] = saved
