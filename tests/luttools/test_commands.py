"""Every ``python -m lut`` subcommand through a subprocess: output, exit codes, files, bad input."""

from __future__ import annotations

import json

import struct

import pytest

from lut import LUT, load, save
from luttools.cli import main
from luttools.formats import Options, get_format
from search.archfile import read_arch

from tests.lut.conftest import LUT_FIXTURES, ROOT, VALID, make_row
from .test_cli import rel, run

MEASURED = LUT_FIXTURES / "fbnet-cifar-cpu.csv"
SHARDS = sorted((LUT_FIXTURES / "shards").glob("fbnet-cifar-cpu.*-of-2.csv"))
TABLE = LUT_FIXTURES / "formats" / "lookup_table.txt"
ARCH = ROOT / "tests" / "fixtures" / "arch"


def one_error(res, code: int = 2) -> str:
    """The single 'error: ...' line of a failed run (asserting exit code and no traceback)."""
    assert res.returncode == code, (res.stdout, res.stderr)
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    return lines[0]


def saved(tmp_path, name: str, rows) -> str:
    path = tmp_path / name
    save(LUT.from_rows(rows), path)
    return str(path)


@pytest.mark.parametrize("command", ["info", "validate", "diff", "merge", "plot", "predict", "convert"])
def test_every_command_has_help(command, capsys):
    """In process (each command also runs through a subprocess below): --help explains it and its exit codes."""
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0 and out.startswith(f"usage: python -m lut {command}")
    assert "Exit 0" in out


def test_overview_lists_every_command_and_the_exit_codes():
    out = run("--help").stdout
    for usage in ("info FILE", "validate FILE [--space S]", "diff A B", "merge A B ... -o OUT",
                  "plot FILE [B] [--space S] -o PNG", "predict --lut FILE --arch ARCH", "convert IN -o OUT"):
        assert usage in out
    assert "content hash" in out and "1    findings" in out and "2    bad usage" in out


# ---- info / validate ---------------------------------------------------------------------------
def test_info_shows_coverage_of_each_builtin_space():
    res = run("info", rel(MEASURED))
    assert res.returncode == 0, res.stderr
    assert res.stdout.endswith("coverage of the built-in spaces:\n"
                               "  fbnet:       0 of 111 keys (0%), missing e.g. overhead@3>3/s1@224x224\n"
                               "  fbnet-cifar: 111 of 111 keys (100%)\n")
    assert f"content hash:  {load(MEASURED).content_hash()}" in res.stdout


def test_validate_space_coverage_and_sanity_summary():
    res = run("validate", rel(MEASURED), "--space", "fbnet-cifar")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:2] == ["ok: 111 rows", "space fbnet-cifar: 111 of 111 keys (100%)"]
    assert lines[-1].startswith("sanity: expansion ordering (e1 <= e3 <= e6): ")
    assert lines[-1].endswith(" of 48 checks fail")


def test_info_and_validate_tell_a_calibration_and_rows_measured_after_it(tmp_path):
    from lut.calibration import Estimate, calibration_rows, store_calibration
    from search.space import get_space

    space = get_space("fbnet-cifar")
    lut = load(MEASURED)
    fitted = max(lut.frame["measured_at"])
    prov = {**{c: lut.frame[c].iloc[0] for c in lut.provenance()}, "measured_at": fitted}
    rows = calibration_rows(space, Estimate(0.05, 0.04, 0.06, 0.01, 0.1, 40),
                            Estimate(1.1, 1.05, 1.15, 0.02, 0.03, 40), prov)
    path = tmp_path / "cal.csv"
    save(store_calibration(lut, space, rows), path)
    res = run("info", str(path))
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines()[-1] == (f"calibration (fbnet-cifar): 0.0500 ms + 1.1000 x LUT, fitted at {fitted} "
                                           f"on 40 network measurements")
    assert "warning" not in run("validate", str(path), "--space", "fbnet-cifar").stdout
    # one row measured again after the fit
    key = space.layers[3].key("k5_e6")
    later = load(path).add([{**load(path).row(key), "measured_at": "2030-01-01T00:00:00Z"}], replace=True)
    save(later, path)
    warning = (f"warning: 1 fbnet-cifar row(s) were measured after its calibration was fitted (e.g. {key}); "
               f"the calibration never saw them: fit it again (python -m profiler.validate, then "
               f"python -m profiler.calibrate)")
    assert run("info", str(path)).stdout.splitlines()[-1] == warning
    res = run("validate", str(path))
    assert res.returncode == 0 and warning in res.stdout.splitlines()


