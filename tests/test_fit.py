"""train.fit through the library: files written, steps: 0, divergence, signals, resume identical to a straight run."""
import json
import os
import signal

import numpy as np
import pytest

from autotrain.training.config import load_config
from autotrain.store.runs import create_run, load_checkpoint, open_run
from autotrain.training.train import fit, is_logged, run_steps, problem_for


def cfg(**kw):
    base = dict(N=8, D_in=12, H=6, D_out=3, lr=1e-3, dtype="float64", steps=30, mode="manual",
                log_every=1, checkpoint_every=10)
    return load_config(None, [f"{k}={v}" for k, v in {**base, **kw}.items()])


def table(run):
    return [(s, loss) for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")]


def test_fit_writes_a_complete_run(tmp_path):
    c = cfg(log_every=7)
    run = create_run(c, tmp_path)
    s = fit(c, run)
    assert (s.status, s.step, s.steps, s.resumed_from) == ("completed", 30, 30, None)
    assert sorted(os.listdir(run.path)) == ["checkpoints", "config.yaml", "data.npz", "metrics.csv", "summary.json"]
    assert [p for p, _ in run.checkpoints()] == [0, 10, 20, 30]
    assert [s for s, _ in table(run)] == [0, 1, 2, 7, 14, 21, 28, 29]
    losses = run_steps("manual", problem_for(c), c.lr, 30)
    assert [loss for _, loss in table(run)] == [losses[i] for i in (0, 1, 2, 7, 14, 21, 28, 29)]
    assert s.final_loss == losses[-1]
    summary = json.loads(run.summary_path.read_text())
    assert summary["status"] == "completed" and summary["steps_per_s"] > 0 and summary["wall_time_s"] > 0
    with np.load(run.data_path) as z:
        assert np.array_equal(z["x"], problem_for(c).x)
    assert load_checkpoint(run.checkpoint_path(0), c).state["w1"].tolist() == problem_for(c).w1.tolist()


def test_steps_zero_writes_the_initial_checkpoint_only(tmp_path):
    c = cfg(steps=0)
    run = create_run(c, tmp_path)
    s = fit(c, run)
    assert (s.status, s.step, s.final_loss) == ("completed", 0, None)
    assert [p for p, _ in run.checkpoints()] == [0] and table(run) == []


def test_is_logged():
    assert [t for t in range(12) if is_logged(t, 12, 5)] == [0, 1, 2, 5, 10, 11]


def test_divergence_stops_and_keeps_the_last_finite_checkpoint(tmp_path):
    c = cfg(lr=5.0, steps=200, checkpoint_every=1)
    run = create_run(c, tmp_path)
    s = fit(c, run)
    assert s.status == "diverged" and s.diverged_at is not None and s.diverged_at < 200
    assert not np.isfinite(table(run)[-1][1]) and table(run)[-1][0] == s.diverged_at
    assert all(np.isfinite(loss) for _, loss in table(run)[:-1])
    steps = [p for p, _ in run.checkpoints()]
    assert steps[-1] <= s.diverged_at
    last = load_checkpoint(run.checkpoint_path(steps[-1]), c)
    assert all(np.isfinite(a).all() for a in last.state.values())
    assert json.loads(run.summary_path.read_text())["status"] == "diverged"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_checkpoints_and_resume_is_identical(tmp_path, sig):
    c = cfg(steps=40, checkpoint_every=15)
    straight = create_run(c, tmp_path / "a")
    fit(c, straight)

    run = create_run(c, tmp_path / "b")
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)  # whatever this process started with

    def stop_at_17(step, loss):
        if step == 17:
            os.kill(os.getpid(), sig)

    s = fit(c, run, on_step=stop_at_17)
    assert (s.status, s.step, s.signal) == ("interrupted", 18, sig.name)
    assert [p for p, _ in run.checkpoints()] == [0, 15, 18]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before  # handlers restored
    again = fit(c, open_run(run.path))
    assert (again.status, again.resumed_from, again.step) == ("completed", 18, 40)
    assert table(run) == table(straight)


def test_resume_after_a_crash_truncates_metrics_and_matches(tmp_path):
    c = cfg(steps=40, checkpoint_every=15)
    straight = create_run(c, tmp_path / "a")
    fit(c, straight)
    run = create_run(c, tmp_path / "b")
    fit(c, run)
    # Simulate a crash at step 33: later checkpoints gone, a torn metrics line, a stale temp file.
    run.checkpoint_path(40).unlink()
    text = run.metrics_path.read_text()
    run.metrics_path.write_text(text[: text.index("\n34,")] + "\n34,12.3")
    (run.checkpoints_dir / ".step-000045.npz.1.tmp").write_bytes(b"x")
    s = fit(c, open_run(run.path))
    assert s.resumed_from == 30 and "stale temporary" in s.notes[0]
    assert table(run) == table(straight)


def test_fit_in_a_thread_does_not_touch_signal_handlers(tmp_path):
    import threading
    c = cfg(steps=5)
    out = []
    t = threading.Thread(target=lambda: out.append(fit(c, create_run(c, tmp_path))))
    t.start()
    t.join()
    assert out[0].status == "completed"


def _mode_ready(mode):
    import importlib
    try:
        if mode == "static":
            return hasattr(importlib.import_module("autotrain.engine.static"), "Session")
        return mode == "manual" or hasattr(importlib.import_module("autotrain.engine"), "tensor")
    except ImportError:
        return False


@pytest.mark.parametrize("mode", [pytest.param(m, marks=pytest.mark.skipif(not _mode_ready(m), reason="engine"))
                                  for m in ("manual", "autograd", "custom-relu", "static")])
def test_every_mode_resumes_bit_identically(tmp_path, mode):
    c = cfg(mode=mode, steps=25, checkpoint_every=10)
    straight = create_run(c, tmp_path / "a")
    assert fit(c, straight).status == "completed"
    run = create_run(c, tmp_path / "b")
    s = fit(c, run, on_step=lambda step, loss: step == 13 and os.kill(os.getpid(), signal.SIGINT))
    assert (s.status, s.step) == ("interrupted", 14)
    assert fit(c, open_run(run.path)).status == "completed"
    assert table(run) == table(straight)
    assert json.loads(run.summary_path.read_text())["resumed_from"] == 14
