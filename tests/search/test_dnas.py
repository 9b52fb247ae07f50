"""The DNAS trainer's pieces: theta's entropy term and its schedule, settings checks, a short search."""

import math
from dataclasses import asdict

import pytest
import torch

from lut import load
from search.data import load_data
from search.config import SearchConfig
from search.dnas import Searcher, theta_entropy
from search.latency import LatencyTerm
from search.space import load_space_file
from search.supernet import Supernet
from tests.conftest import FIXTURES

TINY = FIXTURES / "spaces" / "tiny.toml"
LUT = FIXTURES / "measured" / "tiny-cpu.csv"


def test_theta_entropy_is_the_mean_per_layer_entropy():
    assert float(theta_entropy(torch.zeros(3, 9))) == pytest.approx(math.log(9))
    assert float(theta_entropy(torch.tensor([[50.0, 0.0, 0.0, 0.0]]))) == pytest.approx(0.0, abs=1e-12)
    p = torch.tensor([0.5, 0.25, 0.25])
    two = torch.stack([p.log(), torch.zeros(3)])  # one layer at H(p), one uniform
    expected = (float(-(p * p.log()).sum()) + math.log(3)) / 2
    assert float(theta_entropy(two)) == pytest.approx(expected, rel=1e-6)


def test_entropy_gradient_sharpens_theta():
    theta = torch.tensor([[0.2, 0.0, -0.1]], requires_grad=True)
    theta_entropy(theta).backward()
    # descending the entropy raises the largest logit against the others
    step = -theta.grad[0]
    assert step[0] > step[1] > step[2]


@pytest.fixture(scope="module")
def parts():
    space = load_space_file(TINY)
    matrix = load(LUT).matrix(space)
    splits = load_data("digits", seed=0, limit=400)  # 80 theta images: 2 theta steps per epoch
    return space, matrix, splits


def searcher(parts, **cfg):
    space, matrix, splits = parts
    torch.manual_seed(0)
    net = Supernet(space, splits.num_classes, "hard", cfg.get("weights", "shared"))
    return Searcher(net, LatencyTerm(matrix), splits, SearchConfig(batch_size=32, **cfg), space.input_size)


def test_entropy_weight_ramps_from_zero_after_the_warm_up(parts):
    s = searcher(parts, epochs=5, warmup_epochs=1, entropy=0.4)
    assert [s.entropy_weight(e) for e in range(5)] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert searcher(parts, epochs=5, warmup_epochs=1, entropy=0.0).entropy_weight(4) == 0.0
    assert searcher(parts, epochs=5, warmup_epochs=1).entropy_weight(4) == pytest.approx(0.3)  # the default


@pytest.mark.parametrize("value", [-0.1, float("nan")])
def test_negative_entropy_weight_is_refused(value):
    with pytest.raises(ValueError, match="entropy weight must be >= 0"):
        SearchConfig(entropy=value).check()


@pytest.mark.parametrize("weights", ["shared", "independent"])
def test_entropy_term_makes_theta_decide(parts, weights):
    """Same seed, same data: with the entropy term, P_theta ends sharper than without."""
    def final_entropy(weight: float) -> float:
        s = searcher(parts, epochs=6, warmup_epochs=1, loss="none", lr_theta=0.1, entropy=weight, weights=weights)
        for _ in range(6):
            s.run_epoch()
        return float(theta_entropy(s.net.theta.detach()))

    plain, sharp = final_entropy(0.0), final_entropy(20.0)
    assert sharp < plain - 0.05, (plain, sharp)


def test_theta_paths_default_and_checked():
    assert SearchConfig().theta_paths == 2  # hybrid: two drawn paths, as good and cheaper (docs/search.md)
    assert SearchConfig(mode="soft").theta_paths == 0  # the paper's mixture of every candidate
    assert SearchConfig(mode="hybrid", theta_paths=0).theta_paths == 0  # given: kept
    assert asdict(SearchConfig())["theta_paths"] == 2  # resolved, so search.json says which
    SearchConfig(theta_paths=2).check()
    for bad in (1, -1, True, 2.5):
        with pytest.raises(ValueError, match="theta-paths must be 0 .every candidate. or a whole number >= 2"):
            SearchConfig(theta_paths=bad).check()


@pytest.mark.parametrize("paths", [2, 0])
def test_hybrid_theta_pass_mixes_the_drawn_candidates(parts, paths, monkeypatch):
    """The theta pass's masks have `paths` non-zero entries per layer (every one at 0), and theta moves."""
    space, matrix, splits = parts
    torch.manual_seed(0)
    net = Supernet(space, splits.num_classes, "hybrid", "shared")
    s = Searcher(net, LatencyTerm(matrix), splits, SearchConfig(batch_size=32, epochs=2, warmup_epochs=1, loss="none",
                                                                theta_paths=paths), space.input_size)
    seen = []
    forward = Supernet.forward

    def spy(self, x, mask, index, soft=None):
        if soft and mask.requires_grad:
            seen.append((mask.detach() > 0).sum(dim=1))
        return forward(self, x, mask, index, soft)

    monkeypatch.setattr(Supernet, "forward", spy)
    before = net.theta.detach().clone()
    for _ in range(2):
        s.run_epoch()
    assert len(seen) == 2  # 80 theta images, batch 32
    k = paths or len(net.candidates)
    assert all(bool((n == k).all()) for n in seen)
    assert not torch.equal(net.theta.detach(), before)
