"""`autotrain runs` / `show`: runs of fit, compare-modes and sweeps are found and read; damaged or foreign
folders become rows marked unreadable (never a traceback, a hang or an unbounded read)."""
import json
import os
from pathlib import Path

import pytest

from autotrain.store import catalog
from autotrain.store import metrics as metrics_file
from autotrain.cli import app
from autotrain.store.comparisons import write_comparison
from autotrain.training.compare import compare_modes
from autotrain.training.config import load_config
from autotrain.store.runs import create_run
from autotrain.training.train import fit
from helpers import invoke

TINY = dict(N=6, D_in=5, H=4, D_out=2, lr=1e-3, steps=12, mode="manual", dtype="float64", checkpoint_every=5,
            name="tiny")


def cfg(**kw):
    return load_config(None, [f"{k}={v}" for k, v in {**TINY, **kw}.items()], check=False)


def make_run(root, **kw):
    c = cfg(**kw)
    run = create_run(c, root)
    return run, fit(c, run)


def by_dir(entries):
    return {Path(e.dir).name: e for e in entries}


def test_lists_fit_and_compare_runs_with_their_figures(tmp_path):
    run, s = make_run(tmp_path, name="a")
    run_b, _ = make_run(tmp_path, name="b", mode="static", steps=4)
    write_comparison(compare_modes(cfg(), ["static"]), tmp_path)
    entries = catalog.list_runs(tmp_path)
    assert {e.kind for e in entries} == {"run", "compare"}
    a = by_dir(entries)[run.path.name]
    assert (a.name, a.mode, a.status, a.step, a.steps) == ("a", "manual", "completed", 12, 12)
    assert a.final_loss == s.final_loss and a.steps_per_s == pytest.approx(s.steps_per_s)
    assert a.size_bytes > 0 and a.start.startswith(run.path.name[:4])
    [comp] = [e for e in entries if e.kind == "compare"]
    assert comp.mode == "manual,static" and comp.status == "agree" and comp.step == 12
    assert comp.final_loss == pytest.approx(s.final_loss, rel=1e-12)
    # --status and --sort
    assert [e.name for e in catalog.list_runs(tmp_path, status="completed", sort="name")] == ["a", "b"]
    assert catalog.list_runs(tmp_path, status="agree")[0].kind == "compare"
    assert catalog.list_runs(tmp_path, sort="loss")[0].final_loss == min(
        e.final_loss for e in entries if e.final_loss is not None)


def test_new_metrics_layout_and_best_validation_are_read_by_column_name(tmp_path):
    run, _ = make_run(tmp_path)
    run.metrics_path.write_text("step,epoch,loss,val_loss,val_accuracy,elapsed_s\n"
                                "0,0,2.0,2.5,,0.1\n5,1,1.0,1.5,0.5,0.2\n9,2,0.5,1.7,0.75,0.3\n10,2,0.4,,")
    summary = json.loads(run.summary_path.read_text())
    del summary["final_loss"]
    run.summary_path.write_text(json.dumps(summary))
    e = catalog.read_run(run.path)
    assert e.final_loss == 0.5  # the torn last line is not a row
    assert e.best_val == "val_loss 1.5, accuracy 0.5 @ 5" and e.best_val_value == 1.5  # the lowest val_loss's row
    summary.update(best_val_accuracy=0.9, best_step=7, best_val_loss=1.2)
    run.summary_path.write_text(json.dumps(summary))
    assert catalog.read_run(run.path).best_val == "val_loss 1.2, accuracy 0.9 @ 7"
    m = catalog.read_metrics(run.metrics_path)
    assert m.series("val_loss") == ([0.0, 5.0, 9.0], [2.5, 1.5, 1.7]) and m.skipped == 1


def damage(kind, run):
    p = run.path
    if kind == "garbage summary":
        run.summary_path.write_text("{not json")
    elif kind == "summary is a list":
        run.summary_path.write_text("[1, 2]")
    elif kind == "binary summary":
        run.summary_path.write_bytes(b"\x00\xff" * 100)
    elif kind == "huge summary":
        run.summary_path.write_bytes(b" " * (catalog.MAX_SMALL_FILE + 10) + b"{}")
    elif kind == "summary links to /dev/zero":
        run.summary_path.unlink()
        run.summary_path.symlink_to("/dev/zero")
    elif kind == "summary is a fifo":
        run.summary_path.unlink()
        os.mkfifo(run.summary_path)
    elif kind == "config missing":
        run.config_path.unlink()
    elif kind == "binary config":
        run.config_path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    elif kind == "config not yaml":
        run.config_path.write_text("N: [1\n")
    elif kind == "binary metrics":
        run.metrics_path.write_bytes(os.urandom(300) + b"\x00")
        summary = json.loads(run.summary_path.read_text())
        summary.pop("final_loss")
        run.summary_path.write_text(json.dumps(summary))
    elif kind == "metrics is a directory":
        run.metrics_path.unlink()
        run.metrics_path.mkdir()
        run.summary_path.unlink()
    elif kind == "summary missing":
        run.summary_path.unlink()
    return p


DAMAGE = ["garbage summary", "summary is a list", "binary summary", "huge summary", "summary links to /dev/zero",
          "summary is a fifo", "config missing", "binary config", "config not yaml", "binary metrics",
          "metrics is a directory", "summary missing"]


