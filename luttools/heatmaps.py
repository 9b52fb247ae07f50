"""Heatmaps of a LUT over a space's layers x candidates: latencies (ms) or two LUTs' ratio.

``grid``/``ratio_grid`` are pure (numpy); ``heatmap_png`` draws with matplotlib's Agg backend
(imported on use) and returns PNG bytes.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lut.matrix import SpaceLike

if TYPE_CHECKING:
    from lut.table import LUT


@dataclass(frozen=True)
class Grid:
    """Values of layers x candidates (NaN where a key is missing) with their labels."""

    values: np.ndarray
    rows: list[str]
    columns: list[str]

    @property
    def missing(self) -> int:
        """Cells without a value."""
        return int(np.isnan(self.values).sum())


def _labels(space: SpaceLike) -> tuple[list[str], list[str]]:
    columns = list(dict.fromkeys(c for layer in space.layers for c in layer.candidates))
    rows = []
    for i, layer in enumerate(space.layers):
        k = layer.key(layer.candidates[0])
        rows.append(f"{i}: {k.cin}>{k.cout} s{k.stride} {k.h}x{k.w}")
    return rows, columns


def grid(lut: LUT, space: SpaceLike) -> tuple[Grid, float | None]:
    """Net latencies in ms (median minus the LUT's ``overhead`` of the space, as the search sees them).

    Returns the grid and the overhead subtracted (None when the LUT has no overhead row: values are gross).
    """
    rows, columns = _labels(space)
    overhead_key = space.fixed_keys().get("overhead")
    overhead = lut.latency(overhead_key) if overhead_key is not None and overhead_key in lut else None
    values = np.full((len(rows), len(columns)), math.nan)
    for i, layer in enumerate(space.layers):
        for c in layer.candidates:
            key = layer.key(c)
            if key in lut:
                ms = lut.latency(key)
                values[i, columns.index(c)] = max(ms - overhead, 0.0) if overhead is not None else ms
    return Grid(values, rows, columns), overhead


def ratio_grid(a: LUT, b: LUT, space: SpaceLike) -> Grid:
    """B/A of each layer's candidates' medians (NaN where either LUT lacks the key)."""
    rows, columns = _labels(space)
    values = np.full((len(rows), len(columns)), math.nan)
    for i, layer in enumerate(space.layers):
        for c in layer.candidates:
            key = layer.key(c)
            if key in a and key in b:
                values[i, columns.index(c)] = b.latency(key) / a.latency(key)
    return Grid(values, rows, columns)


def heatmap_png(g: Grid, title: str, colorbar: str, ratio: bool = False) -> bytes:
    """A PNG of the grid, every cell annotated; ratios on a diverging scale centred on 1."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    nrows, ncols = g.values.shape
    fig, ax = plt.subplots(figsize=(2.5 + 0.85 * ncols, 1.5 + 0.32 * nrows))
    cmap = plt.get_cmap("RdBu_r" if ratio else "viridis").copy()
    cmap.set_bad("lightgray")
    finite = g.values[np.isfinite(g.values)]
    norm = None
    if ratio and len(finite):
        norm = TwoSlopeNorm(vcenter=1.0, vmin=min(float(finite.min()), 0.999), vmax=max(float(finite.max()), 1.001))
    image = ax.imshow(np.ma.masked_invalid(g.values), cmap=cmap, norm=norm, aspect="auto")
    ax.set_xticks(range(ncols), g.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(nrows), g.rows, fontsize=7)
    ax.set_xlabel("candidate")
    ax.set_ylabel("layer: cin>cout stride HxW")
    for i in range(nrows):
        for j in range(ncols):
            v = g.values[i, j]
            ax.text(j, i, "-" if math.isnan(v) else f"{v:.3g}", ha="center", va="center", fontsize=6,
                    color="black" if ratio or math.isnan(v) else "white")
    fig.colorbar(image, ax=ax, label=colorbar)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=100)
    plt.close(fig)
    return out.getvalue()
