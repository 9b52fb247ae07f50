"""The fidelity scatter: measured against predicted latency of whole networks, with the y = x line."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from lutnas import files

DPI = 100
SIZE = (6.0, 6.0)  # inches: a 600 x 600 pixel picture


def plot_scatter(predicted: Sequence[float], measured: Sequence[float], path: Path, title: str,
                 raw: Sequence[float] | None = None) -> Path:
    """Scatter of measured (y) over predicted (x) ms with y = x and the +-10% band; ``raw`` adds the
    uncalibrated predictions in grey. Written atomically."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    values = [*predicted, *measured, *(raw or [])]
    lo, hi = min(values) * 0.95, max(values) * 1.05
    fig, ax = plt.subplots(figsize=SIZE, dpi=DPI, layout="constrained")
    try:
        ax.fill_between([lo, hi], [lo / 1.1, hi / 1.1], [lo / 0.9, hi / 0.9], color="tab:green", alpha=0.12,
                        label="within +-10%")
        ax.plot([lo, hi], [lo, hi], color="black", linewidth=1, label="y = x")
        if raw is not None:
            ax.scatter(raw, measured, s=14, color="0.6", label="LUT sum (uncalibrated)")
        ax.scatter(predicted, measured, s=18, color="tab:blue", label="predicted" if raw is None else "calibrated")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_xlabel("predicted latency (ms)")
        ax.set_ylabel("measured latency (ms)")
        ax.set_title(title, fontsize=9)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
        with files.replacing(path, suffix=".png", parents=True) as tmp:
            fig.savefig(tmp, dpi=DPI)
    finally:
        plt.close(fig)
    return path
