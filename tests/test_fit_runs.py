"""Runs: minibatches, epochs and validation in metrics.csv, the best checkpoint, keep_checkpoints,
bit-identical resume with shuffling (SIGINT and SIGKILL), extending a finished run, evaluate and predict."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autotrain.cli import app
from autotrain.training.config import load_config
from autotrain.modes import MODES
from autotrain.store.runs import create_run, open_run
from autotrain.training.train import fit, resolve_data
from helpers import invoke

ROOT = Path(__file__).resolve().parents[1]


def dataset(tmp_path, rows=40, seed=0):
    """A small 3-class CSV with string labels and a learnable rule."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 3)) * [1, 5, 0.2] + [0, 10, 0]
    label = np.array(["low", "mid", "high"])[np.digitize(x[:, 0] + 0.2 * x[:, 1], [1.5, 2.5])]
    lines = ["f1,f2,f3,kind"] + [f"{a!r},{b!r},{c!r},{k}" for (a, b, c), k in zip(x.tolist(), label)]
    p = tmp_path / "small.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def config(tmp_path, **kw):
    base = dict(data=str(dataset(tmp_path)), loss="cross_entropy", N=8, epochs=6, H="[6]", bias="true",
                init="default", optimizer="adam", lr=0.05, val_fraction=0.25, standardize="true",
                dtype="float64", mode="manual", log_every=1, checkpoint_every=7, name="small")
    base.update(kw)
    if "steps" in kw:
        base.pop("epochs")
    cfg = load_config(None, [f"{k}={v}" for k, v in base.items()])
    return resolve_data(cfg)[0]


def rows(run):
    return [(r["step"], r["epoch"], r["loss"], r["val_loss"], r["val_accuracy"]) for r in run.read_metrics().rows()]


