"""benchmarks/search_vs_random.py's report, on the files of a real run (runs/svr-10, Fashion-MNIST, --select 10),
and its random draws at a corner of the space. Nothing is trained: the run's own files are its results."""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import math
import shutil
import statistics
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import FIXTURES, ROOT

SVR10 = FIXTURES / "svr" / "svr-10"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("search_vs_random", ROOT / "benchmarks" / "search_vs_random.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def svr():
    return load_benchmark()


def mean_accuracy() -> dict[str, float]:
    """Each architecture's mean test accuracy over its seeds, straight from trainings.csv."""
    per: dict[str, list[float]] = {}
    with (SVR10 / "trainings.csv").open() as f:
        for r in csv.DictReader(f):
            per.setdefault(r["label"], []).append(float(r["test_acc"]))
    return {label: statistics.fmean(v) for label, v in per.items()}


def pairwise_tau(xs: list[float], ys: list[float]) -> float:
    """Kendall's tau by counting pairs (no ties in these files)."""
    s = sum((1 if (a - b) * (c - d) > 0 else -1) for (a, c), (b, d) in itertools.combinations(zip(xs, ys), 2))
    return s / (len(xs) * (len(xs) - 1) / 2)


def test_summary_counts_what_the_files_say(svr):
    args = svr.parse_args(["--out", str(SVR10), "--betas", "", "--seed", "5", "--select", "10"])
    archs = json.loads((SVR10 / "archs.json").read_text())
    summary = svr.summarize(args, archs, svr.read_trainings(SVR10 / "trainings.csv"),
                            svr.read_ranking(SVR10 / "ranking.csv"), 0.5703)
    acc = mean_accuracy()
    randoms = [a["label"] for a in archs if a["label"].startswith("target-mid/random")]
    assert len(randoms) == 10
    g = summary["groups"]["target-mid"]
    assert g["randoms"] == 10
    assert g["beats"] == sum(acc["target-mid"] > acc[r] for r in randoms) == 9
    assert g["argmax_beats"] == sum(acc["target-mid/argmax"] > acc[r] for r in randoms) == 8
    assert g["rank"] == 2 and g["searched_acc"] == pytest.approx(acc["target-mid"])
    assert g["skips"] == archs[0]["blocks"].count("skip") == 3
    mean_ms = statistics.fmean(a["lut_ms"] for a in archs if a["label"] in randoms)
    assert g["random_ms_mean"] == pytest.approx(mean_ms) and mean_ms / g["lut_ms"] - 1 == pytest.approx(-0.011, abs=5e-4)
    assert f"their mean {g['random_acc_mean']:.2f}% at -1.1% latency, skips" in "\n".join(svr.format_report(summary))
    lo, hi = g["beats_90"]
    assert 0 <= lo <= g["beats"] <= hi <= 10

    with (SVR10 / "ranking.csv").open() as f:
        ranking = list(csv.DictReader(f))
    for judge, taus in [("weights", summary["kendall_tau"]), ("ft50@0.02", summary["kendall_tau_by_judge"]["ft50@0.02"])]:
        rows = [r for r in ranking if r["judge"] == judge]
        assert len(rows) == taus["target-mid"]["n_all"] == 12
        expected = pairwise_tau([float(r["supernet_acc"]) for r in rows], [acc[r["label"]] for r in rows])
        assert taus["target-mid"]["all"] == pytest.approx(expected)
    assert summary["kendall_tau_by_judge"]["ft50@0.02"]["target-mid"]["all"] == pytest.approx(0.2121, abs=1e-4)


def test_a_finished_run_is_reported_again_without_training(tmp_path):
    """A second run on a finished --out trains nothing, reads the files, and prints the same counts."""
    out = tmp_path / "svr-10"
    shutil.copytree(SVR10, out)
    before = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    proc = subprocess.run([sys.executable, "benchmarks/search_vs_random.py", "--out", str(out), "--lut",
                           str(out / "lut.csv"), "--betas", "", "--seed", "5", "--select", "10",
                           "--finetune-steps", "50", "--test-limit", "5000", "--draw", "uniform"],  # svr-10's judge,

                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "more accurate than 9 of 10 random architectures within +-5%" in proc.stdout
    assert "before --select (the argmax of P_theta)" in proc.stdout and "more accurate than 8 of 10" in proc.stdout
    assert "[train]" not in proc.stderr and "[rank]" not in proc.stderr
    assert f"[continue] {out} was started before run.json (lutnas 0.10): its settings are not checked" in proc.stderr
    assert {p.name: p.read_bytes() for p in out.glob("*.csv")} == before  # nothing rewritten
    assert not (out / "run.json").exists()  # its settings are not known, so none are recorded
    summary = json.loads((out / "summary.json").read_text())
    assert summary["groups"]["target-mid"]["beats"] == 9
    assert (out / "search_vs_random.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_search_at_the_corner_is_compared_with_the_few_architectures_of_its_band(svr, tmp_path, capsys):
    """The fastest corner's +-5% band holds fewer architectures than --randoms asks for: the run goes on with
    those it holds, and says so (it used to stop with a traceback)."""
    table = [[0.10, 0.11, 0.40], [0.10, 0.12, 0.50], [0.05, 0.06, 0.60]]  # 8 within 5% of the fastest
    cands = ["a", "b", "c"]
    matrix = SimpleNamespace(latency_ms=table, fixed_ms=1.0, candidates=cands,
                             predict=lambda blocks: 1.0 + sum(table[l][cands.index(b)] for l, b in enumerate(blocks)))
    args = svr.parse_args(["--out", str(tmp_path), "--betas", "", "--randoms", "10"])
    archs = svr.draw_archs(args, matrix, {"target-mid": ["a", "a", "a"]})
    band = [a for a in itertools.product(cands, repeat=3) if abs(matrix.predict(a) / 1.25 - 1) <= 0.05]
    randoms = [a for a in archs if not a["searched"]]
    assert len(randoms) == len(band) - 1 == 7  # every other architecture of the band, once
    assert {tuple(a["blocks"]) for a in randoms} == set(band) - {("a", "a", "a")}
    assert f"only {len(randoms)} other architectures lie within +-5% of its 1.250 ms" in capsys.readouterr().err  # a progress note, beside [train] and [rank]
    assert json.loads((tmp_path / "archs.json").read_text()) == archs


def test_select_is_always_passed_so_zero_turns_off_search_runs_default():
    svr = load_benchmark()
    args = lambda *a: svr.parse_args(["--out", "x", *a])  # noqa: E731
    # the default since lutnas 0.14: trained from scratch, the best 4 of 20 (5 before 0.16) by the first seed from
    # 3 seeds, tested on search.run's 5,000 spare images (30,000 before 0.16)
    assert svr.select_args(args()) == ["--select", "20", "--select-images", "5000", "--select-judge", "scratch",
                                       "--select-seeds", "3", "--select-finalists", "4"]
    assert svr.select_args(args("--select-judge", "supernet")) == \
        ["--select", "20", "--select-images", "30000", "--select-judge", "supernet", "--select-steps", "150"]
    assert svr.select_args(args("--select", "0")) == ["--select", "0"]
    assert svr.select_args(args("--select", "4", "--finetune-steps", "0", "--select-images", "0", "--select-judge",
                                "supernet")) == ["--select", "4", "--select-images", "0", "--select-judge", "supernet"]
    assert svr.select_args(args("--select-seeds", "1"))[-6:] == ["--select-judge", "scratch",
                                                                 "--select-seeds", "1", "--select-finalists", "0"]
    assert svr.select_args(args("--select-finalists", "2"))[-1] == "2"
    # finalists of all the candidates (20 at the default --select) are every candidate: recorded as 0
    assert svr.select_args(args("--select-finalists", "20"))[-1] == "0"
    supernet3 = args("--select-judge", "supernet", "--select-seeds", "3")
    assert "--select-seeds" not in svr.select_args(supernet3)  # the supernet judge has no seeds
    assert "--select-finalists" not in svr.select_args(supernet3)
    assert supernet3.select_seeds == 1 and supernet3.select_finalists == 0  # and records none
    assert "--select-steps" not in svr.select_args(args())  # the scratch judge fine-tunes nothing


def test_select_images_defaults_by_judge_and_a_folder_of_0_15_continues_with_its_own():
    """--select-images defaults by --select-judge (lutnas 0.16): 30,000 for the fine-tuned supernet (which ranked
    better on them), search.run's 5,000 for the scratch judge (whose noise is its training's); a value given wins.
    A folder of lutnas 0.15 (30,000 images, 5 finalists) continues only with those, and the refusal names them."""
    svr = load_benchmark()
    assert set(svr.SELECT_IMAGES) == set(svr.JUDGES)  # every judge has its default
    args = lambda *a: svr.parse_args(["--out", "x", *a])  # noqa: E731
    assert args().select_images == 5000 == svr.RUN_SELECT_IMAGES
    assert args("--select-judge", "supernet").select_images == 30000
    assert args("--select-images", "777").select_images == 777
    assert args("--select-judge", "supernet", "--select-images", "0").select_images == 0
    assert args().select_finalists == 4


def test_a_folder_of_lutnas_0_15_is_continued_with_its_judging_settings(svr, tmp_path):
    out = tmp_path / "svr-37"
    old = ["--seed", "30", "--select-images", "30000", "--select-finalists", "5"]
    svr.check_folder(svr.parse_args(["--out", str(out), *old]))  # as lutnas 0.15 recorded its defaults
    with pytest.raises(SystemExit) as stop:
        svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "30"]))
    assert stop.value.code == (f"{out / 'run.json'}: {out} was started with --select-images 30000 --select-finalists "
                               "5, not --select-images 5000 --select-finalists 4: pass the same settings to continue "
                               "it, or another --out")
    svr.check_folder(svr.parse_args(["--out", str(out), *old]))


