"""The commands under odd arguments: missing folders, directories where files go, files where folders go,
closed pipes, Ctrl-C while a result is shown, OS errors on an atomic write.  Each case exits with a code of
the one table and says what is kept, never with a traceback."""
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from autotrain.cli import app, display
from autotrain.cli.errors import written_file
from autotrain.cli.exits import ExitCode
from autotrain.store.catalog import SORT_KEYS, STATUSES
from autotrain.training.compare import AGAINST
from autotrain.training.config import DTYPE_NAMES
from helpers import invoke

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "configs" / "two_layer.yaml"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("attacks")
    r = invoke("fit", SEED, "--set", "steps=5", "--runs-dir", root / "runs", "-q", "--no-tensorboard")
    assert r.exit_code == 0, r.output
    [run] = (root / "runs").iterdir()
    return run


@pytest.fixture
def inputs(tmp_path):
    path = tmp_path / "in.npy"
    np.save(path, np.zeros((2, 1000)))
    return path


def test_predict_into_a_missing_folder_is_bad_input_naming_it(run_dir, inputs, tmp_path):
    r = invoke("predict", run_dir, "--input", inputs, "--output", tmp_path / "nowhere" / "p.csv")
    assert r.exit_code == ExitCode.BAD_INPUT
    assert f"the folder {tmp_path / 'nowhere'} does not exist" in r.stderr and ".tmp" not in r.stderr


def test_an_os_error_names_the_file_written_not_its_temporary_twin(run_dir, inputs, tmp_path, monkeypatch):
    real_open = os.open

    def refused(path, *args, **kwargs):
        if str(path).endswith(".tmp"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refused)
    out = tmp_path / "p.csv"
    r = invoke("predict", run_dir, "--input", inputs, "--output", out)
    assert r.exit_code == ExitCode.OS_ERROR
    assert f"Permission denied: {out};" in r.stderr and "nothing was written" in r.stderr
    assert "checkpoint" not in r.stderr  # predict keeps no checkpoint: the old message said one was kept


def test_written_file_maps_the_temporary_name_back():
    assert written_file("/a/b/.p.csv.1234.tmp") == "/a/b/p.csv"
    assert written_file("/a/b/.hidden") == "/a/b/.hidden" and written_file(b"/x/y.npz") == "/x/y.npz"


def test_sweep_best_into_a_missing_folder_is_bad_input(tmp_path):
    sweep = invoke("fit", SEED, "--set", "steps=2", "--sweep", "H=4,8", "--runs-dir", tmp_path / "runs", "-q",
                   "--no-tensorboard", "--workers", "1")
    assert sweep.exit_code == 0, sweep.output
    [sweep_dir] = (tmp_path / "runs").iterdir()
    r = invoke("sweep", "best", sweep_dir, "--output", tmp_path / "nowhere" / "best.yaml")
    assert r.exit_code == ExitCode.BAD_INPUT and "does not exist" in r.stderr
    ok = invoke("sweep", "best", sweep_dir, "--output", tmp_path / "best.yaml")
    assert ok.exit_code == 0 and (tmp_path / "best.yaml").is_file()


