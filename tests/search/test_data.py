import gzip
import os
import pickle
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from search.data import (
    DATASETS, MEAN, STD, ImageSet, Splits, batches, load_data, num_batches, register_dataset, to_input,
)

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "data"
FASHION = Path("/usr/share/datasets/fashion-mnist")
needs_fashion = pytest.mark.skipif(not FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")


@pytest.fixture(scope="module")
def digits() -> Splits:
    return load_data("digits")


def image_bytes(s: ImageSet) -> Counter:
    return Counter(bytes(im.numpy()) + bytes([int(lb)]) for im, lb in zip(s.images, s.labels))


def numbered(n: int, channels: int = 1, size: int = 4) -> ImageSet:
    """n images whose label is their index (to trace samples through batches)."""
    return ImageSet(torch.zeros(n, channels, size, size, dtype=torch.uint8), torch.arange(n))


# --- digits ---------------------------------------------------------------

def test_digits_sizes_and_classes(digits):
    assert (len(digits.train_w), len(digits.train_theta), len(digits.test)) == (1150, 288, 359)
    assert len(digits.train_w) + len(digits.train_theta) + len(digits.test) == 1797
    assert len(digits.train) == 1438
    assert digits.num_classes == 10 and digits.classes == [str(i) for i in range(10)]
    assert digits.name == "digits"
    im = digits.train_w.images
    assert im.dtype == torch.uint8 and tuple(im.shape[1:]) == (1, 8, 8)
    assert int(im.min()) == 0 and int(im.max()) == 255
    assert digits.train_w.labels.dtype == torch.int64


def test_digits_splits_partition_the_dataset(digits):
    from sklearn.datasets import load_digits

    d = load_digits()
    full = np.round(d.images * 255 / 16).astype(np.uint8)
    expected = Counter(bytes(im) + bytes([int(t)]) for im, t in zip(full, d.target))
    got = image_bytes(digits.train_w) + image_bytes(digits.train_theta) + image_bytes(digits.test)
    assert got == expected
    assert image_bytes(digits.train) == image_bytes(digits.train_w) + image_bytes(digits.train_theta)


def test_digits_split_is_stratified(digits):
    total = Counter(digits.train.labels.tolist() + digits.test.labels.tolist())
    for part, share in ((digits.test, 0.2), (digits.train_theta, 0.8 * 0.2), (digits.train_w, 0.8 * 0.8)):
        counts = Counter(part.labels.tolist())
        assert set(counts) == set(range(10))
        for c in range(10):
            assert abs(counts[c] - share * total[c]) <= 1.5


def test_same_seed_same_split_other_seed_other_split(digits):
    again = load_data("digits", seed=0)
    for a, b in ((digits.train_w, again.train_w), (digits.train_theta, again.train_theta), (digits.test, again.test)):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    other = load_data("digits", seed=1)
    assert not torch.equal(other.train_theta.images, digits.train_theta.images)
    assert len(other.train_theta) == len(digits.train_theta)
    # the held-out test set does not depend on the search seed
    assert torch.equal(other.test.images, digits.test.images)


def test_limit_and_theta_fraction():
    s = load_data("digits", limit=100, theta_fraction=0.25)
    assert (len(s.train_w), len(s.train_theta), len(s.test)) == (75, 25, 359)
    assert set(s.train.labels.tolist()) == set(range(10))
    assert len(load_data("digits", limit=10_000).train) == 1438


def test_spare_images_lie_outside_the_limit_and_leave_the_splits_as_they_were(digits):
    plain = load_data("digits", limit=300, seed=2)
    s = load_data("digits", limit=300, seed=2, spare=500)
    assert plain.spare is None
    assert torch.equal(s.train_w.images, plain.train_w.images)
    assert torch.equal(s.train_theta.labels, plain.train_theta.labels)
    assert len(s.spare) == 500 and set(Counter(s.spare.labels.tolist()).values()) <= {48, 49, 50, 51}  # stratified
    inside, spare, whole = image_bytes(s.train), image_bytes(s.spare), image_bytes(digits.train)
    assert not (inside + spare) - whole  # no image taken twice: the two are drawn from one pool without overlap
    assert torch.equal(load_data("digits", limit=300, seed=2, spare=500).spare.images, s.spare.images)  # seeded
    assert not torch.equal(load_data("digits", limit=300, seed=3, spare=500).spare.images, s.spare.images)
    assert len(load_data("digits", limit=300, spare=5000).spare) == 1438 - 300  # fewer when fewer are left
    assert load_data("digits", spare=5000).spare is None  # no --limit: every training image is the search's
    assert load_data("digits", limit=300, spare=0).spare is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(spare=-1), "spare must be a non-negative integer, got -1"),
    (dict(spare=2.5), "spare must be a non-negative integer, got 2.5"),
    (dict(theta_fraction=0.0), "theta_fraction must be in (0, 1)"),
    (dict(theta_fraction=1.0), "theta_fraction must be in (0, 1)"),
    (dict(limit=0), "limit must be a positive integer"),
    (dict(limit=1), "too few to split"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_data("digits", **kwargs)


# --- batches ----------------------------------------------------------------

def test_batches_shapes_dtypes_and_normalization(digits):
    g = torch.Generator().manual_seed(0)
    out = list(batches(digits.train_w, 64, 32, shuffle=True, generator=g))
    assert len(out) == num_batches(digits.train_w, 64) == 18
    x, y = out[0]
    assert x.shape == (64, 3, 32, 32) and x.dtype == torch.float32
    assert y.shape == (64,) and y.dtype == torch.int64
    assert out[-1][0].shape == (1150 - 17 * 64, 3, 32, 32)
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])  # gray repeated
    assert float(x.min()) >= (0 - MEAN) / STD - 1e-5 and float(x.max()) <= (1 - MEAN) / STD + 1e-5
    assert (MEAN, STD) == (0.5, 0.25)
    assert sum(len(b[1]) for b in out) == 1150


