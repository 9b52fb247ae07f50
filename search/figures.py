"""PNG pictures of a search: theta probabilities, training curves, a LUT's latency matrix.

matplotlib (Agg backend, no display needed) is imported on first use. Figures
are laid out with matplotlib's constrained layout and saved at ``DPI`` without tight cropping, so a picture's pixel size is
``figure_size(...) * DPI`` and predictable (see each function).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

DPI = 100


def heatmap_size(layers: int, candidates: int) -> tuple[float, float]:
    """Figure size in inches (width, height) of a layers x candidates heatmap."""
    return max(6.0, 2.5 + 0.8 * candidates), max(3.0, 1.5 + 0.35 * layers)


CURVES_SIZE = (11.0, 4.0)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _matrix(values: Any, candidates: Sequence[str], what: str) -> list[list[float]]:
    rows = values.tolist() if hasattr(values, "tolist") else [list(r) for r in values]
    if not rows or any(len(r) != len(candidates) for r in rows):
        raise ValueError(f"{what} must be (layers, {len(candidates)}) for candidates {', '.join(candidates)}")
    return [[float(v) for v in r] for r in rows]


def _heatmap(values: list[list[float]], candidates: Sequence[str], path: str | Path, title: str,
             colorbar: str, fmt: str, mark_argmax: bool, cmap: str) -> Path:
    import numpy as np

    plt = _pyplot()
    data = np.array(values, dtype=float)
    layers, k = data.shape
    fig, ax = plt.subplots(figsize=heatmap_size(layers, k), dpi=DPI, layout="constrained")
    try:
        masked = np.ma.masked_invalid(data)
        colors = plt.get_cmap(cmap).with_extremes(bad="#dddddd")
        im = ax.imshow(masked, cmap=colors, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(k), list(candidates), rotation=45, ha="right")
        ax.set_yticks(range(layers), [str(i) for i in range(layers)])
        ax.set_xlabel("candidate")
        ax.set_ylabel("layer")
        ax.set_title(title)
        fig.colorbar(im, ax=ax, label=colorbar)
        finite = data[np.isfinite(data)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        small = layers * k > 400
        for i in range(layers):
            best = int(np.nanargmax(data[i])) if mark_argmax and np.isfinite(data[i]).any() else -1
            for j in range(k):
                v = data[i, j]
                text = "-" if not math.isfinite(v) else format(v, fmt)
                shade = (v - lo) / (hi - lo) if math.isfinite(v) and hi > lo else 0.0
                ax.text(j, i, text, ha="center", va="center", fontsize=6 if small else 8,
                        color="white" if shade > 0.6 else "black", fontweight="bold" if j == best else "normal")
            if best >= 0:
                ax.add_patch(plt.Rectangle((best - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2))
        return _save(fig, path)
    finally:
        plt.close(fig)


def _save(fig: Any, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(p, dpi=DPI, format="png")
    return p


def plot_theta(probs: Any, candidates: Sequence[str], path: str | Path, title: str | None = None) -> Path:
    """P_theta as a layers x candidates heatmap, values written in, each layer's argmax boxed in red.

    Size: ``heatmap_size(L, K)`` inches at ``DPI``.
    """
    values = _matrix(probs, candidates, "probs")
    return _heatmap(values, candidates, path, title or "theta probabilities (red: most likely block)",
                    "probability", ".2f", True, "viridis")


def plot_lut_matrix(latency_ms: Any, candidates: Sequence[str], path: str | Path, title: str | None = None) -> Path:
    """A space's LUT latencies (ms) as a layers x candidates heatmap; missing (NaN) cells grey.

    Size: ``heatmap_size(L, K)`` inches at ``DPI``.
    """
    values = _matrix(latency_ms, candidates, "latency_ms")
    return _heatmap(values, candidates, path, title or "LUT latency per layer and candidate (ms)",
                    "latency (ms)", ".3g", False, "magma_r")


def _column(rows: Sequence[dict[str, Any]], key: str) -> list[float]:
    out = []
    for r in rows:
        v = r.get(key)
        try:
            out.append(float(v) if v is not None and v != "" else math.nan)
        except (TypeError, ValueError):
            out.append(math.nan)
    return out


def plot_curves(rows: Sequence[dict[str, Any]], path: str | Path, title: str | None = None) -> Path:
    """Accuracy (train, val) and expected latency (ms) per epoch, side by side; a dashed line ends the warm-up.

    ``rows`` are metrics rows (``search.results``). Size: ``CURVES_SIZE`` inches at ``DPI``.
    """
    if not rows:
        raise ValueError("plot_curves: no metrics rows")
    plt = _pyplot()
    epochs = [int(r["epoch"]) for r in rows]
    fig, (acc, lat) = plt.subplots(1, 2, figsize=CURVES_SIZE, dpi=DPI, layout="constrained")
    try:
        for key, label in (("train_acc", "train"), ("val_acc", "val")):
            ys = _column(rows, key)
            if any(math.isfinite(v) for v in ys):
                acc.plot(epochs, ys, marker="o", markersize=3, label=label)
        acc.set_xlabel("epoch")
        acc.set_ylabel("accuracy (%)")
        acc.set_title("accuracy")
        for key, label, style in (("expected_ms", "expected", "-"), ("sampled_ms", "sampled (theta pass)", ":"),
                                  ("argmax_ms", "argmax", "--")):
            ys = _column(rows, key)
            if any(math.isfinite(v) for v in ys):
                lat.plot(epochs, ys, style, marker="o", markersize=3, label=label)
        lat.set_xlabel("epoch")
        lat.set_ylabel("latency (ms)")
        lat.set_title("LUT latency")
        warm = [e for e, r in zip(epochs, rows) if r.get("phase") == "warmup"]
        if warm and len(warm) < len(rows):
            for ax in (acc, lat):
                ax.axvline(max(warm) + 0.5, color="grey", linestyle="--", linewidth=1, label="end of warm-up")
        for ax in (acc, lat):
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        if title:
            fig.suptitle(title)
        return _save(fig, path)
    finally:
        plt.close(fig)
