"""benchmarks/judge_images.py: a real scratch-judged search's candidates trained again, timed, and the noise of fewer
judged images."""

import math
import subprocess
import sys

import pytest
import torch

from tests.conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

import judge_images  # noqa: E402  (as test_bar_ceiling imports its script)

TINY = FIXTURES / "spaces" / "tiny.toml"
LUT = FIXTURES / "measured" / "tiny-cpu.csv"


@pytest.fixture(scope="module")
def ji():
    return judge_images


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """A real search.run judged by the scratch judge: 3 candidates, 2 seeds for both finalists, 200 spare images."""
    out = tmp_path_factory.mktemp("judged") / "search"
    proc = subprocess.run([sys.executable, "-m", "search.run", "--lut", str(LUT), "--space", str(TINY), "--limit",
                           "300", "--batch-size", "32", "--threads", "1", "--epochs", "2", "--loss", "target-abs",
                           "--target-ms", "0.035", "--select", "3", "--select-judge", "scratch", "--select-epochs",
                           "1", "--select-seeds", "2", "--select-finalists", "2", "--select-images", "200",
                           "--no-export", "--quiet", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return out


def test_the_candidates_trained_again_are_the_judges_own_and_the_table_follows(ji, judged, capsys):
    """The judge's recipe, seed and images: each candidate trained again scores exactly its judgement's first seed
    on the same 260 images (theta split and the search's 200 spare ones); the table has a row per --spare value."""
    import json

    sel = json.loads((judged / "arch.json").read_text())["search"]["selection"]
    assert ji.main([str(judged), "--spare", "0,100,200"]) == 0
    out = capsys.readouterr().out.splitlines()
    best = sorted(sel["judged"], key=lambda j: -j["val_acc"])[:2]
    for line, j in zip(out, best):
        first = j.get("accs", [j["val_acc"]])[0]
        assert line.startswith(f"{' '.join(j['blocks'])}: its first seed judged {first:.2f}%, again {first:.2f}% on ")
        assert f"% on {sel['images']} images; trained 1 epoch on " in line
    assert out[2].startswith("they disagree on ") and "the judge's seed noise: sd " in out[2]
    rows = out[4:]
    assert [int(r.split()[0]) for r in rows] == [0, 100, 200]
    assert [int(r.split()[1]) for r in rows] == [sel["images"] - 200, sel["images"] - 100, sel["images"]]
    assert rows[-1].split()[-1] == "1.00x"  # the last row is the reference
    tests = [float(r.split()[2]) for r in rows]
    assert tests == sorted(tests)  # more images, more testing


def test_noise_rows_follow_the_sampling_error_of_a_gap(ji):
    """d = 7% disagreement, seed sd 0.48: the gap's sampling sd is 100 sqrt(d / n) points, 0.15 at 31,000 judged
    images and 0.34 at 6,000, where the judge's noise per training is 1.09x the 31,000-image one's."""
    rows = ji.noise_rows([5000, 30000], 1000, 0.07, 0.48, train_s=40.0, test_s_per_image=0.001)
    assert [r["images"] for r in rows] == [6000, 31000]
    assert rows[0]["gap_sd"] == pytest.approx(100 * math.sqrt(0.07 / 6000)) == pytest.approx(0.3416, abs=1e-4)
    assert rows[1]["gap_sd"] == pytest.approx(0.1503, abs=1e-4)
    assert rows[0]["noise_factor"] == pytest.approx(math.sqrt((2 * 0.48 ** 2 + 0.07e4 / 6000)
                                                              / (2 * 0.48 ** 2 + 0.07e4 / 31000)))
    assert rows[0]["noise_factor"] == pytest.approx(1.093, abs=1e-3) and rows[1]["noise_factor"] == 1.0
    assert (rows[0]["test_s"], rows[0]["judgement_s"]) == pytest.approx((6.0, 46.0))
    assert rows[1]["test_share"] == pytest.approx(31 / 71)
    assert ji.noise_rows([0], 1000, 0.07, None, 1.0, 0.001)[0]["noise_factor"] is None
    assert ji.format_rows(ji.noise_rows([0], 1000, 0.07, None, 1.0, 0.001))[1].split()[-1] == "?"


def test_seed_noise_and_disagreement(ji):
    assert ji.seed_sd([{"accs": [1.0, 2.0, 3.0]}, {"accs": [2.0, 4.0]}, {"accs": [9.0]}, {}]) == pytest.approx(
        math.sqrt(1.5))
    assert ji.seed_sd([{"accs": [80.0]}, {"val_acc": 80.0}]) is None
    a, b, c = (torch.tensor(v, dtype=torch.bool) for v in ([1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]))
    assert ji.disagreement([a, b]) == 0.25
    assert ji.disagreement([a, b, c]) == pytest.approx((0.25 + 0.5 + 0.25) / 3)


def test_bad_folders_and_flags_are_one_line_errors(ji, judged, tmp_path):
    import json
    import shutil

    with pytest.raises(SystemExit) as stop:
        ji.main([str(tmp_path / "nowhere")])
    assert stop.value.code == (f"{tmp_path / 'nowhere' / 'search.json'}: not found: is {tmp_path / 'nowhere'} a "
                               "finished search.run folder?")
    other = tmp_path / "supernet"
    shutil.copytree(judged, other)
    arch = json.loads((other / "arch.json").read_text())
    arch["search"]["selection"]["judge"] = "supernet"
    (other / "arch.json").write_text(json.dumps(arch))
    with pytest.raises(SystemExit) as stop:
        ji.main([str(other)])
    assert stop.value.code == f"{other / 'arch.json'}: judged by the supernet judge, not scratch"
    for selection in (None, {"judge": "scratch"}):  # a search of --select 0, a broken file
        arch["search"]["selection"] = selection
        (other / "arch.json").write_text(json.dumps(arch))
        with pytest.raises(SystemExit) as stop:
            ji.main([str(other)])
        assert stop.value.code == f"{other / 'arch.json'}: no --select judgements in it (a search of --select 0?)"
    for flags, said in ((["--candidates", "1"], "--candidates must be >= 2"),
                        (["--spare", "5,x"], "--spare must be whole numbers separated by commas"),
                        (["--spare", "-1"], "--spare must be whole numbers >= 0")):
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "judge_images.py"), str(judged), *flags],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr
