"""The result files of a finished search: arch.json, plots, the derived model."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from search.archfile import make_arch, write_arch
from search.derive import argmax_choices, top_k


def write_outputs(searcher, space, matrix, lut, run: dict[str, Any], cfg, out: Path) -> Path:
    """Write arch.json (argmax architecture, LUT identity, theta, top-k), theta.png, curves.png, model.onnx."""
    from search.plots import plot_curves, plot_theta

    probs = searcher.net.probabilities()
    candidates = list(space.candidates)
    blocks = argmax_choices(probs, candidates)
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
    arch = make_arch(space, blocks, num_classes=searcher.splits.num_classes, predicted_ms=matrix.predict(blocks),
                     lut=lut_info, probabilities=probs.tolist(), candidates=candidates, top_k=ranked, search=search)
    path = write_arch(arch, out / "arch.json")
    plot_theta(probs.numpy(), candidates, out / "theta.png",
               title=f"P(theta) after {searcher.state.epoch} epochs; argmax {matrix.predict(blocks):.3f} ms")
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