def test_runs_dir_that_is_a_file_says_so(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    r = invoke("runs", "--runs-dir", f)
    assert r.exit_code == ExitCode.BAD_INPUT and f"--runs-dir {f}: not a directory" in r.stderr
    r = invoke("runs", "--runs-dir", tmp_path / "missing")
    assert r.exit_code == ExitCode.BAD_INPUT and "no such directory" in r.stderr


@pytest.mark.parametrize("make", ["directory", "bad suffix", "missing folder"])
def test_an_image_that_cannot_be_written_is_refused_before_anything_runs(run_dir, tmp_path, make):
    target = {"directory": tmp_path / "dir.png", "bad suffix": tmp_path / "x.txt",
              "missing folder": tmp_path / "nowhere" / "x.png"}[make]
    if make == "directory":
        target.mkdir()
    plot = invoke("plot", run_dir, "--output", target)
    assert plot.exit_code == ExitCode.BAD_INPUT and "Traceback" not in plot.output, plot.output
    compare = invoke("compare-modes", SEED, "--steps", "2", "-q", "--plot", target, "--runs-dir", tmp_path / "runs")
    assert compare.exit_code == ExitCode.BAD_INPUT and "--plot" in compare.stderr, compare.output
    assert not (tmp_path / "runs").exists()  # refused before the comparison ran


@pytest.mark.parametrize("command", ["runs", "show", "gradcheck"])
def test_ctrl_c_while_a_result_is_shown_is_exit_130_with_a_message(run_dir, monkeypatch, command):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    shown = {"runs": "runs_table", "show": "show_run", "gradcheck": "gradcheck_report"}[command]
    monkeypatch.setattr(display, shown, interrupted)
    args = {"runs": ["runs", "--runs-dir", run_dir.parent], "show": ["show", run_dir],
            "gradcheck": ["gradcheck", "--only", "relu"]}[command]
    r = invoke(*args)
    assert r.exit_code == ExitCode.INTERRUPTED and "interrupted" in r.stderr, r.output
    assert not isinstance(r.exception, KeyboardInterrupt)


@pytest.mark.parametrize("args", [["--help"], ["fit", "--help"], ["sweep", "-h"]])
def test_help_into_a_closed_pipe_is_141_not_1(args, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "autotrain", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == ExitCode.PIPE_CLOSED and "Traceback" not in err, err


@pytest.mark.parametrize("option, names", [("--status", STATUSES), ("--sort", SORT_KEYS)])
def test_choices_are_the_librarys_names_and_a_bad_one_lists_them(tmp_path, option, names):
    r = invoke("runs", "--runs-dir", tmp_path, option, "bogus")
    assert r.exit_code == ExitCode.BAD_INPUT and f"choose from {', '.join(names)}" in r.stderr
    helped = re.sub(r"\s+", " ", invoke("runs", "--help").stdout)
    assert f"One of: {', '.join(names)}." in helped
    for name in names:
        assert invoke("runs", "--runs-dir", tmp_path, option, name).exit_code == 0


def test_gradcheck_and_compare_choices_come_from_the_library():
    gradcheck = re.sub(r"\s+", " ", invoke("gradcheck", "--help").stdout)
    compare = re.sub(r"\s+", " ", invoke("compare-modes", "--help").stdout)
    assert f"One of: {', '.join(DTYPE_NAMES)}." in gradcheck and f"One of: {', '.join(AGAINST)}." in compare


def test_every_exit_code_is_in_the_docs_table_and_one_is_never_an_os_error():
    text = (ROOT / "docs" / "errors.md").read_text()
    rows = dict(re.findall(r"^\| `(\d+)` \| (.+?) \|$", text, re.M))
    assert sorted(map(int, rows)) == sorted(c.value for c in ExitCode)
    assert "check failed" in rows["1"] and "OS error" in rows["4"]
    assert "exit `1`: No space" not in text


def test_fit_sweep_with_json_prints_the_sweeps_json_not_a_table(tmp_path):
    r = invoke("fit", SEED, "--set", "steps=2", "--sweep", "H=4,8", "--runs-dir", tmp_path / "runs", "--json",
               "--no-tensorboard", "--workers", "1")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert [t["values"] for t in data["trials"]] == [{"H": 4}, {"H": 8}] and data["metric"] == "loss"


@pytest.mark.parametrize("how", ["reader gone", "no stderr (2>&-)"])
def test_a_closed_stderr_silences_messages_but_keeps_the_exit_code(tmp_path, how):
    args = [sys.executable, "-m", "autotrain", "runs", "--runs-dir", str(tmp_path / "missing")]
    if how == "reader gone":
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
        proc.stderr.close()
        out = proc.stdout.read()
        proc.wait(timeout=60)
        code = proc.returncode
    else:
        done = subprocess.run(["bash", "-c", 'exec "$@" 2>&-', "bash", *args], capture_output=True, cwd=tmp_path,
                              timeout=60)
        code, out = done.returncode, done.stdout
    assert code == ExitCode.BAD_INPUT and out == b""  # not 141 (stdout was fine), not 1 (a traceback)
