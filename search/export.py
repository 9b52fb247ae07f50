"""python -m search.export: an arch.json's network (stem + chosen blocks + head) as ONNX, ExecuTorch or TorchScript."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

from lutnas import files
from lutnas.registry import Registry
from search.archfile import Arch, read_arch

FORMATS: Registry[str, tuple[str, str]] = Registry("format")  # --format -> (runtime whose exporter writes it, suffix)
FORMATS.register("onnx", ("onnxruntime", ".onnx"))
FORMATS.register("torchscript", ("torchscript", ".pt"))
FORMATS.register("executorch", ("executorch", ".pte"))

EPILOG = """\
examples:
  python -m search.export --arch runs/X/arch.json --out model.onnx
  python -m search.export --arch runs/X/arch.json --out model.pt --format torchscript
  python -m search.export --arch runs/X/arch.json --out model.pte     # ExecuTorch + XNNPACK, for phones
  python -m search.export --arch runs/X/train/arch.json --weights runs/X/train/weights.pt --out model.onnx

arch.json needs only format, version, space and blocks, so hand-written files work:
  {"format": "lutnas-arch", "version": 1, "space": {"name": "fbnet-cifar"}, "blocks": ["k3_e1", ...]}
Without --weights the network has its fresh (seeded) initialization: fine for latency, not for accuracy.
"""


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line, ``error: ...``, exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    p = OneLineParser(prog="python -m search.export", description=__doc__, epilog=EPILOG,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", type=Path, required=True, help="arch.json (from search.run, search.train or by hand)")
    p.add_argument("--out", type=Path, required=True,
                   help="file to write (written atomically; missing folders are created)")
    p.add_argument("--format", dest="fmt", default=None, metavar="{" + ",".join(FORMATS) + "}",
                   help="onnx (opset-pinned, self-contained .onnx, runs in ONNX Runtime), executorch (.pte with the "
                        "XNNPACK delegate, runs in ExecuTorch) or torchscript (traced and frozen .pt); "
                        "default: from the --out suffix (.pt: torchscript, .pte: executorch), else onnx")
    p.add_argument("--num-classes", type=int, default=None, metavar="N",
                   help="classifier outputs; default: from --weights, else arch.json's num_classes, "
                        "else the space's")
    p.add_argument("--weights", type=Path, default=None, metavar="W.pt",
                   help="state dict saved by search.train (weights.pt), loaded with weights_only=True")
    p.add_argument("--seed", type=int, default=0, help="seed of the initialization without --weights (default 0)")
    return p


def format_for(out: Path, fmt: str | None) -> str:
    """The export format: ``fmt`` if given (checked), else from the suffix of ``out``."""
    if fmt is None:
        return next((name for name, (_, suffix) in FORMATS.items() if out.suffix == suffix and name != "onnx"),
                    "onnx")
    FORMATS.get(fmt)
    return fmt


def load_weights(path: Path) -> dict[str, Any]:
    """A state dict from ``torch.save`` (weights_only: no code from the file runs)."""
    import torch

    from search.torchfile import load_torch_file

    state = load_torch_file(path, "weights.pt from search.train")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a state dict (name -> tensor), as search.train writes")
    return state


def classes_in(state: dict[str, Any]) -> int | None:
    """The number of outputs of the head's classifier in a ChildNet state dict."""
    w = state.get("head.fc.weight")
    return int(w.shape[0]) if w is not None and w.dim() == 2 else None


def build_model(arch: Arch, num_classes: int | None = None, weights: Path | None = None, seed: int = 0):
    """ChildNet of ``arch`` in eval mode, with ``weights`` loaded when given."""
    import torch

    from search.childnet import ChildNet

    state = load_weights(weights) if weights is not None else None
    if num_classes is None:
        num_classes = (classes_in(state) if state is not None else None) or arch.classes
    if num_classes < 1:
        raise ValueError(f"--num-classes must be >= 1, got {num_classes}")
    torch.manual_seed(seed)
    model = ChildNet(arch.space, arch.blocks, num_classes)
    if state is not None:
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            first = next((ln.strip() for ln in str(e).splitlines()[1:] if ln.strip()), str(e))
            raise ValueError(f"{weights}: the weights do not fit this architecture "
                             f"({num_classes} classes): {first}") from None
    return model.eval()


def export_arch(arch: Arch, out: str | Path, fmt: str | None = "onnx", weights: Path | None = None,
                num_classes: int | None = None, seed: int = 0) -> Path:
    """Build ``arch``'s ChildNet (eval) and write it with the runtime's exporter at (1, 3, S, S), atomically."""
    out = Path(out)
    fmt = format_for(out, fmt)
    return export_model(build_model(arch, num_classes, weights, seed), arch.space.input_size, out, fmt)


def export_model(model: Any, input_size: int, out: Path, fmt: str) -> Path:
    """Write ``model`` (eval mode) in ``fmt`` to ``out`` via a temp file in the same folder."""
    from devices.runtimes import get_runtime

    check_writable(out)
    with files.replacing(out, suffix=".part") as tmp:
        get_runtime(FORMATS[fmt][0]).export(model.eval(), (1, 3, input_size, input_size), tmp)
    return out


def check_writable(out: Path) -> None:
    """Fail early (before building anything) when ``out`` cannot be written: ValueError saying why
    (its folder is made when missing)."""
    if out.is_dir():
        raise ValueError(f"cannot write {out}: it is a directory; give a file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"cannot write {out}: {_file_in_path(out.parent)} is a file, not a folder") from None
    except OSError as e:
        raise ValueError(f"cannot write {out}: {e.strerror or e}") from None


def _file_in_path(folder: Path) -> Path:
    for p in [folder, *folder.parents]:
        if p.exists() and not p.is_dir():
            return p
    return folder


def summarize_blocks(blocks: Sequence[str]) -> str:
    """Runs of equal blocks: ``k3_e1 x3, skip, k5_e6 x2``."""
    runs: list[list[Any]] = []
    for b in blocks:
        if runs and runs[-1][0] == b:
            runs[-1][1] += 1
        else:
            runs.append([b, 1])
    return ", ".join(b if n == 1 else f"{b} x{n}" for b, n in runs)


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def run(args: argparse.Namespace) -> int:
    """Export and report; ValueError/OSError become one-line errors in ``main``."""
    arch = read_arch(args.arch)
    fmt = format_for(args.out, args.fmt)
    check_writable(args.out)
    model = build_model(arch, args.num_classes, args.weights, args.seed)
    out = export_model(model, arch.space.input_size, args.out, fmt)
    params = sum(p.numel() for p in model.parameters())
    s = arch.space.input_size
    print(f"space: {arch.space.name} ({len(arch.blocks)} searchable layers, input 1x3x{s}x{s}, "
          f"{model.head.fc.out_features} classes)")
    print(f"blocks: {summarize_blocks(arch.blocks)}")
    if arch.predicted_ms is not None:
        print(f"LUT-predicted latency: {arch.predicted_ms:.3f} ms")
    print(f"parameters: {params:,}" + ("" if args.weights else " (fresh initialization, no --weights)"))
    print(f"wrote {out} ({fmt}, {_size(out.stat().st_size)})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one-line errors, exit 2 on bad input, no tracebacks."""
    from lutnas.cli import guarded

    args = build_parser().parse_args(argv)
    return guarded(run, args)


if __name__ == "__main__":
    sys.exit(main())
