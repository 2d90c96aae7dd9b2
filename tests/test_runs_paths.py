"""Nothing outside the run directory is read, written or deleted: symlinks inside a run are refused, and only
temporary files autotrain itself names are ever removed."""
import errno
import os
import signal

import numpy as np
import pytest
from typer.testing import CliRunner

from autotrain.store import runs
from autotrain.cli import app
from autotrain.training.config import load_config
from autotrain.store.runs import RunError, create_run, open_run
from autotrain.training.train import fit

pytestmark = pytest.mark.group("paths")
runner = CliRunner()
SMALL = ["N=4", "D_in=5", "H=3", "D_out=2", "lr=0.01", "steps=30", "mode=manual", "dtype=float64",
         "checkpoint_every=10", "name=p"]


def interrupted(tmp_path):
    cfg = load_config(None, SMALL, check=False)
    run = create_run(cfg, tmp_path / "runs")
    fit(cfg, run, on_step=lambda s, _: s == 14 and os.kill(os.getpid(), signal.SIGINT))
    return cfg, run


def snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("entry", ["checkpoints", "metrics.csv", "summary.json", "config.yaml", "data.npz",
                                   "checkpoints/step-000015.npz", ".autotrain.lock"])
def test_a_symlink_inside_a_run_is_refused_and_nothing_outside_is_touched(tmp_path, entry):
    cfg, run = interrupted(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = run.path / entry
    moved = outside / target.name
    if target.exists():
        os.rename(target, moved)
    else:
        moved.write_text("12345\n")
    (outside / ".step-000099.npz.1.tmp").write_bytes(b"a user's file that looks like ours")
    os.symlink(moved, target)
    before = snapshot(outside)
    r = runner.invoke(app, ["fit", "--resume", str(run.path)])
    assert r.exit_code == 2, r.output
    assert f"refusing {target}: it is a symbolic link" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert snapshot(outside) == before
    with pytest.raises(RunError, match="symbolic link"):
        fit(cfg, runs.RunDir(run.path))  # the library refuses too, not only the CLI
    assert snapshot(outside) == before


def test_a_symlinked_run_dir_pointing_outside_its_folder_is_refused(tmp_path):
    cfg, run = interrupted(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = elsewhere / "link-to-run"
    os.symlink(run.path, link)
    r = runner.invoke(app, ["fit", "--resume", str(link)])
    assert r.exit_code == 2 and "is a symbolic link to" in r.stderr and "outside" in r.stderr
    same_folder = run.path.parent / "alias"
    os.symlink(run.path.name, same_folder)  # a link beside the run, to it: its files stay in the runs folder
    assert runner.invoke(app, ["fit", "--resume", str(same_folder), "--quiet"]).exit_code == 0


def test_only_autotrains_own_temp_files_are_removed(tmp_path):
    cfg, run = interrupted(tmp_path)
    ours = [run.checkpoints_dir / ".step-000020.npz.123.tmp", run.path / ".summary.json.9.tmp",
            run.path / ".metrics.csv.77.tmp", run.path / ".data.npz.5.tmp", run.path / ".config.yaml.1.tmp"]
    for p in ours:
        p.write_bytes(b"partial")
    users = [run.path / ".notes.tmp", run.path / ".my.summary.json.1.tmp", run.checkpoints_dir / ".x.tmp",
             run.path / ".summary.json.tmp", run.path / ".summary.json.12a.tmp"]
    for p in users:
        p.write_text("mine")
    folder = run.checkpoints_dir / ".step-000030.npz.4.tmp"  # a directory with our name: never removed
    folder.mkdir()
    (folder / "keep").write_text("x")
    outside = tmp_path / "victim.npz"
    outside.write_text("do not delete")
    link = run.path / ".data.npz.8.tmp"  # (inside checkpoints/ any link makes the whole resume refused)
    os.symlink(outside, link)
    r = runner.invoke(app, ["fit", "--resume", str(run.path), "--quiet"])
    assert r.exit_code == 0, r.output
    assert not any(p.exists() for p in ours)
    assert all(p.read_text() == "mine" for p in users)
    assert (folder / "keep").exists() and outside.read_text() == "do not delete" and link.is_symlink()
    assert r.stderr.count("removed a stale temporary file") == len(ours)


def test_an_atomic_write_never_follows_a_planted_temp_link(tmp_path):
    cfg, run = interrupted(tmp_path)
    victim = tmp_path / "victim"
    victim.write_text("precious")
    os.symlink(victim, run.path / f".summary.json.{os.getpid()}.tmp")
    run.write_summary({"status": "x"})
    assert victim.read_text() == "precious" and run.read_summary()["status"] == "x"


def test_a_read_only_runs_directory_is_exit_4_naming_it(tmp_path, monkeypatch):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("steps: 0\nN: 2\nD_in: 2\nH: 2\nD_out: 1\n")
    real_mkdir = os.mkdir

    def read_only(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path / "ro")):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", read_only)
    r = runner.invoke(app, ["fit", str(cfg_file), "--runs-dir", str(tmp_path / "ro")])
    assert r.exit_code == 4, r.output  # OS error
    assert f"Read-only file system: {tmp_path / 'ro'}" in r.stderr
    assert "nothing to resume (no checkpoint was written)" in r.stderr and "Traceback" not in r.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_really_read_only_runs_directory_is_exit_4(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("steps: 0\n")
    try:
        r = runner.invoke(app, ["fit", str(cfg_file), "--runs-dir", str(ro)])
    finally:
        ro.chmod(0o700)
    assert r.exit_code == 4 and "Permission denied" in r.stderr


def test_disk_full_names_the_file(tmp_path, monkeypatch):
    cfg, run = interrupted(tmp_path)
    real = runs.np.savez

    def full(f, **arrays):
        if int(arrays.get("step", -1)) == 20:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(f, **arrays)

    monkeypatch.setattr(runs.np, "savez", full)
    r = runner.invoke(app, ["fit", "--resume", str(run.path), "--quiet"])
    assert r.exit_code == 4
    assert f"No space left on device: {run.checkpoint_path(20)}; the newest complete checkpoint is kept (step 15)" \
        in r.stderr


@pytest.mark.parametrize("entry", ["metrics.csv", "summary.json", "data.npz", ".autotrain.lock"])
def test_a_special_file_inside_a_run_is_refused_without_blocking(tmp_path, entry):
    cfg, run = interrupted(tmp_path)
    (run.path / entry).unlink(missing_ok=True)
    os.mkfifo(run.path / entry)  # reading it would block forever
    r = runner.invoke(app, ["fit", "--resume", str(run.path)])
    assert r.exit_code == 2 and f"refusing {run.path / entry}: it is not a regular file" in r.stderr


def test_checkpoints_are_only_read_from_regular_files(tmp_path):
    cfg, run = interrupted(tmp_path)
    os.mkfifo(run.checkpoints_dir / "step-000025.npz")  # would block a naive reader forever
    assert run.latest_checkpoint(cfg).step == 15
    with pytest.raises(runs.CheckpointError, match="not a regular file"):
        runs.load_checkpoint(run.checkpoints_dir / "step-000025.npz", cfg)
    assert np.isfinite(run.latest_checkpoint(cfg).state["w1"]).all()
    assert open_run(run.path) is not None
