"""A closed output pipe (`autotrain ... | head`) ends quietly: exit 0 or 141, nothing on stderr about errors.

Real processes and real pipes: the reading end is closed before the command writes, so its first write to
stdout meets a broken pipe every time.
"""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "configs" / "two_layer.yaml")


def closed_pipe(*args, cwd):
    proc = subprocess.Popen([sys.executable, "-m", "autotrain", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd)
    proc.stdout.close()  # the reader is gone before anything is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    return proc.returncode, err


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipes")
    done = subprocess.run([sys.executable, "-m", "autotrain", "fit", SEED, "--set", "steps=20", "--runs-dir",
                           str(root / "runs"), "-q", "--no-tensorboard"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return root / "runs"


@pytest.mark.parametrize("args", [
    ["fit", SEED, "--set", "steps=20", "--no-tensorboard"],
    ["fit", SEED, "--set", "steps=20", "--no-tensorboard", "--json"],
    ["gradcheck", "--only", "relu"],
    ["runs"], ["runs", "--json"], ["show", "RUN"], ["config", "schema"], ["--version"],
], ids=lambda a: " ".join(a[:2]))
def test_a_closed_pipe_ends_quietly(args, runs_dir, tmp_path):
    run = next(p for p in runs_dir.iterdir() if p.is_dir())
    args = [str(run) if a == "RUN" else a for a in args]
    if args[0] in ("fit", "runs"):
        args += ["--runs-dir", str(runs_dir if args[0] == "runs" else tmp_path / "runs")]
    code, err = closed_pipe(*args, cwd=tmp_path)
    assert code in (0, 141), (code, err)
    assert "error" not in err.lower() and "Traceback" not in err and "Exception" not in err, err


def test_exit_codes_form_one_table():
    from autotrain import cli

    codes = [cli.EXIT_CHECK_FAILED, cli.EXIT_BAD_INPUT, cli.EXIT_DIVERGED, cli.EXIT_OS_ERROR, cli.EXIT_INTERRUPTED,
             cli.EXIT_PIPE_CLOSED]
    assert len(set(codes)) == len(codes) and 0 not in codes