def test_batches_at_native_size_are_exactly_normalized(digits):
    x, y = next(batches(digits.test, 16, 8, shuffle=False))
    expected = (digits.test.images[:16].float() / 255 - 0.5) / 0.25
    assert torch.allclose(x, expected.expand(-1, 3, -1, -1))
    assert torch.equal(y, digits.test.labels[:16])


def test_resize_is_bilinear_per_batch_with_antialias_when_shrinking():
    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    small = to_input(images, 4)
    ref = F.interpolate(images.float() / 255, size=(4, 4), mode="bilinear", align_corners=False, antialias=True)
    assert torch.allclose(small, (ref - MEAN) / STD, atol=1e-5)
    big = to_input(images, 40)
    ref = F.interpolate(images.float() / 255, size=(40, 40), mode="bilinear", align_corners=False)
    assert torch.allclose(big, (ref - MEAN) / STD, atol=1e-5)


def test_shuffle_is_deterministic_and_needs_a_generator():
    data = numbered(50)

    def order(seed):
        g = torch.Generator().manual_seed(seed)
        return torch.cat([y for _, y in batches(data, 8, 4, shuffle=True, generator=g)]).tolist()

    assert order(3) == order(3) and order(3) != order(4)
    assert sorted(order(3)) == list(range(50))
    assert torch.cat([y for _, y in batches(data, 8, 4, shuffle=False)]).tolist() == list(range(50))
    with pytest.raises(ValueError, match="needs a torch.Generator"):
        batches(data, 8, 4, shuffle=True)


@pytest.mark.parametrize("drop_last", [False, True])
def test_sharding_gives_disjoint_equal_shards(drop_last):
    data = numbered(23)
    shards, counts, sizes = [], [], []
    for rank in range(2):
        g = torch.Generator().manual_seed(7)  # every rank in the same state
        out = list(batches(data, 4, 4, shuffle=True, generator=g, drop_last=drop_last, rank=rank, world=2))
        shards.append(set(torch.cat([y for _, y in out]).tolist()))
        counts.append(len(out))
        sizes.append([len(y) for _, y in out])
    expected = 2 if drop_last else 3  # 23 // 2 = 11 per rank
    assert counts == [expected, expected] == [num_batches(data, 4, drop_last, world=2)] * 2
    assert sizes[0] == sizes[1]
    assert not shards[0] & shards[1]
    if not drop_last:
        assert len(shards[0]) == len(shards[1]) == 11  # one sample of 23 dropped this epoch


