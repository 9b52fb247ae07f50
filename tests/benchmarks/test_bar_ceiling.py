"""benchmarks/bar_ceiling.py: the Gaussian model of the acceptance bars, fitted to finished runs' trainings
(a hand-made folder with exact numbers, and svr-10's real files) and checked against closed forms."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from bar_ceiling import Fit, fit, read_groups, simulate, truth_seeds  # noqa: E402

MODEL = FIXTURES / "svr" / "model"  # 2 random networks per group of 2 seeds each: noise var 2, spread var 1
SVR10 = FIXTURES / "svr" / "svr-10"
SCRIPT = ROOT / "benchmarks" / "bar_ceiling.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_the_fit_takes_the_seed_noise_out_of_the_spread_of_the_means():
    # [81, 83] and [83, 85]: each seed 1 from its mean (variance 2); means 82 and 84, each 1 from the group's:
    # E[d^2] = (1 - 1/2) (spread^2 + 2/2) -> spread^2 = 1
    assert fit([[[81, 83], [83, 85]]]) == Fit(math.sqrt(2), 1.0, 2, 1)
    # a network of one seed and a group of one network are left out; groups are centred apart
    assert fit([[[81, 83], [83, 85], [70]], [[10, 20]], [[1, 3], [3, 5]]]) == Fit(math.sqrt(2), 1.0, 4, 2)
    assert fit([[[80, 80], [80, 80]]]).spread == 0.0  # no spread left once the noise is out: 0, not negative
    with pytest.raises(ValueError, match="no group with 2 or more random networks"):
        fit([[[81, 83]], [[1], [2]]])


def test_read_groups_sorts_a_runs_random_networks_by_search():
    kinds = read_groups([MODEL])
    assert kinds["target-mid"] == [[[81.0, 83.0], [83.0, 85.0], [70.0]]]  # not the searched, not its argmax
    assert kinds["fbnet"] == [[[60.0, 62.0], [62.0, 64.0]], [[10.0, 20.0]]]
    assert fit(kinds["target-mid"]) == fit(kinds["fbnet"]) == Fit(math.sqrt(2), 1.0, 2, 1)


def test_the_simulation_meets_the_closed_forms():
    # networks all alike: the pick is any one of 11 exchangeable values, its rank uniform: 3 of 11 beat >= 8
    alike = Fit(noise=1.0, spread=0.0, networks=0, groups=0)
    r = simulate(alike, 20, None, 10)
    assert r["beaten"] == pytest.approx(5.0, abs=0.1) and r["at_least"][8] == pytest.approx(3 / 11, abs=0.01)
    assert r["at_least"][0] == 1.0 and simulate(alike, 20, None, 4)["front"] == pytest.approx(1 / 5, abs=0.01)
    # no measurement noise and an oracle: the best of 20 against 10 others; it falls below 8 only when the top 3
    # of all 30 are random ones: 1 - (10 * 9 * 8) / (30 * 29 * 28); on the front of 4 unless one of them tops 24
    exact = Fit(noise=0.0, spread=1.0, networks=0, groups=0)
    r = simulate(exact, 20, None, 10)
    assert r["at_least"][8] == pytest.approx(1 - 720 / 24360, abs=0.005)
    assert r["beaten"] == pytest.approx(10 - sum(math.perm(10, j) / math.perm(30, j) for j in range(1, 11)),
                                        abs=0.05)
    assert simulate(exact, 20, None, 4)["front"] == pytest.approx(20 / 24, abs=0.01)
    # a random pick knows nothing; a noisier judge picks worse; more candidates help the oracle
    fitted = Fit(noise=0.6, spread=0.6, networks=0, groups=0)
    picks = [simulate(fitted, 10, j, 10)["beaten"] for j in (0, 1, 3, None)]
    assert picks == sorted(picks) and picks[0] == pytest.approx(5.0, abs=0.1) and picks[-1] > 8
    assert simulate(fitted, 20, None, 10)["beaten"] > picks[-1]
    assert simulate(fitted, 10, 3, 10) == simulate(fitted, 10, 3, 10)  # seeded: it repeats


def test_the_finalists_judge_and_a_noisier_judge():
    """--select-finalists in the model (lutnas 0.16): a noiseless judge of finalists is the oracle; one finalist is a
    judge of one training; keeping every candidate is the judge of every seed; more finalists pick better; and
    judge_noise X is the judge of 1 / X^2 as many trainings, draw for draw."""
    fitted = Fit(noise=0.5, spread=0.4, networks=0, groups=0)
    exact = Fit(noise=1e-9, spread=0.4, networks=0, groups=0)
    oracle = simulate(exact, 20, None, 10, draws=100000)["beaten"]
    assert simulate(exact, 20, 3, 10, finalists=4, draws=100000)["beaten"] == pytest.approx(oracle, abs=0.03)
    one = simulate(fitted, 20, 3, 10, finalists=1, draws=100000)["beaten"]
    assert one == pytest.approx(simulate(fitted, 20, 1, 10, draws=100000)["beaten"], abs=0.03)
    assert simulate(fitted, 20, 3, 10, finalists=20) == simulate(fitted, 20, 3, 10)  # F >= k: every candidate
    picks = [simulate(fitted, 20, 3, 10, finalists=f, draws=100000)["beaten"] for f in (1, 2, 4, 8)]
    assert picks == sorted(picks) and picks[-1] < simulate(fitted, 20, None, 10)["beaten"]
    assert simulate(fitted, 10, 1, 10, judge_noise=2.0) == simulate(fitted, 10, 0.25, 10)
    assert simulate(fitted, 10, 3, 10, judge_noise=1.5)["beaten"] < simulate(fitted, 10, 3, 10)["beaten"]


def test_the_reports_finalists_rows_and_judge_noise():
    out = run_script(MODEL, "--select", "20").stdout.splitlines()
    assert sum(line.startswith("  3 seeds for the best 4 by one, --select 20") for line in out) == 2  # both groups
    out = run_script(MODEL, "--select", "20", "--finalists", "5,4", "--judge-seeds", "2", "--judge-noise",
                     "1.09").stdout.splitlines()
    assert out[1] == "every judge's noise per training 1.09x a training's (--judge-noise)"
    rows = [line for line in out if line.startswith("  2 seeds for the best")]
    assert [r[2:50].strip() for r in rows[:2]] == ["2 seeds for the best 5 by one, --select 20",
                                                   "2 seeds for the best 4 by one, --select 20"]
    assert not any("seeds for the best" in line for line in run_script(MODEL, "--finalists", "").stdout.splitlines())


@pytest.mark.parametrize("args, said", [
    (["--finalists", "four"], "--finalists: not a list of numbers: 'four'"),
    (["--finalists", "0"], "--finalists: each F must be >= 1, and --judge-seeds >= 2"),
    (["--judge-seeds", "1"], "--finalists: each F must be >= 1, and --judge-seeds >= 2"),
    (["--judge-noise", "0"], "--judge-noise must be > 0"),
])
def test_bad_judge_flags_are_one_line(args, said):
    proc = run_script(MODEL, *args)
    assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr


def test_the_report_of_real_and_hand_made_runs():
    proc = run_script(MODEL, SVR10, MODEL)  # a folder named twice counts once
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "target-mid: 12 random networks in 2 runs: a training's seed noise sd " in out
    assert "fbnet-*: 2 random networks in 1 group: seed noise sd 1.41, true spread sd 1.00" in out
    seen = [line for line in out.splitlines() if line.startswith("  observed (the runs' summary.json)")]
    assert len(seen) == 2 and seen[0].split()[-4:] == ["9.00", "100%", "(1", "run)"]  # svr-10 has no summary
    assert "50%  (1 of 2 searches" in seen[1]
    rows = {line[:50].strip(): line[50:].split() for line in out.splitlines()[:12] if line.startswith("  ")}
    assert float(rows["a random pick"][0]) == pytest.approx(5.0, abs=0.1)
    oracle = float(rows["oracle (knows the true accuracy), --select 20"][0])
    assert float(rows["judge as noisy as 1 training, --select 10"][0]) < oracle <= 10
    only_mid = run_script(SVR10, "--select", "5")
    assert only_mid.returncode == 0 and "fbnet" not in only_mid.stdout and "--select 20" not in only_mid.stdout
    assert "target-mid: 10 random networks in 1 run: " in only_mid.stdout


@pytest.mark.parametrize("args, code, said", [
    (["nowhere"], 1, "nowhere/archs.json: not found: is nowhere a finished benchmarks/search_vs_random.py folder?"),
    ([MODEL, "--select", "0"], 2, "--select: each K must be >= 1"),
    ([MODEL, "--select", "ten"], 2, "--select: not a list of numbers: 'ten'"),
    ([MODEL, "--draws", "5"], 2, "--draws must be >= 100"),
])
def test_bad_input_is_one_line(args, code, said):
    proc = run_script(*args)
    assert proc.returncode == code and said in proc.stderr and "Traceback" not in proc.stderr


def test_too_few_trainings_to_fit_is_one_line(tmp_path):
    (tmp_path / "archs.json").write_text('[{"label": "target-mid/random1", "group": "target-mid", "blocks": []}]')
    (tmp_path / "trainings.csv").write_text("label,seed,test_acc,seconds\ntarget-mid/random1,0,80.0,1.0\n")
    proc = run_script(tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"{tmp_path}: no group with 2 or more random networks of 2 or more seeds each"


def test_output_into_a_closed_pipe_stops_without_a_traceback():
    """Its reader gone before it prints (`| head` that has read enough): exit 1, no BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(MODEL), str(SVR10)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # before the simulation ends and it prints
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 1 and "Traceback" not in err and "BrokenPipe" not in err, err


def test_the_truth_is_modelled_with_the_runs_own_seeds():
    """The benchmark's truth is the mean of its --seeds trainings: the hand-made runs trained 2 seeds (one network
    of 1, cut short), svr-10 trained 3; the report says which and simulates with it (3 would give other numbers)."""
    assert truth_seeds(read_groups([MODEL])) == 2 and truth_seeds(read_groups([SVR10])) == 3
    assert truth_seeds({"target-mid": [], "fbnet": []}) == 3
    out = run_script(MODEL, "--select", "20").stdout.splitlines()
    assert out[0] == "every network measured by the mean of 2 trainings, as these runs measured most of their " \
                     "random networks (--seeds)"
    model = fit(read_groups([MODEL])["target-mid"])
    oracle = next(line for line in out if line.startswith("  oracle (knows the true accuracy), --select 20"))
    assert oracle.split()[-2] == f"{simulate(model, 20, None, 10, truth_seeds=2)['beaten']:.2f}"
    assert oracle.split()[-2] != f"{simulate(model, 20, None, 10, truth_seeds=3)['beaten']:.2f}"
