"""The library calls behind each command, used without the CLI: what they refuse (UsageError), what they
return, and the messages they read from the disk (store.fitting, sweep.launch, store.catalog.runs_in,
training.checks.gradcheck, store.comparisons.compare_and_write, store.evaluate.evaluation_threads)."""
import json
import math
from pathlib import Path

import pytest

from autotrain.cli.exits import ExitCode, for_status
from autotrain.store import catalog
from autotrain.store.comparisons import compare_and_write
from autotrain.store.evaluate import evaluation_threads
from autotrain.store.fitting import FitJob, lower_lr, outcome_message
from autotrain.sweep import launch
from autotrain.training import checks, compare
from autotrain.training.train import Summary
from autotrain.training.usage import UsageError
from helpers import write

ROOT = Path(__file__).resolve().parent.parent
SMALL = "N: 8\nD_in: 12\nH: 6\nD_out: 3\nlr: 1.0e-3\nsteps: 20\nmode: manual\ndtype: float64\ncheckpoint_every: 10\n"


def test_a_fit_job_trains_and_its_messages_read_the_disk(tmp_path):
    job = FitJob(write(tmp_path, SMALL), runs_dir=tmp_path / "runs", tensorboard=False)
    assert job.interrupted_message() == "interrupted before anything was written"
    assert job.kept_message() == "nothing to resume (no checkpoint was written)"
    outcome = job.run_fit()
    assert outcome.status == "completed" and outcome.message is None and len(outcome.rows) == outcome.summary.steps
    assert job.run is not None and job.run.path.parent == tmp_path / "runs" and job.run.path.name.endswith("-c-manual")
    assert f"checkpoint (step 20) is kept. Continue with: autotrain fit --resume {job.run.path}" \
        in job.interrupted_message()
    written = json.loads(job.run.summary_path.read_text())
    assert outcome.to_dict() == {k: v for k, v in written.items() if k != "versions"}  # the store adds versions
    again = FitJob(resume=job.run.path, tensorboard=False).run_fit()  # a completed run is left as it is
    assert again.status == "completed" and "nothing was changed" in again.summary.notes[0]


def test_a_diverged_fit_suggests_a_tenth_of_its_lr(tmp_path):
    outcome = FitJob(write(tmp_path, SMALL), ["lr=5.0"], runs_dir=tmp_path / "runs", tensorboard=False).run_fit()
    assert outcome.status == "diverged" and "try --set lr=0.5" in outcome.message
    assert for_status(outcome.status) == ExitCode.DIVERGED and lower_lr(1e-6) == "1e-07"


def test_a_fit_job_refuses_what_it_cannot_do(tmp_path):
    with pytest.raises(UsageError, match="missing CONFIG"):
        FitJob(runs_dir=tmp_path).run_fit()
    with pytest.raises(UsageError, match="--print-config needs a CONFIG"):
        FitJob().resolved()
    with pytest.raises(UsageError, match="--threads"):
        FitJob(write(tmp_path, SMALL), threads="0").run_fit()
    assert not any(tmp_path.glob("*-c-*"))  # nothing written
    resolved = FitJob(write(tmp_path, SMALL), ["lr=0.5"]).resolved()
    assert resolved.sources["lr"] == "--set" and resolved.config.lr == 0.5


def test_outcome_messages_and_exit_codes_of_every_status():
    base = dict(run_dir="runs/x", mode="manual", steps=10, final_loss=None, wall_time_s=1.0, steps_per_s=1.0,
                config_hash="h")
    failed = Summary(status="failed", step=5, checkpoint=5, error="out of memory (x)", **base)
    assert outcome_message(failed, 0.1).startswith("out of memory (x); the newest complete checkpoint (step 5)")
    early = Summary(status="interrupted", step=0, checkpoint=None, signal="SIGTERM", **base)
    assert "before the first checkpoint" in outcome_message(early, 0.1)
    assert outcome_message(Summary(status="pruned", step=3, **base), 0.1) is None
    assert [for_status(s) for s in ("completed", "pruned", "interrupted", "failed")] == [
        ExitCode.OK, ExitCode.OK, ExitCode.INTERRUPTED, ExitCode.BAD_INPUT]


