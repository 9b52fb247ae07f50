"""Search spaces: a fixed stem, searchable layers with their candidates, a fixed head.

Pure logic, no torch. A space knows each searchable layer's slot (cin, cout,
stride, input H x W) and candidate names, and enumerates the unique LUT keys
it needs (identical shapes are measured once). Built-in spaces are registered
by name; user spaces come from TOML or JSON files with the same fields.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lut.names import parse_name
from lut.matrix import needed_keys
from lut.schema import Key
from lutnas.registry import Registry

FBNET_CANDIDATES: tuple[str, ...] = (
    "k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip",
)
FBNET_STAGES: tuple[tuple[int, int, int], ...] = (
    (1, 16, 1), (4, 24, 2), (4, 32, 2), (4, 64, 2), (4, 112, 1), (4, 184, 2), (1, 352, 1),
)


@dataclass(frozen=True)
class Layer:
    """One searchable layer: where it sits and what it may become."""

    index: int
    stage: int
    cin: int
    cout: int
    stride: int
    h: int
    w: int
    candidates: tuple[str, ...]

    def key(self, candidate: str) -> Key:
        """The LUT key of ``candidate`` at this layer's slot."""
        if candidate not in self.candidates:
            raise ValueError(
                f"layer {self.index}: {candidate!r} is not a candidate; "
                f"candidates: {', '.join(self.candidates)}"
            )
        return Key(candidate, self.cin, self.cout, self.stride, self.h, self.w)

    @property
    def out_hw(self) -> tuple[int, int]:
        """Spatial size after this layer."""
        return out_size(self.h, self.stride), out_size(self.w, self.stride)


@dataclass(frozen=True)
class Space:
    """A macro-architecture: stem, searchable layers, head."""

    name: str
    input_size: int
    stem_channels: int
    stem_stride: int
    stem_kernel: int
    layers: tuple[Layer, ...]
    head_channels: int
    num_classes: int
    width_mult: float = 1.0
    params: dict[str, Any] = field(default_factory=dict, compare=False)

    def cli_args(self) -> list[str]:
        """``--space`` (and ``--resolution`` / ``--width-mult`` where a built-in's differ from its defaults):
        the arguments that build this space again on a lutnas command line."""
        args = ["--space", self.name]
        if self.name in SPACES:
            default = SPACES[self.name]()
            if self.input_size != default.input_size:
                args += ["--resolution", str(self.input_size)]
            if self.width_mult != default.width_mult:
                args += ["--width-mult", f"{self.width_mult:g}"]
        return args

    @property
    def candidates(self) -> tuple[str, ...]:
        """Candidate names of the first layer (all layers share them in built-in spaces)."""
        return self.layers[0].candidates

    def fixed_keys(self) -> dict[str, Key]:
        """The keys of the ops every network of this space runs once."""
        s = self.input_size
        last = self.layers[-1]
        hh, ww = last.out_hw
        return {
            "overhead": Key("overhead", 3, 3, 1, s, s),
            "stem": Key(f"stem_k{self.stem_kernel}", 3, self.stem_channels, self.stem_stride, s, s),
            "head": Key(f"head_c{self.head_channels}", last.cout, self.num_classes, 1, hh, ww),
        }

    def keys(self) -> list[Key]:
        """Unique LUT keys this space needs, fixed ops first, then in layer order (``lut.matrix.needed_keys``: one
        rule for what a LUT must hold and what the profiler measures)."""
        return needed_keys(self)

    @property
    def final_shape(self) -> tuple[int, int, int]:
        """(H, W, C) entering the head."""
        hh, ww = self.layers[-1].out_hw
        return hh, ww, self.layers[-1].cout


def out_size(size: int, stride: int) -> int:
    """Output size of a 'same'-padded conv of odd kernel."""
    return (size - 1) // stride + 1


def round_channels(channels: float, divisor: int = 8) -> int:
    """Round to a multiple of ``divisor``, never below it nor more than 10% down."""
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded


def _channel_divisor(candidates: tuple[str, ...]) -> int:
    div = 8
    for c in candidates:
        g = parse_name(c).groups
        div = div * g // math.gcd(div, g)
    return div


