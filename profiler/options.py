"""Command-line options shared by the measuring commands (profiler.run, profiler.validate)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_measure_options(p: argparse.ArgumentParser, unit: str, budget_note: str = "") -> None:
    """--tolerance, --budget, --min-runs, --gate, --cache-dir and --quiet; ``unit`` names what is timed
    ("entry", "network") in the help texts."""
    p.add_argument("--tolerance", type=float, default=0.02,
                   help=f"stop a {unit} when its median's 95%% CI half-width is within this share (default 0.02)")
    p.add_argument("--budget", type=float, default=2.0,
                   help=f"timed seconds per {unit} before it stops regardless{budget_note} (default 2.0)")
    p.add_argument("--min-runs", type=int, default=30, help=f"timed runs per {unit} at least (default 30)")
    p.add_argument("--gate", type=float, default=0.10,
                   help=f"set aside batches slower than the {unit}'s quiet level by more than this share "
                        f"(host noise episodes; default 0.10, 0 keeps every batch)")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="exported-model cache (default: $LUTNAS_CACHE or ~/.cache/lutnas)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
