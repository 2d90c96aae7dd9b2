"""store/metrics.py is the one writer and reader of metrics.csv: what it writes reads back bit for bit."""
from __future__ import annotations

import ast
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autotrain.store import metrics
from autotrain.store.files import UnreadableError

ROOT = Path(__file__).resolve().parent.parent / "autotrain"
floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([math.inf, -math.inf, 5e-324, -0.0])


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(floats, st.none() | floats, st.none() | floats, st.none() | st.integers(0, 10**6)),
                max_size=20))
def test_a_table_reads_back_bit_for_bit(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("m") / "metrics.csv"
    path.write_text(metrics.HEADER)
    with metrics.MetricsWriter(path) as w:
        for step, (loss, val_loss, val_acc, epoch) in enumerate(rows):
            w.write(step, loss, 0.25 * step, epoch, val_loss, val_acc)
    m = metrics.read_metrics(path)
    assert m.skipped == 0 and len(m) == len(rows)
    for got, (loss, val_loss, val_acc, epoch) in zip(m.rows(), rows):
        assert bits(got["loss"]) == bits(loss)
        assert got["epoch"] == epoch
        assert (got["val_loss"] is None) == (val_loss is None)
        assert val_loss is None or bits(got["val_loss"]) == bits(val_loss)
        assert (got["val_accuracy"] is None) == (val_acc is None)
    assert m.column("step") == list(range(len(rows))) and all(type(s) is int for s in m.column("step"))


def test_metrics_text_is_what_the_writer_appends(tmp_path):
    rows = [{"step": 0, "loss": 0.1 + 0.2, "elapsed_s": 1 / 3}, {"step": 1, "epoch": 0, "loss": 2.5, "val_loss": 1e-300,
                                                                  "val_accuracy": 0.5, "elapsed_s": 2.0}]
    path = tmp_path / "metrics.csv"
    path.write_text(metrics.HEADER)
    with metrics.MetricsWriter(path) as w:
        for r in rows:
            w.write_row(r)
    assert path.read_text() == metrics.metrics_text(rows) == (
        "step,epoch,loss,val_loss,val_accuracy,elapsed_s\n"
        "0,,0.30000000000000004,,,0.333333\n1,0,2.5,1e-300,0.5,2.000000\n")


def test_the_first_layout_torn_lines_and_foreign_rows():
    m = metrics.parse_metrics("step,loss,elapsed_s,extra\n0,1.5,0.1,7\nx,1,2,3\n1,,0.2,\n2,1,2\n,1,2,3\n3,0.5,0.3,1")
    assert m.tuples("step", "loss", "epoch") == [(0, 1.5, None), (1, None, None)]
    assert m.skipped == 4  # a non-integer step, a short row, a row without a step, the torn last line
    assert m.rows()[0] == {"step": 0, "epoch": None, "loss": 1.5, "val_loss": None, "val_accuracy": None,
                           "elapsed_s": 0.1, "extra": 7.0}
    assert m.last("loss") == 1.5 and m.series("loss") == ([0], [1.5])
    with pytest.raises(UnreadableError, match="no 'step' column"):
        metrics.parse_metrics("loss,elapsed_s\n1,2\n")


def test_a_comparison_mode_table_has_the_same_columns(tmp_path):
    """compare-modes' per-mode metrics.csv is written by the same writer, in the same schema."""

    from autotrain.store.comparisons import _write_metrics
    from autotrain.training.compare import ModeResult

    result = ModeResult("manual", losses=[2.0, 1.0 / 3.0], step_ms=[1.5, 2.5])
    _write_metrics(tmp_path / "manual" / "metrics.csv", result)
    m = metrics.read_metrics(tmp_path / "manual" / "metrics.csv")
    assert tuple(m.columns) == metrics.COLUMNS
    assert m.tuples("step", "loss", "elapsed_s") == [(0, 2.0, 0.0015), (1, 1.0 / 3.0, 0.004)]


def test_no_other_module_parses_or_formats_metrics_csv():
    """The columns are spelled in store/metrics.py only: another module naming them in a string is a second writer
    or reader (a header literal, a hand-made "step,loss" line)."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if path.name == "metrics.py" and path.parent.name == "store":
            continue
        tree = ast.parse(path.read_text())
        scopes = (ast.Module, ast.FunctionDef, ast.ClassDef)
        docs = {id(n.body[0].value) for n in ast.walk(tree)  # a docstring may describe the file
                if isinstance(n, scopes) and n.body and isinstance(n.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs and (
                    "step,loss" in node.value or "step,epoch" in node.value):
                offenders.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    assert offenders == []
