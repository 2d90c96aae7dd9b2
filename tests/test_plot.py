"""`autotrain plot`: runs' loss curves on one chart, a sweep's metric against its swept key (one line per
mode); refused up front with the install hint when matplotlib is missing."""
import importlib.util
from pathlib import Path

import pytest

from autotrain.store import catalog

from autotrain.cli import plots
from autotrain.training.config import load_config
from autotrain.store.runs import create_run
from autotrain.training.train import fit
from helpers import invoke


def tiny_run(root, **kw):
    base = dict(N=6, D_in=5, H=4, D_out=2, lr=1e-3, steps=6, mode="manual", dtype="float64")
    c = load_config(None, [f"{k}={v}" for k, v in {**base, **kw}.items()], check=False)
    run = create_run(c, root)
    fit(c, run)
    return run.path


def fake_sweep(root: Path) -> Path:
    """A sweep directory as `autotrain sweep` leaves it (sweep.yaml + sweep.csv), without running trials."""
    d = root / "20240101T000000Z-sweep-w"
    d.mkdir(parents=True)
    (d / "sweep.yaml").write_text("name: w\nbase: {}\ngrid: {H: [16, 64, 256], mode: [manual, static]}\n"
                                  "metric: ms_per_step\ngoal: min\n")
    rows = ["trial,run,H,mode,status,metric,value"]
    for i, (h, mode) in enumerate((h, m) for h in (16, 64, 256) for m in ("manual", "static")):
        value = "" if i == 5 else repr(h / (10.0 if mode == "manual" else 20.0))
        rows.append(f"{i},trial-{i:03d},{h},{mode},{'completed' if value else 'diverged'},ms_per_step,{value}")
    (d / "sweep.csv").write_text("\n".join(rows) + "\n")
    return d


def test_sweep_axes_pick_the_numeric_key_and_split_lines_by_the_rest():
    rows = [{"H": "16", "mode": "manual", "lr": "0.1"}]
    assert plots.sweep_axes(rows, ["mode", "H", "lr"]) == ("H", ["mode", "lr"])
    with pytest.raises(ValueError, match="no numeric swept key"):
        plots.sweep_axes([{"mode": "manual"}], ["mode"])


def test_plot_runs_as_png_and_a_sweep_as_svg(tmp_path):
    pytest.importorskip("matplotlib")
    a, b = tiny_run(tmp_path / "runs"), tiny_run(tmp_path / "runs", mode="static", lr=2e-3)
    out = tmp_path / "runs.png"
    result = invoke("plot", a, b, "--output", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG")
    sweep_out = tmp_path / "sweep.svg"
    assert invoke("plot", fake_sweep(tmp_path / "s"), "-o", sweep_out).exit_code == 0
    assert sweep_out.read_bytes().startswith(b"<?xml")
    mixed = invoke("plot", a, fake_sweep(tmp_path / "t"), "-o", tmp_path / "m.png")
    assert mixed.exit_code == 2 and "one sweep directory" in mixed.stderr


def test_sweep_chart_has_one_line_per_mode(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    drawn = {}
    import matplotlib.axes

    real = matplotlib.axes.Axes.plot

    def spy(self, xs, ys, *args, label=None, **kw):
        drawn[label] = (list(xs), list(ys))
        return real(self, xs, ys, *args, label=label, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    plots.plot_sweep(catalog.detail(fake_sweep(tmp_path)), tmp_path / "s.png")
    assert drawn == {"manual": ([16.0, 64.0, 256.0], [1.6, 6.4, 25.6]), "static": ([16.0, 64.0], [0.8, 3.2])}


@pytest.mark.group("bad input")
def test_plot_refusals(tmp_path, monkeypatch):
    run = tiny_run(tmp_path / "runs")
    assert invoke("plot", run, "-o", tmp_path / "x.gif").exit_code == 2
    assert invoke("plot", run, "-o", tmp_path / "missing" / "x.png").exit_code == 2
    assert invoke("plot", tmp_path / "nope", "-o", tmp_path / "x.png").exit_code == 2
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "matplotlib" else real(n, *a))
    result = invoke("plot", run, "-o", tmp_path / "x.png")
    assert result.exit_code == 2 and "pip install 'autotrain[plot]'" in result.stderr
    assert not (tmp_path / "x.png").exists()
