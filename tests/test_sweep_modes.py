"""A sweep whose grid varies ``mode`` over all five modes: each trial is exactly a plain ``fit`` of its mode
(loss curve, final loss, saved weights, bit for bit), and the modes agree with each other (``compiled``
with ``autograd`` bit for bit: it is that mode's step compiled)."""
import csv
import json

import numpy as np
from typer.testing import CliRunner

from autotrain import sweep
from autotrain.cli import app
from autotrain.training.config import MODE_NAMES

MODES = ["manual", "autograd", "custom-relu", "static", "compiled"]
BASE = "N: 6\nD_in: 5\nH: 4\nD_out: 2\nlr: 1.0e-3\nsteps: 8\nmode: manual\ndtype: float32\ncheckpoint_every: 4\n" \
       "name: tiny\n"


def _losses(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [row["loss"] for row in csv.DictReader(f)]   # the text fit wrote: every digit compared


def _weights(run_dir):
    with np.load(sorted((run_dir / "checkpoints").glob("step-*.npz"))[-1]) as saved:
        return {k: saved[k] for k in saved.files if k.startswith("state.")}


def _plain_fit(tmp_path, mode):
    runs = tmp_path / f"plain-{mode}"
    result = CliRunner().invoke(app, ["fit", str(tmp_path / "base.yaml"), "--set", f"mode={mode}",
                                      "--runs-dir", str(runs), "--no-tensorboard", "-q"])
    assert result.exit_code == 0, result.output
    [run_dir] = runs.iterdir()
    return run_dir


def test_the_grid_covers_every_mode():
    assert sorted(MODES) == sorted(MODE_NAMES)


def test_a_sweep_over_every_mode_gives_each_trial_its_plain_fit(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    (tmp_path / "s.yaml").write_text(f"name: modes\nbase: base.yaml\ngrid:\n  mode: [{', '.join(MODES)}]\n"
                                     "metric: loss\n")
    result = sweep.run_sweep(sweep.load_sweep(tmp_path / "s.yaml"), tmp_path / "runs", workers=2, tensorboard=False)
    assert [r.trial.values["mode"] for r in result.results] == MODES
    assert [r.status for r in result.results] == ["completed"] * 5
    curves, weights = {}, {}
    for r in result.results:
        mode, trial_dir = r.trial.values["mode"], result.path / r.trial.dirname
        plain = _plain_fit(tmp_path, mode)
        summary, want = (json.loads((d / "summary.json").read_text()) for d in (trial_dir, plain))
        assert summary["mode"] == mode and summary["final_loss"] == want["final_loss"] == r.metric
        curves[mode] = _losses(trial_dir)
        assert curves[mode] == _losses(plain) and len(curves[mode]) == 8
        weights[mode] = _weights(trial_dir)
        assert len(weights[mode]) >= 2, weights[mode]   # w1 and w2 at least
        for name, array in _weights(plain).items():
            np.testing.assert_array_equal(weights[mode][name], array, err_msg=f"{mode} {name}")
    assert curves["compiled"] == curves["autograd"]
    for name in weights["autograd"]:
        np.testing.assert_array_equal(weights["compiled"][name], weights["autograd"][name])
    for mode in MODES:   # one network, five ways: float32 rounding apart at most
        np.testing.assert_allclose(np.array(curves[mode], float), np.array(curves["manual"], float), rtol=1e-5)
