"""search.torch_device: the evaluation batch (eval_batch) and that it changes no accuracy."""

import pytest
import torch

from search.archfile import make_arch
from search.data import load_data
from search.space import get_space
from search.torch_device import CPU_EVAL_BATCH, EVAL_BATCH, eval_batch
from search.train import evaluate, train_arch
from tests.conftest import FIXTURES

TINY = FIXTURES / "spaces" / "tiny.toml"


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_the_cpu_evaluates_64_images_per_thread_other_devices_256(threads):
    torch.set_num_threads(1)
    assert eval_batch("cpu") == CPU_EVAL_BATCH == 64
    assert eval_batch(torch.device("cpu")) == 64
    torch.set_num_threads(2)
    assert eval_batch("cpu") == 128
    assert eval_batch("meta") == eval_batch(torch.device("cuda", 0)) == EVAL_BATCH == 256


def test_the_batch_changes_no_accuracy(threads):
    """A trained network's test accuracy is the same at the default batch, at 256 (lutnas 0.14's) and at 7 (a
    tail batch of another size): eval-mode BatchNorm treats each image alone."""
    torch.set_num_threads(1)
    space = get_space(str(TINY))
    splits = load_data("digits", seed=0, limit=300)
    arch = make_arch(space, [space.candidates[1]] * len(space.layers), num_classes=splits.num_classes)
    result = train_arch(arch, splits, 1, 32, 0.05, seed=0, test_every_epoch=False)
    accs = {b: evaluate(result["model"], splits.test, space.input_size, batch_size=b) for b in (None, 256, 7)}
    assert accs[None] == result["test_acc"]  # train_arch tests at the default
    assert len(set(accs.values())) == 1 and 10 < accs[None] < 100