def test_num_batches_and_argument_checks():
    data = numbered(10)
    assert [num_batches(data, 3), num_batches(data, 3, True), num_batches(data, 2, world=3)] == [4, 3, 2]
    assert num_batches(data, 20, drop_last=True) == 0
    with pytest.raises(ValueError, match="0 <= rank < world"):
        batches(data, 2, 4, shuffle=False, rank=2, world=2)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        num_batches(data, 0)


def test_imageset_checks_and_subset():
    s = numbered(5, channels=3)
    sub = s.subset(torch.tensor([4, 0]))
    assert sub.labels.tolist() == [4, 0] and len(sub) == 2
    assert "n=5" in repr(s)
    with pytest.raises(ValueError, match="images must be uint8"):
        ImageSet(torch.zeros(2, 2, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="labels must be int64"):
        ImageSet(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64))


# --- registry and specs -------------------------------------------------------

def test_registry_names_and_errors():
    assert {"digits", "fashion-mnist", "cifar10", "folder"} <= set(DATASETS)
    with pytest.raises(ValueError, match=r"unknown dataset 'imagenet'.*known: cifar10, digits, fashion-mnist, folder"):
        load_data("imagenet:/x")
    with pytest.raises(ValueError, match="dataset 'digits' is already registered"):
        register_dataset("digits", DATASETS["digits"])
    with pytest.raises(ValueError, match="digits takes no argument"):
        load_data("digits:/tmp")
    with pytest.raises(ValueError, match=r"cifar10 needs a directory: cifar10:DIR"):
        load_data("cifar10")
    with pytest.raises(ValueError, match="empty argument"):
        load_data("folder:")


# --- fashion-mnist (real files) -------------------------------------------------

@needs_fashion
def test_fashion_mnist_real_files():
    s = load_data("fashion-mnist")
    assert (len(s.train_w), len(s.train_theta), len(s.test)) == (48000, 12000, 10000)
    assert s.num_classes == 10 and s.classes[9] == "Ankle boot" and s.classes[0] == "T-shirt/top"
    assert s.test.labels[:5].tolist() == [9, 2, 1, 1, 6]
    assert tuple(s.test.images.shape) == (10000, 1, 28, 28)
    assert Counter(s.train.labels.tolist()) == {c: 6000 for c in range(10)}
    assert Counter(s.train_theta.labels.tolist()) == {c: 1200 for c in range(10)}


@needs_fashion
def test_fashion_mnist_limit():
    s = load_data(f"fashion-mnist:{FASHION}", limit=1000, seed=3)
    assert (len(s.train_w), len(s.train_theta), len(s.test)) == (800, 200, 10000)
    assert Counter(s.train.labels.tolist()) == {c: 100 for c in range(10)}


# --- idx fixture and its errors ----------------------------------------------------

def idx_copy(tmp_path: Path, gunzip: bool = False) -> Path:
    d = tmp_path / "idx"
    d.mkdir()
    for f in (DATA / "idx").iterdir():
        if gunzip:
            (d / f.stem).write_bytes(gzip.decompress(f.read_bytes()))
        else:
            shutil.copy(f, d / f.name)
    return d


def test_idx_fixture_gzipped_and_plain_agree(tmp_path):
    a = load_data(f"fashion-mnist:{DATA / 'idx'}")
    b = load_data(f"fashion-mnist:{idx_copy(tmp_path, gunzip=True)}")
    assert (len(a.train), len(a.test)) == (12, 6)
    assert a.test.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert torch.equal(a.test.images[:, 0, 0, 0], a.test.labels.to(torch.uint8))  # label in first pixel
    assert tuple(a.test.images.shape) == (6, 1, 8, 8)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.test.images, b.test.images)