def test_searches_judge_select_jobs_at_a_time_where_the_judge_can(tmp_path, capsys):
    """--select-jobs defaults to --jobs (lutnas 0.15): each search.run of the scratch judge on the CPU judges that
    many candidates at a time, a resumed one too; none is passed where search.run could not use it; it is not a
    setting the folder records (it changes no result)."""
    svr = load_benchmark()
    out = tmp_path / "r"
    args = lambda *a: svr.parse_args(["--out", str(out), *a])  # noqa: E731
    plan = svr.search_plan(args(), 0.5)

    def jobs_of(a, resumed=False):
        cmd = svr.search_command(a, tmp_path / "lut.csv", plan, "target-mid")
        assert (cmd[3] == "--resume") == resumed
        return cmd[cmd.index("--select-jobs") + 1] if "--select-jobs" in cmd else None

    assert jobs_of(args()) == "2" and jobs_of(args("--jobs", "3")) == "3"
    assert jobs_of(args("--jobs", "3", "--select-jobs", "1")) is None
    assert jobs_of(args("--select-jobs", "4")) == "4"
    assert jobs_of(args("--select-judge", "supernet")) is None
    assert jobs_of(args("--train-device", "cuda")) is None and jobs_of(args("--select", "0")) is None
    (out / "searches" / "target-mid").mkdir(parents=True)
    (out / "searches" / "target-mid" / "search.json").write_text("{}")
    assert jobs_of(args(), resumed=True) == "2"
    assert "select_jobs" not in svr.KEPT
    with pytest.raises(SystemExit) as stop:
        args("--select-jobs", "0")
    assert stop.value.code == 2 and "--select-jobs must be >= 1" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--select", "--select-images", "--finetune-steps", "--select-finalists"])
