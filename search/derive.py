"""Architectures from a search's distribution P_theta (the most likely one, the k most likely) and the files a
finished search hands them over in (arch.json, theta.png, curves.png, model.onnx)."""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from search.archfile import make_arch, write_arch


def _check(values: Tensor, candidates: Sequence[str], what: str) -> None:
    if values.dim() != 2:
        raise ValueError(f"{what} must be (layers, candidates), got shape {tuple(values.shape)}")
    if values.shape[1] != len(candidates):
        raise ValueError(f"{what} has {values.shape[1]} columns but {len(candidates)} candidate names were given")


def argmax_choices(theta_or_probs: Tensor, candidates: Sequence[str]) -> list[str]:
    """The most likely block per layer (softmax keeps the argmax, so theta or P_theta both work)."""
    _check(theta_or_probs, candidates, "theta_or_probs")
    return [candidates[i] for i in theta_or_probs.detach().argmax(dim=1).tolist()]


def top_k(probs: Tensor, candidates: Sequence[str], k: int) -> list[tuple[list[str], float]]:
    """The ``k`` most likely architectures under independent per-layer categoricals, most likely first.

    Exact: a beam over the layers keeping the ``k`` most likely prefixes (the prefix of a top-k
    architecture is among the top-k prefixes, since every further factor is shared). Ties keep
    the lower candidate indices first. Fewer than ``k`` come back when the space is smaller.
    """
    _check(probs, candidates, "probs")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    p = probs.detach().to(torch.float64).cpu()
    if not bool(torch.isfinite(p).all()) or bool((p < 0).any()):
        raise ValueError("probs must be finite and non-negative")
    sums = p.sum(dim=1)
    if not bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4)):
        raise ValueError("every row of probs must sum to 1 (pass softmax(theta), e.g. Supernet.probabilities())")
    logp = [[math.log(v) if v > 0 else -math.inf for v in row] for row in p.tolist()]
    beam: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
    for row in logp:
        grown = ((lp + row[j], idx + (j,)) for lp, idx in beam for j in range(len(row)))
        # nsmallest on (-logp, indices): the k most likely, ties broken by the index tuple
        beam = [(-neg, idx) for neg, idx in heapq.nsmallest(k, ((-lp, idx) for lp, idx in grown))]
    return [([candidates[j] for j in idx], math.exp(lp)) for lp, idx in beam]


def write_outputs(searcher, space, matrix, lut, run: dict[str, Any], cfg, out: Path,
                  selection: dict[str, Any] | None = None) -> Path:
    """Write arch.json (argmax architecture, or ``selection``'s pick (search.select), LUT identity, theta, top-k),
    theta.png, curves.png, model.onnx."""
    from search.figures import plot_curves, plot_theta

    probs = searcher.net.probabilities()
    candidates = list(space.candidates)
    blocks = selection["blocks"] if selection else argmax_choices(probs, candidates)
    env = lut.environments()
    lut_info = {"path": str(run["lut"]), "hash": lut.content_hash(),
                "device": ",".join(sorted(lut.provenance().get("device", []))),
                "runtime": ",".join(sorted(lut.provenance().get("runtime", []))),
                "environments": len(env)}
    ranked = [{"blocks": b, "probability": p, "predicted_ms": matrix.predict(b)}
              for b, p in top_k(probs, candidates, run["top_k"])]
    search = {**asdict(cfg), "data": run["data"], "limit": run["limit"], "epochs_done": searcher.state.epoch}
    if searcher.state.metrics:
        last = searcher.state.metrics[-1]
        search.update(val_acc=last["val_acc"], train_acc=last["train_acc"])
    if selection:
        search["selection"] = selection
    arch = make_arch(space, blocks, num_classes=searcher.splits.num_classes, predicted_ms=matrix.predict(blocks),
                     lut=lut_info, probabilities=probs.tolist(), candidates=candidates, top_k=ranked, search=search)
    path = write_arch(arch, out / "arch.json")
    plot_theta(probs.numpy(), candidates, out / "theta.png",
               title=f"P(theta) after {searcher.state.epoch} epochs; "
               f"{'selected' if selection else 'argmax'} {matrix.predict(blocks):.3f} ms")
    plot_curves(searcher.state.metrics, out / "curves.png")
    if run.get("export", True):
        from search.export import export_model

        export_model(inherit(searcher.net, space, blocks, searcher.splits.num_classes), space.input_size,
                     out / "model.onnx", "onnx")
    return path


def inherit(net, space, blocks: list[str], num_classes: int):
    """The derived ChildNet carrying the supernet's weights of the chosen candidates."""
    if net.head.fc.out_features != num_classes:
        raise ValueError(f"the supernet has {net.head.fc.out_features} classes, not {num_classes}")
    return net.child(blocks)