@pytest.mark.group("bad input")
@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_run_is_a_row_not_a_traceback(tmp_path, kind):
    run, _ = make_run(tmp_path)
    damage(kind, run)
    [e] = catalog.list_runs(tmp_path)
    if kind == "summary missing":  # a run killed before its first summary: still a run, figures from metrics
        assert e.kind == "run" and e.status == "no summary" and e.final_loss is not None
    elif kind == "config missing":
        assert e.kind == "unreadable" and "not an autotrain run" in e.error
    else:
        assert e.kind == "unreadable" and e.error, e
    result = invoke("runs", "--runs-dir", tmp_path)
    assert result.exit_code == 0 and result.exception is None, result.output
    assert run.path.name[:20] in result.stdout
    shown = invoke("show", run.path)
    assert shown.exit_code in (0, 2) and "Traceback" not in shown.output
    if shown.exit_code == 0:
        assert "note:" in shown.stderr or kind == "summary missing"


@pytest.mark.group("bad input")
def test_foreign_entries_in_the_runs_folder(tmp_path):
    make_run(tmp_path)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty").mkdir()
    (tmp_path / "other-tool").mkdir()
    (tmp_path / "other-tool" / "events.bin").write_bytes(b"\x00" * 10)
    (tmp_path / "link-out").symlink_to("/etc")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / ".hidden").mkdir()
    entries = by_dir(catalog.list_runs(tmp_path, sort="dir"))
    assert ".hidden" not in entries
    assert entries["notes.txt"].error == "not a directory"
    assert "symbolic link" in entries["link-out"].error and "symbolic link" in entries["dangling"].error
    assert "not an autotrain run" in entries["empty"].error and "not an autotrain run" in entries["other-tool"].error
    result = invoke("runs", "--runs-dir", tmp_path, "--json")
    data = json.loads(result.stdout)
    assert sum(r["kind"] == "unreadable" for r in data["runs"]) == 5 and len(data["runs"]) == 6
    assert invoke("runs", "--runs-dir", tmp_path, "--status", "unreadable").exit_code == 0


def test_symlinked_run_is_not_followed_by_show(tmp_path):
    run, _ = make_run(tmp_path / "real")
    (tmp_path / "alias").symlink_to(run.path)
    result = invoke("show", tmp_path / "alias")
    assert result.exit_code == 2 and "symbolic link" in result.stderr


def test_huge_metrics_file_is_read_up_to_the_limit(tmp_path, monkeypatch):
    run, _ = make_run(tmp_path)
    monkeypatch.setattr(metrics_file, "MAX_METRICS_FILE", 200)
    d = catalog.detail(run.path)
    assert d.metrics[""].truncated and 0 < len(d.metrics[""]) < 12
    assert any("larger than" in p for p in d.problems)


def test_runs_command_errors_and_json(tmp_path):
    assert invoke("runs", "--runs-dir", tmp_path / "missing").exit_code == 2  # a typo is an error...
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:  # ...but before the first fit, the default runs/ does not exist yet: an empty list
        empty = invoke("runs", "--json")
    finally:
        os.chdir(cwd)
    assert empty.exit_code == 0 and json.loads(empty.stdout)["runs"] == []
    bad = invoke("runs", "--runs-dir", tmp_path, "--sort", "speed")
    assert bad.exit_code == 2 and "choose from" in bad.stderr
    run, s = make_run(tmp_path)
    data = json.loads(invoke("runs", "--runs-dir", tmp_path, "--json").stdout)
    [row] = data["runs"]
    assert row["final_loss"] == s.final_loss and row["status"] == "completed" and row["dir"] == str(run.path)


def test_show_run_and_comparison(tmp_path):
    run, s = make_run(tmp_path)
    result = invoke("show", run.path)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "config" in out and "summary" in out and "step-000010.npz" in out and "step-000012.npz" in out
    assert "loss (log scale)" in out
    data = json.loads(invoke("show", run.path, "--json").stdout)
    assert data["summary"]["final_loss"] == s.final_loss and data["config"]["H"] == 4
    assert data["metrics"][""]["columns"]["loss"][-1] == s.final_loss
    assert [c["step"] for c in data["checkpoints"]] == [0, 5, 10, 12]
    c = compare_modes(cfg(), ["autograd"])
    write_comparison(c, tmp_path)
    shown = invoke("show", c.run_dir)
    assert shown.exit_code == 0 and "manual loss" in shown.stdout and "autograd loss" in shown.stdout
    assert invoke("show", tmp_path / "nope").exit_code == 2


def test_terminal_chart_has_no_gaps():
    """A falling curve drawn as a connected line: every column between its ends has a mark (the old grid
    left blank columns where a curve dropped steeply between two logged steps)."""
    from autotrain.cli.display import chart

    steps = [0, 1, 2, 3, 50, 100]
    text = chart({"loss": (steps, [1e4, 1e2, 1e1, 5.0, 1e-2, 1e-6])}, width=60, height=16, color=False)
    rows = [line for line in text.splitlines() if "┤" in line or "│" in line]
    body = [line.split("┤" if "┤" in line else "│", 1)[1] for line in rows]
    plot_rows = [r for r in body if "•" in r and "loss" not in r]
    columns = sorted({i for r in plot_rows for i, ch in enumerate(r) if ch == "•"})
    assert columns and columns == list(range(columns[0], columns[-1] + 1))
    assert "1e+4" in text and "1e-6" in text


def test_a_run_whose_writer_died_is_shown_as_killed(tmp_path):
    run, _ = make_run(tmp_path)
    summary = json.loads(run.summary_path.read_text())
    run.summary_path.write_text(json.dumps({**summary, "status": "running"}))
    assert catalog.read_run(run.path).status == "killed"  # no lock file: nobody writes it
    (run.path / ".autotrain.lock").write_text(f"{os.getpid()}\n")
    assert catalog.read_run(run.path).status == "running"  # a live process holds it
    assert catalog.list_runs(tmp_path, status="running")[0].dir == str(run.path)
