"""Merging LUTs: union of their rows, environments kept apart, duplicate keys resolved by a policy.

Rows keep their own provenance. Rows measured in different environments (ENVIRONMENT_COLUMNS:
device model, runtime and its version, optimization level, threads) are not comparable, so a merge
that would mix them is refused unless ``allow_mixed``. A key present in several inputs with the
very same row is no conflict; with different rows the policy picks one:

- ``most-precise``: stable rows first, then the smallest ``ci_rel``, then the most runs ``n``, then
  the newest ``measured_at``;
- ``newest``: the latest ``measured_at`` (``unknown`` is oldest), then as ``most-precise``;
- ``fail``: refuse the merge, naming the keys.

A tie left after these is broken by the row's canonical text, so the result never depends on the
order of the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence

import pandas as pd

from lut import canonical
from lut.cells import format_cell, timestamp
from lut.schema import COLUMNS, ENVIRONMENT_COLUMNS, IMPORTED_PREFIX, KEY_COLUMNS, Key, LUTError

if TYPE_CHECKING:
    from lut.table import LUT

SHOWN = 3  # keys named in a message before "and N more"


def _precise(frame: pd.DataFrame) -> list[pd.Series]:
    return [-frame["stable"], frame["ci_rel"], -frame["n"], -frame["measured_at"].map(timestamp)]


def _newest(frame: pd.DataFrame) -> list[pd.Series]:
    return [-frame["measured_at"].map(timestamp), -frame["stable"], frame["ci_rel"], -frame["n"]]


# policy name -> sort keys of a frame's rows (smaller is preferred); None: refuse conflicts
POLICIES: dict[str, Callable[[pd.DataFrame], list[pd.Series]] | None] = {
    "most-precise": _precise,
    "newest": _newest,
    "fail": None,
}


@dataclass(frozen=True)
class Resolution:
    """A key the inputs disagree on: the input whose row was kept and the inputs whose rows were not."""

    key: Key
    kept: str
    dropped: tuple[str, ...]


@dataclass(frozen=True)
class Merged:
    """The merged LUT, the conflicts resolved, and how many identical duplicate rows were folded."""

    lut: LUT
    resolved: list[Resolution]
    identical: int


def _name(lut: LUT, i: int) -> str:
    return str(lut.source) if lut.source is not None else f"input {i + 1}"


def _env_text(env: tuple) -> str:
    return ", ".join(f"{c}={v}" for c, v in zip(ENVIRONMENT_COLUMNS, env))


def check_environments(luts: Sequence[LUT]) -> None:
    """LUTError naming the inputs and their environments when the rows come from more than one."""
    seen: dict[tuple, list[str]] = {}
    model = ENVIRONMENT_COLUMNS.index("device_model")
    for i, lut in enumerate(luts):
        for env in lut.environments():
            seen.setdefault(env, []).append(_name(lut, i))
            if len(luts) > 1 and str(env[model]).startswith(IMPORTED_PREFIX):
                raise LUTError(f"{_name(lut, i)}: holds imported rows of an unknown device ({env[model]}), which "
                               f"cannot be told from any other's: name it when converting (lut convert ... --set "
                               f"device_model='Pixel 3'), or pass --allow-mixed (allow_mixed=True) to merge anyway")
    if len(seen) > 1:
        parts = [f"{' + '.join(names)}: {_env_text(env)}" for env, names in seen.items()]
        raise LUTError(f"refusing to merge rows measured in {len(seen)} environments ({'; '.join(parts)}); "
                       f"their latencies are not comparable. Pass --allow-mixed (allow_mixed=True) to merge "
                       f"anyway; every row keeps its provenance")


def merge(luts: Sequence[LUT], policy: str = "most-precise", allow_mixed: bool = False) -> Merged:
    """The union of ``luts``; LUTError on mixed environments (unless ``allow_mixed``) or a refused conflict."""
    from lut.table import LUT

    if policy not in POLICIES:
        raise ValueError(f"unknown merge policy {policy!r}; known: {', '.join(POLICIES)}")
    if not luts:
        raise ValueError("nothing to merge: give at least one LUT")
    if not allow_mixed:
        check_environments(luts)
    frames = []
    for i, lut in enumerate(luts):
        frame = lut.frame
        frame["_source"] = _name(lut, i)
        frames.append(frame)
    rows = pd.concat(frames, ignore_index=True)
    rows["_text"] = [",".join(format_cell(c, v) for c, v in zip(COLUMNS, values))
                     for values in zip(*(rows[c].tolist() for c in COLUMNS))]
    before = len(rows)
    rows = rows.drop_duplicates(subset=["_text"], keep="first")
    identical = before - len(rows)
    key = list(KEY_COLUMNS)
    conflicted = rows[rows.duplicated(subset=key, keep=False)]
    rank = POLICIES[policy]
    if len(conflicted) and rank is None:
        keys = list(dict.fromkeys(Key._make(k) for k in conflicted[key].itertuples(index=False)))
        shown = "; ".join(f"{k} in {', '.join(conflicted[_is(conflicted, k)]['_source'])}" for k in keys[:SHOWN])
        more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
        raise LUTError(f"{len(keys)} key(s) have different rows in different inputs: {shown}{more}; "
                       f"choose a policy with --policy most-precise or --policy newest")
    resolved: list[Resolution] = []
    if len(conflicted):
        sort_keys = [*rank(rows), rows["_text"]] if rank else [rows["_text"]]
        order = pd.DataFrame({f"_{i}": s.to_numpy() for i, s in enumerate(sort_keys)}, index=rows.index)
        rows = rows.loc[order.sort_values(list(order.columns), kind="mergesort").index]
        for k, group in rows[rows.duplicated(subset=key, keep=False)].groupby(key, sort=True):
            sources = list(group["_source"])
            resolved.append(Resolution(Key._make(k), sources[0], tuple(sources[1:])))
        rows = rows.drop_duplicates(subset=key, keep="first")
    frame = canonical.sort_frame(rows.drop(columns=["_source", "_text"]))
    return Merged(LUT(frame), resolved, identical)


def _is(frame: pd.DataFrame, key: Key) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for c, v in zip(KEY_COLUMNS, key):
        mask &= frame[c] == v
    return mask
