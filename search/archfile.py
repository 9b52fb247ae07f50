"""arch.json: a searched (or hand-written) architecture as a versioned JSON file.

    {"format": "lutnas-arch", "version": 1,
     "space": {"name": "fbnet-cifar", "params": {...}},     # enough to rebuild the space
     "blocks": ["k3_e1", ...],                             # one per searchable layer
     "num_classes": 10, "predicted_ms": 2.345,
     "lut": {"path": ..., "hash": "sha256:...", "device": ..., "runtime": ...},
     "probabilities": [[...], ...], "candidates": [...],   # P_theta, layers x candidates
     "top_k": [{"blocks": [...], "probability": 0.12, "predicted_ms": 2.1}, ...],
     "search": {...}}                                      # free-form search settings

Only format, version, space and blocks are required, so a hand-written file
of four keys works with ``search.export`` and ``search.train``. Every problem
with a file is one ``ValueError("<path>: <what>")``. No torch here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from lutnas import files
from search.space import LIMITS, Space
from search.spacejson import kind_of, space_from_json, space_to_json

FORMAT = "lutnas-arch"
VERSION = 1
KEYS = ("format", "version", "space", "blocks", "num_classes", "predicted_ms", "lut",
        "probabilities", "candidates", "top_k", "search")
REQUIRED = ("format", "version", "space", "blocks")
TOP_K_KEYS = ("blocks", "probability", "predicted_ms")
SUM_TOLERANCE = 1e-3  # rows of probabilities must sum to 1 within this (they are written unrounded)


@dataclass
class Arch:
    """One architecture of a space, with what the search knew about it (all but space/blocks optional)."""

    space: Space
    blocks: list[str]
    num_classes: int | None = None
    predicted_ms: float | None = None
    lut: dict[str, Any] | None = None
    probabilities: list[list[float]] | None = None
    candidates: list[str] | None = None
    top_k: list[dict[str, Any]] = field(default_factory=list)
    search: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> int:
        """The number of classes to build: the file's, else the space's."""
        return self.num_classes if self.num_classes is not None else self.space.num_classes


# ---- Arch <-> JSON -----------------------------------------------------------------------------
def arch_to_json(arch: Arch) -> dict[str, Any]:
    """The file's object, keys in the documented order (None stays null)."""
    probs = None
    if arch.probabilities is not None:
        probs = [[float(v) for v in row] for row in _rows(arch.probabilities)]
    return {
        "format": FORMAT,
        "version": VERSION,
        "space": space_to_json(arch.space),
        "blocks": list(arch.blocks),
        "num_classes": arch.num_classes,
        "predicted_ms": None if arch.predicted_ms is None else float(arch.predicted_ms),
        "lut": None if arch.lut is None else dict(arch.lut),
        "probabilities": probs,
        "candidates": None if arch.candidates is None else list(arch.candidates),
        "top_k": [{k: (float(v) if k != "blocks" and v is not None else v) for k, v in t.items()}
                  for t in arch.top_k],
        "search": dict(arch.search),
    }


def _rows(values: Any) -> list:
    return values.tolist() if hasattr(values, "tolist") else list(values)


