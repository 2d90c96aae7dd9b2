"""`autotrain compare-modes`: identical starts, agreement within tolerance, files that match the table."""
import csv
import importlib.util
import sys

import pytest
from typer.testing import CliRunner

from autotrain.cli import app
from autotrain.training.compare import compare_modes
from autotrain.training.config import FitConfig

runner = CliRunner()
SMALL = "N: 8\nD_in: 12\nH: 6\nD_out: 3\nlr: 1.0e-3\nsteps: 20\ndtype: float64\nname: tiny\n"


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(SMALL)
    return path


def invoke(config, tmp_path, *args):
    return runner.invoke(app, ["compare-modes", str(config), "--runs-dir", str(tmp_path / "runs"), "-q", *args])


def run_dir(tmp_path):
    (path,) = (tmp_path / "runs").iterdir()
    return path


def read_metrics(path):
    with open(path) as f:
        return [(int(r["step"]), float(r["loss"])) for r in csv.DictReader(f)]


def test_all_modes_agree_and_the_table_comes_from_the_runs(config, tmp_path):
    result = invoke(config, tmp_path, "--wide")  # every column: the losses are checked in the table
    assert result.exit_code == 0, result.output
    path = run_dir(tmp_path)
    assert path.name.endswith("-compare-tiny")
    with open(path / "comparison.csv") as f:
        table = {r["mode"]: r for r in csv.DictReader(f)}
    assert list(table) == ["manual", "autograd", "custom-relu", "static", "compiled"]
    for mode, row in table.items():
        metrics = read_metrics(path / mode / "metrics.csv")
        assert [s for s, _ in metrics] == list(range(20))
        assert float(row["final_loss"]) == metrics[-1][1]
        assert f"{metrics[-1][1]:.10g}" in result.output
    assert table["autograd"]["bit_identical"] == "True" and "bit-identical" in result.output
    assert table["compiled"]["bit_identical"] == "True"
    assert "tolerance (float64)" in result.output and "all modes agree" in result.output
    assert (path / "config.yaml").exists() and (path / "data.npz").exists()


def test_a_perturbed_mode_disagrees_and_exits_1(config, tmp_path, monkeypatch):
    import autotrain.engine as torch
    from autotrain.modes.custom_relu import CustomReluMode

    class OffByAMillionth(torch.nn.Module):  # the mode's hidden activation, slightly wrong
        def forward(self, h):
            return h.clamp(min=0) * (1 + 1e-6)

    monkeypatch.setattr(CustomReluMode, "activation", lambda self: OffByAMillionth())
    result = invoke(config, tmp_path, "--modes", "custom-relu")
    assert result.exit_code == 1, result.output
    assert "DISAGREES" in result.output and "modes DISAGREE: custom-relu" in result.output
    with open(run_dir(tmp_path) / "comparison.csv") as f:
        rows = {r["mode"]: r for r in csv.DictReader(f)}
    assert rows["custom-relu"]["agrees"] == "False" and rows["custom-relu"]["first_step_out_of_tol"] == "0"
    assert rows["manual"]["agrees"] == "True"


def test_library_steps_modes_and_manual_first():
    c = compare_modes(FitConfig(N=4, D_in=5, H=3, D_out=2, steps=50, dtype="float32", lr=1e-3),
                      ["static,autograd"], steps=7)
    assert [r.mode for r in c.results] == ["manual", "static", "autograd"]
    assert all(len(r.losses) == 7 and len(r.step_ms) == 7 for r in c.results)
    assert c.tolerance == 1e-2 * 5 and c.agree and c.run_dir is None


def test_show_graph_writes_dot_files(config, tmp_path):
    result = invoke(config, tmp_path, "--modes", "static", "--show-graph")
    assert result.exit_code == 0, result.output
    assert "prune" in result.output and "fused" in result.output
    assert (run_dir(tmp_path) / "static-after.dot").read_text().startswith("digraph")


def test_unknown_mode_and_against_are_bad_input(config, tmp_path):
    assert invoke(config, tmp_path, "--modes", "eager").exit_code == 2
    assert invoke(config, tmp_path, "--against", "tensorflow").exit_code == 2


def test_missing_framework_is_a_one_line_note(config, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax -> ImportError
    result = invoke(config, tmp_path, "--modes", "manual", "--against", "jax")
    assert result.exit_code == 0, result.output
    assert "jax is not installed (pip install jax)" in result.output


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")
def test_real_torch_matches_manual(config, tmp_path):
    result = invoke(config, tmp_path, "--modes", "manual", "--against", "torch")
    assert result.exit_code == 0, result.output
    assert len(read_metrics(run_dir(tmp_path) / "torch" / "metrics.csv")) == 20


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed")
def test_plot_file_and_a_copy_in_the_run(config, tmp_path):
    result = invoke(config, tmp_path, "--modes", "manual", "--plot", str(tmp_path / "curves.png"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "curves.png").stat().st_size > 0 and (run_dir(tmp_path) / "curves.png").exists()