def test_a_negative_count_is_refused_before_anything_runs(flag, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        load_benchmark().parse_args(["--out", str(tmp_path / "r"), flag, "-1"])
    assert stop.value.code == 2 and f"{flag} must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_scratch_judge_trains_at_least_once(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        load_benchmark().parse_args(["--out", str(tmp_path / "r"), "--select-seeds", "0"])
    assert stop.value.code == 2 and "--select-seeds must be >= 1" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_rank_with_names_the_supernets_that_judge(svr, tmp_path):
    """--rank-with target-mid judges with that search's supernet only: svr-10's target-mid judgements are all
    in ranking.csv, so a second search (no folder, nothing judged) leaves nothing to do and nothing is loaded."""
    args = svr.parse_args(["--out", str(tmp_path), "--betas", "0.6", "--rank-with", "target-mid",
                           "--finetune-steps", "50"])
    archs = json.loads((SVR10 / "archs.json").read_text())
    shutil.copy(SVR10 / "ranking.csv", tmp_path / "ranking.csv")
    folders = {"target-mid": SVR10 / "searches" / "target-mid", "fbnet-b0.6": tmp_path / "searches" / "fbnet-b0.6"}
    assert svr.rank_with(args, folders) == ["target-mid"]
    rows = svr.supernet_ranking(args, folders, archs)
    assert {r["supernet"] for r in rows} == {"target-mid"} and len(rows) == 2 * len(archs)
    assert svr.rank_with(svr.parse_args(["--out", "x"]), folders) == ["target-mid"]  # the default
    assert svr.rank_with(svr.parse_args(["--out", "x", "--rank-with", "all"]), folders) == ["target-mid", "fbnet-b0.6"]


def test_rank_with_an_unknown_search_stops_before_anything_runs(tmp_path):
    out = tmp_path / "svr-10"
    shutil.copytree(SVR10, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    proc = subprocess.run([sys.executable, "benchmarks/search_vs_random.py", "--out", str(out), "--lut",
                           str(out / "lut.csv"), "--betas", "", "--seed", "5", "--rank-with", "fbnet-b0.6"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == ("--rank-with: fbnet-b0.6: not a search of this run "
                                                     "(its searches: target-mid)")
    assert "Traceback" not in proc.stderr and "[search" not in proc.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_perfect_judge_tau_is_the_ceiling_the_seeds_allow(svr):
    """Without noise between seeds a perfect judge scores 1; when the means differ by no more than that noise it
    scores about 0; more noise, a lower ceiling; on svr-10 it lies between the single-seed agreement and 1."""
    def runs(means, spread):  # label -> accuracy per seed (3 seeds)
        return {f"a{i}": [m - spread, m, m + spread] for i, m in enumerate(means)}
    labels = [f"a{i}" for i in range(10)]
    means = [85.0 + 0.3 * i for i in range(10)]
    assert svr.perfect_judge_tau(labels, runs(means, 0.0)) == 1.0
    quiet, loud = svr.perfect_judge_tau(labels, runs(means, 0.3)), svr.perfect_judge_tau(labels, runs(means, 1.0))
    assert 0.5 < quiet < 1.0 and 0.0 <= loud < quiet
    flat = runs([85.0 + 0.01 * (i % 2) for i in range(10)], 1.0)  # the means' spread is all seed noise
    assert svr.perfect_judge_tau(labels, flat) == pytest.approx(0.0, abs=0.05)
    assert math.isnan(svr.perfect_judge_tau(labels[:2], runs(means, 0.3)))

    args = svr.parse_args(["--out", str(SVR10), "--betas", "", "--seed", "5", "--select", "10"])
    trainings = svr.read_trainings(SVR10 / "trainings.csv")
    summary = svr.summarize(args, json.loads((SVR10 / "archs.json").read_text()), trainings,
                            svr.read_ranking(SVR10 / "ranking.csv"), 0.5703)
    t = summary["kendall_tau"]["target-mid"]
    assert t["ceiling_group"] == pytest.approx(0.66, abs=0.02)
    assert t["seeds_group"] < t["ceiling_group"] < 1.0
    assert "a judge that knew the true accuracies: about 0.66 and 0.66" in "\n".join(svr.format_report(summary))


def test_a_judge_that_judged_with_some_supernets_reports_only_those(svr):
    """After `--rank-with target-mid --finetune-steps 150` the new judge has no judgements by another search's
    supernet: its taus list target-mid alone, not a nan over 0 architectures."""
    args = svr.parse_args(["--out", str(SVR10), "--betas", "", "--seed", "5"])
    archs = json.loads((SVR10 / "archs.json").read_text())
    for i, a in enumerate(archs[-2:]):  # the last two random architectures: a second search's group
        a.update(group="fbnet-b0.6", label=f"fbnet-b0.6{'' if i else '/random1'}", searched=not i)
    trainings = svr.read_trainings(SVR10 / "trainings.csv")
    relabel = {old: new["label"] for old, new in zip(
        [a["label"] for a in json.loads((SVR10 / "archs.json").read_text())[-2:]], archs[-2:])}
    trainings = [{**t, "label": relabel.get(t["label"], t["label"])} for t in trainings]
    ranking = [{**r, "label": relabel.get(r["label"], r["label"])} for r in svr.read_ranking(SVR10 / "ranking.csv")]
    ranking += [{**r, "supernet": "fbnet-b0.6"} for r in ranking if r["judge"] == "weights"]
    ranking += [{**r, "judge": "ft150@0.02"} for r in ranking if r["judge"] == "ft50@0.02"]
    summary = svr.summarize(args, archs, trainings, ranking, 0.5703)
    assert set(summary["kendall_tau"]) == {"target-mid", "fbnet-b0.6"}
    assert set(summary["kendall_tau_by_judge"]["ft150@0.02"]) == {"target-mid"}
    assert summary["kendall_tau_by_judge"]["ft150@0.02"]["target-mid"]["n_all"] == 12
    report = "\n".join(svr.format_report(summary))
    assert "on its 0 architectures" not in report and "supernet of fbnet-b0.6 fine-tuned" not in report
    assert "supernet of target-mid fine-tuned (150 steps at lr 0.02) vs stand-alone" in report


def test_a_new_folder_records_its_settings_and_a_continue_with_others_is_refused(svr, tmp_path):
    """OUT/run.json holds the settings the results depend on; continuing with another test sample (say) would mix
    two of them in trainings.csv, so it stops with one line naming the file, both values and the way out. --seeds,
    --jobs and the ranking's judge may change."""
    out = tmp_path / "svr"
    svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "3"]))
    saved = json.loads((out / "run.json").read_text())
    assert saved["format"] == 1
    assert saved["settings"] == {**{k: getattr(svr.parse_args(["--out", "x"]), k) for k in svr.KEPT}, "seed": 3}
    assert saved["settings"]["test_limit"] == 10000 and saved["settings"]["beta_values"] == [0.6, 1.5]
    svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "3", "--seeds", "5", "--jobs", "1",
                                     "--finetune-steps", "300"]))
    assert json.loads((out / "run.json").read_text()) == saved
    for flags, said in [(["--test-limit", "5000"], "--test-limit 10000, not --test-limit 5000"),
                        (["--betas", "", "--seed", "4"], "--betas 0.6,1.5 --seed 3, not --betas '' --seed 4"),
                        (["--select-images", "0"], "--select-images 5000, not --select-images 0"),
                        (["--select", "10"], "--select 20, not --select 10"),  # a folder of 0.10.3's default
                        (["--select-judge", "supernet"], "--select-images 5000 --select-judge scratch --select-seeds 3 "
                         "--select-finalists 4, not --select-images 30000 --select-judge supernet --select-seeds 1 "
                         "--select-finalists 0"),  # each judge's own --select-images default
                        (["--select-seeds", "1"], "--select-seeds 3 --select-finalists 4, not --select-seeds 1 "
                         "--select-finalists 0")]:
        with pytest.raises(SystemExit) as stop:
            svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "3", *flags]))
        assert stop.value.code == (f"{out / 'run.json'}: {out} was started with {said}: pass the same settings to "
                                   "continue it, or another --out")
    assert json.loads((out / "run.json").read_text()) == saved
    assert saved["settings"]["draw"] == "stratified"