def test_validate_missing_keys_of_a_space_is_a_finding():
    res = run("validate", rel(MEASURED), "--space", "fbnet")
    assert res.returncode == 1 and res.stderr == ""
    first, second = res.stdout.splitlines()[:2]
    assert first.startswith(f"{rel(MEASURED)}: space fbnet: 0 of 111 keys (0%); missing: overhead@3>3/s1@224x224, ")
    assert first.endswith(" and 101 more")
    assert second == (f"measure them with: python -m profiler.run --device cpu --space fbnet --runtime onnxruntime "
                      f"--opt-level all --threads 1 --out {rel(MEASURED)} --resume")


def test_validate_sanity_warnings_do_not_fail(tmp_path):
    path = saved(tmp_path, "odd.csv", [make_row("k3_e1", 8, 8, 1, 8, 8, 0.2), make_row("k3_e3", 8, 8, 1, 8, 8, 0.1),
                                       make_row("k3_e1", 8, 8, 2, 8, 8, 0.3)])
    res = run("validate", path)
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout.splitlines() == [
        "ok: 3 rows",
        "warning: expansion: k3_e1@8>8/s1@8x8 takes 0.200000 ms > k3_e3@8>8/s1@8x8 0.100000 ms (expected the larger "
        "expansion to be at least as slow)",
        "warning: stride: k3_e1@8>8/s2@8x8 takes 0.300000 ms > k3_e1@8>8/s1@8x8 0.200000 ms (expected the stride 1 "
        "to be at least as slow)",
        "sanity: expansion ordering (e1 <= e3 <= e6): 1 of 1 checks fail",
        "sanity: stride 2 not dearer than stride 1: 1 of 1 checks fail"]


def test_validate_unknown_space_is_bad_usage():
    line = one_error(run("validate", rel(VALID), "--space", "mobilenet"))
    assert line == "error: unknown space 'mobilenet'; built-in: fbnet, fbnet-cifar, or a .toml/.json file"


# ---- diff --------------------------------------------------------------------------------------
def test_diff_of_a_file_with_itself():
    res = run("diff", rel(VALID), rel(VALID))
    assert res.returncode == 0 and res.stderr == ""
    lines = res.stdout.splitlines()
    assert len(lines) == 1 + 10 + 4 and not any(line.endswith("*") for line in lines)
    assert lines[-4:] == ["common keys: 10; B/A median 1.000, p5 1.000, p95 1.000",
                          "changed beyond both measurements' spread: 0 (marked *)",
                          f"only in {rel(VALID)}: 0", f"only in {rel(VALID)}: 0"]


