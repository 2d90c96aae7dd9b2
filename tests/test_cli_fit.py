"""`autotrain fit` end to end: exit codes, messages without tracebacks, resume after SIGKILL, SIGINT."""
import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autotrain.cli import app
from autotrain.training.config import load_config
from autotrain.store.runs import create_run, open_run
from autotrain.training.train import fit
from helpers import invoke, write

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "configs" / "two_layer.yaml"

SMALL = "N: 8\nD_in: 12\nH: 6\nD_out: 3\nlr: 1.0e-3\nsteps: 30\nmode: manual\ndtype: float64\n" \
        "log_every: 1\ncheckpoint_every: 10\nname: small\n"


def bad(result, *needles):
    """Exit 2, every needle in stderr, and no traceback anywhere."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    for needle in needles:
        assert needle in result.stderr, result.stderr
    return result.stderr


def only_run(root):
    [run] = list(Path(root).iterdir())
    return open_run(run)


# ------------------------------------------------------------------ bad input: exit 2, clear text

@pytest.mark.parametrize("text, needles", [
    ("N: 0\nlr: -1\nmdoe: static\n", ["3 problems", ":1:1: N: bad value 0", ":2:1: lr: bad value -1",
                                      "mdoe: unknown key; did you mean 'mode'?"]),
    ("mode: autgrad\n", ["mode: bad value 'autgrad'; did you mean 'autograd'?", "manual, autograd"]),
    ("dtype: float16\n", ["did you mean 'float64'?"]), ("device: gpu\n", ["device: bad value 'gpu'", "cuda:N"]),
    ('lr: "1e-6"\n', ["lr: bad value '1e-6'", "without quotes"]),
    ("N: [1\n", [":2:1: YAML error"]), ("N: 1\nN: 2\n", ["duplicate key 'N'"]),
    ("just a string\n", ["expected a mapping"]),
])
def test_bad_config_files(tmp_path, text, needles):
    p = write(tmp_path, text)
    bad(invoke("fit", p, "--runs-dir", tmp_path / "runs"), str(p), *needles)
    assert not (tmp_path / "runs").exists()


def test_missing_directory_and_binary_config(tmp_path):
    bad(invoke("fit", tmp_path / "nope.yaml"), "nope.yaml: config file not found")
    bad(invoke("fit", tmp_path), "is a directory")
    (tmp_path / "b.yaml").write_bytes(os.urandom(64) + b"\0")
    bad(invoke("fit", tmp_path / "b.yaml"), "binary")
    bad(invoke("fit"), "missing CONFIG")


def test_yaml_tag_refused_nothing_executed(tmp_path):
    marker = tmp_path / "pwned"
    p = write(tmp_path, f'name: !!python/object/apply:os.system ["touch {marker}"]\n')
    bad(invoke("fit", p, "--runs-dir", tmp_path / "runs"), "YAML tag refused")
    assert not marker.exists()


@pytest.mark.parametrize("override, needle", [
    ("lr", "--set: expected key=value, got 'lr'"), ("lrr=1", "lrr: unknown key; did you mean 'lr'?"),
    ("steps=-2", "--set: steps: bad value -2"), ("mode=statc", "did you mean 'static'?"),
])
def test_bad_overrides(tmp_path, override, needle):
    bad(invoke("fit", SEED, "--set", override, "--runs-dir", tmp_path), needle)


def test_sizes_that_do_not_fit_are_refused_up_front(tmp_path):
    err = bad(invoke("fit", SEED, "--set", "N=100000000", "--set", "D_in=100000000", "--runs-dir", tmp_path),
              "need about", "of memory")
    assert "PiB" in err or "TiB" in err
    assert list(tmp_path.iterdir()) == []


def test_cuda_without_cupy_or_gpu(tmp_path):
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    bad(invoke("fit", SEED, "--set", "device=cuda", "--runs-dir", tmp_path), "pip install 'autotrain[cuda]'")


def test_static_mode_is_cpu_only(tmp_path):
    bad(invoke("fit", SEED, "--set", "mode=static", "--set", "device=cuda:0", "--runs-dir", tmp_path),
        "device: bad value 'cuda:0' with mode 'static'")


def test_resume_of_something_that_is_not_a_run(tmp_path):
    bad(invoke("fit", "--resume", tmp_path / "missing"), "not a directory")
    bad(invoke("fit", "--resume", tmp_path), "not an autotrain run directory")


def test_resume_with_another_config_is_refused(tmp_path):
    p = write(tmp_path, SMALL)
    assert invoke("fit", p, "--runs-dir", tmp_path / "runs", "--quiet").exit_code == 0
    run = only_run(tmp_path / "runs")
    bad(invoke("fit", p, "--set", "lr=0.5", "--resume", run.path), "another config", "lr: run has 0.001, given 0.5")
    assert invoke("fit", p, "--resume", run.path, "--quiet").exit_code == 0  # the same config is fine


def test_resume_with_only_damaged_checkpoints(tmp_path):
    p = write(tmp_path, SMALL)
    invoke("fit", p, "--runs-dir", tmp_path / "runs", "--quiet")
    run = only_run(tmp_path / "runs")
    for _, path in run.checkpoints():
        path.write_bytes(b"garbage")
    bad(invoke("fit", "--resume", run.path), "no usable checkpoint", "step-000030.npz: is not an .npz archive")


def test_resume_refuses_a_pickled_checkpoint_without_executing_it(tmp_path):
    import numpy as np
    p = write(tmp_path, SMALL)
    invoke("fit", p, "--runs-dir", tmp_path / "runs", "--quiet")
    run = only_run(tmp_path / "runs")
    marker = tmp_path / "executed"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    for _, path in run.checkpoints():
        np.savez(path, **{"state.w1": np.array([Evil()], dtype=object)})
    bad(invoke("fit", "--resume", run.path), "pickled Python object")
    assert not marker.exists()


# ------------------------------------------------------------------ success paths

def test_fit_prints_the_table_and_run_path(tmp_path):
    p = write(tmp_path, SMALL)
    r = invoke("fit", p, "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 0, r.output
    run = only_run(tmp_path / "runs")
    assert "completed: step 30/30" in r.stdout and f"run: {run.path}" in r.stdout
    assert "step" in r.stdout and "elapsed_s" in r.stdout
    assert run.read_summary()["status"] == "completed"


def test_json_and_quiet(tmp_path):
    p = write(tmp_path, SMALL)
    r = invoke("fit", p, "--runs-dir", tmp_path / "runs", "--json")
    data = json.loads(r.stdout)
    assert data["status"] == "completed" and data["step"] == 30 and data["final_loss"] > 0
    r = invoke("fit", p, "--runs-dir", tmp_path / "runs", "--quiet")
    assert r.exit_code == 0 and r.stdout == ""


def test_print_config_marks_sources(tmp_path):
    p = write(tmp_path, "N: 8\n")
    r = invoke("fit", p, "--set", "lr=1e-5", "--print-config", "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 0
    # piped, the table is plain text: its cells are split by runs of spaces
    rows = {cells[0]: line for line in r.stdout.splitlines() if len(cells := re.split(r"\s{2,}", line.strip())) == 3}
    assert "file" in rows["N"] and "--set" in rows["lr"] and "1.0e-05" in rows["lr"] and "default" in rows["H"]
    assert not (tmp_path / "runs").exists()


def test_config_schema_is_json():
    r = invoke("config", "schema")
    assert r.exit_code == 0 and json.loads(r.stdout)["properties"]["mode"]["enum"][0] == "manual"


def test_divergence_exit_3_with_hint(tmp_path):
    p = write(tmp_path, SMALL)
    r = invoke("fit", p, "--set", "lr=5", "--set", "steps=300", "--runs-dir", tmp_path / "runs", "--quiet")
    assert r.exit_code == 3 and "lower lr" in r.stderr and "diverged" in r.stderr
    assert only_run(tmp_path / "runs").read_summary()["status"] == "diverged"


# ------------------------------------------------------------------ real processes and signals

# The real CLI with each training step slowed by 2 ms (test-only), so "signal it after 200 rows" never races
# the run's end however loaded the machine is; the resumed and straight runs are not slowed.
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


def start(args, cwd):
    return subprocess.Popen([sys.executable, "-c", THROTTLED, "fit", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_default_signals)


def _default_signals():  # a background job (or some CI runners) starts us with SIGINT ignored: not our children
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def wait_for_rows(run_root, n, proc, timeout=60):
    """Wait until a run under ``run_root`` has logged ``n`` metrics rows."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for d in Path(run_root).glob("*"):
            m = d / "metrics.csv"
            if m.exists() and m.read_text().count("\n") > n:
                return open_run(d)
        time.sleep(0.005)
    raise AssertionError("the run did not get going")