def test_a_folder_of_lutnas_0_10_0_drew_uniformly_and_is_continued_only_so(svr, tmp_path):
    """run.json of lutnas 0.10.0 does not record --draw: its random architectures were drawn uniformly from the
    band, so a continued run (which would draw the rest, say after its searches) must draw them so too."""
    out = tmp_path / "svr-21"
    out.mkdir()
    old = ["--seed", "17", "--betas", "", "--select-judge", "supernet"]
    settings = {k: getattr(svr.parse_args(["--out", "x", *old]), k) for k in svr.KEPT}
    for later in ("draw", "select_judge", "select_seeds", "select_finalists"):  # 0.10.1, 0.11, 0.12, 0.13
        del settings[later]
    (out / "run.json").write_text(json.dumps({"format": 1, "settings": settings}))
    with pytest.raises(SystemExit) as stop:
        svr.check_folder(svr.parse_args(["--out", str(out), *old]))
    assert stop.value.code == (f"{out / 'run.json'}: {out} was started with --draw uniform, not --draw stratified: "
                               "pass the same settings to continue it, or another --out")
    svr.check_folder(svr.parse_args(["--out", str(out), *old, "--draw", "uniform"]))
    assert "draw" not in json.loads((out / "run.json").read_text())["settings"]  # left as it was
    # nor the scratch judge (lutnas 0.11; the default since 0.14): its searches were judged by the fine-tuned supernet
    with pytest.raises(SystemExit) as stop:
        svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "17", "--betas", "", "--draw", "uniform"]))
    assert "started with --select-images 30000 --select-judge supernet --select-seeds 1 --select-finalists 0, not " \
        "--select-images 5000 --select-judge scratch --select-seeds 3 --select-finalists 4:" in str(stop.value.code)
    refused = "started with --select-images 30000 --select-judge supernet, not --select-images 5000 --select-judge scratch:"
    with pytest.raises(SystemExit, match=refused):
        svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "17", "--betas", "", "--draw", "uniform",
                                         "--select-seeds", "1"]))


