"""display.py: the progress callback and the sampled loss table."""
import io

from rich.console import Console

from autotrain.cli import display


def test_progress_reports_step_loss_and_rate(monkeypatch):
    out = io.StringIO()
    fake = Console(file=out, force_terminal=True, width=120)
    monkeypatch.setattr(display, "err_console", lambda: fake)
    with display.progress(50) as on_step:
        for step in range(50):
            on_step(step, 1.0 / (step + 1))
    text = out.getvalue()
    assert "step     50/50" in text and "loss 0.02" in text and "steps/s" in text


def test_progress_is_a_no_op_when_quiet():
    with display.progress(10, quiet=True) as on_step:
        assert on_step is None


def test_table_sample_keeps_first_last_and_stays_short():
    rows = [(i, float(i), 0.0) for i in range(1000)]
    sample = display._sample(rows)
    assert sample[:3] == rows[:3] and sample[-1] == rows[-1] and len(sample) <= display.MAX_TABLE_ROWS
    assert display._sample(rows[:10]) == rows[:10]
