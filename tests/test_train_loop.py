"""training/train.py's collaborators: the clock, the validator, the checkpoint keeper, Summary by keyword,
and the wall time an interrupted run records."""
import dataclasses
import json
import time

import pytest

from autotrain.training.config import load_config
from autotrain.store.runs import create_run
from autotrain.training.train import (BestValidation, CheckpointKeeper, Clock, FitPlan, Summary, Validator, fit,
                                      fit_data_for)


def cfg(**kw):
    base = dict(N=8, D_in=12, H=6, D_out=3, lr=1e-3, dtype="float64", steps=30, mode="manual",
                log_every=1, checkpoint_every=10)
    return load_config(None, [f"{k}={v}" for k, v in {**base, **kw}.items()])


def hard_interrupt_at(step, pause):
    """An on_step that sleeps ``pause`` s per step and raises KeyboardInterrupt (a second signal) at ``step``."""
    def on_step(t, loss):
        if t == step:
            raise KeyboardInterrupt
        time.sleep(pause)
    return on_step


def test_a_hard_interrupt_records_the_time_trained_not_zero(tmp_path):
    c = cfg()
    run = create_run(c, tmp_path)
    s = fit(c, run, on_step=hard_interrupt_at(15, 0.01))
    assert s.status == "interrupted" and s.step == 10  # the newest complete checkpoint
    assert s.wall_time_s >= 0.15  # fifteen steps slept 0.01 s each
    assert json.loads(run.summary_path.read_text())["wall_time_s"] == s.wall_time_s
    assert s.steps_per_s == pytest.approx(10 / s.wall_time_s)


def test_the_wall_time_of_interrupted_segments_adds_up(tmp_path):
    c = cfg()
    run = create_run(c, tmp_path)
    first = fit(c, run, on_step=hard_interrupt_at(15, 0.01))
    second = fit(c, run, on_step=hard_interrupt_at(25, 0.01))  # resumes at 10, sleeps 15 more steps
    assert second.status == "interrupted" and second.step == 20
    assert second.wall_time_s >= 0.1 + 0.15  # the checkpoint at 10 had >= 0.1 s; this segment >= 0.15 s
    done = fit(c, run)
    assert done.status == "completed" and done.wall_time_s >= 0.2  # the checkpoint at 20 had >= 0.2 s
    assert first.wall_time_s < second.wall_time_s


def test_an_out_of_memory_run_records_its_time(tmp_path, monkeypatch):
    c = cfg()
    run = create_run(c, tmp_path)

    def on_step(t, loss):
        time.sleep(0.01)
        if t == 12:
            raise MemoryError("simulated")
    s = fit(c, run, on_step=on_step)
    assert s.status == "failed" and "simulated" in s.error and s.wall_time_s >= 0.12


def test_summary_takes_keywords_only():
    with pytest.raises(TypeError):
        Summary("completed", "runs/x", "manual", 1, 1, 0.5, 1.0, 1.0, "hash")  # noqa: the point of the test
    s = Summary(status="completed", run_dir="runs/x", mode="manual", steps=1, step=1, final_loss=0.5,
                wall_time_s=1.0, steps_per_s=1.0, config_hash="h")
    assert [f.name for f in dataclasses.fields(s)][:3] == ["status", "run_dir", "mode"]


def test_clock_adds_the_checkpoints_time_to_this_segment():
    ticks = iter([10.0, 10.75])   # a fake time source: the segment is exactly 0.75 s
    clock = Clock(now=lambda: next(ticks))
    assert clock.elapsed() == 0.0
    clock.start(2.5)
    assert clock.elapsed() == 2.5 + 0.75


def test_validator_is_none_without_a_validation_split_and_scores_with_one(tmp_path):
    from autotrain.modes import build_mode
    from autotrain.modes.base import spec_from_config

    c = cfg()
    data = fit_data_for(c)
    mode = build_mode(c.mode, spec_from_config(c, data.D_in, data.D_out), data.params, c.device)
    assert Validator.of(mode, data) is None
    split = dataclasses.replace(data, x_val=data.x_train, y_val=data.y_train)
    loss, acc = Validator.of(mode, split)()
    assert loss == mode.evaluate(*mode.prepare(data.x_train, data.y_train))[0] and acc is None


class _Record:
    """Just enough of a RunRecord for the keeper: what it saves and prunes."""

    def __init__(self):
        self.saved, self.pruned = [], []

    def save_checkpoint(self, step, state, config_hash, elapsed_s, rng_state="", optimizer_state=None):
        self.saved.append(step)

    def checkpoints(self):
        return []

    def prune_checkpoints(self, keep, protect=()):
        self.pruned.append(list(protect))
        return []


class _Mode:
    def __init__(self, value=1.0):
        self.value = value

    def state(self):
        import numpy as np
        return {"w1": np.array([self.value])}

    def optimizer_state(self):
        return {}


def test_keeper_writes_a_pending_best_with_the_next_checkpoint_and_protects_it():
    c = cfg(checkpoint_every=10, steps=30)
    plan = FitPlan.of(c, fit_data_for(c))
    record = _Record()
    keeper = CheckpointKeeper(record, c, plan, BestValidation(), checkpoint=0)
    clock = Clock()
    clock.start(0.0)
    keeper.consider(4, (0.5, None), _Mode(), 0.1, lambda: "")
    keeper.consider(6, (0.7, None), _Mode(), 0.1, lambda: "")  # worse: not the best
    assert record.saved == [] and keeper.best == BestValidation(0.5, None, 4)
    assert [s for s in range(1, 31) if keeper.due(s, stopping=False)] == [10, 20, 30]
    assert keeper.due(7, stopping=True)
    keeper.save(10, _Mode(), clock, lambda: "")
    assert record.saved == [4, 10] and record.pruned == [[4]] and keeper.checkpoint == 10
    keeper.consider(12, (0.1, None), _Mode(), 0.2, lambda: "")
    keeper.save(20, _Mode(float("nan")), clock, lambda: "")  # weights that overflowed: never checkpointed
    assert record.saved == [4, 10] and keeper.checkpoint == 10
    keeper.flush_best()
    assert record.saved == [4, 10, 12]
    keeper.flush_best()
    assert record.saved == [4, 10, 12]  # written once
