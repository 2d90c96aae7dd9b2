"""TensorBoard: fit writes event files live (from the metrics stream) when the extra is installed,
export-tensorboard writes them afterwards; both read back with TensorBoard's own reader and match
metrics.csv.  Without the extra nothing changes unless --tensorboard was asked for."""
import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from autotrain.store import catalog
from autotrain.store import tensorboard as tb
from helpers import invoke

SMALL = "N: 6\nD_in: 5\nH: 4\nD_out: 2\nlr: 1.0e-3\nsteps: 25\nmode: manual\ndtype: float64\nlog_every: 3\n" \
        "checkpoint_every: 10\nname: tb\n"


def accumulator(folder: Path):
    """TensorBoard's own reader (its TensorFlow-free path: importing TensorFlow only to read events is slow)."""
    pytest.importorskip("tensorboard")
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    ea = EventAccumulator(str(folder))
    ea.Reload()
    return ea


def assert_matches_metrics(folder: Path):
    ea = accumulator(folder)
    m = catalog.read_metrics(folder / "metrics.csv")
    columns = [c for c in m.columns if c not in ("step", "elapsed_s") and m.series(c)[0]]  # empty ones: no events
    assert set(columns) <= set(ea.Tags()["scalars"]) and "loss" in columns
    for column in columns:  # loss, and epoch/val_loss/val_accuracy where the run has them
        events = ea.Scalars(column)
        steps, values = m.series(column)
        assert [e.step for e in events] == [int(s) for s in steps], column
        np.testing.assert_array_equal([e.value for e in events], np.float32(values))  # events store float32
    steps, _ = m.series("loss")
    rates = ea.Scalars("steps_per_s")
    elapsed = m.columns["elapsed_s"]
    expected = [(s1 - s0) / (e1 - e0) for s0, s1, e0, e1 in zip(steps, steps[1:], elapsed, elapsed[1:]) if e1 > e0]
    np.testing.assert_allclose([e.value for e in rates], expected, rtol=1e-6)
    return ea


def one_run(root: Path) -> Path:
    [run] = [p for p in root.iterdir() if p.is_dir()]
    return run


