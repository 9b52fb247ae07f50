"""Fixtures of the lut tests: fixture files, good rows, and a small fake search space."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from lut.schema import Key
from lutnas.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
LUT_FIXTURES = ROOT / "tests" / "fixtures" / "lut"
VALID = LUT_FIXTURES / "valid.csv"

ENV = dict(device="cpu", device_model="Intel(R) Xeon(R) CPU @ 2.20GHz", cores=4, governor="unknown",
           os="Linux 6.1.0 x86_64", affinity="1", runtime="onnxruntime", runtime_version="1.18.0",
           opt_level="all", threads=1, conditions="warm", copies=1, exporter="torch.onnx-torchscript/2.13.0", opset=17,
           toolkit="0.1.0", measured_at="2025-01-15T10:00:00Z")


def make_row(block: str, cin: int, cout: int, stride: int, h: int, w: int, median: float, **over) -> dict:
    """A complete row as a profiler hands it over (no schema column)."""
    row = dict(block=block, cin=cin, cout=cout, stride=stride, h=h, w=w, median_ms=median,
               p10_ms=median * 0.95, p90_ms=median * 1.1, std_ms=median * 0.05, n=200, ci_rel=0.01,
               stable=1, **ENV)
    row.update(over)
    return row


@dataclass(frozen=True)
class FakeLayer:
    cin: int
    cout: int
    stride: int
    h: int
    w: int
    candidates: tuple[str, ...]

    def key(self, candidate: str) -> Key:
        if candidate not in self.candidates:
            raise ValueError(f"{candidate!r} is not a candidate")
        return Key(candidate, self.cin, self.cout, self.stride, self.h, self.w)


@dataclass(frozen=True)
class FakeSpace:
    """Two layers x (k3_e1, k3_e1_g2, skip) on 32x32 input; the keys of tests/fixtures/lut/valid.csv."""

    name: str = "fake"
    layers: tuple[FakeLayer, ...] = (
        FakeLayer(16, 16, 1, 32, 32, ("k3_e1", "k3_e1_g2", "skip")),
        FakeLayer(16, 24, 2, 32, 32, ("k3_e1", "k3_e1_g2", "skip")),
    )

    def fixed_keys(self) -> dict[str, Key]:
        return {
            "overhead": Key("overhead", 3, 3, 1, 32, 32),
            "stem": Key("stem_k3", 3, 16, 1, 32, 32),
            "head": Key("head_c1504", 24, 10, 1, 16, 16),
        }


@pytest.fixture
def valid_path() -> Path:
    return VALID


@pytest.fixture
def space() -> FakeSpace:
    return FakeSpace()


def table_of(fns: dict) -> Registry:
    """A migrations registry holding ``fns`` (schema version -> migration), for tests that swap MIGRATIONS."""
    reg = Registry("migration from schema")
    for version, fn in fns.items():
        reg.register(version, fn)
    return reg
