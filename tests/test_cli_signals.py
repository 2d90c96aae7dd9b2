"""Every interrupt path ends with exit 130 and a message that is true: which checkpoint is kept, or that
there is none, or that nothing was written.

Each case runs the real CLI (``autotrain.cli.main``, as the console script does) in a child process that
signals itself at one precise moment -- during start-up, twice in a row, inside the stop checkpoint,
during the final summary -- so no test races a timer.  Children start with default dispositions
whatever this test run inherited (preexec_fn).
"""
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain.training.config import load_config
from autotrain.store.runs import create_run, open_run
from autotrain.training.train import fit

pytestmark = pytest.mark.group("signals")
ROOT = Path(__file__).resolve().parents[1]
CONFIG = "N: 4\nD_in: 5\nH: 3\nD_out: 2\nlr: 0.01\nsteps: 40\nmode: manual\ndtype: float64\ncheckpoint_every: 7\n" \
         "name: sig\n"

PRELUDE = """
import os, signal, sys
import autotrain.store.runs as runs, autotrain.modes as modes, autotrain.training.config as config, autotrain.training.compare as compare
def kill(n=1, sig=signal.SIGTERM):
    for _ in range(n):
        os.kill(os.getpid(), sig)
"""


def _default_signals():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def cli(patch, *args, cwd):
    code = PRELUDE + patch + "\nfrom autotrain.cli import main\nsys.argv = ['autotrain', *sys.argv[1:]]\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=120, preexec_fn=_default_signals, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def setup(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(CONFIG)
    cfg = load_config(path, check=False)
    straight = create_run(cfg, tmp_path / "straight")
    fit(cfg, straight)
    return path, tmp_path / "runs", [(s, x) for s, x, _ in straight.read_metrics().tuples("step", "loss", "elapsed_s")]


def the_run(root):
    [d] = list(Path(root).iterdir())
    return open_run(d)


