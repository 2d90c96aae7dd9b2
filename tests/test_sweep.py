"""Sweeps: strict sweep files, ordinary run directories per trial, sweep.csv, diverged trials as rows,
the --sweep quick form, resume after SIGKILL (same sweep.csv as an uninterrupted sweep), and Ray."""
import json
import shutil
import sys
from pathlib import Path

import pytest

from autotrain.store import catalog

from autotrain import sweep
from autotrain.training.config import ConfigError
from sweeplib import ROOT, invoke, kill_mid_trial, local_and_ray, read_csv, write_files

BASE = "N: 6\nD_in: 5\nH: 4\nD_out: 2\nlr: 1.0e-3\nsteps: 8\nmode: manual\ndtype: float64\ncheckpoint_every: 4\n" \
       "name: tiny\n"


def files(tmp_path, sweep_text, base=BASE):
    return write_files(tmp_path, sweep_text, base)


# ------------------------------------------------------------------ the sweep file
@pytest.mark.group("bad input")
@pytest.mark.parametrize("text, needles", [
    ("base: base.yaml\ngrid:\n  H: [4, 0]\n", ["s.yaml:3:3: H: bad value 0", "positive integer"]),
    ("base: base.yaml\ngrid:\n  hidden: [4]\n", ["s.yaml:3:3: grid.hidden: unknown config key"]),
    ("base: base.yaml\ngrid:\n  mode: [manual, statc]\n", ["mode: bad value 'statc'; did you mean 'static'?"]),
    ("base: base.yaml\ngrid: {H: [4]}\nmetric: los\n", ["s.yaml:3:1: metric: bad value 'los'; did you mean 'loss'?"]),
    ("base: base.yaml\ngrid: {H: [4]}\ngoal: up\n", ["goal: bad value 'up' (allowed: min, max)"]),
    ("base: base.yaml\ngird: {H: [4]}\n", ["gird: unknown key; did you mean 'grid'?"]),
    ("base: base.yaml\n", ["nothing to sweep"]),
    ("base: missing.yaml\ngrid: {H: [4]}\n", ["missing.yaml: config file not found"]),
    ("base: base.yaml\ngrid: {H: 4}\n", ["grid.H: bad value 4 (allowed: a non-empty list"]),
    ("base: base.yaml\ngrid: {H: [4, 4]}\n", ["repeated value"]),
    ("base: base.yaml\nrandom: {lr: {loguniform: [0, 1]}}\ntrials: 2\n", ["random.lr: bad value", "0 < a <= b"]),
    ("base: base.yaml\nrandom: {H: {int: [2, 8]}}\ntrials: 0\n", ["trials: bad value 0"]),
    ("base: base.yaml\ngrid: {H: [4]}\ntrials: 3\n", ["trials applies to random"]),
    ("base: {N: 0}\nset: {lr: -1}\ngrid: {H: [4]}\n", ["s.yaml:1:8: N: bad value 0", "s.yaml:2:7: lr: bad value -1"]),
    ("grid: {H: [4]}\n!!python/object:os.system x: 1\n", ["YAML"]),
])
def test_bad_sweep_files_exit_2_with_file_line_and_what_is_allowed(tmp_path, text, needles):
    path = files(tmp_path, text)
    result = invoke("sweep", path, "--runs-dir", tmp_path / "runs")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert not (tmp_path / "runs").exists()  # nothing written


def test_grid_and_seeded_random_expand_the_same_way_every_time(tmp_path):
    path = files(tmp_path, "base: base.yaml\ngrid:\n  mode: [manual, static]\nrandom:\n  lr: {loguniform: [1.0e-4, "
                           "1.0e-2]}\n  H: {int: [2, 9]}\n  seed: [0, 1, 2]\ntrials: 3\nseed: 7\n")
    spec = sweep.load_sweep(path)
    trials = sweep.expand(spec)
    assert len(trials) == 6 and [t.values["mode"] for t in trials] == ["manual"] * 3 + ["static"] * 3
    assert all(1e-4 <= t.values["lr"] <= 1e-2 and 2 <= t.values["H"] <= 9 for t in trials)
    assert len({t.values["lr"] for t in trials}) == 6
    assert [t.values for t in sweep.expand(sweep.load_sweep(path))] == [t.values for t in trials]
    assert trials[0].dirname.startswith("trial-000-mode_manual-lr_") and trials[0].config.N == 6
    # the stored spec (base inlined) expands to the same trials
    again = tmp_path / "again.yaml"
    again.write_text(spec.to_yaml())
    assert [t.config for t in sweep.expand(sweep.load_sweep(again))] == [t.config for t in trials]


def test_blas_threads_are_shared_out_between_workers():
    env = sweep.worker_env(3, cores=8, environ={})
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2"
    assert sweep.worker_env(16, cores=4, environ={})["OMP_NUM_THREADS"] == "1"
    assert "OMP_NUM_THREADS" not in sweep.worker_env(2, cores=8, environ={"OMP_NUM_THREADS": "4"})


