"""Sweeps on Optuna: samplers over space:, pruning from the logged rows, the study in study.journal,
`sweep best`, one driver per sweep, and sweep files refused before anything runs."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autotrain.store import catalog

from autotrain import sweep
import autotrain.sweep.study  # noqa: F401  (sweep.study)
from sweeplib import ROOT, invoke, kill_mid_trial, local_and_ray, read_csv, write_files

optuna = pytest.importorskip("optuna")
# loss is logged at every step, so the pruner sees each one
BASE = "N: 6\nD_in: 5\nH: 4\nD_out: 2\nlr: 1.0e-3\nsteps: 12\nmode: manual\ndtype: float64\ncheckpoint_every: 4\n" \
       "log_every: 1\nname: tiny\n"
# lr 5e-3 and 1e-2 learn, 1e-7 does not: with one startup trial the median pruner stops the second at the warm-up's end
PRUNING = "name: p\nbase: base.yaml\ngrid:\n  lr: [5.0e-3, 1.0e-7, 1.0e-2]\nmetric: loss\n" \
          "prune: {median: {n_startup_trials: 1, n_warmup_steps: 3}}\nworkers: 1\n"


def files(tmp_path, sweep_text, base=BASE):
    return write_files(tmp_path, sweep_text, base)


@pytest.mark.group("bad input")
@pytest.mark.parametrize("text, needles", [
    ("base: base.yaml\nsearch: tpz\nspace: {lr: {loguniform: [1.0e-4, 1.0e-2]}}\ntrials: 2\n",
     ["s.yaml:2:1: search: unknown sampler 'tpz'; did you mean 'tpe'?"]),
    ("base: base.yaml\nsearch: tpe\nspace:\n  lr: {uniform: [0.1, 0.01]}\ntrials: 2\n",
     ["s.yaml:4:3: space.lr: bad range [0.1, 0.01]: low 0.1 > high 0.01"]),
    ("base: base.yaml\nsearch: tpe\nspace:\n  H: {int: [2, 8], step: 0}\ntrials: 2\n", ["space.H: step: bad value 0"]),
    ("base: base.yaml\nsearch: tpe\nspace:\n  H: {int: [0, 100000000000000000000000]}\ntrials: 2\n",
     ["space.H: bad range", "within +-2**63"]),
    ("base: base.yaml\nsearch: tpe\nspace:\n  lr: {uniform: [-1.0e+308, 1.0e+308]}\ntrials: 2\n", ["too wide"]),
    ("base: base.yaml\nrandom:\n  lr: {uniform: [-1.0e+308, 1.0e+308]}\ntrials: 2\n", ["random.lr: bad value"]),
    ("base: base.yaml\nsearch: tpe\nspace: {lr: {loguniform: [1.0e-4, 1.0e-2]}}\n", ["needs trials: N"]),
    ("base: base.yaml\nsearch: tpe\nspace: {lr: {loguniform: [1.0e-4, 1.0e-2], step: 0.1}}\ntrials: 2\n",
     ["step and a log scale cannot be combined"]),
    ("base: base.yaml\nsearch: tpe\nspace: {mode: {choice: []}}\ntrials: 2\n", ["space.mode: bad value"]),
    ("base: base.yaml\nspace: {lr: {uniform: [0.1, 0.2]}}\ntrials: 2\n", ["add search: tpe"]),
    ("base: base.yaml\nsearch: tpe\ngrid: {H: [3]}\nspace: {lr: {uniform: [0.1, 0.2]}}\ntrials: 2\n",
     ["search: samples the space"]),
    ("base: base.yaml\nsearch: grid\nspace: {lr: {uniform: [0.1, 0.2]}}\n", ["search: grid needs a finite set"]),
    ("base: base.yaml\nsearch: tpe\nspace: {H: {int: [0, 8]}}\ntrials: 2\n", ["H: bad value 0"]),  # an end the config refuses
    ("base: base.yaml\ngrid: {lr: [0.1]}\nprune: medain\n", ["s.yaml:3:1: prune: unknown pruner 'medain'; did you mean"]),
    ("base: base.yaml\ngrid: {lr: [0.1]}\nprune: {median: {n_startup: 1}}\n", ["prune.median.n_startup: unknown median"]),
    ("base: base.yaml\ngrid: {lr: [0.1]}\nmetric: steps_per_s\nprune: median\n",
     ["s.yaml:4:1: prune: prune needs a metric every logged row reports; 'steps_per_s'"]),
    ("base: base.yaml\ngrid: {lr: [0.1]}\nmetric: val_loss\nprune: median\n", ["val_loss", "never reported"]),
    ("base: base.yaml\ngrid:\n" + "".join(f"  {k}: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" for k in
                                          ("N", "H", "D_in", "D_out", "steps", "seed", "log_every",
                                           "checkpoint_every", "keep_checkpoints", "epochs")),
     ["10000000000 trials; at most 10000"]),
])
def test_bad_search_and_prune_specs_exit_2_before_anything_runs(tmp_path, text, needles):
    path = files(tmp_path, text)
    start = time.monotonic()
    result = invoke("sweep", path, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()
    assert time.monotonic() - start < 30  # counted, never enumerated (10^10 trials would never finish)


def test_without_optuna_a_pruning_sweep_names_the_install_line_and_writes_nothing(tmp_path, monkeypatch):
    from autotrain.sweep import study

    monkeypatch.setattr(study, "available", lambda: False)
    result = invoke("sweep", files(tmp_path, PRUNING), "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2 and "pip install 'autotrain[sweep]'" in result.stderr
    assert not (tmp_path / "runs").exists()


def test_pruning_sweep_marks_pruned_trials_everywhere_and_the_study_holds_every_report(tmp_path):
    result = invoke("sweep", files(tmp_path, PRUNING), "--runs-dir", tmp_path / "runs", "--no-tensorboard")
    assert result.exit_code == 0, result.output
    [sweep_dir] = (tmp_path / "runs").iterdir()
    rows = read_csv(sweep_dir / "sweep.csv")
    assert [r["status"] for r in rows] == ["completed", "pruned", "completed"]
    pruned = json.loads((sweep_dir / rows[1]["run"] / "summary.json").read_text())
    assert pruned["status"] == "pruned" and pruned["step"] == 4 and pruned["checkpoint"] == 4  # stopped at once
    assert float(rows[1]["value"]) == catalog.read_metrics(sweep_dir / rows[1]["run"] / "metrics.csv").last("loss")
    # the table: completed by the metric, then pruned
    assert result.stdout.index("trial-002") < result.stdout.index("trial-000") < result.stdout.index("trial-001")
    [entry] = catalog.list_runs(tmp_path / "runs")
    assert entry.status == "2 completed, 1 pruned"
    assert "pruned" in invoke("show", sweep_dir / rows[1]["run"]).stdout
    # the study: every trial with its params, every logged value, its state
    study = optuna.load_study(study_name="sweep", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(sweep_dir / "study.journal"))))
    assert [t.state.name for t in study.trials] == ["COMPLETE", "PRUNED", "COMPLETE"]
    assert [t.params["lr"] for t in study.trials] == [5e-3, 1e-7, 1e-2]
    for t, row in zip(study.trials, rows):
        losses = catalog.read_metrics(sweep_dir / row["run"] / "metrics.csv").columns["loss"]
        assert [t.intermediate_values[s] for s in sorted(t.intermediate_values)] == losses
    assert study.trials[0].value == float(rows[0]["value"]) and study.best_trial.number == 2
    # a pruned trial continues as an ordinary run
    cont = invoke("fit", "--resume", sweep_dir / rows[1]["run"], "--no-tensorboard", "-q")
    assert cont.exit_code == 0, cont.output
    assert json.loads((sweep_dir / rows[1]["run"] / "summary.json").read_text())["status"] == "completed"


def test_tpe_search_runs_its_budget_within_the_space_and_sweep_best_trains_to_the_reported_value(tmp_path):
    text = ("name: t\nbase: base.yaml\nsearch: tpe\nspace:\n  lr: {loguniform: [1.0e-4, 1.0e-2]}\n"
            "  H: {int: [2, 8], step: 2}\n  mode: [manual, static]\ntrials: 5\nseed: 3\nmetric: loss\n")
    result = invoke("sweep", files(tmp_path, text), "--runs-dir", tmp_path / "runs", "--workers", "2",
                    "--no-tensorboard", "-q")
    assert result.exit_code == 0, result.output
    [sweep_dir] = (tmp_path / "runs").iterdir()
    rows = read_csv(sweep_dir / "sweep.csv")
    assert len(rows) == 5 and {r["status"] for r in rows} == {"completed"}
    assert all(1e-4 <= float(r["lr"]) <= 1e-2 and r["H"] in ("2", "4", "6", "8") for r in rows)
    best = min(rows, key=lambda r: float(r["value"]))
    out = invoke("sweep", "best", sweep_dir, "--output", tmp_path / "best.yaml")
    assert out.exit_code == 0, out.output
    fit = invoke("fit", tmp_path / "best.yaml", "--runs-dir", tmp_path / "again", "--no-tensorboard", "--json")
    assert fit.exit_code == 0, fit.output
    assert json.loads(fit.stdout)["final_loss"] == float(best["value"])  # the same number, bit for bit
    assert invoke("sweep", "best", tmp_path).exit_code == 2


def test_a_second_driver_on_the_same_sweep_is_refused(tmp_path):
    path = files(tmp_path, "base: base.yaml\ngrid:\n  H: [3]\n")
    sweep_dir = sweep.create_sweep(sweep.load_sweep(path), tmp_path / "runs")
    with sweep.sweep_lock(sweep_dir):
        result = invoke("sweep", "--resume", sweep_dir, "--no-tensorboard")
    assert result.exit_code == 2 and "being run by another sweep" in result.stderr
    assert not (sweep_dir / "sweep.csv").exists()  # nothing written by the refused one
    assert invoke("sweep", "--resume", sweep_dir, "--no-tensorboard", "-q").exit_code == 0


def test_fit_sweep_reads_a_set_data_path_from_where_fit_would(tmp_path, monkeypatch):
    (tmp_path / "cfg").mkdir()
    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "datasets" / "iris.csv", tmp_path / "data" / "iris.csv")
    (tmp_path / "cfg" / "iris.yaml").write_text("data: nowhere.csv\nloss: cross_entropy\nsteps: 2\n")
    monkeypatch.chdir(tmp_path)
    spec = sweep.quick_spec(Path("cfg/iris.yaml"), ["H=3,4"], ["data=data/iris.csv"])
    assert spec.base["data"] == str((tmp_path / "data" / "iris.csv").resolve())


def test_a_resumed_trials_wall_time_counts_every_segment(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    (run / "summary.json").write_text(json.dumps({"status": "completed", "wall_time_s": 0.5, "resumed_from": 100}))
    (run / "metrics.csv").write_text("step,loss,elapsed_s\n0,1.0,0.1\n199,0.5,7.25\n")
    assert sweep.metric_value(run, "wall_time_s") == 7.25


@pytest.mark.slow
def test_sigkilled_pruning_sweep_resumes_to_the_same_trials(tmp_path):
    base = BASE.replace("steps: 12", "steps: 1500").replace("checkpoint_every: 4", "checkpoint_every: 100") \
               .replace("log_every: 1", "log_every: 50")
    text = ("name: k\nbase: base.yaml\nsearch: tpe\nspace:\n  lr: {loguniform: [1.0e-6, 1.0e-1]}\ntrials: 6\n"
            "seed: 1\nmetric: loss\nprune: {median: {n_startup_trials: 1}}\nworkers: 1\n")
    path = files(tmp_path, text, base)
    sweep_dir = kill_mid_trial(path, tmp_path / "runs", trial=2)  # the third trial, past its first checkpoint
    result = invoke("sweep", "--resume", sweep_dir, "--no-tensorboard", "-q")
    assert result.exit_code == 0, result.output
    straight = sweep.run_sweep(sweep.load_sweep(path), tmp_path / "straight", workers=1, tensorboard=False)
    assert (sweep_dir / "sweep.csv").read_text() == (straight.path / "sweep.csv").read_text()
    assert "pruned" in (sweep_dir / "sweep.csv").read_text()


@pytest.mark.slow
def test_local_ray_gives_the_same_table_as_local_processes_with_pruning(tmp_path):
    pytest.importorskip("ray")
    local, result = local_and_ray(sweep.load_sweep(files(tmp_path, PRUNING)), tmp_path, workers=1)
    assert (result.path / "sweep.csv").read_text() == (local.path / "sweep.csv").read_text()
    assert [r.status for r in result.results] == ["completed", "pruned", "completed"]


def test_plot_of_a_sweep_adds_optunas_charts(tmp_path):
    pytest.importorskip("matplotlib")
    path = files(tmp_path, "base: base.yaml\ngrid:\n  lr: [1.0e-3, 5.0e-3, 1.0e-2]\n")
    result = sweep.run_sweep(sweep.load_sweep(path), tmp_path / "runs", workers=1, tensorboard=False)
    out = invoke("plot", result.path, "--output", tmp_path / "s.png")
    assert out.exit_code == 0, out.output
    for name in ("s.png", "s-history.png", "s-importances.png", "s-parallel.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_shipped_lr_sweep_is_valid():
    spec = sweep.load_sweep(ROOT / "configs" / "sweep_lr.yaml")
    assert (spec.search, spec.trials, spec.workers, spec.metric, spec.goal) == ("tpe", 32, 2, "val_accuracy", "max")
    assert set(spec.space) == {"lr", "H", "optimizer"} and spec.pruner[0] == "median"
    assert spec.base["data"].endswith("digits.csv") and Path(spec.base["data"]).is_file()


@pytest.mark.slow
def test_ctrl_c_stops_running_ray_trials_at_a_checkpoint(tmp_path):
    pytest.importorskip("ray")
    base = BASE.replace("steps: 12", "steps: 2000000").replace("checkpoint_every: 4", "checkpoint_every: 200") \
               .replace("log_every: 1", "log_every: 1000")
    path = files(tmp_path, "name: r\nbase: base.yaml\ngrid:\n  H: [3, 4]\n", base)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "autotrain", "sweep", str(path), "--runs-dir",
                             str(tmp_path / "runs"), "-q", "--no-tensorboard", "--backend", "ray", "--workers", "1"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        ckpts = list((tmp_path / "runs").glob("*/trial-000-*/checkpoints/step-*.npz"))
        if any(not p.name.endswith("000000.npz") for p in ckpts):
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)  # the trial stops at its next step, not after 2,000,000
    assert proc.returncode == 130, err
    [sweep_dir] = (tmp_path / "runs").iterdir()
    summary = json.loads(next(sweep_dir.glob("trial-000-*/summary.json")).read_text())
    assert summary["status"] == "interrupted" and 0 < summary["step"] < 2000000
    assert not list(sweep_dir.glob("trial-001-*/summary.json"))  # never started


@pytest.mark.parametrize("prune", ["halving", "hyperband", "{halving: {min_resource: 2, reduction_factor: 2}}"])
def test_every_pruner_runs_and_the_study_agrees_with_sweep_csv(tmp_path, prune):
    text = PRUNING.replace("prune: {median: {n_startup_trials: 1, n_warmup_steps: 3}}", f"prune: {prune}")
    result = sweep.run_sweep(sweep.load_sweep(files(tmp_path, text)), tmp_path / "runs", workers=1,
                             tensorboard=False)
    study = sweep.study.load_study(result.path)
    states = {"completed": "COMPLETE", "pruned": "PRUNED"}
    assert [states[r.status] for r in result.results] == [t.state.name for t in study.trials]


def test_search_grid_visits_every_point_once(tmp_path):
    text = "base: base.yaml\nsearch: grid\nspace:\n  H: {int: [2, 6], step: 2}\n  mode: [manual, static]\n"
    result = sweep.run_sweep(sweep.load_sweep(files(tmp_path, text)), tmp_path / "runs", workers=1,
                             tensorboard=False)
    assert sorted((r.trial.values["H"], r.trial.values["mode"]) for r in result.results) == \
        [(h, m) for h in (2, 4, 6) for m in ("manual", "static")]