def finishes_like_a_straight_run(run, expected):
    from typer.testing import CliRunner

    from autotrain.cli import app

    r = CliRunner().invoke(app, ["fit", "--resume", str(run.path), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "completed"
    assert [(s, x) for s, x, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")] == expected
    assert not list(run.path.rglob("*.tmp"))


# Patches: when to signal.
DURING_STARTUP = """
real = runs.RunDir.save_fit_data
def save_fit_data(self, data):
    kill()
    return real(self, data)
runs.RunDir.save_fit_data = save_fit_data
"""
WHILE_READING_CONFIG = """
real = config.resolve
def resolve(*a, **k):
    kill()
    return real(*a, **k)
config.resolve = resolve
"""
TWICE_AT_STEP_20 = """
real = modes.build_mode
def build_mode(*a, **k):
    m = real(*a, **k)
    step, count = m.step, [0]
    def twice(x, y):
        count[0] += 1
        if count[0] == 21:
            kill(2)
        return step(x, y)
    m.step = twice
    return m
modes.build_mode = build_mode
"""
SECOND_INSIDE_THE_STOP_CHECKPOINT = """
real_mode = modes.build_mode
def build_mode(*a, **k):
    m = real_mode(*a, **k)
    step, count = m.step, [0]
    def once(x, y):
        count[0] += 1
        if count[0] == 18:
            kill(1)
        return step(x, y)
    m.step = once
    return m
modes.build_mode = build_mode
real_save = runs.RunDir.save_checkpoint
def save_checkpoint(self, step, *a, **k):
    if step % 7:
        kill(1)  # the second signal, inside the checkpoint the first one asked for
    return real_save(self, step, *a, **k)
runs.RunDir.save_checkpoint = save_checkpoint
"""
TWICE_BEFORE_THE_FIRST_CHECKPOINT = """
real_save = runs.RunDir.save_checkpoint
def save_checkpoint(self, step, *a, **k):
    if step == 0:
        kill(2)
    return real_save(self, step, *a, **k)
runs.RunDir.save_checkpoint = save_checkpoint
"""
TWICE_DURING_THE_FINAL_SUMMARY = """
real = runs.RunDir.write_summary
def write_summary(self, summary):
    if summary.get("status") == "completed":
        kill(2)
    return real(self, summary)
runs.RunDir.write_summary = write_summary
"""


def test_sigterm_during_start_up_checkpoints_step_0_and_says_so(setup):
    path, root, expected = setup
    r = cli(DURING_STARTUP, "fit", path, "--runs-dir", root, cwd=root.parent)
    assert r.returncode == 130, r.stderr
    run = the_run(root)
    assert f"interrupted at step 0 (SIGTERM); the checkpoint at step 0 is kept. Continue with: autotrain fit " \
           f"--resume {run.path}" in r.stderr
    s = run.read_summary()
    assert (s["status"], s["step"], s["signal"]) == ("interrupted", 0, "SIGTERM")
    assert [k for k, _ in run.checkpoints()] == [0]
    finishes_like_a_straight_run(run, expected)


def test_sigterm_while_reading_the_config_writes_nothing(setup):
    path, root, _ = setup
    r = cli(WHILE_READING_CONFIG, "fit", path, "--runs-dir", root, cwd=root.parent)
    assert r.returncode == 130 and "interrupted before anything was written" in r.stderr, r.stderr
    assert not root.exists()


def test_a_second_sigterm_stops_at_once_and_names_the_checkpoint_kept(setup):
    path, root, expected = setup
    r = cli(TWICE_AT_STEP_20, "fit", path, "--runs-dir", root, cwd=root.parent)
    assert r.returncode == 130, r.stderr
    run = the_run(root)
    assert "interrupted at step 14 (SIGTERM); the checkpoint at step 14 is kept" in r.stderr
    assert "Traceback" not in r.stderr
    s = run.read_summary()
    assert (s["status"], s["step"], s["checkpoint"]) == ("interrupted", 14, 14)  # never left at "running"
    finishes_like_a_straight_run(run, expected)


def test_a_second_signal_inside_the_stop_checkpoint_keeps_the_previous_one(setup):
    path, root, expected = setup
    r = cli(SECOND_INSIDE_THE_STOP_CHECKPOINT, "fit", path, "--runs-dir", root, cwd=root.parent)
    assert r.returncode == 130, r.stderr
    run = the_run(root)
    assert "the checkpoint at step 14 is kept" in r.stderr and not list(run.path.rglob("*.tmp"))
    assert [k for k, _ in run.checkpoints()] == [0, 7, 14] and run.read_summary()["status"] == "interrupted"
    finishes_like_a_straight_run(run, expected)


def test_two_signals_before_the_first_checkpoint_say_there_is_nothing_to_resume(setup):
    path, root, expected = setup
    r = cli(TWICE_BEFORE_THE_FIRST_CHECKPOINT, "fit", path, "--runs-dir", root, cwd=root.parent)
    assert r.returncode == 130, r.stderr
    assert "before the first checkpoint was written; nothing to resume" in r.stderr
    assert "checkpoint is kept" not in r.stderr
    run = the_run(root)
    assert run.checkpoints() == [] and run.read_summary()["status"] == "interrupted"
    finishes_like_a_straight_run(run, expected)  # resuming it simply starts from step 0


def test_signals_during_the_final_summary_do_not_cut_it_short(setup):
    path, root, expected = setup
    r = cli(TWICE_DURING_THE_FINAL_SUMMARY, "fit", path, "--runs-dir", root, "--json", cwd=root.parent)
    assert r.returncode == 0, r.stderr
    run = the_run(root)
    assert json.loads(r.stdout)["status"] == run.read_summary()["status"] == "completed"
    assert [(s, x) for s, x, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")] == expected


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_compare_modes_interrupted_claims_no_checkpoint(setup, sig):
    path, root, _ = setup
    patch = f"""
real = compare.run_lockstep
def run_lockstep(runners, steps, on_step=None):
    def stepped(mode, t, loss):
        if t == 3 and mode == "manual":
            kill(1, signal.{sig.name})
    return real(runners, steps, stepped)
compare.run_lockstep = run_lockstep
"""
    r = cli(patch, "compare-modes", path, "--runs-dir", root, cwd=root.parent)
    assert r.returncode == 130, r.stderr
    assert "compare-modes keeps no checkpoint, so there is nothing to resume" in r.stderr
    assert "checkpoint is kept" not in r.stderr and "Traceback" not in r.stderr


def test_gradcheck_interrupted_says_nothing_is_lost(tmp_path):
    patch = """
import autotrain.training.checks as checks
real = checks._safe
def _safe(name, run, s):
    if name == "op:mul":
        kill(1)
    return real(name, run, s)
checks._safe = _safe
"""
    r = cli(patch, "gradcheck", cwd=tmp_path)
    assert r.returncode == 130 and "gradcheck writes nothing" in r.stderr, r.stderr
