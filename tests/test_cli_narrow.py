"""Every table at 80 columns (stdout a pipe, COLUMNS=80): no line longer, no cell cut short, --wide for all."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = str(ROOT / "configs" / "two_layer.yaml")
PATH_LINES = ("run: ", "sweep: ", "compare: ", "checkpoints kept: ", "DOT: ", "best: trial", "error: ", "note: ")  # a path is never broken


def cli(*args, cwd):
    env = dict(os.environ, COLUMNS="80")
    r = subprocess.run([sys.executable, "-m", "autotrain", *map(str, args)], capture_output=True, text=True,
                       cwd=cwd, env=env, timeout=300)
    assert r.returncode in (0, 1), r.stderr
    return r.stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("narrow")
    runs = root / "runs"
    cli("fit", SEED, "--set", "steps=20", "--runs-dir", runs, "-q", "--no-tensorboard", cwd=root)
    cli("compare-modes", SEED, "--steps", "5", "--runs-dir", runs, "-q", cwd=root)
    cli("fit", SEED, "--set", "steps=5", "--sweep", "H=4,8", "--runs-dir", runs, "-q", "--no-tensorboard", cwd=root)
    return root, runs


def check_narrow(text: str) -> None:
    assert "…" not in text and "..." not in text.replace(", ...", "")
    for line in text.splitlines():
        if not line.startswith(PATH_LINES):
            assert len(line) <= 80, line


def commands(runs: Path):
    dirs = sorted(p for p in runs.iterdir() if p.is_dir())
    yield ["runs", "--runs-dir", runs]
    yield ["gradcheck"]
    for d in dirs:
        yield ["show", d]
    yield ["compare-modes", SEED, "--steps", "5", "--runs-dir", runs / "again", "-q"]
    yield ["fit", SEED, "--set", "steps=3", "--sweep", "H=4,8", "--runs-dir", runs / "again", "-q",
           "--no-tensorboard"]


def test_every_table_fits_80_columns(made):
    root, runs = made
    for args in commands(runs):
        text = cli(*args, cwd=root)
        assert text.strip(), args
        check_narrow(text)


def test_wide_shows_every_column(made):
    root, runs = made
    narrow, wide = cli("runs", "--runs-dir", runs, cwd=root), cli("runs", "--runs-dir", runs, "--wide", cwd=root)
    for header in ("dir", "name", "mode", "status", "step", "final loss", "best validation", "steps/s",
                   "start (UTC)", "size"):
        assert header in wide.splitlines()[1]
    assert "--wide shows them" in narrow and "--wide shows them" not in wide
    g = cli("gradcheck", "--only", "relu", "--wide", cwd=root)
    assert all(h in g for h in ("shapes", "dtype", "against", "entries", "worst entry", "analytical", "reference"))


def test_a_piped_table_has_plain_stable_columns(made):
    root, runs = made
    text = cli("runs", "--runs-dir", runs, cwd=root)
    assert not any(ch in text for ch in "│┃━┏┡┌")  # no borders: columns split on runs of spaces
    assert text == cli("runs", "--runs-dir", runs, cwd=root)


BORDERS = "│┃━┏┡┌┐└┘├┤┬┴┼"


def test_show_fit_and_print_config_tables_are_plain_when_piped(made):
    root, runs = made
    run = next(d for d in sorted(runs.iterdir()) if d.is_dir() and "-compare-" not in d.name
               and "-sweep-" not in d.name)
    shown = cli("show", run, cwd=root)
    tables = shown.split("checkpoints kept:")[0]  # the charts after it draw their own axes
    assert "config" in tables and "summary" in tables and not any(ch in tables for ch in BORDERS)
    assert shown == cli("show", run, cwd=root)
    printed = cli("fit", SEED, "--print-config", cwd=root)
    assert printed.splitlines()[0] == f"config ({SEED})" and not any(ch in printed for ch in BORDERS)
    assert printed == cli("fit", SEED, "--print-config", cwd=root)
    fitted = cli("fit", SEED, "--set", "steps=3", "--runs-dir", runs / "plain", "--no-tensorboard", cwd=root)
    assert "elapsed_s" in fitted and not any(ch in fitted for ch in BORDERS)
    for text in (tables, printed.split("\n", 1)[1], fitted):  # the title line names a path: never broken
        check_narrow(text)


NOTE = "(left out to fit 80 columns: run; --wide shows them)"


def test_the_note_of_dropped_columns_is_one_line_under_a_narrow_table(tmp_path):
    """A sweep table narrower than its title and its note (the run column dropped): each is a line of its
    own, never wrapped to the table's width."""
    keys = ["--sweep", "H=4,8", "--sweep", "mode=manual,autograd,custom-relu", "--sweep", "seed=0"]
    narrow = cli("fit", SEED, "--set", "steps=3", *keys, "--runs-dir", tmp_path / "runs", "-q", "--no-tensorboard",
                 cwd=tmp_path)
    lines = [line.strip() for line in narrow.splitlines()]
    assert NOTE in lines and "sweep two_layer: 6 trials, loss (min), best first" in lines, narrow


def test_sweep_tables_fit_80_columns_and_wide_shows_every_column(tmp_path):
    keys = ["--sweep", "H=4,8", "--sweep", "lr=0.000001", "--sweep", "seed=0", "--sweep", "checkpoint_every=1000"]
    narrow = cli("fit", SEED, "--set", "steps=3", *keys, "--runs-dir", tmp_path / "runs", "-q", "--no-tensorboard",
                 cwd=tmp_path)
    check_narrow(narrow)
    assert NOTE in [line.strip() for line in narrow.splitlines()]
    [sweep_dir] = (tmp_path / "runs").iterdir()
    for args in (["sweep", "--resume", sweep_dir, "-q", "--no-tensorboard"], ["show", sweep_dir]):
        check_narrow(cli(*args, cwd=tmp_path))
        wide = cli(*args, "--wide", cwd=tmp_path)
        assert "trial-000-H_4-lr_1e-06-seed_0-checkpoint_every_1000" in wide.split("best:")[0]
        assert "--wide shows them" not in wide
    wide = cli("fit", SEED, "--set", "steps=3", *keys, "--runs-dir", tmp_path / "again", "-q", "--no-tensorboard",
               "--wide", cwd=tmp_path)
    header = next(line for line in wide.splitlines() if line.lstrip().startswith("#"))
    assert header.split()[-1] == "run" and "--wide shows them" not in wide