def build_space(
    name: str,
    *,
    input_size: int,
    stem_channels: int,
    stem_stride: int,
    stages: tuple[tuple[int, int, int], ...] | list,
    candidates: tuple[str, ...] | list,
    head_channels: int,
    num_classes: int,
    stem_kernel: int = 3,
    width_mult: float = 1.0,
) -> Space:
    """Lay out a space from its stages ``(n layers, out channels, first stride)``."""
    cands = tuple(candidates)
    if not cands:
        raise ValueError(f"space {name!r}: no candidates")
    for c in cands:
        b = parse_name(c)
        if not b.searchable:
            raise ValueError(f"space {name!r}: {c!r} cannot be a searchable candidate (use k<K>_e<E>[_g<G>] or skip)")
    if len(set(cands)) != len(cands):
        raise ValueError(f"space {name!r}: duplicate candidates")
    _bounded(name, input_size=input_size, stem_channels=stem_channels, stem_stride=stem_stride,
             head_channels=head_channels, num_classes=num_classes, stem_kernel=stem_kernel)
    if stem_kernel % 2 == 0:
        raise ValueError(f"space {name!r}: stem_kernel must be odd (a centred kernel), got {stem_kernel}")
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float)) or not (
            math.isfinite(width_mult) and 0 < width_mult <= MAX_WIDTH_MULT):
        raise ValueError(f"space {name!r}: width_mult must be a number in (0, {MAX_WIDTH_MULT}], got {width_mult!r}")
    if not isinstance(stages, (list, tuple)):
        raise ValueError(f"space {name!r}: stages must be a list of [n, channels, stride], got {stages!r}")
    if not stages:
        raise ValueError(f"space {name!r}: no stages")
    if len(stages) > LIMITS["stages"]:
        raise ValueError(f"space {name!r}: {len(stages)} stages, more than the maximum {LIMITS['stages']}")
    div = _channel_divisor(cands)
    ch = lambda c: round_channels(c * width_mult, div)  # noqa: E731
    stem_c = ch(stem_channels)
    size = out_size(input_size, stem_stride)
    layers: list[Layer] = []
    cin = stem_c
    for si, stage in enumerate(stages):
        if not isinstance(stage, (list, tuple)) or len(stage) != 3:
            raise ValueError(f"space {name!r}: stage {si} must be [n, channels, stride], got {stage!r}")
        n, c, s = stage
        _bounded(name, limits={f"stage {si} n": "n", f"stage {si} channels": "channels",
                               f"stage {si} stride": "stride"},
                 **{f"stage {si} n": n, f"stage {si} channels": c, f"stage {si} stride": s})
        cout = ch(c)
        if len(layers) + n > LIMITS["layers"]:
            raise ValueError(f"space {name!r}: more than the maximum {LIMITS['layers']} searchable layers")
        for i in range(n):
            stride = s if i == 0 else 1
            layers.append(Layer(len(layers), si, cin, cout, stride, size, size, cands))
            size = out_size(size, stride)
            cin = cout
    return Space(name, input_size, stem_c, stem_stride, stem_kernel, tuple(layers),
                 round_channels(head_channels * max(1.0, width_mult), 8), num_classes, width_mult,
                 params=dict(input_size=input_size, stem_channels=stem_channels, stem_stride=stem_stride,
                             stages=[list(s) for s in stages], candidates=list(cands),
                             head_channels=head_channels, num_classes=num_classes,
                             stem_kernel=stem_kernel, width_mult=width_mult))


LIMITS: dict[str, int] = {  # the largest value of each space field (README "Search spaces"): beyond them a network
    "input_size": 1024,      # would not fit in memory or a phone's latency budget, and a typo is the likelier cause
    "stem_channels": 4096, "channels": 4096, "head_channels": 8192,
    "num_classes": 100_000, "stem_stride": 4, "stride": 4, "stem_kernel": 11, "n": 64, "stages": 32, "layers": 256,
}
MAX_WIDTH_MULT = 16.0


