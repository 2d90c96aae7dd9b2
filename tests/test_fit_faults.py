"""Faults: a killed process, a signal, a full disk or a second process never costs a run.

Also counted in this group (tests/conftest.py): signals, divergence and crash-resume in test_fit.py,
atomic writes and torn metrics lines in test_runs.py, SIGKILL/SIGINT of a real process in test_cli_fit.py.
"""
import csv
import errno
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from autotrain.store import runs
from autotrain.cli import app
from autotrain.training.config import load_config
from autotrain.store.runs import RunDir, create_run, open_run
from autotrain.training.train import fit

pytestmark = pytest.mark.group("faults")
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

# Tiny sizes: a step costs microseconds, so a checkpoint write (every 3 steps, fsynced) is a large share
# of the run's time and random kills often land inside one.
KILL = dict(N=4, D_in=6, H=5, D_out=3, lr=1e-2, steps=3000, mode="manual", dtype="float64", log_every=1,
            checkpoint_every=3, name="kill")
KILLS = 20


def config_file(tmp_path, **kw):
    p = tmp_path / "c.yaml"
    p.write_text("".join(f"{k}: {v!r}\n" if isinstance(v, float) else f"{k}: {v}\n" for k, v in {**KILL, **kw}.items()))
    return p


def straight_table(tmp_path, path):
    cfg = load_config(path)
    run = create_run(cfg, tmp_path / "straight")
    assert fit(cfg, run).status == "completed"
    return table(run)