def test_idx_errors(tmp_path):
    with pytest.raises(ValueError, match=r"fashion-mnist: directory .*nowhere does not exist"):
        load_data(f"fashion-mnist:{tmp_path / 'nowhere'}")
    d = idx_copy(tmp_path, gunzip=True)
    labels = d / "t10k-labels-idx1-ubyte"
    images = d / "t10k-images-idx3-ubyte"
    good_labels, good_images = labels.read_bytes(), images.read_bytes()

    labels.unlink()
    with pytest.raises(ValueError, match=r"has no t10k-labels-idx1-ubyte\[\.gz\] \(expected the idx files"):
        load_data(f"fashion-mnist:{d}")
    labels.write_bytes(good_labels)

    images.write_bytes(good_labels)  # a labels file where the images belong
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: bad idx magic 0x00000801, expected 0x00000803"):
        load_data(f"fashion-mnist:{d}")

    images.write_bytes(good_images[:-5])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte: truncated: dims 6x8x8 need 384 data bytes, file has 379"):
        load_data(f"fashion-mnist:{d}")

    images.write_bytes(good_images[:10])
    with pytest.raises(ValueError, match=r"truncated idx header \(10 of 16 bytes\)"):
        load_data(f"fashion-mnist:{d}")
    images.write_bytes(good_images)

    labels.write_bytes(good_labels[:8 + 5].replace(b"\x00\x00\x00\x06", b"\x00\x00\x00\x05", 1))
    with pytest.raises(ValueError, match=r"has 5 labels for 6 images"):
        load_data(f"fashion-mnist:{d}")

    labels.write_bytes(good_labels[:-1] + b"\x0c")
    with pytest.raises(ValueError, match=r"label 12 out of range 0\.\.9"):
        load_data(f"fashion-mnist:{d}")

    labels.unlink()
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(good_labels)[:-6])
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz: corrupt gzip data"):
        load_data(f"fashion-mnist:{d}")


# --- cifar10 fixtures and their errors -------------------------------------------------

def test_cifar_python_and_binary_versions_agree():
    py = load_data(f"cifar10:{DATA / 'cifar_py'}")
    bn = load_data(f"cifar10:{DATA / 'cifar_bin'}")
    assert (len(py.train), len(py.test), py.num_classes) == (20, 4, 10)
    assert py.classes[:3] == ["airplane", "automobile", "bird"] and py.classes == bn.classes
    assert tuple(py.test.images.shape) == (4, 3, 32, 32)
    assert torch.equal(py.train.images, bn.train.images) and torch.equal(py.test.labels, bn.test.labels)
    assert torch.equal(py.test.images[:, 0, 0, 0], py.test.labels.to(torch.uint8))
    x, _ = next(batches(py.test, 4, 32, shuffle=False))
    assert torch.allclose(x, (py.test.images.float() / 255 - 0.5) / 0.25)


def test_cifar_archive_top_folder_is_found(tmp_path):
    shutil.copytree(DATA / "cifar_py", tmp_path / "cifar-10-batches-py")
    assert len(load_data(f"cifar10:{tmp_path}").test) == 4


def cifar_copy(tmp_path: Path, name: str = "cifar_py") -> Path:
    d = tmp_path / name
    shutil.copytree(DATA / name, d)
    return d


def test_malicious_pickle_is_refused_without_running(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))
    monkeypatch.setattr("posix.system", lambda *a: calls.append(a))
    d = cifar_copy(tmp_path)
    shutil.copy(DATA / "evil" / "os_system.pickle", d / "data_batch_3")
    with pytest.raises(ValueError, match=r"data_batch_3: refusing to load global posix\.system \(only numpy array data"):
        load_data(f"cifar10:{d}")
    assert calls == []