def test_diff_reports_changes_and_keys_in_one_only(tmp_path):
    a = saved(tmp_path, "a.csv", [make_row("k3_e1", 8, 8, 1, 8, 8, 1.0), make_row("k3_e3", 8, 8, 1, 8, 8, 2.0),
                                  make_row("skip", 8, 8, 1, 8, 8, 0.1)])
    b = saved(tmp_path, "b.csv", [make_row("k3_e1", 8, 8, 1, 8, 8, 1.02), make_row("k3_e3", 8, 8, 1, 8, 8, 3.0),
                                  make_row("k5_e1", 8, 8, 1, 8, 8, 0.1)])
    table = tmp_path / "entries.csv"
    res = run("diff", a, b, "--csv", table)
    assert res.returncode == 1 and res.stderr == ""
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["key", "A", "ms", "B", "ms", "B/A"]
    assert lines[1].split() == ["k3_e1@8>8/s1@8x8", "1.000000", "1.020000", "1.020"]
    assert lines[2].split() == ["k3_e3@8>8/s1@8x8", "2.000000", "3.000000", "1.500", "*"]
    assert lines[3] == "common keys: 2; B/A median 1.260, p5 1.044, p95 1.476"
    assert lines[4] == "changed beyond both measurements' spread: 1 (marked *)"
    assert lines[5:] == [f"only in {a}: 1: skip@8>8/s1@8x8", f"only in {b}: 1: k5_e1@8>8/s1@8x8"]
    assert table.read_text().splitlines() == ["block,cin,cout,stride,h,w,layer,a_ms,b_ms,ratio,significant",
                                              "k3_e1,8,8,1,8,8,-1,1.000000,1.020000,1.020000,False",
                                              "k3_e3,8,8,1,8,8,-1,2.000000,3.000000,1.500000,True"]
    changed = run("diff", a, b, "--changed-only")
    assert [line.split()[0] for line in changed.stdout.splitlines()[:2]] == ["key", "k3_e3@8>8/s1@8x8"]
    before = table.read_bytes()
    assert "already exists; pass --overwrite" in one_error(run("diff", a, b, "--csv", table))
    assert table.read_bytes() == before


def test_diff_bad_input(tmp_path):
    assert one_error(run("diff", rel(VALID), tmp_path / "no.csv")) == f"error: {tmp_path / 'no.csv'}: no such file"
    bad = LUT_FIXTURES / "nan_latency.csv"
    assert one_error(run("diff", rel(bad), rel(VALID))).startswith(f"error: {rel(bad)}: line 4, column median_ms")
    assert run("diff", rel(VALID)).returncode == 2  # usage


# ---- merge -------------------------------------------------------------------------------------
def test_merge_shards_gives_back_the_whole_file(tmp_path):
    out = tmp_path / "merged.csv"
    res = run("merge", *map(rel, SHARDS), "-o", out)
    assert res.returncode == 0, res.stderr
    assert res.stdout == f"wrote {out}: 111 rows from 2 files ({load(MEASURED).content_hash()})\n"
    assert out.read_bytes() == MEASURED.read_bytes()


def test_merge_never_replaces_out_without_overwrite(tmp_path):
    out = tmp_path / "out.csv"
    out.write_text("precious\n")
    assert one_error(run("merge", *map(rel, SHARDS), "-o", out)) == \
        f"error: {out}: already exists; pass --overwrite to replace it"
    assert out.read_text() == "precious\n"
    first = tmp_path / "first.csv"
    first.write_bytes(SHARDS[0].read_bytes())
    res = run("merge", first, rel(SHARDS[1]), "-o", first, "--overwrite")  # merge a shard into the main file
    assert res.returncode == 0 and first.read_bytes() == MEASURED.read_bytes()