def test_a_folder_of_lutnas_0_12_trained_every_candidate_from_every_seed(svr, tmp_path):
    """run.json of lutnas 0.12 does not record --select-finalists: a folder judged by the scratch judge of 3 seeds
    trained every candidate 3 times, so it is continued only with --select-finalists 0; a folder of one seed (or
    the supernet judge, whose unused --select-seeds 0.12 recorded) has no finalists and continues without one."""
    scratch3 = ["--seed", "17", "--select-judge", "scratch", "--select-seeds", "3"]
    scratch1 = ["--seed", "17", "--select-judge", "scratch", "--select-seeds", "1"]
    supernet = ["--seed", "17", "--select-judge", "supernet"]
    for name, flags in (("svr-s3", scratch3), ("svr-s1", scratch1), ("svr-sn", supernet)):
        out = tmp_path / name
        out.mkdir()
        settings = {k: getattr(svr.parse_args(["--out", "x", *flags]), k) for k in svr.KEPT}
        del settings["select_finalists"]
        if name == "svr-sn":
            settings["select_seeds"] = 3  # `--select-seeds 3` beside the supernet judge, recorded as given
        (out / "run.json").write_text(json.dumps({"format": 1, "settings": settings}))
    with pytest.raises(SystemExit) as stop:
        svr.check_folder(svr.parse_args(["--out", str(tmp_path / "svr-s3"), *scratch3]))
    assert stop.value.code == (f"{tmp_path / 'svr-s3' / 'run.json'}: {tmp_path / 'svr-s3'} was started with "
                               "--select-finalists 0, not --select-finalists 4: pass the same settings to continue "
                               "it, or another --out")
    svr.check_folder(svr.parse_args(["--out", str(tmp_path / "svr-s3"), *scratch3, "--select-finalists", "0"]))
    svr.check_folder(svr.parse_args(["--out", str(tmp_path / "svr-s1"), *scratch1]))
    svr.check_folder(svr.parse_args(["--out", str(tmp_path / "svr-sn"), *supernet]))
    svr.check_folder(svr.parse_args(["--out", str(tmp_path / "svr-sn"), *supernet, "--select-seeds", "3"]))
    assert json.loads((tmp_path / "svr-sn" / "run.json").read_text())["settings"]["select_seeds"] == 3  # as it was
    # a new folder of 3 seeds records its finalists, and refuses another count
    out = tmp_path / "svr-new"
    svr.check_folder(svr.parse_args(["--out", str(out), *scratch3]))
    assert json.loads((out / "run.json").read_text())["settings"]["select_finalists"] == 4
    with pytest.raises(SystemExit, match="started with --select-finalists 4, not --select-finalists 3"):
        svr.check_folder(svr.parse_args(["--out", str(out), *scratch3, "--select-finalists", "3"]))