def test_minibatch_run_logs_epochs_validation_and_the_best(tmp_path):
    cfg = config(tmp_path)
    run = create_run(cfg, tmp_path / "runs")
    s = fit(cfg, run)
    assert (s.status, s.step, s.steps, s.batches_per_epoch) == ("completed", 24, 24, 4)  # 30 rows / 8 = 4 batches
    table = rows(run)
    assert [r[1] for r in table] == [t // 4 for t in range(24)]
    assert all(r[3] is not None and 0 <= r[4] <= 1 for r in table)
    best = min(table, key=lambda r: r[3])
    assert (s.best_val_loss, s.best_val_accuracy, s.best_step) == (best[3], best[4], best[0] + 1)
    summary = run.read_summary()
    assert summary["best_step"] == s.best_step and summary["best_val_loss"] == s.best_val_loss
    assert run.metrics_path.read_text().splitlines()[0] == "step,epoch,loss,val_loss,val_accuracy,elapsed_s"
    with np.load(run.data_path) as z:
        assert z["classes"].tolist() == ["high", "low", "mid"] and z["x"].shape == (30, 3)
        assert {"mean", "std", "x_val", "y_val", "w1", "b1", "w2", "b2"} <= set(z.files)


def test_keep_checkpoints_keeps_the_newest_k_and_the_best(tmp_path):
    cfg = config(tmp_path, checkpoint_every=2, keep_checkpoints=3, lr=0.5, epochs=10)
    run = create_run(cfg, tmp_path / "runs")
    s = fit(cfg, run)
    steps = [p for p, _ in run.checkpoints()]
    assert steps[-3:] == [36, 38, 40]
    assert set(steps) == {36, 38, 40, s.best_step}
    every = create_run(cfg.model_copy(update={"keep_checkpoints": 0}), tmp_path / "all")
    fit(cfg.model_copy(update={"keep_checkpoints": 0}), every)
    assert len(every.checkpoints()) > 20


@pytest.mark.parametrize("mode", list(MODES))
def test_interrupted_minibatch_run_with_shuffling_resumes_bit_identically(tmp_path, mode):
    cfg = config(tmp_path, mode=mode, checkpoint_every=5)
    straight = create_run(cfg, tmp_path / "a")
    fit(cfg, straight)
    run = create_run(cfg, tmp_path / "b")
    s = fit(cfg, run, on_step=lambda step, loss: step == 9 and os.kill(os.getpid(), signal.SIGINT))
    assert (s.status, s.step) == ("interrupted", 10)  # mid-epoch 2 (batches 8..11)
    again = fit(cfg, open_run(run.path))
    assert (again.status, again.resumed_from) == ("completed", 10)
    assert rows(run) == rows(straight)
    assert again.best_step == run.read_summary()["best_step"] == fit_summary(straight)["best_step"]


def fit_summary(run):
    return json.loads(run.summary_path.read_text())


def test_shuffling_changes_the_order_and_no_shuffle_keeps_file_order(tmp_path):
    a = create_run(config(tmp_path), tmp_path / "a")
    fit(config(tmp_path), a)
    b_cfg = config(tmp_path, shuffle="false")
    b = create_run(b_cfg, tmp_path / "b")
    fit(b_cfg, b)
    assert rows(a)[0][2] != rows(b)[0][2] and rows(a)[0][0] == rows(b)[0][0] == 0


# ------------------------------------------------------------------ SIGKILL of a real minibatch run
THROTTLED = """
import sys, time
import autotrain.modes as modes
build_mode = modes.build_mode
def slow(*args, **kwargs):
    mode = build_mode(*args, **kwargs)
    step = mode.step
    mode.step = lambda x, y: (time.sleep(0.003), step(x, y))[1]
    return mode
modes.build_mode = slow
from autotrain.cli import app
app(sys.argv[1:], prog_name="autotrain")
"""


def test_sigkill_of_a_shuffled_minibatch_run_then_resume_is_bit_identical(tmp_path):
    cfg_text = (f"data: {dataset(tmp_path, rows=80)}\nloss: cross_entropy\nN: 8\nepochs: 40\nH: [5]\nbias: true\n"
                "optimizer: momentum\nlr: 0.05\nval_fraction: 0.25\nmode: manual\ndtype: float64\nlog_every: 1\n"
                "checkpoint_every: 13\nkeep_checkpoints: 2\nname: kill\n")
    p = tmp_path / "c.yaml"
    p.write_text(cfg_text)
    proc = subprocess.Popen([sys.executable, "-c", THROTTLED, "fit", str(p), "--runs-dir", str(tmp_path / "runs"),
                             "--quiet"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    run = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        found = list((tmp_path / "runs").glob("*/metrics.csv"))
        if found and found[0].read_text().count("\n") > 100:  # mid-epoch 10 of 40 (8 batches each)
            run = open_run(found[0].parent)
            break
        time.sleep(0.005)
    assert run is not None, "the run did not get going"
    proc.kill()
    proc.wait()
    done = subprocess.run([sys.executable, "-m", "autotrain", "fit", "--resume", str(run.path), "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert 0 < json.loads(done.stdout)["resumed_from"] < 320
    cfg = run.read_config()
    straight = create_run(cfg, tmp_path / "straight")
    fit(cfg, straight)
    assert rows(run) == rows(straight)
    assert len(run.checkpoints()) <= 3  # keep_checkpoints 2 + the best


# ------------------------------------------------------------------ extend a finished run
def test_resume_with_a_larger_steps_extends_a_finished_run(tmp_path):
    cfg = config(tmp_path, steps=10)
    run = create_run(cfg, tmp_path / "runs")
    fit(cfg, run)
    r = invoke("fit", "--resume", run.path, "--set", "steps=20", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["resumed_from"] == 10 and run.read_config().steps == 20
    longer = config(tmp_path, steps=20)
    straight = create_run(longer, tmp_path / "straight")
    fit(longer, straight)
    assert rows(run) == rows(straight)


@pytest.mark.parametrize("override, needle", [
    ("steps=5", "with steps: 5: the run has steps: 10; a run can be extended (a larger steps) but not shortened"),
    ("lr=0.1", "it was made with another config (lr: run has 0.05, given 0.1)"),
    ("epochs=3", "give steps or epochs, not both"),
])
def test_resume_refuses_other_changes(tmp_path, override, needle):
    cfg = config(tmp_path, steps=10)
    run = create_run(cfg, tmp_path / "runs")
    fit(cfg, run)
    r = invoke("fit", "--resume", run.path, "--set", override)
    assert r.exit_code == 2 and needle in r.stderr, r.stderr


# ------------------------------------------------------------------ evaluate and predict
@pytest.fixture
def trained(tmp_path):
    cfg = config(tmp_path)
    run = create_run(cfg, tmp_path / "runs")
    s = fit(cfg, run)
    return run, s


def test_evaluate_last_best_and_step(trained):
    run, s = trained
    last = json.loads(invoke("evaluate", run.path, "--json").stdout)
    final_row = run.read_metrics().rows()[-1]
    assert last["checkpoint_step"] == 24 and last["rows"] == 10
    assert (last["loss"], last["accuracy"]) == (final_row["val_loss"], final_row["val_accuracy"])
    best = json.loads(invoke("evaluate", run.path, "--checkpoint", "best", "--json").stdout)
    assert (best["checkpoint_step"], best["loss"], best["accuracy"]) == (s.best_step, s.best_val_loss,
                                                                         s.best_val_accuracy)
    r = invoke("evaluate", run.path, "--checkpoint", "best")
    assert r.exit_code == 0 and "accuracy:" in r.stdout and "validation split" in r.stdout
    r = invoke("evaluate", run.path, "--checkpoint", "3")
    assert r.exit_code == 2 and "no checkpoint at step 3 (kept:" in r.stderr


def test_evaluate_on_a_file_applies_the_saved_standardisation(trained, tmp_path):
    run, _ = trained
    r = json.loads(invoke("evaluate", run.path, "--data", tmp_path / "small.csv", "--json").stdout)
    assert r["rows"] == 40 and 0 <= r["accuracy"] <= 1
    other = tmp_path / "other.csv"
    other.write_text("f1,f2,f3,kind\n1,2,3,huge\n")
    r = invoke("evaluate", run.path, "--data", other)
    assert r.exit_code == 2 and "label 'huge' is not one of the run's classes (high, low, mid)" in r.stderr


def test_predict_csv_and_npy_with_class_names(trained, tmp_path):
    run, _ = trained
    out = tmp_path / "pred.csv"
    r = invoke("predict", run.path, "--input", tmp_path / "small.csv", "--output", out)
    assert r.exit_code == 0, r.output
    lines = out.read_text().splitlines()
    assert lines[0] == "kind,p_high,p_low,p_mid" and len(lines) == 41
    assert {line.split(",")[0] for line in lines[1:]} <= {"high", "low", "mid"}
    assert all(abs(sum(map(float, line.split(",")[1:])) - 1) < 1e-12 for line in lines[1:])
    # the same rows as .npy (features only, in training order): the same labels
    raw = np.array([[float(v) for v in line.split(",")[:3]] for line in (tmp_path / "small.csv").read_text()
                    .splitlines()[1:]])
    np.save(tmp_path / "x.npy", raw)
    assert invoke("predict", run.path, "--input", tmp_path / "x.npy", "--output", tmp_path / "p.npy").exit_code == 0
    assert np.load(tmp_path / "p.npy").tolist() == [line.split(",")[0] for line in lines[1:]]
    # they agree with evaluate's accuracy on the same file
    truth = [line.split(",")[3] for line in (tmp_path / "small.csv").read_text().splitlines()[1:]]
    acc = json.loads(invoke("evaluate", run.path, "--data", tmp_path / "small.csv", "--json").stdout)["accuracy"]
    assert np.mean(np.load(tmp_path / "p.npy") == np.array(truth)) == pytest.approx(acc)


def test_predict_bad_inputs_exit_2(trained, tmp_path):
    run, _ = trained
    bad = tmp_path / "bad.csv"
    bad.write_text("f1,f3\n1,2\n")
    r = invoke("predict", run.path, "--input", bad, "--output", tmp_path / "o.csv")
    assert r.exit_code == 2 and "lacks the feature column 'f2'" in r.stderr and not (tmp_path / "o.csv").exists()
    r = invoke("predict", run.path, "--input", tmp_path / "small.csv", "--output", tmp_path / "o.txt")
    assert r.exit_code == 2 and "expected a .csv or .npy output file" in r.stderr


def test_regression_predict_writes_target_columns(tmp_path):
    p = tmp_path / "r.csv"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 2))
    p.write_text("a,b,t\n" + "".join(f"{u!r},{v!r},{u - 2 * v!r}\n" for u, v in x.tolist()))
    cfg = resolve_data(load_config(None, [f"data={p}", "loss=mse", "N=~", "steps=40", "H=[4]", "bias=true",
                                          "optimizer=adam", "lr=0.05", "dtype=float64", "mode=static"]))[0]
    run = create_run(cfg, tmp_path / "runs")
    fit(cfg, run)
    assert invoke("predict", run.path, "--input", p, "--output", tmp_path / "o.csv").exit_code == 0
    lines = (tmp_path / "o.csv").read_text().splitlines()
    assert lines[0] == "t" and len(lines) == 31
    e = json.loads(invoke("evaluate", run.path, "--json").stdout)
    assert e["data"].startswith("training split") and e["accuracy"] is None


def test_a_run_made_before_the_issue_11_keys_still_resumes(tmp_path):
    """Its checkpoints carry the hash of the seed's fields including steps (as main wrote them)."""
    import hashlib
    cfg = load_config(None, ["N=4", "D_in=3", "H=2", "D_out=1", "steps=20", "mode=manual", "dtype=float64",
                             "checkpoint_every=5", "lr=1e-3"])
    run = create_run(cfg, tmp_path / "runs")
    fit(cfg, run)
    old = {k: v for k, v in cfg.model_dump().items() if k in list(cfg.model_dump())[:13]}
    legacy = hashlib.sha256(json.dumps(old, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    for step, path in run.checkpoints():
        if step > 10:
            path.unlink()
    from autotrain.store.runs import load_checkpoint
    ck = load_checkpoint(run.checkpoint_path(10), cfg)
    run.save_checkpoint(10, ck.weights, legacy, ck.elapsed_s, ck.rng_state)
    summary = run.read_summary()
    summary["status"] = "running"
    run.write_summary(summary)
    before = rows(run)
    s = fit(cfg, open_run(run.path))
    assert (s.status, s.resumed_from) == ("completed", 10) and rows(run) == before
    assert not cfg.model_copy(update={"bias": True}).hash_matches(legacy)


def test_fit_prints_validation_columns_and_the_best(tmp_path):
    write_cfg = tmp_path / "c.yaml"
    write_cfg.write_text(f"data: {dataset(tmp_path)}\nloss: cross_entropy\nN: 8\nepochs: 3\nH: [4]\nbias: true\n"
                         "optimizer: adam\nlr: 0.05\nval_fraction: 0.25\nmode: manual\ndtype: float64\nname: shown\n")
    r = invoke("fit", write_cfg, "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 0, r.output
    assert "val_accuracy" in r.stdout and "epoch" in r.stdout and "best: val loss" in r.stdout
    summary = json.loads(invoke("fit", write_cfg, "--runs-dir", tmp_path / "runs2", "--json").stdout)
    assert summary["best_step"] is not None and summary["batches_per_epoch"] == 4 and summary["steps"] == 12


def test_compare_modes_on_a_data_file_config(tmp_path):
    from autotrain.store.comparisons import write_comparison
    from autotrain.training.compare import compare_modes
    cfg = config(tmp_path, steps=10)
    c = compare_modes(cfg)
    write_comparison(c, tmp_path / "cmp")
    assert c.agree and [r.mode for r in c.results] == ["manual", "autograd", "custom-relu", "static", "compiled"]
    assert all(r.loss_dev < 1e-12 for r in c.results)
    with np.load(next((tmp_path / "cmp").iterdir()) / "data.npz") as z:
        assert z["classes"].tolist() == ["high", "low", "mid"]
    tanh = compare_modes(config(tmp_path, steps=5, activation="tanh"))
    assert "custom-relu skipped" in tanh.notes[0] and tanh.agree