def test_sweep_launch_refuses_before_anything_is_written(tmp_path):
    with pytest.raises(UsageError, match="not both"):
        launch.sweep()
    with pytest.raises(UsageError, match="--sweep needs a CONFIG"):
        launch.quick_sweep(None, ["H=4,8"])
    spec = launch.quick_spec(write(tmp_path, SMALL), ["H=4,8"])
    with pytest.raises(UsageError, match="--backend 'slurm'"):
        launch.check_backend(spec, "slurm", None, None)
    with pytest.raises(UsageError, match="--address needs --backend ray"):
        launch.check_backend(spec, "local", "ray://head:10001", None)
    with pytest.raises(UsageError, match="SWEEP_DIR"):
        launch.write_best(None)
    assert list(tmp_path.iterdir()) == [tmp_path / "c.yaml"]


def test_a_quick_sweep_and_its_json(tmp_path):
    result = launch.quick_sweep(write(tmp_path, SMALL), ["H=4,8"], runs_dir=tmp_path / "runs", workers=1,
                                tensorboard=False)
    data = launch.result_dict(result)
    assert data["metric"] == "loss" and [t["values"] for t in data["trials"]] == [{"H": 4}, {"H": 8}]
    assert all(t["status"] == "completed" for t in data["trials"]) and json.dumps(data)
    best = launch.write_best(result.path, tmp_path / "best.yaml")
    assert best.output.read_text() == best.text and "trial" in best.note


def test_runs_in_lists_a_folder_and_refuses_unknown_filters(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert catalog.runs_in().to_dict() == {"runs_dir": "runs", "runs": []}  # no fit made runs/ yet
    with pytest.raises(UsageError, match="choose from completed"):
        catalog.runs_in(tmp_path, status="done")
    with pytest.raises(UsageError, match="--sort"):
        catalog.runs_in(tmp_path, sort="speed")
    with pytest.raises(UsageError, match="no such directory"):
        catalog.runs_in(tmp_path / "missing")


def test_gradcheck_refuses_what_it_cannot_check(tmp_path):
    with pytest.raises(UsageError, match="--dtype 'float16'"):
        checks.gradcheck(dtype="float16")
    with pytest.raises(UsageError, match="--eps"):
        checks.gradcheck(eps=0.0)
    with pytest.raises(UsageError, match="matches no check"):
        checks.gradcheck(only="no-such-check")
    with pytest.raises(UsageError, match="describes another"):
        checks.gradcheck(write(tmp_path, SMALL + "activation: tanh\n"))
    assert checks.gradcheck(only="loss:manual").passed


def test_compare_and_write_refuses_unknown_names_and_writes_its_directory(tmp_path):
    config = write(tmp_path, SMALL)
    with pytest.raises(UsageError, match="--against 'tf'"):
        compare_and_write(config, against=["tf"], runs_dir=tmp_path / "runs")
    with pytest.raises(UsageError, match="unknown mode 'fast'"):
        compare_and_write(config, modes=["fast"], runs_dir=tmp_path / "runs")
    assert not (tmp_path / "runs").exists()
    result = compare_and_write(config, modes=["manual,autograd"], steps=3, runs_dir=tmp_path / "runs")
    assert result.agree and (result.run_dir / "comparison.csv").is_file()
    data = compare.to_dict(result)
    assert [r["mode"] for r in data["rows"]] == ["manual", "autograd"] and data["run_dir"] == str(result.run_dir)
    result.results[0].losses[-1] = math.nan
    assert json.loads(json.dumps(compare.to_dict(result), allow_nan=False))["rows"][0]["final_loss"] == "nan"


def test_evaluation_threads(tmp_path):
    assert evaluation_threads(tmp_path, 3) == 3 and evaluation_threads(tmp_path, "auto") == 1  # not a run: 1
    with pytest.raises(UsageError, match="--threads"):
        evaluation_threads(tmp_path, "many")