def test_the_draw_is_stratified_unless_asked_otherwise(svr, tmp_path):
    """Ten random neighbours of a mid-latency architecture: one from each tenth of the band by default, uniformly
    from the band with --draw uniform (the same seed, other architectures)."""
    table = np.random.default_rng(1).uniform(0.02, 0.1, size=(12, 4))
    cands = ["a", "b", "c", "d"]
    matrix = SimpleNamespace(latency_ms=table, fixed_ms=0.1, candidates=cands,
                             predict=lambda blocks: 0.1 + sum(table[l][cands.index(b)] for l, b in enumerate(blocks)))
    searched = {"target-mid": ["b", "c"] * 6}
    ms = matrix.predict(searched["target-mid"])
    drawn = {}
    for draw in ("stratified", "uniform"):
        folder = tmp_path / draw
        folder.mkdir()
        args = svr.parse_args(["--out", str(folder), "--betas", "", "--randoms", "10", "--draw", draw])
        drawn[draw] = [a for a in svr.draw_archs(args, matrix, searched) if not a["searched"]]
        assert len(drawn[draw]) == 10 and all(abs(a["lut_ms"] / ms - 1) <= 0.05 for a in drawn[draw])
    tenths = sorted(int((a["lut_ms"] - 0.95 * ms) // (0.01 * ms)) for a in drawn["stratified"])
    assert tenths == list(range(10))
    assert drawn["uniform"] != drawn["stratified"]
    assert svr.parse_args(["--out", "x"]).draw == "stratified"


def test_a_finished_folder_from_before_run_json_is_checked_against_its_summary(svr, tmp_path):
    """A finished run of lutnas 0.9 (test sample 5,000) has no run.json: its summary.json's settings stand in,
    except --select and --select-images, which a run reported again records as that day's defaults."""
    out = tmp_path / "svr-19"
    out.mkdir()
    old = vars(svr.parse_args(["--out", str(out), "--test-limit", "5000", "--seed", "15", "--betas", ""]))
    del old["draw"]  # 0.9 drew uniformly and did not say so
    (out / "summary.json").write_text(json.dumps({"settings": {**old, "out": str(out)}, "groups": {}}))
    with pytest.raises(SystemExit) as stop:
        svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "15", "--betas", ""]))
    assert str(stop.value.code) == (f"{out / 'summary.json'}: {out} was started with --test-limit 5000 --draw uniform, "
                                    "not --test-limit 10000 --draw stratified: pass the same settings to continue it, "
                                    "or another --out")
    svr.check_folder(svr.parse_args(["--out", str(out), "--seed", "15", "--betas", "", "--test-limit", "5000",
                                     "--select-images", "0", "--draw", "uniform"]))
    assert not (out / "run.json").exists()


def test_an_unreadable_settings_file_is_one_line_and_nothing_runs(tmp_path):
    out = tmp_path / "svr"
    out.mkdir()
    (out / "run.json").write_text('{"format": 7, "settings": {}}')
    proc = subprocess.run([sys.executable, "benchmarks/search_vs_random.py", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (f"{out / 'run.json'}: not a search_vs_random settings file (format 7, this script "
                                   "reads 1)")
    (out / "run.json").write_text("{not json")
    proc = subprocess.run([sys.executable, "benchmarks/search_vs_random.py", "--out", str(out), "--test-limit", "5000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith(f"{out / 'run.json'}: not a search_vs_random settings file (Expecting")
    assert sorted(p.name for p in out.iterdir()) == ["run.json"]  # no LUT profiled, nothing searched
