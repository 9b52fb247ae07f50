"""A search's folder: search.json (its settings, written before any work), what --overwrite removes, and the
checks that let --resume continue the same search (the same LUT, a checkpoint of these settings)."""

from __future__ import annotations

import json
import math
import sys
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any


RUN_FIELDS = ("lut", "space", "width_mult", "resolution", "data", "limit", "top_k", "threads", "export",
              "train_device", "select", "select_judge", "select_steps", "select_epochs", "select_images",
              "select_seeds", "select_finalists")
SEARCH_FILES = ("search.json", "checkpoint.pt", "checkpoint.pt.part", "metrics.csv", "arch.json", "theta.png",
                "curves.png", "model.onnx")  # what a search writes, and all --overwrite removes

def check_run(run: dict[str, Any]) -> None:
    """ValueError on run settings that cannot work (before anything is loaded or trained)."""
    if not isinstance(run.get("top_k"), int) or run["top_k"] < 1:
        raise ValueError(f"--top-k must be >= 1, got {run.get('top_k')}")
    from search.select import JUDGES

    if run.get("select_judge") not in JUDGES:
        raise ValueError(f"--select-judge must be one of {', '.join(JUDGES)}, got {run.get('select_judge')!r}")
    for name, least in (("select", 0), ("select_steps", 1), ("select_epochs", 1), ("select_images", 0),
                        ("select_seeds", 1), ("select_finalists", 0)):
        if isinstance(run.get(name), bool) or not isinstance(run.get(name), int) or run[name] < least:
            raise ValueError(f"--{name.replace('_', '-')} must be a whole number >= {least}, got {run.get(name)}")
    for name in ("limit", "threads", "resolution"):
        if run.get(name) is not None and (not isinstance(run[name], int) or run[name] < 1):
            raise ValueError(f"--{name} must be >= 1, got {run[name]}")
    from search.space import MAX_WIDTH_MULT

    wm = run.get("width_mult")
    if wm is not None and not (isinstance(wm, (int, float)) and math.isfinite(wm) and 0 < wm <= MAX_WIDTH_MULT):
        raise ValueError(f"--width-mult must be a number in (0, {MAX_WIDTH_MULT:g}], got {wm}")


def read_search_json(out: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, run) of DIR/search.json; ValueError naming the file when it is not a search's."""
    path = out / "search.json"
    if not path.exists():
        raise ValueError(f"{out}: no search.json, so no search to resume (start one with --out {out})")
    try:
        saved = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ValueError(f"{path}: cannot resume: {e}") from None
    if not (isinstance(saved, dict) and isinstance(saved.get("config"), dict) and isinstance(saved.get("run"), dict)):
        raise ValueError(f"{path}: not a lutnas search (expected an object with 'config' and 'run' objects)")
    missing = [k for k in ("lut", "space", "data") if k not in saved["run"]]
    if missing:
        raise ValueError(f"{path}: its 'run' lacks {', '.join(missing)}")
    from search.config import saved_config

    # what a search.json without these meant: before lutnas 0.7 no --select (and --select-steps came with it);
    # before 0.9 --select tested on the theta split alone (no --select-images); before 0.11 it judged with the
    # fine-tuned supernet only (no --select-judge, --select-epochs); before 0.12 the scratch judge trained once
    # (no --select-seeds); before 0.13 it trained every candidate from every seed (no --select-finalists)
    run = {**dict.fromkeys(RUN_FIELDS), "top_k": 5, "export": True, "select": 0, "select_steps": 50,
           "select_images": 0, "select_judge": "supernet", "select_epochs": 3, "select_seeds": 1,
           "select_finalists": 0, **saved["run"]}
    return saved_config(saved["config"]), run


def config_from(config: dict[str, Any], source: str):
    """A checked SearchConfig from a stored config; ValueError naming ``source`` when it is not one."""
    from search.config import SearchConfig

    names = {f.name for f in fields(SearchConfig)}
    unknown = sorted(set(config) - names)
    if unknown:
        raise ValueError(f"{source}: unknown search settings {', '.join(unknown)}")
    try:
        cfg = SearchConfig(**config)
        cfg.check()
    except (TypeError, ValueError) as e:
        raise ValueError(f"{source}: {e}") from None
    return cfg


def check_resume(out: Path, cfg, run: dict[str, Any], lut_hash: str) -> dict[str, Any] | None:
    """The checkpoint to continue from (None: stopped before the first one), after checking that the LUT and the
    checkpoint are the ones this search.json started with; ValueError naming both sides otherwise."""
    from search.checkpoint import CHECKPOINT, load_checkpoint
    from search.config import saved_config

    saved_hash = run.get("lut_hash")
    if saved_hash is None:
        print(f"note: {out / 'search.json'} records no LUT hash (a search from before lutnas 0.3): "
              f"{run['lut']} is used as it is now", file=sys.stderr)
    elif saved_hash != lut_hash:
        raise ValueError(f"{run['lut']}: its content changed since the search in {out} started (hash {lut_hash[:16]}, "
                         f"{out / 'search.json'} records {str(saved_hash)[:16]}); restore that LUT, or start a "
                         f"new search with this one")
    if not (out / CHECKPOINT).exists():
        return None
    ckpt = load_checkpoint(out)
    saved = saved_config(ckpt.get("config") or {})
    differ = sorted(k for k in set(saved) | set(asdict(cfg)) if saved.get(k) != asdict(cfg).get(k))
    if differ:
        raise ValueError(f"{out / CHECKPOINT} and {out / 'search.json'} disagree on {', '.join(differ)}: "
                         f"the checkpoint is not this search's")
    return ckpt


def start(out: Path, cfg, run: dict[str, Any], overwrite: bool) -> None:
    """Make ``out`` hold a search that has not started: search.json written atomically before any work."""
    from lutnas import files

    out.mkdir(parents=True, exist_ok=True)
    if overwrite:
        for name in SEARCH_FILES:
            (out / name).unlink(missing_ok=True)
    files.write_atomic(out / "search.json", json.dumps({"config": asdict(cfg), "run": run}, indent=2) + "\n",
                       parents=True)