# Tiny sizes: the seed's (64x1000x100, float64) made these tests take a minute on a loaded 2-core machine.
LONG = "N: 8\nD_in: 12\nH: 6\nD_out: 3\nlr: 1.0e-3\nsteps: 5000\nmode: manual\ndtype: float64\n" \
       "log_every: 1\ncheckpoint_every: 97\nname: long\n"


def straight_table(tmp_path, text):
    c = load_config(write(tmp_path, text, "straight.yaml"))
    run = create_run(c, tmp_path / "straight")
    fit(c, run)
    return [(s, loss) for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")]


@pytest.mark.slow
def test_resume_after_sigkill_matches_a_straight_run_bit_for_bit(tmp_path):
    p = write(tmp_path, LONG)
    proc = start([p, "--runs-dir", tmp_path / "runs", "--quiet"], ROOT)
    run = wait_for_rows(tmp_path / "runs", 200, proc)
    proc.kill()
    proc.wait()
    assert run.read_summary()["status"] == "running"
    done = subprocess.run([sys.executable, "-m", "autotrain", "fit", "--resume", run.path, "--json"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["status"] == "completed" and 0 < summary["resumed_from"] < 5000
    got = [(s, loss) for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")]
    assert got == straight_table(tmp_path, LONG)


@pytest.mark.slow
def test_sigint_exit_130_interrupted_and_resumable(tmp_path):
    p = write(tmp_path, LONG)
    proc = start([p, "--runs-dir", tmp_path / "runs"], ROOT)
    run = wait_for_rows(tmp_path / "runs", 200, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and f"autotrain fit --resume {run.path}" in err
    summary = run.read_summary()
    assert summary["status"] == "interrupted" and summary["signal"] == "SIGINT"
    assert run.checkpoints()[-1][0] == summary["step"]
    r = invoke("fit", "--resume", run.path, "--quiet")
    assert r.exit_code == 0 and run.read_summary()["status"] == "completed"
    assert [(s, loss) for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")] == straight_table(tmp_path, LONG)


def test_bad_config_in_a_real_process_has_no_traceback(tmp_path):
    p = write(tmp_path, "lr: 0\n")
    r = subprocess.run([sys.executable, "-m", "autotrain", "fit", p], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and "lr: bad value 0" in r.stderr and "Traceback" not in r.stderr + r.stdout
