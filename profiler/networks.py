"""Whole networks of a space on a device: the environment check, export, and the result table.

Networks are exported once per runtime (cached by content hash, like the LUT's blocks) and
measured by ``devices.measure`` exactly as the LUT's entries are: warm-up until settled,
rounds interleaved across all networks, stop on the median's CI, host-noise gate. A few
of the LUT's own keys (overhead, stem, head, the profiler's canary block) are timed in the
same rounds as references: their ratio now/LUT says how this host compares with the host
the LUT was measured on, apart from any error of the LUT's model of a network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from lut import LUT, Key, LUTError
from lut.schema import ENVIRONMENT_COLUMNS
from search.space import Space

RESULT_COLUMNS = ("arch", "blocks", "lut_ms", "predicted_ms", "measured_ms", "p10_ms", "p90_ms", "n", "ci_rel",
                  "stable", "error_pct")


def check_device(lut: LUT, device: str) -> None:
    """LUTError when the LUT's rows were measured on another device profile than ``device``."""
    devices = lut.provenance()["device"]
    if devices != [device]:
        raise LUTError(f"{lut.source or 'LUT'}: measured on device {', '.join(devices)}, not {device}; "
                       f"whole networks must run where the LUT was measured")


def check_environment(lut: LUT, env: Mapping[str, Any]) -> None:
    """LUTError when this device's environment is not the one the LUT's rows were measured in."""
    where = str(lut.source) if lut.source else "LUT"
    mine = tuple(str(env[c]) for c in ENVIRONMENT_COLUMNS)
    for theirs in lut.environments():
        if tuple(str(v) for v in theirs) != mine:
            diffs = ", ".join(f"{c} {str(t)!r} in the LUT vs {m!r} here"
                              for c, t, m in zip(ENVIRONMENT_COLUMNS, theirs, mine) if str(t) != m)
            raise LUTError(f"{where}: measured in another environment ({diffs}); validate it where it was measured")


def reference_keys(space: Space) -> dict[str, Key]:
    """LUT keys timed beside the networks: the fixed ops and profiler.run's canary block."""
    fixed = space.fixed_keys()
    last = space.layers[-1]
    canary = last.key(next((c for c in last.candidates if c != "skip"), last.candidates[0]))
    return {"overhead": fixed["overhead"], "stem": fixed["stem"], "head": fixed["head"], "canary": canary}


def export_networks(space: Space, archs: Sequence[Sequence[str]], runtime, cache,
                    advance: Callable[[], None] = lambda: None) -> list[Path]:
    """The exported artifact of each architecture (ChildNet, eval mode, the space's classes)."""
    from search.childnet import ChildNet

    shape = (1, 3, space.input_size, space.input_size)
    paths = []
    for blocks in archs:
        paths.append(cache.get(lambda b=blocks: ChildNet(space, b).eval(), shape, runtime))
        advance()
    return paths


@dataclass
class Result:
    """One network: its blocks, the LUT's sum, the (calibrated) prediction, and its measurement."""

    arch: int
    blocks: list[str]
    lut_ms: float
    predicted_ms: float
    measured: dict[str, float | int] | None = None  # Summary.as_row()

    def row(self) -> dict[str, Any]:
        """The result-table row (measurement fields empty until measured)."""
        m = self.measured or {}
        med = m.get("median_ms")
        return {"arch": self.arch, "blocks": " ".join(self.blocks), "lut_ms": self.lut_ms,
                "predicted_ms": self.predicted_ms, "measured_ms": med, "p10_ms": m.get("p10_ms"),
                "p90_ms": m.get("p90_ms"), "n": m.get("n"), "ci_rel": m.get("ci_rel"), "stable": m.get("stable"),
                "error_pct": None if med is None else 100 * (self.predicted_ms - med) / med}


def results_csv(results: Sequence[Result]) -> str:
    """The result table as CSV text (measured networks only, in architecture order)."""
    rows = [r.row() for r in sorted(results, key=lambda r: r.arch) if r.measured]
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    for c in ("n", "stable"):
        frame[c] = frame[c].astype("Int64")
    return frame.to_csv(index=False, float_format="%.6f", lineterminator="\n")


def read_results(path: Path, results: Sequence[Result]) -> int:
    """Fill ``results`` with the measurements of an earlier, interrupted run; returns how many.

    LUTError when the file's architectures are not this run's (another seed, space or sample).
    """
    try:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as e:
        raise LUTError(f"{path}: cannot read earlier results: {' '.join(str(e).split())}") from None
    missing = [c for c in RESULT_COLUMNS if c not in frame.columns]
    if missing:
        raise LUTError(f"{path}: not a results table of profiler.validate (lacks {', '.join(missing)})")
    by_arch = {r.arch: r for r in results}
    count = 0
    for i, row in frame.iterrows():
        r = by_arch.get(int(row["arch"]))
        if r is None or str(row["blocks"]) != " ".join(r.blocks):
            raise LUTError(f"{path}: line {i + 2}: architecture {row['arch']} is not this run's; "
                           f"use another --out or --overwrite")
        if pd.isna(row["measured_ms"]):
            continue
        r.measured = {"median_ms": float(row["measured_ms"]), "p10_ms": float(row["p10_ms"]),
                      "p90_ms": float(row["p90_ms"]), "n": int(row["n"]), "ci_rel": float(row["ci_rel"]),
                      "stable": int(row["stable"])}
        count += 1
    return count