def test_merge_refuses_mixed_environments_and_conflicts(tmp_path):
    a = saved(tmp_path, "a.csv", [make_row("k3_e1", 8, 8, 1, 8, 8, 1.0)])
    b = saved(tmp_path, "b.csv", [make_row("k3_e3", 8, 8, 1, 8, 8, 1.0, threads=4)])
    c = saved(tmp_path, "c.csv", [make_row("k3_e1", 8, 8, 1, 8, 8, 2.0, ci_rel=0.001)])
    out = tmp_path / "out.csv"
    line = one_error(run("merge", a, b, "-o", out))
    assert line.startswith(f"error: refusing to merge rows measured in 2 environments ({a}: ")
    assert "threads=4" in line and "--allow-mixed" in line and not out.exists()
    res = run("merge", a, b, "-o", out, "--allow-mixed")
    assert res.returncode == 0 and "warning: " in res.stdout and len(load(out)) == 2
    line = one_error(run("merge", a, c, "-o", tmp_path / "x.csv", "--policy", "fail"))
    assert f"1 key(s) have different rows in different inputs: k3_e1@8>8/s1@8x8 in {a}, {c}" in line
    assert not (tmp_path / "x.csv").exists()
    res = run("merge", a, c, "-o", tmp_path / "y.csv")
    assert res.returncode == 0
    assert res.stdout.splitlines()[1:] == ["1 key(s) with different rows resolved by most-precise:",
                                           f"  k3_e1@8>8/s1@8x8: kept {c}, dropped {a}"]
    assert load(tmp_path / "y.csv").latency(("k3_e1", 8, 8, 1, 8, 8)) == 2.0


def test_merge_bad_input(tmp_path):
    assert one_error(run("merge", rel(VALID), "-o", tmp_path / "o.csv")) == \
        "error: merge needs at least two input LUTs"
    assert one_error(run("merge", rel(VALID), tmp_path / "no.csv", "-o", tmp_path / "o.csv")) == \
        f"error: {tmp_path / 'no.csv'}: no such file"
    line = one_error(run("merge", rel(VALID), rel(VALID), "-o", tmp_path / "nodir" / "o.csv"))
    assert line == f"error: {tmp_path / 'nodir' / 'o.csv'}: directory {tmp_path / 'nodir'} does not exist"
    assert run("merge", rel(VALID), rel(VALID), "-o", tmp_path / "o.csv", "--policy", "oldest").returncode == 2
    assert not (tmp_path / "o.csv").exists()


# ---- plot --------------------------------------------------------------------------------------
def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_plot_one_lut_and_a_ratio(tmp_path):
    png = tmp_path / "lut.png"
    res = run("plot", rel(MEASURED), "-o", png)
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout == f"wrote {png}: 22 layers x 9 candidates of space fbnet-cifar\n"
    width, height = png_size(png)
    assert width > 600 and height > 600
    other = tmp_path / "other.csv"
    save(LUT.from_rows([dict(r, median_ms=r["median_ms"] * 1.1, p10_ms=r["p10_ms"] * 1.1, p90_ms=r["p90_ms"] * 1.1)
                        for r in load(MEASURED).frame.to_dict("records")][:60]), other)
    ratio = tmp_path / "ratio.png"
    res = run("plot", rel(MEASURED), other, "-o", ratio, "--space", "fbnet-cifar")
    assert res.returncode == 0 and png_size(ratio)[0] > 600
    assert res.stderr.startswith("note: ") and "cells have no value (grey)" in res.stderr


def test_plot_bad_input(tmp_path):
    png = tmp_path / "p.png"
    nowhere = saved(tmp_path, "nowhere.csv", [make_row("k3_e1", 8, 8, 1, 8, 8, 0.1)])
    assert one_error(run("plot", nowhere, "-o", png)) == \
        f"error: {nowhere}: holds no key of any built-in space; name one with --space"
    assert one_error(run("plot", rel(VALID), "--space", "fbnet", "-o", png)) == \
        "error: no cell of space fbnet has a value in " + rel(VALID)
    assert "plot takes one LUT or two" in one_error(run("plot", rel(VALID), rel(VALID), rel(VALID), "-o", png))
    assert "unknown space 'x'" in one_error(run("plot", rel(MEASURED), "--space", "x", "-o", png))
    assert one_error(run("plot", tmp_path / "no.csv", "-o", png)) == f"error: {tmp_path / 'no.csv'}: no such file"
    assert not png.exists()