def table(run):
    return [(s, loss) for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")]


def assert_intact(run: RunDir, cfg):
    """What must hold after any kill: a loadable checkpoint, and a metrics.csv every reader can parse."""
    ckpt = RunDir(run.path).latest_checkpoint(cfg)
    assert ckpt is not None and 0 <= ckpt.step <= cfg.steps
    text = run.metrics_path.read_text()
    assert text.endswith("\n"), "a torn last line"
    rows = list(csv.DictReader(text.splitlines()))
    assert all(None not in r and None not in r.values() for r in rows)  # every row has exactly 3 fields
    steps = [int(r["step"]) for r in rows]
    [float(r["loss"]) + float(r["elapsed_s"]) for r in rows]
    assert steps == sorted(set(steps)), "rows out of order or repeated"
    return ckpt


def default_signals():
    """preexec_fn: children start with default SIGINT/SIGTERM however this test run was started
    (a background job or some CI runners ignore SIGINT, and children would inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def autotrain(*args):
    return subprocess.Popen([sys.executable, "-m", "autotrain", "fit", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals)


def wait_until(condition, proc, what, timeout=60.0, others=()):
    """Poll ``condition`` until true; None if ``proc`` (and every one of ``others``) ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if all(p.poll() is not None for p in (proc, *others)):
            return None
        time.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


def _inode(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


# ------------------------------------------------------------------ SIGKILL at random moments, many times

@pytest.mark.slow
@pytest.mark.parametrize("writers", [1, 3], ids=["one resume", "three concurrent resumes"])
def test_sigkill_at_random_moments_twenty_times_then_resume_is_bit_identical(tmp_path, writers):
    """A real `autotrain fit` process is killed at random points (often inside a checkpoint write) and
    resumed each time -- by ``writers`` processes started together, of which the lock lets one write;
    the others are refused (exit 2, naming the holder) or killed before they get that far.  After every
    kill the run holds a loadable checkpoint and a parsable metrics.csv; the finished loss table equals
    an uninterrupted run's, float64 bit for bit."""
    path = config_file(tmp_path)
    cfg = load_config(path)
    rng = random.Random(1234 + writers)
    expected = straight_table(tmp_path, path)
    finished, kills, in_write, refused = [], 0, 0, 0
    run = None
    for _ in range(4 * KILLS):  # bounded: a run that completes before being killed starts a fresh one
        if kills >= KILLS:
            break
        if run is None:
            procs = [autotrain(path, "--runs-dir", tmp_path / "runs", "--quiet")]
            # a new summary.json: runs finished earlier in this loop have theirs already
            started = lambda n=len(finished): len(list((tmp_path / "runs").glob("*/summary.json"))) > n  # noqa: E731
        else:
            before = _inode(run.summary_path)
            procs = [autotrain("--resume", run.path, "--quiet") for _ in range(writers)]
            started = lambda: _inode(run.summary_path) not in (None, before)  # noqa: E731
        if wait_until(started, procs[0], "the fit to start", others=procs[1:]):
            time.sleep(rng.uniform(0, 0.03) if writers == 1 else rng.uniform(0, 0.3))
            for proc in procs:
                proc.kill()
        results = [(proc.returncode, proc.communicate()[1]) for proc in procs]
        results = [(proc.returncode, err) for proc, (_, err) in zip(procs, results)]
        if run is None:
            run = open_run(max((tmp_path / "runs").iterdir(), key=lambda p: p.stat().st_mtime_ns))
        codes = [rc for rc, _ in results]
        for rc, err in results:
            assert rc in (0, 2, -signal.SIGKILL), err
            if rc == 2:
                assert "is in use by process" in err and len(err.strip().splitlines()) == 1, err
                refused += 1
        # It finished before the kill (exit 0), or the kill came after its last write, while the process
        # was exiting (summary already "completed"): keep it, go on with a fresh run.
        if 0 in codes or run.read_summary()["status"] == "completed":
            assert table(run) == expected
            finished.append(run)
            run = None
            continue
        kills += 1
        in_write += bool(list(run.checkpoints_dir.glob(".*.tmp")))
        assert_intact(run, cfg)
        assert run.read_summary()["status"] == "running"
    assert kills >= KILLS
    if run is not None:
        r = runner.invoke(app, ["fit", "--resume", str(run.path), "--json"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["status"] == "completed"
        assert table(run) == expected
        assert not list(run.path.rglob("*.tmp"))
    print(f"{kills} kills, {in_write} inside a checkpoint write, {refused} resumes refused, "
          f"{len(finished)} runs finished early")


# ------------------------------------------------------------------ a kill inside each kind of write, exactly

# Runs the real CLI in a child process whose os.fsync kills the process, after cutting the temporary
# file in half, when the file being written matches TARGET: a crash in the middle of that write.
KILL_IN_WRITE = """
import os, signal, sys
TARGET = sys.argv.pop(1)
real_fsync = os.fsync
def fsync(fd):
    name = os.readlink(f"/proc/self/fd/{fd}")
    if TARGET in os.path.basename(name) and name.endswith(".tmp"):
        os.ftruncate(fd, os.fstat(fd).st_size // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    return real_fsync(fd)
os.fsync = fsync
from autotrain.cli import app
app(sys.argv[1:], prog_name="autotrain")
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name the file being fsynced")
@pytest.mark.parametrize("target", ["step-000012.npz", "step-000000.npz", "data.npz", "summary.json",
                                    "metrics.csv"])
def test_kill_in_the_middle_of_each_write_loses_nothing(tmp_path, target):
    path = config_file(tmp_path, steps=40, checkpoint_every=6)
    r = subprocess.run([sys.executable, "-c", KILL_IN_WRITE, target, "fit", str(path), "--runs-dir",
                        str(tmp_path / "runs"), "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == -signal.SIGKILL, r.stderr
    run = open_run(next((tmp_path / "runs").iterdir()))
    [tmp] = [p for p in run.path.rglob("*.tmp")]
    assert target in tmp.name  # the half-written file is a temporary one; its target was never created
    assert not (tmp.parent / target).exists()
    resumed = runner.invoke(app, ["fit", "--resume", str(run.path), "--json"])
    assert resumed.exit_code == 0, resumed.output
    assert "removed a stale temporary file" in resumed.stderr
    assert table(run) == straight_table(tmp_path, path)
    assert not list(run.path.rglob("*.tmp"))
    if target == "step-000012.npz":
        assert json.loads(resumed.stdout)["resumed_from"] == 6


# ------------------------------------------------------------------ SIGTERM of a real process

# The real CLI with each training step slowed by 2 ms, so "signal it mid-run" never races the run's end.
THROTTLED = """
import sys, time
import autotrain.modes as modes
build_mode = modes.build_mode  # what train.fit builds its mode with
def slow(*args, **kwargs):
    mode = build_mode(*args, **kwargs)
    step = mode.step
    mode.step = lambda x, y: (time.sleep(0.002), step(x, y))[1]
    return mode
modes.build_mode = slow
from autotrain.cli import app
app(sys.argv[1:], prog_name="autotrain")
"""


def test_sigterm_checkpoints_marks_interrupted_and_resumes_bit_identically(tmp_path):
    path = config_file(tmp_path, checkpoint_every=50)
    proc = subprocess.Popen([sys.executable, "-c", THROTTLED, "fit", str(path), "--runs-dir", str(tmp_path / "runs")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_signals)
    metrics = lambda: next((tmp_path / "runs").glob("*/metrics.csv"), None)  # noqa: E731
    assert wait_until(lambda: metrics() is not None and metrics().read_text().count("\n") > 60, proc, "60 rows")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    run = open_run(metrics().parent)
    summary = run.read_summary()
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGTERM"
    assert run.checkpoints()[-1][0] == summary["step"] and summary["step"] % 50 != 0  # written at the signal
    assert "Traceback" not in err and f"autotrain fit --resume {run.path}" in err
    r = runner.invoke(app, ["fit", "--resume", str(run.path), "--quiet"])
    assert r.exit_code == 0 and run.read_summary()["resumed_from"] == summary["step"]
    assert table(run) == straight_table(tmp_path, path)


# ------------------------------------------------------------------ disk full, read-only

@pytest.mark.parametrize("fault", ["disk full in a checkpoint", "read-only at a checkpoint rename",
                                   "disk full in metrics.csv"])
def test_disk_full_or_read_only_is_exit_4_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch, fault):
    path = config_file(tmp_path, steps=40, checkpoint_every=10)
    cfg = load_config(path)
    if fault == "disk full in a checkpoint":
        real = runs.np.savez

        def savez(f, **arrays):
            if int(arrays.get("step", -1)) == 20:
                f.write(b"PK\x03\x04 half")
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(f, **arrays)
        monkeypatch.setattr(runs.np, "savez", savez)
        needle = "No space left on device"
    elif fault == "read-only at a checkpoint rename":
        real_replace = os.replace

        def replace(src, dst):
            if str(dst).endswith("step-000020.npz"):
                raise OSError(errno.EROFS, "Read-only file system", str(dst))
            return real_replace(src, dst)
        monkeypatch.setattr(runs.os, "replace", replace)
        needle = "Read-only file system: "
    else:
        real_write = runs.MetricsWriter.write

        def write(self, step, loss, elapsed_s, *columns):  # columns: epoch, val_loss, val_accuracy
            if step == 25:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_write(self, step, loss, elapsed_s, *columns)
        monkeypatch.setattr(runs.MetricsWriter, "write", write)
        needle = "No space left on device"
    r = runner.invoke(app, ["fit", str(path), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert r.exit_code == 4, r.output  # OS error
    assert needle in r.stderr and "the newest complete checkpoint is kept" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    monkeypatch.undo()
    run = open_run(next((tmp_path / "runs").iterdir()))
    assert [s for s, _ in run.checkpoints()] == [0, 10, 20] if fault.endswith("metrics.csv") else [0, 10]
    assert not list(run.path.rglob("*.tmp"))
    assert_intact(run, cfg)
    assert runner.invoke(app, ["fit", "--resume", str(run.path), "--quiet"]).exit_code == 0
    assert table(run) == straight_table(tmp_path, path)


# ------------------------------------------------------------------ NaN/inf

def test_inf_weights_are_never_checkpointed(tmp_path):
    """lr so large that an update overflows the weights before the loss itself is non-finite."""
    path = config_file(tmp_path, lr=1e150, steps=50, checkpoint_every=1)
    cfg = load_config(path)
    r = runner.invoke(app, ["fit", str(path), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    assert r.exit_code == 3 and "lower lr" in r.stderr
    run = open_run(next((tmp_path / "runs").iterdir()))
    summary = run.read_summary()
    assert summary["status"] == "diverged" and np.isfinite(summary["final_loss"] or 0.0)
    for step, p in run.checkpoints():
        assert all(np.isfinite(a).all() for a in runs.load_checkpoint(p, cfg).state.values()), step
    assert_intact(run, cfg)


# ------------------------------------------------------------------ two processes, one name

def run_files(run):
    # TensorBoard event files (written when tensorboardX is installed) are named per process by design.
    return sorted(str(p.relative_to(run.path)) for p in run.path.rglob("*") if ".tfevents." not in p.name)


def test_two_fit_processes_started_at_once_get_distinct_complete_runs(tmp_path):
    path = config_file(tmp_path, steps=60, checkpoint_every=20)
    procs = [autotrain(path, "--runs-dir", tmp_path / "runs", "--quiet") for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    a, b = (open_run(d) for d in sorted((tmp_path / "runs").iterdir()))
    assert a.path != b.path
    expected = straight_table(tmp_path, path)
    for run in (a, b):  # each file written by one process only: a full, ordered table, its own summary
        assert table(run) == expected and run.read_summary()["run_dir"] == str(run.path)
        assert run_files(run) == run_files(a)


def test_two_fits_in_the_same_second_in_threads_never_share_a_directory(tmp_path):
    cfg = load_config(config_file(tmp_path, steps=30, checkpoint_every=10))
    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    barrier, made = threading.Barrier(4), []

    def worker():
        barrier.wait()
        run = create_run(cfg, tmp_path / "runs", now=now)
        made.append((run, fit(cfg, run)))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    names = sorted(run.path.name for run, _ in made)
    assert names == ["20240102T030405Z-kill-manual"] + [f"20240102T030405Z-kill-manual-{i}" for i in (2, 3, 4)]
    tables = [table(run) for run, s in made if s.status == "completed"]
    assert len(tables) == 4 and all(t == tables[0] for t in tables)
