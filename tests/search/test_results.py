"""metrics.csv, the default result folder, and the PNG plots."""

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from search.results import (METRICS_COLUMNS, default_out_dir, format_value, read_metrics, read_rows,
                            write_metrics, write_rows)

TINY_CANDS = ["k3_e1", "k3_e1_g2", "k5_e3", "skip"]


def metric_rows(n=4, warmup=2):
    rows = []
    for e in range(1, n + 1):
        search = e > warmup
        rows.append({"epoch": e, "phase": "search" if search else "warmup", "tau": 5.0 * 0.956 ** (e - 1),
                     "train_loss": 2.3 / e, "train_acc": 10.0 + 7.5 * e, "val_loss": 2.4 / e, "val_acc": 9.0 + 6 * e,
                     "expected_ms": 1.0 - 0.05 * e, "sampled_ms": (0.98 - 0.05 * e) if search else math.nan,
                     "lr_w": 0.1 * math.cos(e / n), "lr_theta": 0.01 if search else 0.0, "seconds": 0.123456789 * e})
    return rows


def same(a, b):
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b


def test_metrics_round_trip(tmp_path):
    rows = metric_rows()
    rows[0]["argmax_ms"] = 0.9  # extra keys are kept, after the known columns
    path = write_metrics(rows, tmp_path / "metrics.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(METRICS_COLUMNS) + ",argmax_ms"
    assert len(lines) == 5
    back = read_metrics(path)
    assert len(back) == 4
    for row, got in zip(rows, back):
        assert isinstance(got["epoch"], int) and got["phase"] in ("warmup", "search")
        for k in METRICS_COLUMNS:
            if isinstance(row[k], float) and not math.isnan(row[k]):
                assert got[k] == pytest.approx(row[k], rel=1e-7), k
            else:
                assert same(row[k], got[k]), k
    assert back[0]["argmax_ms"] == 0.9 and math.isnan(back[1]["argmax_ms"])
    assert lines[1].split(",")[8] == ""  # NaN sampled_ms during warm-up is an empty cell


def test_metrics_text_is_stable(tmp_path):
    write_metrics(metric_rows(), tmp_path / "a.csv")
    write_metrics(read_metrics(tmp_path / "a.csv"), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.parametrize("value, text", [(1, "1"), (1.0, "1.0"), (0.1, "0.1"), (1 / 3, "0.33333333"),
                                         (math.nan, ""), (None, ""), (12345.678901234, "12345.679"),
                                         (1e-9, "1e-09"), ("warmup", "warmup")])
def test_format_value(value, text):
    assert format_value(value) == text


def test_bad_metrics(tmp_path):
    with pytest.raises(ValueError, match="phase must be one of warmup, search"):
        write_metrics([{"epoch": 1, "phase": "train"}], tmp_path / "m.csv")
    with pytest.raises(ValueError, match="no such file"):
        read_metrics(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("epoch,phase\nx,warmup\n")
    with pytest.raises(ValueError, match="line 2: epoch must be an integer"):
        read_metrics(tmp_path / "bad.csv")


def test_generic_rows(tmp_path):
    rows = [{"epoch": 1, "loss": 2.0, "train_acc": 10.0, "test_acc": 12.5, "seconds": 0.5}]
    write_rows(rows, tmp_path / "train.csv", ("epoch", "loss", "train_acc", "test_acc", "seconds"))
    assert (tmp_path / "train.csv").read_text() == "epoch,loss,train_acc,test_acc,seconds\n1,2.0,10.0,12.5,0.5\n"
    assert read_rows(tmp_path / "train.csv") == rows


def test_default_out_dir():
    when = datetime(2026, 11, 27, 20, 15, 0, tzinfo=timezone.utc)
    assert default_out_dir(when) == Path("runs/20261127-201500")
    local = when.astimezone(timezone(timedelta(hours=2)))
    assert default_out_dir(local) == Path("runs/20261127-201500")  # always UTC
    assert default_out_dir(datetime(2026, 1, 2, 3, 4, 5)) == Path("runs/20260102-030405")
    now = default_out_dir()
    assert now.parent == Path("runs") and len(now.name) == 15 and now.name[8] == "-"


# ---- plots ---------------------------------------------------------------------------------------
def png_shape(path):
    import matplotlib.image as mpimg

    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return mpimg.imread(path).shape


def test_plot_theta(tmp_path):
    from search.figures import DPI, heatmap_size, plot_theta

    probs = [[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.1, 0.1], [0.25, 0.25, 0.25, 0.25]]
    path = plot_theta(probs, TINY_CANDS, tmp_path / "theta.png", title="tiny")
    w, h = heatmap_size(3, 4)
    assert png_shape(path) == (round(h * DPI), round(w * DPI), 4)
    assert png_shape(path)[:2] == (300, 600)


def test_plot_theta_fbnet_size(tmp_path):
    import numpy as np

    from search.figures import plot_theta

    p = np.random.default_rng(0).random((22, 9))
    p /= p.sum(1, keepdims=True)
    path = plot_theta(p, [f"c{i}" for i in range(9)], tmp_path / "theta.png")
    assert png_shape(path)[:2] == (920, 970)


def test_plot_theta_rejects_wrong_shape(tmp_path):
    from search.figures import plot_theta

    with pytest.raises(ValueError, match="probs must be"):
        plot_theta([[0.5, 0.5]], TINY_CANDS, tmp_path / "x.png")


def test_plot_curves(tmp_path):
    from search.figures import CURVES_SIZE, DPI, plot_curves

    path = plot_curves(metric_rows(5, warmup=2), tmp_path / "curves.png")
    assert png_shape(path)[:2] == (CURVES_SIZE[1] * DPI, CURVES_SIZE[0] * DPI) == (400, 1100)
    # rows read back from a file (NaN cells), warm-up only, and a single epoch all work
    write_metrics(metric_rows(3, warmup=3), tmp_path / "m.csv")
    assert png_shape(plot_curves(read_metrics(tmp_path / "m.csv"), tmp_path / "w.png"))[:2] == (400, 1100)
    assert png_shape(plot_curves(metric_rows(1, warmup=0), tmp_path / "one.png"))[:2] == (400, 1100)
    with pytest.raises(ValueError, match="no metrics rows"):
        plot_curves([], tmp_path / "none.png")


def test_plot_lut_matrix(tmp_path):
    from search.figures import plot_lut_matrix

    lat = [[0.12, 0.08, 0.3, 0.01], [0.2, float("nan"), 0.5, 0.02], [0.4, 0.3, 1.2, 0.05]]
    path = plot_lut_matrix(lat, TINY_CANDS, tmp_path / "lut" / "matrix.png")
    assert png_shape(path)[:2] == (300, 600)