@pytest.fixture
def config(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text(SMALL)
    return p


def test_fit_writes_events_matching_metrics_and_hparams(tmp_path, config):
    pytest.importorskip("tensorboardX")
    result = invoke("fit", config, "--runs-dir", tmp_path / "runs", "-q")
    assert result.exit_code == 0, result.output
    run = one_run(tmp_path / "runs")
    assert list(run.glob(tb.EVENTS_GLOB))
    ea = assert_matches_metrics(run)
    assert "_hparams_/session_start_info" in ea.summary_metadata and "_hparams_/experiment" in ea.summary_metadata


def test_validation_metrics_of_a_classification_run(tmp_path):
    pytest.importorskip("tensorboardX")
    iris = Path(__file__).resolve().parents[1] / "configs" / "iris.yaml"
    result = invoke("fit", iris, "--set", "epochs=2", "--runs-dir", tmp_path / "runs", "-q", "--tensorboard")
    assert result.exit_code == 0, result.output
    ea = assert_matches_metrics(one_run(tmp_path / "runs"))
    assert {"val_loss", "val_accuracy", "epoch"} <= set(ea.Tags()["scalars"])


def test_resumed_run_purges_the_steps_it_logs_again(tmp_path, config):
    pytest.importorskip("tensorboardX")
    from autotrain.training.config import load_config
    from autotrain.store.runs import create_run, open_run
    from autotrain.training.train import fit

    cfg = load_config(config, check=False)
    run = create_run(cfg, tmp_path / "runs")
    with tb.LiveWriter(run.path, cfg.model_dump(), interval=0.05):
        fit(cfg.model_copy(update={"steps": 25}), run)  # then pretend it was killed after step 10:
    for p in run.checkpoints()[2:]:
        p[1].unlink()
    summary = json.loads(run.summary_path.read_text())
    run.summary_path.write_text(json.dumps({**summary, "status": "interrupted"}))
    assert invoke("fit", "--resume", run.path, "-q").exit_code == 0
    ea = assert_matches_metrics(open_run(run.path).path)  # one value per step, the resumed run's
    assert len(list(run.path.glob(tb.EVENTS_GLOB))) == 2


def test_export_tensorboard_for_runs_comparisons_and_refuses_to_duplicate(tmp_path, config):
    pytest.importorskip("tensorboardX")
    assert invoke("fit", config, "--runs-dir", tmp_path / "runs", "-q", "--no-tensorboard").exit_code == 0
    assert invoke("compare-modes", config, "--runs-dir", tmp_path / "runs", "--modes", "static", "-q").exit_code == 0
    run = next(p for p in (tmp_path / "runs").iterdir() if "compare" not in p.name)
    comp = next(p for p in (tmp_path / "runs").iterdir() if "compare" in p.name)
    assert not list(run.glob(tb.EVENTS_GLOB))
    result = invoke("export-tensorboard", run, comp)
    assert result.exit_code == 0, result.output
    assert_matches_metrics(run)
    for mode in ("manual", "static"):
        assert_matches_metrics(comp / mode)
    again = invoke("export-tensorboard", run)
    assert again.exit_code == 2 and "--overwrite" in again.stderr
    assert invoke("export-tensorboard", run, "--overwrite").exit_code == 0
    assert len(list(run.glob(tb.EVENTS_GLOB))) == 1
    assert invoke("export-tensorboard", tmp_path).exit_code == 2


@pytest.mark.group("bad input")
def test_without_the_extra_nothing_changes_unless_asked(tmp_path, config, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboardX" else real(name, *a))
    quiet = invoke("fit", config, "--runs-dir", tmp_path / "runs", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert not list(one_run(tmp_path / "runs").glob(tb.EVENTS_GLOB))
    asked = invoke("fit", config, "--runs-dir", tmp_path / "other", "--tensorboard")
    assert asked.exit_code == 2 and "pip install 'autotrain[tensorboard]'" in asked.stderr
    assert not (tmp_path / "other").exists()
    assert invoke("export-tensorboard", one_run(tmp_path / "runs")).exit_code == 2


THROTTLED_FIT = """
import sys, time
from autotrain import modes
build_mode = modes.build_mode
def slow(*args, **kwargs):
    mode = build_mode(*args, **kwargs)
    step = mode.step
    mode.step = lambda x, y: (time.sleep(0.004), step(x, y))[1]
    return mode
modes.build_mode = slow
from autotrain.cli import main
sys.argv = ["autotrain"] + sys.argv[1:]
main()
"""


def test_after_sigkill_and_resume_every_row_reaches_tensorboard(tmp_path):
    """A killed writer loses the events it had not flushed; the resumed run's file holds every row again."""
    import os
    import subprocess
    import time

    pytest.importorskip("tensorboardX")
    from autotrain.store.runs import create_run, open_run
    from autotrain.training.train import fit

    p = tmp_path / "c.yaml"
    p.write_text(SMALL.replace("steps: 25", "steps: 400").replace("log_every: 3", "log_every: 1")
                 .replace("checkpoint_every: 10", "checkpoint_every: 50"))
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-c", THROTTLED_FIT, "fit", str(p), "--runs-dir", str(tmp_path / "runs"),
                             "-q", "--tensorboard"], cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline, run = time.monotonic() + 60, None
    while time.monotonic() < deadline and proc.poll() is None:
        found = list((tmp_path / "runs").glob("*/metrics.csv"))
        if found and found[0].read_text().count("\n") > 180:
            run = open_run(found[0].parent)
            break
        time.sleep(0.005)
    assert run is not None, proc.communicate()
    proc.kill()
    proc.wait()
    resumed = invoke("fit", "--resume", run.path, "-q", "--tensorboard")
    assert resumed.exit_code == 0, resumed.output
    ea = assert_matches_metrics(run.path)  # every logged step once, with the resumed run's values
    assert len(ea.Scalars("loss")) == 400
    straight = create_run(run.read_config(), tmp_path / "straight")
    with tb.LiveWriter(straight.path, straight.read_config().model_dump(), interval=0.05):
        fit(straight.read_config(), straight)
    other = accumulator(straight.path)
    assert [(e.step, e.value) for e in ea.Scalars("loss")] == [(e.step, e.value) for e in other.Scalars("loss")]


def test_a_refused_resume_writes_no_events(tmp_path, config):
    pytest.importorskip("tensorboardX")
    assert invoke("fit", config, "--runs-dir", tmp_path / "runs", "-q", "--tensorboard").exit_code == 0
    run = one_run(tmp_path / "runs")
    before = sorted(run.glob(tb.EVENTS_GLOB))
    from autotrain.store.runs import open_run
    with open_run(run).lock():
        r = invoke("fit", "--resume", run, "--set", "steps=40", "-q", "--tensorboard")
    assert r.exit_code != 0 and sorted(run.glob(tb.EVENTS_GLOB)) == before


def test_export_overwrite_keeps_the_old_events_until_the_new_ones_are_written(tmp_path, config, monkeypatch):
    pytest.importorskip("tensorboardX")
    assert invoke("fit", config, "--runs-dir", tmp_path / "runs", "-q", "--tensorboard").exit_code == 0
    run = one_run(tmp_path / "runs")
    before = {f.name: f.read_bytes() for f in run.glob(tb.EVENTS_GLOB)}

    def killed(logdir, *args):  # SIGTERM arrives as KeyboardInterrupt (cli.main's handler) mid-write
        (Path(logdir) / "events.out.tfevents.half").write_bytes(b"\0")
        raise KeyboardInterrupt

    monkeypatch.setattr(tb, "_export_events", killed)
    with pytest.raises(KeyboardInterrupt):
        tb.export_run(run, overwrite=True)
    assert {f.name: f.read_bytes() for f in run.glob(tb.EVENTS_GLOB)} == before
    assert not list(run.glob(".tensorboard-new-*"))
    monkeypatch.undo()
    assert invoke("export-tensorboard", run, "--overwrite").exit_code == 0
    after = list(run.glob(tb.EVENTS_GLOB))
    assert len(after) == 1 and after[0].name not in before
    assert_matches_metrics(run)


@pytest.mark.parametrize("name, content", [("metrics.csv", b"\xff\x00garbage"),
                                           ("config.yaml", b"a: " + b"[" * 5000 + b"]" * 5000)])
def test_export_of_a_damaged_run_is_refused_and_changes_nothing(tmp_path, config, name, content):
    pytest.importorskip("tensorboardX")
    assert invoke("fit", config, "--runs-dir", tmp_path / "runs", "-q", "--tensorboard").exit_code == 0
    run = one_run(tmp_path / "runs")
    before = {f.name: f.read_bytes() for f in run.glob(tb.EVENTS_GLOB)}
    (run / name).write_bytes(content)
    r = invoke("export-tensorboard", run, "--overwrite")
    assert r.exit_code == 2 and "nothing was written" in r.stderr and r.exception is None or \
        isinstance(r.exception, SystemExit), r.output
    assert {f.name: f.read_bytes() for f in run.glob(tb.EVENTS_GLOB)} == before