def arch_from_json(data: Any, base: Path | None = None) -> Arch:
    """Validate a parsed arch.json object; ValueError (without the path) on the first problem."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {kind_of(data)}")
    fmt = data.get("format")
    if fmt != FORMAT:
        raise ValueError(f"not a lutnas arch file (format is {fmt!r}, expected {FORMAT!r})")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}")
    if version > VERSION:
        raise ValueError(f"arch format version {version} was written by a newer lutnas "
                         f"(this one reads up to version {VERSION}); upgrade lutnas")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(KEYS)}")
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise ValueError(f"missing key(s) {', '.join(missing)}")
    space = space_from_json(data["space"], base)
    blocks = _blocks(space, data["blocks"], "blocks")
    num_classes = data.get("num_classes")
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int)
                                    or not 1 <= num_classes <= LIMITS["num_classes"]):
        raise ValueError(f"num_classes must be a positive integer up to {LIMITS['num_classes']}, got {num_classes!r}")
    predicted = _ms(data.get("predicted_ms"), "predicted_ms")
    lut = data.get("lut")
    if lut is not None:
        if not isinstance(lut, dict):
            raise ValueError(f"lut must be an object (path, hash, device, runtime), got {kind_of(lut)}")
        bad = sorted(k for k, v in lut.items() if v is not None and not isinstance(v, (str, int, float)))
        if bad:
            raise ValueError(f"lut: {', '.join(bad)} must be a string or number")
    candidates = data.get("candidates")
    if candidates is not None:
        if not isinstance(candidates, list) or candidates != list(space.candidates):
            raise ValueError(f"candidates {candidates!r} are not the space's "
                             f"({', '.join(space.candidates)}, in that order)")
    probs = data.get("probabilities")
    if probs is not None:
        probs = _probabilities(probs, len(space.layers), len(space.candidates))
    top = data.get("top_k") or []
    if not isinstance(top, list):
        raise ValueError(f"top_k must be a list, got {kind_of(top)}")
    top = [_top_entry(space, t, i) for i, t in enumerate(top)]
    search = data.get("search") or {}
    if not isinstance(search, dict):
        raise ValueError(f"search must be an object, got {kind_of(search)}")
    return Arch(space, blocks, num_classes, predicted, None if lut is None else dict(lut), probs,
                None if candidates is None else list(candidates), top, dict(search))


def _blocks(space: Space, blocks: Any, what: str) -> list[str]:
    if not isinstance(blocks, list) or not all(isinstance(b, str) for b in blocks):
        raise ValueError(f"{what} must be a list of block names")
    return _check_choices(space, blocks, what)


def _check_choices(space: Space, blocks: list[str], what: str) -> list[str]:
    # search.childnet.check_choices's rules and messages, without importing torch (this module is pure)
    if len(blocks) != len(space.layers):
        raise ValueError(f"{what}: space {space.name!r} has {len(space.layers)} searchable layers, "
                         f"got {len(blocks)} block names")
    for layer, b in zip(space.layers, blocks):
        try:
            layer.key(b)
        except ValueError as e:
            raise ValueError(f"{what}: {e}") from None
    return list(blocks)


def _ms(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0 (ms), got {value!r}")
    return float(value)


def _probabilities(probs: Any, layers: int, k: int) -> list[list[float]]:
    if not isinstance(probs, list) or len(probs) != layers:
        n = len(probs) if isinstance(probs, list) else kind_of(probs)
        raise ValueError(f"probabilities must have one row per searchable layer ({layers}), got {n}")
    out = []
    for i, row in enumerate(probs):
        if not isinstance(row, list) or len(row) != k:
            n = len(row) if isinstance(row, list) else kind_of(row)
            raise ValueError(f"probabilities row {i} must have one value per candidate ({k}), got {n}")
        if not all(not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= 1
                   for v in row):
            raise ValueError(f"probabilities row {i}: values must be numbers in [0, 1]")
        if abs(sum(row) - 1.0) > SUM_TOLERANCE:
            raise ValueError(f"probabilities row {i} sums to {sum(row):.6g}, not 1")
        out.append([float(v) for v in row])
    return out


def _top_entry(space: Space, entry: Any, i: int) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise ValueError(f"top_k[{i}] must be an object with {', '.join(TOP_K_KEYS)}")
    unknown = sorted(set(entry) - set(TOP_K_KEYS))
    if unknown:
        raise ValueError(f"top_k[{i}]: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(TOP_K_KEYS)}")
    if "blocks" not in entry:
        raise ValueError(f"top_k[{i}]: missing blocks")
    blocks = _blocks(space, entry["blocks"], f"top_k[{i}].blocks")
    p = entry.get("probability")
    if p is not None and (isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1):
        raise ValueError(f"top_k[{i}].probability must be a number in [0, 1], got {p!r}")
    return {"blocks": blocks, "probability": None if p is None else float(p),
            "predicted_ms": _ms(entry.get("predicted_ms"), f"top_k[{i}].predicted_ms")}


# ---- files -------------------------------------------------------------------------------------
def read_arch(path: str | Path) -> Arch:
    """Load and validate an arch.json; every problem is one ``ValueError("<path>: <what>")``."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ValueError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ValueError(f"{p}: is a directory, not an arch.json file") from None
    except OSError as e:
        raise ValueError(f"{p}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{p}: not UTF-8 text") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"{p}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except ValueError as e:
        raise ValueError(f"{p}: not valid JSON: {e}") from None
    except RecursionError:
        raise ValueError(f"{p}: not an arch.json: JSON nested too deeply") from None
    try:
        return arch_from_json(data, p.parent)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{p}: {_one_line(e)}") from None
    except RecursionError:
        raise ValueError(f"{p}: not an arch.json: JSON nested too deeply") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def write_arch(arch: Arch, path: str | Path) -> Path:
    """Validate and write ``arch`` atomically (``lutnas.files``), keys in order, indent 2."""
    p = Path(path)
    data = arch_to_json(arch)
    try:
        arch_from_json(json.loads(json.dumps(data)), p.parent)
    except ValueError as e:
        raise ValueError(f"{p}: refusing to write an invalid arch: {_one_line(e)}") from None
    text = dumps(data) + "\n"
    files.write_atomic(p, text, parents=True)
    return p


def dumps(value: Any, level: int = 0) -> str:
    """JSON with indent 2, keys in insertion order, and lists of numbers/strings kept on one line."""
    pad, inner = "  " * level, "  " * (level + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(k))}: {dumps(v, level + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(inner + dumps(v, level + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False, separators=(", ", ": "))


def make_arch(space: Space, blocks: Sequence[str], **fields: Any) -> Arch:
    """An Arch with its blocks checked against the space (ValueError otherwise)."""
    return Arch(space, _check_choices(space, list(blocks), "blocks"), **fields)