@pytest.mark.parametrize("module, name", [("builtins", "eval"), ("numpy", "load"), ("subprocess", "Popen")])
def test_any_other_global_is_refused(tmp_path, module, name):
    d = cifar_copy(tmp_path)
    (d / "data_batch_1").write_bytes(b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X\x01\x00\x00\x001\x85R.")
    with pytest.raises(ValueError, match=rf"refusing to load global {module}\.{name}"):
        load_data(f"cifar10:{d}")


def test_cifar_errors(tmp_path):
    with pytest.raises(ValueError, match=r"cifar10: directory .*nowhere does not exist"):
        load_data(f"cifar10:{tmp_path / 'nowhere'}")
    with pytest.raises(ValueError, match=r"has neither data_batch_1 \(python version\) nor data_batch_1.bin"):
        load_data(f"cifar10:{tmp_path}")
    d = cifar_copy(tmp_path)
    (d / "test_batch").unlink()
    with pytest.raises(ValueError, match=r"cifar10: missing .*test_batch \(expected data_batch_1, "):
        load_data(f"cifar10:{d}")
    batch = {b"data": np.zeros((2, 1024), np.uint8), b"labels": [0, 1]}
    (d / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match=r"test_batch: 'data' is uint8 \(2, 1024\), expected a uint8 array of shape \(N, 3072\)"):
        load_data(f"cifar10:{d}")
    batch = {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1, 2]}
    (d / "test_batch").write_bytes(pickle.dumps(batch, protocol=2))
    with pytest.raises(ValueError, match=r"test_batch: 'labels' has shape \(3,\), expected \(2,\)"):
        load_data(f"cifar10:{d}")
    (d / "test_batch").write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(ValueError, match=r"test_batch: expected a dict, found list"):
        load_data(f"cifar10:{d}")
    (d / "test_batch").write_bytes(b"this is not a pickle")
    with pytest.raises(ValueError, match=r"test_batch: not a readable CIFAR-10 python batch"):
        load_data(f"cifar10:{d}")

    b = cifar_copy(tmp_path, "cifar_bin")
    (b / "data_batch_2.bin").write_bytes((b / "data_batch_2.bin").read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"data_batch_2.bin: 12291 bytes is not a whole number of 3073-byte records"):
        load_data(f"cifar10:{b}")


# --- folder ------------------------------------------------------------------------

def test_folder_dataset():
    s = load_data(f"folder:{DATA / 'folder'}")
    assert s.classes == ["cat", "dog", "fish"] and s.num_classes == 3
    assert (len(s.train), len(s.test)) == (7, 2)  # notes.txt ignored; 20% of 9 held out
    assert s.train.images.dtype == torch.uint8 and tuple(s.train.images.shape[1:]) == (3, 64, 64)
    x, y = next(batches(s.train, 8, 32, shuffle=False))
    assert x.shape == (7, 3, 32, 32)


def test_folder_with_train_and_test_layout():
    s = load_data(f"folder:{DATA / 'folder_split'}")
    assert s.classes == ["a", "b"]
    assert (len(s.train), len(s.test)) == (6, 2) and s.test.labels.tolist() == [0, 1]


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match=r"folder: directory .*nowhere does not exist"):
        load_data(f"folder:{tmp_path / 'nowhere'}")
    d = tmp_path / "one"
    shutil.copytree(DATA / "folder" / "cat", d / "cat")
    with pytest.raises(ValueError, match=r"has 1 class folder\(s\); need at least 2"):
        load_data(f"folder:{d}")
    (d / "dog").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*dog has no images"):
        load_data(f"folder:{d}")
    (d / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match=r"folder: cannot read image .*broken.png"):
        load_data(f"folder:{d}")
    s = tmp_path / "split"
    shutil.copytree(DATA / "folder_split", s)
    (s / "test" / "c").mkdir()
    shutil.copy(DATA / "folder_split" / "test" / "a" / "0.png", s / "test" / "c")
    with pytest.raises(ValueError, match=r"test/c is not one of the training classes \(a, b\)"):
        load_data(f"folder:{s}")