# ---- predict -----------------------------------------------------------------------------------
def test_predict_matches_the_matrix():
    arch = ARCH / "minimal.json"
    expected = load(MEASURED).matrix(read_arch(arch).space).predict(read_arch(arch).blocks)
    res = run("predict", "--lut", rel(MEASURED), "--arch", rel(arch))
    assert res.returncode == 0 and res.stderr == ""
    assert res.stdout == (f"predicted latency: {expected:.4f} ms (space fbnet-cifar, 22 layers, "
                          f"LUT {load(MEASURED).content_hash()[:19]})\n")
    detail = run("predict", "--lut", rel(MEASURED), "--arch", rel(arch), "--layers").stdout.splitlines()
    assert len(detail) == 2 + 22 + 1 + 1
    assert detail[2].startswith("layer 0") and detail[2].endswith("k3_e1@16>16/s1@32x32")
    total = sum(float(line.split()[-3 if line.startswith("layer") else -2]) for line in detail[:-1])
    assert total == pytest.approx(expected, abs=1e-3)


def test_predict_notes_an_arch_made_with_another_lut():
    tiny = ROOT / "tests" / "fixtures" / "measured" / "tiny-cpu.csv"
    res = run("predict", "--lut", rel(tiny), "--arch", rel(ARCH / "tiny_full.json"))
    assert res.returncode == 0 and res.stdout.startswith("predicted latency: ")
    assert res.stderr == (f"note: {rel(ARCH / 'tiny_full.json')} was made with LUT sha256:0123456789ab, not this one "
                          f"({load(tiny).content_hash()[:19]})\n")


def test_predict_bad_input(tmp_path):
    arch = rel(ARCH / "minimal.json")
    line = one_error(run("predict", "--lut", rel(VALID), "--arch", arch))
    assert line.startswith(f"error: {rel(VALID)}: 106 key(s) of space fbnet-cifar are missing: ")
    assert "measure them with: python -m profiler.run" in line
    assert one_error(run("predict", "--lut", rel(MEASURED), "--arch", rel(ARCH / "bad_json.json"))).startswith(
        f"error: {rel(ARCH / 'bad_json.json')}: not valid JSON")
    assert one_error(run("predict", "--lut", tmp_path / "no.csv", "--arch", arch)) == \
        f"error: {tmp_path / 'no.csv'}: no such file"
    assert run("predict", "--lut", rel(MEASURED)).returncode == 2  # usage: --arch required


# ---- convert -----------------------------------------------------------------------------------
def test_convert_lookup_table_into_a_lut_for_the_fbnet_space(tmp_path):
    out = tmp_path / "fbnet.csv"
    res = run("convert", rel(TABLE), "--from", "fbnet-lookup-table", "-o", out)
    assert res.returncode == 0
    assert res.stdout == f"wrote {out} (lutnas) from {rel(TABLE)} (fbnet-lookup-table): 246 LUT rows imported\n"
    notes = res.stderr.splitlines()
    assert [n[:40] for n in notes] == ["note: 10 of 22 layers sit at the same sl",
                                       "note: 45 slot(s) shared by several layer",
                                       "note: lookup_table.txt has no overhead, "]
    check = run("validate", out, "--space", "fbnet")
    assert check.returncode == 0 and "space fbnet: 111 of 111 keys (100%)" in check.stdout
    assert "per-layer row(s) hold at no layer" not in check.stdout
    moved = tmp_path / "moved.csv"  # per-layer rows of layer 2 relabelled as layer 7, which sits at another slot
    moved.write_text(out.read_text().replace(",56,56,2,", ",56,56,7,"))
    check = run("validate", moved, "--space", "fbnet")
    assert check.returncode == 0 and "warning: 9 per-layer row(s) hold at no layer of space fbnet (their layer is " \
        "not at their slot there), so it never reads them: k3_e1@24>24/s1@56x56#layer7" in check.stdout
    info = run("info", out).stdout
    assert "device_model:    unknown (imported from lookup_table.txt)" in info
    assert "note: 246 of 246 rows were imported from a format that records no provenance" in info
    assert "rows:          246 (0 stable, 246 unstable; 135 per-layer (a layer's own value, taken there instead of " \
        "its slot's row))" in info
    back = tmp_path / "back.txt"
    res = run("convert", out, "--to", "fbnet-lookup-table", "-o", back)
    assert res.returncode == 0 and res.stderr.startswith("note: 3 row(s) cannot be expressed in lookup_table.txt")
    assert back.read_text().splitlines()[0] == TABLE.read_text().splitlines()[0]


