"""search.torchfile: atomic torch.save with one-line errors, and the safe reader."""

import pytest
import torch

from search.torchfile import load_torch_file, save_torch_file


def test_save_then_load_round_trips_and_leaves_no_part_file(tmp_path):
    path = save_torch_file({"w": torch.arange(3.0)}, tmp_path / "sub" / "w.pt")
    assert torch.equal(load_torch_file(path, "weights")["w"], torch.arange(3.0))
    assert sorted(p.name for p in path.parent.iterdir()) == ["w.pt"]


def test_a_failed_write_is_one_oserror_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = save_torch_file({"w": torch.zeros(1)}, tmp_path / "w.pt")
    before = path.read_bytes()

    def full_disk(obj, f):
        with open(f, "wb") as out:
            out.write(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 16640 vs 16536")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(OSError, match=r"w.pt: cannot write \(is the disk full\?\): \[enforce fail"):
        save_torch_file({"w": torch.ones(1)}, path)
    assert path.read_bytes() == before and not (tmp_path / "w.pt.part").exists()