def _bounded(space: str, limits: dict[str, str] | None = None, **values: Any) -> None:
    """ValueError unless every value is an integer (not a bool, not 8.9, not "8") in [1, its LIMITS maximum]."""
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"space {space!r}: {k} must be a positive integer, got {v!r}")
        top = LIMITS[(limits or {}).get(k, k)]
        if v > top:
            raise ValueError(f"space {space!r}: {k} is {v}, more than the maximum {top}")


def fbnet(width_mult: float = 1.0, input_size: int = 224) -> Space:
    """The FBNet space (Wu et al. 2019): 22 searchable layers x 9 candidates."""
    return build_space("fbnet", input_size=input_size, stem_channels=16, stem_stride=2,
                       stages=FBNET_STAGES, candidates=FBNET_CANDIDATES,
                       head_channels=1984, num_classes=1000, width_mult=width_mult)


def fbnet_cifar(width_mult: float = 1.0, input_size: int = 32) -> Space:
    """FBNet's stages for 32x32 input (HW-NAS-Bench's CIFAR macro)."""
    strides = (1, 1, 2, 2, 1, 2, 1)
    stages = tuple((n, c, s) for (n, c, _), s in zip(FBNET_STAGES, strides))
    return build_space("fbnet-cifar", input_size=input_size, stem_channels=16, stem_stride=1,
                       stages=stages, candidates=FBNET_CANDIDATES,
                       head_channels=1504, num_classes=10, width_mult=width_mult)


SPACES: Registry[str, Callable[..., Space]] = Registry("space")


def register_space(name: str, factory: Callable[..., Space]) -> None:
    """Add a built-in space; a duplicate name is an error."""
    SPACES.register(name, factory)


register_space("fbnet", fbnet)
register_space("fbnet-cifar", fbnet_cifar)

_FILE_FIELDS = {"input_size", "stem_channels", "stem_stride", "stem_kernel", "stages", "candidates",
                "head_channels", "num_classes", "width_mult", "name"}


def space_from_dict(data: dict[str, Any], name: str) -> Space:
    """A space from a mapping of the ``build_space`` fields (a parsed TOML/JSON file)."""
    unknown = sorted(set(data) - _FILE_FIELDS)
    if unknown:
        raise ValueError(f"space {name!r}: unknown field(s) {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(_FILE_FIELDS))}")
    required = {"input_size", "stem_channels", "stem_stride", "stages", "candidates", "head_channels", "num_classes"}
    missing = sorted(required - set(data))
    if missing:
        raise ValueError(f"space {name!r}: missing field(s) {', '.join(missing)}")
    fields = {k: v for k, v in data.items() if k != "name"}
    return build_space(name, **fields)


def load_space_file(path: str | Path) -> Space:
    """A user space from a .toml or .json file; the space's name is the path given."""
    p = Path(path)
    loaders = {".toml": lambda b: tomllib.loads(b.decode("utf-8")), ".json": lambda b: json.loads(b)}
    if p.suffix not in loaders:
        raise ValueError(f"{p}: space files must end in .toml or .json")
    try:
        data = loaders[p.suffix](p.read_bytes())
    except FileNotFoundError:
        raise ValueError(f"{p}: no such space file") from None
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{p}: not valid {p.suffix[1:].upper()}: {e}") from None
    except RecursionError:
        raise ValueError(f"{p}: not a space file: nested too deeply") from None
    except OSError as e:
        raise ValueError(f"{p}: cannot read: {e.strerror or e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{p}: expected a table/object of space fields")
    try:
        return space_from_dict(data, str(path))
    except (ValueError, TypeError) as e:
        raise ValueError(f"{p}: {e}") from None


def get_space(spec: str, width_mult: float | None = None, input_size: int | None = None) -> Space:
    """A built-in space by name, or a user space from a file path."""
    if spec in SPACES:
        kw = {k: v for k, v in (("width_mult", width_mult), ("input_size", input_size)) if v is not None}
        return SPACES[spec](**kw)
    if spec.endswith((".toml", ".json")):
        if width_mult is not None or input_size is not None:
            raise ValueError("set width_mult / input_size inside the space file")
        return load_space_file(spec)
    raise ValueError(f"unknown space {spec!r}; built-in: {', '.join(SPACES)}, or a .toml/.json file")