def test_a_per_layer_table_converts_under_strict_and_back_to_every_value(tmp_path):
    """Anna's table gives layers at one slot different values: they are kept as per-layer rows, so --strict has
    nothing to refuse, lut predict gives the table's own sum, and converting back writes every value as the
    table has it (to the LUT's precision, µs with three decimals), then byte for byte from there on."""
    out = tmp_path / "strict.csv"
    res = run("convert", rel(TABLE), "--from", "fbnet-lookup-table", "-o", out, "--strict")
    assert res.returncode == 0 and "cannot be expressed" not in res.stderr
    back = tmp_path / "back.txt"
    assert run("convert", out, "--to", "fbnet-lookup-table", "-o", back).returncode == 0
    source = [line.split() for line in TABLE.read_text().splitlines()]
    written = [line.split() for line in back.read_text().splitlines()]
    assert written[0] == source[0] and len(written) == len(source) == 23
    assert [[f"{float(v):.3f}" for v in line] for line in source[1:]] == written[1:]
    arch = ["k5_e6", "k3_e1_g2", "k3_e3", "skip", "k5_e1", "k3_e6"] * 3 + ["k5_e3", "k3_e1", "k5_e1_g2", "skip"]
    ops = {"k3_e1": 0, "k3_e1_g2": 1, "k3_e3": 2, "k3_e6": 3, "k5_e1": 4, "k5_e1_g2": 5, "k5_e3": 6, "k5_e6": 7,
           "skip": 8}
    own = sum(float(source[1 + i][ops[b]]) for i, b in enumerate(arch)) / 1000
    arch_file = tmp_path / "arch.json"
    arch_file.write_text(json.dumps({"format": "lutnas-arch", "version": 1, "space": {"name": "fbnet"},
                                     "blocks": arch}))
    res = run("predict", "--lut", out, "--arch", arch_file)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"predicted latency: {own + 0.000001:.4f} ms (space fbnet, 22 layers")
    again, twice = tmp_path / "again.csv", tmp_path / "twice.txt"
    assert run("convert", back, "--from", "fbnet-lookup-table", "-o", again, "--strict").returncode == 0
    assert run("convert", again, "--to", "fbnet-lookup-table", "-o", twice).returncode == 0
    assert twice.read_bytes() == back.read_bytes()


def test_convert_fixed_ms_and_provenance(tmp_path):
    out = tmp_path / "fbnet.csv"
    res = run("convert", rel(TABLE), "--from", "fbnet-lookup-table", "-o", out,
              "--fixed-ms", "stem=0.5,head=0.25,overhead=0.02", "--set", "device_model=Samsung S8",
              "--set", "threads=4")
    assert res.returncode == 0 and "has no" not in res.stderr
    table = load(out)
    assert table.provenance()["device_model"] == ["Samsung S8"] and table.provenance()["threads"] == ["4"]
    assert table.latency(("overhead", 3, 3, 1, 224, 224)) == 0.02
    assert run("convert", rel(TABLE), "--from", "fbnet-lookup-table", "-o", tmp_path / "x.csv",
               "--fixed-ms", "stem").returncode == 2
    assert "unknown provenance column(s) gpu" in one_error(
        run("convert", rel(TABLE), "--from", "fbnet-lookup-table", "-o", tmp_path / "x.csv", "--set", "gpu=a100"))


