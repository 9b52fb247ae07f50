"""Search losses: the paper's fbnet function, the target mode, accuracy only."""

from __future__ import annotations

import math

import pytest
import torch

from search.loss import LOSSES, LossConfig, reimplementation_loss, search_loss


def t(v: float, grad: bool = False) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64, requires_grad=grad)


def test_registry():
    assert list(LOSSES) == ["fbnet", "target", "target-abs", "none"]
    assert LossConfig() == LossConfig(mode="fbnet", alpha=0.2, beta=0.6, target_ms=None, lam=1.0)


def test_fbnet_is_the_papers_formula():
    cfg = LossConfig()
    for ce, lat in ((2.0, 20.0), (0.5, 3.0), (1.3, 150.0)):
        want = ce * 0.2 * math.log(lat) ** 0.6
        assert float(search_loss(t(ce), t(lat), cfg)) == pytest.approx(want, rel=1e-12)
    # ce = 2, LAT = 20 ms: 2 * 0.2 * 2.9957^0.6 = 0.7726
    assert float(search_loss(t(2.0), t(20.0), cfg)) == pytest.approx(0.77261, abs=1e-5)


def test_fbnet_differs_from_the_reimplementation():
    paper = float(search_loss(t(2.0), t(20.0), LossConfig(alpha=0.2, beta=0.6)))
    reimpl = float(reimplementation_loss(t(2.0), t(20.0), 0.2, 0.6))
    # alpha * CE * log(LAT^beta) = alpha * beta * CE * log LAT = 0.2 * 0.6 * 2 * 2.9957 = 0.7190
    assert reimpl == pytest.approx(0.2 * 0.6 * 2.0 * math.log(20.0), rel=1e-12)
    assert reimpl == pytest.approx(0.71897, abs=1e-5)
    assert abs(paper - reimpl) > 0.05
    # and they pull on the latency differently: d/dLAT at 20 ms
    lat_a, lat_b = t(20.0, True), t(20.0, True)
    search_loss(t(2.0), lat_a, LossConfig()).backward()
    reimplementation_loss(t(2.0), lat_b, 0.2, 0.6).backward()
    assert float(lat_a.grad) == pytest.approx(2 * 0.2 * 0.6 * math.log(20.0) ** -0.4 / 20.0, rel=1e-9)
    assert float(lat_b.grad) == pytest.approx(0.2 * 0.6 * 2.0 / 20.0, rel=1e-9)
    assert float(lat_a.grad) != pytest.approx(float(lat_b.grad), rel=0.1)


def test_fbnet_gradient_flows_to_ce_and_latency():
    ce, lat = t(1.5, True), t(10.0, True)
    search_loss(ce, lat, LossConfig()).backward()
    assert float(ce.grad) == pytest.approx(0.2 * math.log(10.0) ** 0.6)
    assert float(lat.grad) > 0


@pytest.mark.parametrize("lat", [1.0, 0.5, 0.0])
def test_fbnet_refuses_networks_under_one_ms(lat):
    with pytest.raises(ValueError, match=r"LAT > 1 ms.*under 1 ms; use the target mode"):
        search_loss(t(1.0), t(lat), LossConfig())


def test_target_penalty_is_zero_at_or_below_and_linear_above():
    cfg = LossConfig(mode="target", target_ms=10.0, lam=2.0)
    ce = t(0.7)
    for lat in (2.0, 9.99, 10.0):
        assert float(search_loss(ce, t(lat), cfg)) == pytest.approx(0.7)
    for lat in (11.0, 15.0, 30.0):
        assert float(search_loss(ce, t(lat), cfg)) == pytest.approx(0.7 + 2.0 * (lat / 10.0 - 1.0))
    # linear: equal steps above T add equal penalties
    a, b, c = (float(search_loss(ce, t(v), cfg)) for v in (12.0, 14.0, 16.0))
    assert b - a == pytest.approx(c - b)
    below, above = t(8.0, True), t(12.0, True)
    search_loss(ce, below, cfg).backward()
    search_loss(ce, above, cfg).backward()
    assert float(below.grad) == 0.0 and float(above.grad) == pytest.approx(2.0 / 10.0)


def test_target_abs_pulls_to_the_target_from_both_sides():
    cfg = LossConfig(mode="target-abs", target_ms=0.5, lam=3.0)
    ce = t(0.7)
    assert float(search_loss(ce, t(0.5), cfg)) == pytest.approx(0.7)
    for lat in (0.25, 0.4, 0.6, 1.0):
        assert float(search_loss(ce, t(lat), cfg)) == pytest.approx(0.7 + 3.0 * abs(lat / 0.5 - 1.0))
    below, above = t(0.4, True), t(0.6, True)
    search_loss(ce, below, cfg).backward()
    search_loss(ce, above, cfg).backward()
    assert float(below.grad) == pytest.approx(-6.0) and float(above.grad) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="target loss needs a latency target"):
        LossConfig(mode="target-abs")


def test_target_works_below_one_ms():
    cfg = LossConfig(mode="target", target_ms=0.4)
    assert float(search_loss(t(1.0), t(0.6), cfg)) == pytest.approx(1.5)


def test_none_is_the_cross_entropy():
    lat = t(0.3, True)
    out = search_loss(t(0.9), lat, LossConfig(mode="none"))
    assert float(out) == pytest.approx(0.9)
    assert not out.requires_grad


def test_errors():
    with pytest.raises(ValueError, match="target loss needs a latency target"):
        LossConfig(mode="target")
    with pytest.raises(ValueError, match="target_ms must be a positive"):
        LossConfig(mode="target", target_ms=0.0)
    with pytest.raises(ValueError, match="unknown loss mode 'proxyless'; known: fbnet, target, target-abs, none"):
        LossConfig(mode="proxyless")
    with pytest.raises(ValueError, match="alpha must be > 0"):
        LossConfig(alpha=0.0)
    # a config bypassing its own checks is still refused by search_loss
    bad = LossConfig()
    object.__setattr__(bad, "mode", "nope")
    with pytest.raises(ValueError, match="unknown loss mode 'nope'; known: fbnet, target, target-abs, none"):
        search_loss(t(1.0), t(5.0), bad)
    bad = LossConfig(mode="target", target_ms=1.0)
    object.__setattr__(bad, "target_ms", None)
    with pytest.raises(ValueError, match="target loss needs a latency target"):
        search_loss(t(1.0), t(5.0), bad)


def test_run_offers_exactly_the_registered_losses_without_loading_torch():
    import subprocess
    import sys

    code = ("import sys, search.run\n"
            "p = search.run.build_parser()\n"
            "[a] = [a for a in p._actions if a.dest == 'loss']\n"
            "print(sorted(a.choices), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=__import__("tests.conftest", fromlist=["ROOT"]).ROOT)
    assert out.returncode == 0, out.stderr
    from search.loss import LOSSES

    assert out.stdout.strip() == f"{sorted(LOSSES)} False"
