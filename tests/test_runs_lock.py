"""One run, one writer: a second `fit --resume` of a run is refused at once, naming the process that holds it.

The lock is ``fcntl.flock`` on ``RUN/.autotrain.lock``; the kernel drops it when its holder dies, so a
killed run never blocks a later resume.  The 20-kill test with concurrent resumes is in
test_fit_faults.py (slow tier).
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autotrain.cli import app
from autotrain.training.config import load_config
from autotrain.store.runs import RunDir, RunLocked, create_run, open_run
from autotrain.training.train import fit

pytestmark = pytest.mark.group("one writer")
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()
SMALL = ["N=4", "D_in=5", "H=3", "D_out=2", "lr=0.01", "steps=60", "mode=manual", "dtype=float64",
         "checkpoint_every=10", "name=w"]

# The real CLI with every step slowed by 3 ms, so a resume is still running when the others arrive.
THROTTLED = """
import sys, time
import autotrain.modes as modes
build_mode = modes.build_mode  # what train.fit builds its mode with
def slow(*args, **kwargs):
    mode = build_mode(*args, **kwargs)
    step = mode.step
    mode.step = lambda x, y: (time.sleep(0.003), step(x, y))[1]
    return mode
modes.build_mode = slow
from autotrain.cli import app
app(sys.argv[1:], prog_name="autotrain")
"""


def _default_signals():  # children start with default dispositions however the test run was started
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def start(*args, script=THROTTLED):
    return subprocess.Popen([sys.executable, "-c", script, "fit", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)


def table(run):
    return [(s, loss) for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")]


def interrupted_run(tmp_path, stop_at=14, extra=()):
    cfg = load_config(None, SMALL + list(extra), check=False)
    run = create_run(cfg, tmp_path / "runs")
    fit(cfg, run, on_step=lambda s, _: s == stop_at and os.kill(os.getpid(), signal.SIGINT))
    assert run.read_summary()["status"] == "interrupted"
    straight = create_run(cfg, tmp_path / "straight")
    fit(cfg, straight)
    return cfg, run, table(straight)


def test_a_held_lock_refuses_every_other_writer_at_once_naming_the_holder(tmp_path):
    cfg, run, expected = interrupted_run(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in run.path.rglob("*") if p.is_file()}
    with RunDir(run.path).lock():
        with pytest.raises(RunLocked, match=f"in use by process {os.getpid()}"):
            fit(cfg, RunDir(run.path))
        procs = [start("--resume", run.path, "--quiet") for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        for p, (_, err) in zip(procs, results):
            assert p.returncode == 2, err
            assert err.strip().splitlines() == [f"error: {run.path} is in use by process {os.getpid()} (another "
                                                "autotrain fit or --resume of this run); wait for it to finish or "
                                                "stop it, then resume"]
        after = {p: p.stat().st_mtime_ns for p in run.path.rglob("*") if p.is_file() and p.name != ".autotrain.lock"}
        assert {p: t for p, t in before.items() if p.name != ".autotrain.lock"} == after  # nothing touched
    r = runner.invoke(app, ["fit", "--resume", str(run.path), "--quiet"])
    assert r.exit_code == 0, r.output
    assert table(run) == expected


def test_concurrent_resumes_of_one_run_one_trains_the_others_are_refused(tmp_path):
    """Real processes, started together: one holds the run; each other one either is refused at once (exit
    2, one line naming the holder's PID) or arrives after it finished (exit 0, nothing changed); the table
    equals an uninterrupted run's."""
    cfg, run, expected = interrupted_run(tmp_path, extra=["steps=300", "checkpoint_every=50"])
    procs = [start("--resume", run.path, "--json") for _ in range(3)]
    outcomes = [(p.pid, p.returncode, *out) for p in procs for out in [p.communicate(timeout=300)]]
    trained = [o for o in outcomes if o[1] == 0 and "already completed" not in o[3]]
    refused = [o for o in outcomes if o[1] == 2]
    late = [o for o in outcomes if o[1] == 0 and "already completed" in o[3]]
    assert len(trained) == 1 and len(trained) + len(refused) + len(late) == 3, outcomes
    for _, _, _, err in refused:
        assert f"is in use by process {trained[0][0]}" in err and len(err.strip().splitlines()) == 1, err
    assert json.loads(trained[0][2])["status"] == "completed"
    assert table(run) == expected
    assert not (run.path / ".autotrain.lock").exists() and not list(run.path.rglob("*.tmp"))


def test_a_lock_held_by_a_process_that_dies_is_released(tmp_path):
    """A forked holder takes the lock and is SIGKILLed while holding it: the next writer gets it at once."""
    cfg, run, expected = interrupted_run(tmp_path)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: hold the lock, say so, wait to be killed
        try:
            os.close(ready_r)
            with RunDir(run.path).lock():
                os.write(ready_w, b"x")
                time.sleep(60)
        finally:
            os._exit(1)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"x"
    with pytest.raises(RunLocked, match=f"in use by process {pid}"):
        fit(cfg, RunDir(run.path))
    os.kill(pid, signal.SIGKILL)
    assert os.waitpid(pid, 0)[1] & 0x7F == signal.SIGKILL
    assert (run.path / ".autotrain.lock").read_text().strip() == str(pid)  # left behind by the killed holder
    assert fit(cfg, RunDir(run.path)).status == "completed"
    assert table(run) == expected and not (run.path / ".autotrain.lock").exists()


@pytest.mark.slow
def test_a_lock_left_by_a_killed_process_does_not_block(tmp_path):
    cfg, run, expected = interrupted_run(tmp_path, extra=["steps=3000", "checkpoint_every=50"])
    proc = start("--resume", run.path, "--quiet")
    deadline = time.monotonic() + 60
    while not (run.path / ".autotrain.lock").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.005)
    time.sleep(0.1)
    proc.kill()
    proc.wait()
    assert (run.path / ".autotrain.lock").read_text().strip() == str(proc.pid)  # left behind by the killed holder
    with open_run(run.path).lock():  # the kernel released it
        pass
    r = runner.invoke(app, ["fit", "--resume", str(run.path), "--quiet"])
    assert r.exit_code == 0, r.output
    assert table(run) == expected


def test_lock_in_threads_and_nested_use(tmp_path):
    import threading

    cfg = load_config(None, SMALL, check=False)
    run = create_run(cfg, tmp_path)
    errors = []
    with run.lock():
        t = threading.Thread(target=lambda: errors.append(_try_lock(run)))
        t.start()
        t.join()
    assert isinstance(errors[0], RunLocked) and errors[0].pid == os.getpid()
    assert _try_lock(run) is None  # released on exit


def _try_lock(run):
    try:
        with RunDir(run.path).lock():
            return None
    except RunLocked as exc:
        return exc


def test_resume_of_a_completed_run_reports_it_and_changes_nothing(tmp_path):
    cfg = load_config(None, SMALL, check=False)
    run = create_run(cfg, tmp_path)
    fit(cfg, run)
    files = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.path.rglob("*") if p.is_file()}
    for args in (["--quiet"], ["--json"], []):
        r = runner.invoke(app, ["fit", "--resume", str(run.path), *args])
        assert r.exit_code == 0, r.output
        assert "already completed at step 60/60; nothing was changed" in r.stderr + r.stdout
    data = json.loads(runner.invoke(app, ["fit", "--resume", str(run.path), "--json"]).stdout)
    assert data["status"] == "completed" and data["steps_per_s"] == run.read_summary()["steps_per_s"] > 0
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in run.path.rglob("*") if p.is_file()} == files