# ------------------------------------------------------------------ running sweeps
def test_local_sweep_makes_run_dirs_csv_and_a_sorted_table_with_a_diverged_row(tmp_path):
    path = files(tmp_path, "name: lrs\nbase: base.yaml\ngrid:\n  lr: [1.0e-3, 1.0e+6, 1.0e-2]\nmetric: loss\n")
    result = invoke("sweep", path, "--runs-dir", tmp_path / "runs", "--workers", "2", "--no-tensorboard")
    assert result.exit_code == 0, result.output
    [sweep_dir] = (tmp_path / "runs").iterdir()
    assert sweep_dir.name.endswith("-sweep-lrs") and (sweep_dir / "sweep.yaml").is_file()
    rows = read_csv(sweep_dir / "sweep.csv")
    assert [r["lr"] for r in rows] == ["0.001", "1000000.0", "0.01"]
    assert [r["status"] for r in rows] == ["completed", "diverged", "completed"]
    assert rows[1]["value"] == "" and float(rows[2]["value"]) < float(rows[0]["value"])
    for r in rows:  # every trial is an ordinary run: its summary agrees with sweep.csv
        summary = json.loads((sweep_dir / r["run"] / "summary.json").read_text())
        assert summary["status"] == r["status"]
        if r["value"]:
            assert float(r["value"]) == summary["final_loss"]
    table = result.stdout
    assert table.index("trial-002") < table.index("trial-000") < table.index("trial-001")  # sorted, diverged last
    assert "best: trial 2" in table
    # runs lists it grouped; show reads it
    [entry] = catalog.list_runs(tmp_path / "runs")
    assert entry.kind == "sweep" and len(entry.trials) == 3 and entry.status == "2 completed, 1 diverged"
    assert entry.best_val.startswith("loss ")
    shown = invoke("show", sweep_dir)
    assert shown.exit_code == 0 and "sweep.csv" in shown.stdout
    # resuming a finished sweep keeps every trial as it is
    before, stamp = (sweep_dir / "sweep.csv").read_text(), (sweep_dir / rows[0]["run"] / "summary.json").stat()
    assert invoke("sweep", "--resume", sweep_dir, "-q").exit_code == 0
    assert (sweep_dir / "sweep.csv").read_text() == before
    assert (sweep_dir / rows[0]["run"] / "summary.json").stat().st_mtime_ns == stamp.st_mtime_ns
    assert invoke("sweep", "--resume", tmp_path).exit_code == 2  # not a sweep directory


def test_fit_sweep_quick_form(tmp_path):
    (tmp_path / "base.yaml").write_text(BASE)
    result = invoke("fit", tmp_path / "base.yaml", "--sweep", "mode=manual,static", "--set", "steps=5",
                    "--runs-dir", tmp_path / "runs", "--workers", "2", "--no-tensorboard")
    assert result.exit_code == 0, result.output
    [sweep_dir] = (tmp_path / "runs").iterdir()
    rows = read_csv(sweep_dir / "sweep.csv")
    assert [r["mode"] for r in rows] == ["manual", "static"] and {r["status"] for r in rows} == {"completed"}
    assert float(rows[0]["value"]) == pytest.approx(float(rows[1]["value"]), rel=1e-9)  # modes agree
    assert json.loads((sweep_dir / rows[0]["run"] / "summary.json").read_text())["steps"] == 5
    bad = invoke("fit", tmp_path / "base.yaml", "--sweep", "mode", "--runs-dir", tmp_path / "runs")
    assert bad.exit_code == 2 and "expected key=v1,v2" in bad.stderr
    both = invoke("fit", "--resume", sweep_dir, "--sweep", "H=3,4")
    assert both.exit_code == 2 and "cannot be combined with --resume" in both.stderr
    unknown = invoke("fit", tmp_path / "base.yaml", "--sweep", "hidden=3,4", "--runs-dir", tmp_path / "runs")
    assert unknown.exit_code == 2 and "unknown config key" in unknown.stderr
    assert len(list((tmp_path / "runs").iterdir())) == 1  # refused before anything was written


def test_ray_copy_mode_sends_the_trial_back(tmp_path):
    """Without shared storage the Ray task runs fit in a temporary copy and returns the directory."""
    from autotrain.sweep import ray_backend as sweep_ray

    path = files(tmp_path, "base: base.yaml\ngrid:\n  H: [3]\n")
    spec = sweep.load_sweep(path)
    sweep_dir = sweep.create_sweep(spec, tmp_path / "runs")
    [trial] = sweep.expand(spec)
    trial_dir = sweep.prepare_trial(sweep_dir, trial)
    out = sweep_ray.run_trial(str(trial_dir), sweep_ray._pack(trial_dir), False, force_copy=True)  # no TB
    assert out["returncode"] == 0 and not (trial_dir / "summary.json").exists()
    sweep_ray._unpack(out["files"], trial_dir)
    assert json.loads((trial_dir / "summary.json").read_text())["status"] == "completed"