@pytest.mark.parametrize("fmt, name", [("hwnas-bench", "hwnas.json"), ("ofa-yaml", "ofa.yaml")])
def test_convert_hwnas_and_ofa_in_and_out(tmp_path, fmt, name):
    src = LUT_FIXTURES / "formats" / name
    lut_path = tmp_path / f"{name}.csv"
    res = run("convert", rel(src), "--from", fmt, "-o", lut_path)
    assert res.returncode == 0 and res.stderr.startswith("note: 2 key(s) cannot be expressed" if fmt == "hwnas-bench"
                                                         else "note: 2 key(s) cannot be expressed")
    again = tmp_path / f"again-{name}"
    res = run("convert", lut_path, "--to", fmt, "-o", again)
    assert res.returncode == 0 and res.stderr == ""  # every row of an import can be written back
    assert load(lut_path) == get_format(fmt).read(again.read_bytes(), Options(suffix=again.suffix)).lut


def test_convert_strict_refuses_rows_it_cannot_express(tmp_path):
    out = tmp_path / "t.txt"
    res = run("convert", rel(MEASURED), "--to", "ofa-yaml", "-o", out, "--strict")
    assert res.returncode == 1 and not out.exists()
    assert res.stderr.splitlines()[-1] == \
        f"error: --strict: 1 note(s) of rows the formats cannot express; {out} not written"


def test_convert_bad_input(tmp_path):
    out = tmp_path / "o.csv"
    assert one_error(run("convert", rel(TABLE), "--from", "tflite", "-o", out)) == (
        "error: unknown format 'tflite'; known formats: lutnas, fbnet-lookup-table, hwnas-bench, ofa-yaml, "
        "proxylessnas-yaml")
    assert one_error(run("convert", tmp_path / "no.txt", "--from", "fbnet-lookup-table", "-o", out)) == \
        f"error: {tmp_path / 'no.txt'}: no such file"
    bad = tmp_path / "bad.txt"
    bad.write_text(TABLE.read_text().rsplit("\n", 1)[0])
    assert one_error(run("convert", bad, "--from", "fbnet-lookup-table", "-o", out)) == \
        f"error: {bad}: 21 layer line(s) after the header; space fbnet has 22 searchable layers (one line each)"
    assert one_error(run("convert", rel(MEASURED), "--from", "ofa-yaml", "-o", out)).startswith(
        f"error: {rel(MEASURED)}: expected a YAML mapping")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"Stem_H32_W32_3_16_1": 0.1}')
    assert one_error(run("convert", foreign, "--from", "hwnas-bench", "-o", out)) == (
        f"error: {foreign}: no row could be imported as hwnas-bench (1 key(s) cannot be expressed in a lutnas LUT "
        f"and were left out (not a ConvBlock_/Skip_/stem/head key our block names can hold): Stem_H32_W32_3_16_1)")
    assert one_error(run("convert", rel(MEASURED), "--to", "ofa-yaml", "-o", tmp_path / "x.yaml",
                         "--fixed-ms", "overhead=0.1")) == (
        "error: --fixed-ms: used neither by reading lutnas nor by writing ofa-yaml, so it would be ignored; leave it out")
    assert one_error(run("convert", rel(LUT_FIXTURES / "empty.csv"), "-o", out)).startswith(
        f"error: {rel(LUT_FIXTURES / 'empty.csv')}: line 1: empty file")
    assert not out.exists()
    out.write_text("keep\n")
    assert one_error(run("convert", rel(VALID), "-o", out)) == \
        f"error: {out}: already exists; pass --overwrite to replace it"
    assert out.read_text() == "keep\n"
    assert "is also the input" in one_error(run("convert", out, "-o", out, "--overwrite"))
    assert out.read_text() == "keep\n"


@pytest.mark.parametrize("command", [["info", str(VALID)], ["validate", str(VALID)]])
def test_commands_return_their_exit_status_in_process(command, capsys):
    assert main(command) == 0
