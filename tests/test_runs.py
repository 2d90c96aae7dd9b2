"""runs.py: unique run directories, no escape, atomic checksummed checkpoints, metrics truncation."""
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from autotrain.store import runs
from autotrain.training.config import load_config
from autotrain.store.runs import CheckpointError, RunError, create_run, load_checkpoint, open_run, sanitize_name

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


def cfg(**kw):
    if "name" in kw and not kw["name"].isprintable():  # YAML (hence --set) cannot carry control characters
        return load_config(None, [f"{k}={v}" for k, v in kw.items() if k != "name"], check=False).model_copy(
            update={"name": kw["name"]})
    base = dict(N=4, D_in=3, H=2, D_out=1, dtype="float64", steps=10, mode="manual")
    return load_config(None, [f"{k}={v}" for k, v in {**base, **kw}.items()], check=False)


def state(c, fill=1.0):
    return {"w1": np.full((c.D_in, c.H), fill), "w2": np.full((c.H, c.D_out), fill)}


class Payload:
    """Unpickling this would create ``marker``: proof of whether a pickle was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_same_name_same_second_gives_distinct_dirs(tmp_path):
    c = cfg(name="exp")
    a, b, d = (create_run(c, tmp_path, now=NOW) for _ in range(3))
    assert a.path.name == "20240102T030405Z-exp-manual"
    assert b.path.name.endswith("-manual-2") and d.path.name.endswith("-manual-3")
    assert all(r.config_path.is_file() and r.checkpoints_dir.is_dir() for r in (a, b, d))


@pytest.mark.parametrize("name", ["../../escape", "/abs/path", "a/../../b", "..", "x\0y", "é" * 300,
                                  "~/home", "a" * 1000])
def test_names_cannot_escape_the_root(tmp_path, name):
    root = tmp_path / "root"
    run = create_run(cfg(name=name), root, now=NOW)
    assert run.path.resolve().parent == root.resolve()
    assert len(run.path.name) < 120
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root"]


def test_sanitize_name_examples():
    assert sanitize_name("my run: v2!") == "my-run-v2"
    assert sanitize_name("...") == "run" and sanitize_name(".hidden") == "hidden"


def test_runs_dir_errors(tmp_path):
    with pytest.raises(RunError, match="NUL"):
        create_run(cfg(), "bad\0dir")
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunError, match="cannot create the runs directory"):
        create_run(cfg(), tmp_path / "file" / "sub")


def test_open_run_refuses_non_runs(tmp_path):
    with pytest.raises(RunError, match="not a directory"):
        open_run(tmp_path / "missing")
    with pytest.raises(RunError, match="not an autotrain run directory"):
        open_run(tmp_path)


def test_checkpoint_round_trip_loads_with_plain_numpy(tmp_path):
    c = cfg()
    run = create_run(c, tmp_path)
    path = run.save_checkpoint(7, state(c, 0.5), c.config_hash(), elapsed_s=1.25)
    assert path.name == "step-000007.npz"
    ck = load_checkpoint(path, c)
    assert (ck.step, ck.elapsed_s, ck.config_hash) == (7, 1.25, c.config_hash())
    assert np.array_equal(ck.state["w1"], np.full((3, 2), 0.5))
    with np.load(path) as z:  # the recipe in docs/runs.md
        assert z["state.w2"].shape == (2, 1) and int(z["step"]) == 7


def test_damaged_newest_checkpoint_falls_back_with_a_note(tmp_path):
    c = cfg()
    run = create_run(c, tmp_path)
    for step in (0, 5, 10):
        run.save_checkpoint(step, state(c, float(step)), c.config_hash())
    newest = run.checkpoint_path(10)
    newest.write_bytes(newest.read_bytes()[:200])  # truncated, as by a full disk
    ck = run.latest_checkpoint(c)
    assert ck.step == 5 and "step-000010.npz: truncated or corrupt" in run.notes[0]
    assert "falling back" in run.notes[0]


def test_edited_checkpoint_fails_its_checksum(tmp_path):
    c = cfg()
    run = create_run(c, tmp_path)
    path = run.save_checkpoint(5, state(c), c.config_hash())
    with np.load(path) as z:
        arrays = dict(z)
    arrays["state.w1"] = arrays["state.w1"] + 1  # re-saved with the old checksum
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(path, c)


def test_wrong_shape_dtype_or_config_is_refused(tmp_path):
    c = cfg()
    run = create_run(c, tmp_path)
    bad = {"w1": np.zeros((3, 9)), "w2": np.zeros((2, 1))}
    with pytest.raises(CheckpointError, match=r"w1 is float64\[3, 9\], expected float64\[3, 2\]"):
        load_checkpoint(run.save_checkpoint(1, bad, c.config_hash()), c)
    f32 = {k: v.astype(np.float32) for k, v in state(c).items()}
    with pytest.raises(CheckpointError, match="float32"):
        load_checkpoint(run.save_checkpoint(2, f32, c.config_hash()), c)
    with pytest.raises(CheckpointError, match="different config"):
        load_checkpoint(run.save_checkpoint(3, state(c), cfg(lr=0.5).config_hash()), c)


@pytest.mark.parametrize("how", ["object array in npz", "bare pickle"])
def test_pickled_object_is_refused_without_executing_it(tmp_path, how):
    c = cfg()
    run = create_run(c, tmp_path)
    run.save_checkpoint(0, state(c), c.config_hash())
    marker = tmp_path / "executed"
    path = run.checkpoint_path(5)
    payload = np.array([Payload(marker)], dtype=object)
    if how == "object array in npz":
        np.savez(path, **{"state.w1": payload, "state.w2": payload, "step": np.array(5)})
    else:
        with open(path, "wb") as f:
            np.save(f, payload, allow_pickle=True)
    with pytest.raises(CheckpointError, match="pickle.* which is refused"):
        load_checkpoint(path, c)
    assert run.latest_checkpoint(c).step == 0 and "pickle" in run.notes[0]
    assert not marker.exists()


def test_failing_write_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    c = cfg()
    run = create_run(c, tmp_path)
    run.save_checkpoint(5, state(c), c.config_hash())

    def half_then_fail(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runs.np, "savez", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        run.save_checkpoint(10, state(c, 2.0), c.config_hash())
    monkeypatch.undo()
    assert sorted(p.name for p in run.checkpoints_dir.iterdir()) == ["step-000005.npz"]
    assert run.latest_checkpoint(c).step == 5 and run.notes == []


def test_stale_temp_files_are_cleaned(tmp_path):
    run = create_run(cfg(), tmp_path)
    (run.checkpoints_dir / ".step-000010.npz.123.tmp").write_bytes(b"partial")
    (run.path / ".summary.json.9.tmp").write_text("{")
    notes = run.clean_temp_files()
    assert len(notes) == 2 and not list(run.path.rglob("*.tmp"))


def test_metrics_truncated_to_the_checkpoint_and_torn_line_dropped(tmp_path):
    run = create_run(cfg(), tmp_path)
    with run.open_metrics() as m:
        for step in range(6):
            m.write(step, 1.0 / (step + 1), step * 0.1)
    with open(run.metrics_path, "a") as f:
        f.write("6,0.14")  # a line torn by SIGKILL
    assert [r[0] for r in run.read_metrics().tuples("step", "loss", "elapsed_s")] == [0, 1, 2, 3, 4, 5]
    with run.open_metrics(keep_before=4) as m:
        m.write(4, 0.2, 9.0)
    text = run.metrics_path.read_text()
    assert text.splitlines()[0] == "step,epoch,loss,val_loss,val_accuracy,elapsed_s"
    assert text.endswith("4,,0.2,,,9.000000\n")
    assert [r[0] for r in run.read_metrics().tuples("step", "loss", "elapsed_s")] == [0, 1, 2, 3, 4]


def test_summary_and_config_files(tmp_path):
    c = cfg(name="s")
    run = create_run(c, tmp_path)
    assert run.read_config() == c
    head = run.config_path.read_text().splitlines()[0]
    assert head.startswith("# autotrain ") and "numpy" in head
    run.write_summary({"status": "completed", "final_loss": 1.5})
    s = run.read_summary()
    assert s["status"] == "completed" and s["versions"]["numpy"] == np.__version__
    assert not list(Path(run.path).glob(".*tmp"))
    assert os.listdir(run.checkpoints_dir) == []