@pytest.mark.slow
def test_sigkilled_sweep_resumes_to_the_same_sweep_csv(tmp_path):
    base = BASE.replace("steps: 8", "steps: 1500").replace("checkpoint_every: 4", "checkpoint_every: 100")
    path = files(tmp_path, "name: k\nbase: base.yaml\nset: {log_every: 100}\ngrid:\n  H: [3, 4, 5]\nworkers: 1\n",
                 base)
    sweep_dir = kill_mid_trial(path, tmp_path / "runs", trial=1)  # the second trial, past its first checkpoint
    summary = json.loads((sweep_dir / "trial-001-H_4" / "summary.json").read_text())
    assert summary["status"] == "running"  # killed mid-trial, not finished
    assert not (sweep_dir / "trial-002-H_5" / "summary.json").exists()  # prepared, never started
    shutil.rmtree(sweep_dir / "trial-002-H_5", ignore_errors=True)  # a missing trial starts on resume too
    result = invoke("sweep", "--resume", sweep_dir, "--no-tensorboard")
    assert result.exit_code == 0, result.output
    straight = sweep.run_sweep(sweep.load_sweep(path), tmp_path / "straight", workers=1, tensorboard=False)
    assert (sweep_dir / "sweep.csv").read_text() == (straight.path / "sweep.csv").read_text()
    resumed = json.loads((sweep_dir / "trial-001-H_4" / "summary.json").read_text())
    assert resumed["resumed_from"] and resumed["resumed_from"] > 0
    ours = catalog.read_metrics(sweep_dir / "trial-001-H_4" / "metrics.csv").columns["loss"]
    theirs = catalog.read_metrics(straight.path / "trial-001-H_4" / "metrics.csv").columns["loss"]
    assert ours == theirs  # bit for bit


@pytest.mark.slow
def test_ray_backend_gives_the_same_results_as_local(tmp_path):
    pytest.importorskip("ray")
    path = files(tmp_path, "base: base.yaml\ngrid:\n  mode: [manual, static]\n  H: [3, 4]\n")
    local, result = local_and_ray(sweep.load_sweep(path), tmp_path, workers=2)
    assert (result.path / "sweep.csv").read_text() == (local.path / "sweep.csv").read_text()
    assert all(r.status == "completed" for r in result.results)


def test_a_data_file_sweep_records_the_shapes_fit_reads_from_the_data(tmp_path):
    iris = ROOT / "configs" / "iris.yaml"
    (tmp_path / "s.yaml").write_text(f"base: {iris}\ngrid:\n  mode: [manual, static]\nmetric: val_accuracy\n")
    spec = sweep.load_sweep(tmp_path / "s.yaml")
    assert spec.goal == "max"
    trials = sweep.expand(spec)
    assert {(t.config.D_in, t.config.D_out) for t in trials} == {(4, 3)}  # 4 features, 3 species
    assert Path(trials[0].config.data).is_absolute() and Path(trials[0].config.data).is_file()
    (tmp_path / "bad.yaml").write_text(f"base: {iris}\nset: {{D_in: 5}}\ngrid:\n  mode: [manual]\n")
    with pytest.raises(ConfigError, match="D_in"):
        sweep.load_sweep(tmp_path / "bad.yaml")


def test_the_shipped_width_sweep_is_valid():
    spec = sweep.load_sweep(ROOT / "configs" / "sweep_width.yaml")
    trials = sweep.expand(spec)
    assert (spec.metric, spec.goal, spec.workers, len(trials)) == ("ms_per_step", "min", 1, 30)
    assert {t.config.mode for t in trials} == {"manual", "autograd", "custom-relu", "static", "compiled"}
    assert {(t.config.N, t.config.D_in, t.config.D_out) for t in trials} == {(64, 1000, 10)}  # the seed network


def test_workers_get_their_share_of_blas_threads_and_a_crashed_trial_is_a_failed_row(tmp_path, monkeypatch):
    """What each trial process sees: the BLAS/OpenMP variables set to cores / workers; a trial whose process
    exits without finishing its run is a `failed` row pointing at its log, and the sweep goes on."""
    for name in sweep.BLAS_ENV:
        monkeypatch.delenv(name, raising=False)
    probe = "import os; print('threads', os.environ['OMP_NUM_THREADS'], os.environ['OPENBLAS_NUM_THREADS'])"
    monkeypatch.setattr(sweep.local, "fit_command", lambda run_dir, tensorboard=None: [sys.executable, "-c", probe])
    monkeypatch.setattr(sweep.local, "default_workers", lambda: 4)
    path = files(tmp_path, "base: base.yaml\ngrid:\n  H: [3, 4]\n")
    result = sweep.run_sweep(sweep.load_sweep(path), tmp_path / "runs", workers=2)
    assert [r.status for r in result.results] == ["failed", "failed"] and result.best is None
    assert "fit exited with code 0; see logs/trial-000-H_3.log" in result.results[0].note
    for r in result.results:
        assert (result.path / "logs" / f"{r.trial.dirname}.log").read_text() == "threads 2 2\n"  # 4 cores / 2
    assert [row["status"] for row in read_csv(result.path / "sweep.csv")] == ["failed", "failed"]
