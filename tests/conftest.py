"""Shared test helpers: paths to the repo and fixtures."""

import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def interruptible() -> None:
    """``preexec_fn`` for a child that a test stops with SIGINT: Ctrl-C's default disposition.

    A shell without job control starts background commands (``cmd &``) with SIGINT ignored,
    and children inherit that; Python then installs no KeyboardInterrupt handler, so the
    signal a test sends would do nothing. A terminal user's Ctrl-C always has the default.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
