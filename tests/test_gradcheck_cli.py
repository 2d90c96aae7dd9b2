"""`autotrain gradcheck` through the CLI: a table row per check and input, exit 1 when a backward is wrong."""
import numpy as np
import pytest
from typer.testing import CliRunner

from autotrain.training.checks import run_checks
from autotrain.cli import app
from autotrain.engine.ops import OPS

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["gradcheck", *args])


def test_default_run_passes_and_prints_the_rule_once():
    result = invoke()
    assert result.exit_code == 0, result.output
    assert result.output.count("|analytical - numerical| <= atol + rtol * |numerical|") == 1
    for name in ("op:matmul", "op:add", "function:MyReLU-kink", "loss:manual", "loss:static", "static:passes"):
        assert name in result.output
    assert "FAIL" not in result.output and "all passed" in result.output


def test_a_wrong_op_backward_fails_and_marks_its_rows(monkeypatch):
    def wrong(ctx, xp, g):  # d(a*b)/da should be g*b
        a, b = ctx.inputs
        return g * b * 1.5, g * a

    monkeypatch.setattr(OPS["mul"], "backward", staticmethod(wrong))
    result = invoke("--only", "op:mul")
    assert result.exit_code == 1, result.output
    rows = [line for line in result.output.splitlines() if "op:mul" in line]
    assert any("#0" in line and "FAIL" in line for line in rows)
    assert all("pass" in line for line in rows if "#1" in line)  # only the wrong input's rows fail


def test_wrong_custom_function_and_a_wrong_mode_are_caught(monkeypatch):
    import autotrain.modes.manual as manual

    original = manual.ManualMode.step

    def off_by_a_bit(self, x, y):  # a "hand-written backward" that drifts: the update is 1% too large
        w1 = self.params["w1"]
        before = w1.copy()
        loss = original(self, x, y)
        w1 += (w1 - before) * 0.01
        return loss

    monkeypatch.setattr(manual.ManualMode, "step", off_by_a_bit)
    report = run_checks(only="loss:*")
    failed = {(r.name, r.input, r.against) for r in report.rows if not r.passed}
    assert ("loss:manual", "w1", "finite diff") in failed
    assert ("loss:autograd", "w1", "manual") in failed  # the modes disagree with each other, too
    assert ("loss:autograd", "w1", "finite diff") not in failed


def test_only_selects_checks_and_no_match_fails():
    assert {r.name for r in run_checks(only="relu").rows} == {"op:relu", "function:MyReLU", "function:MyReLU-kink",
                                                               "loss:custom-relu", "grad2:relu", "grad2:MyReLU"}
    result = invoke("--only", "no-such-check")
    assert result.exit_code == 2 and "matches no check" in result.stderr


def test_float32_warns_that_tolerances_must_be_looser():
    result = invoke("--dtype", "float32", "--eps", "1e-3", "--atol", "1e-2", "--rtol", "1e-2", "--only", "loss:*")
    assert "float32" in result.output and "looser tolerances" in result.output


def test_config_sizes_sample_jacobian_entries(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("N: 8\nD_in: 30\nH: 10\nD_out: 2\n")
    result = invoke(str(cfg), "--only", "loss:autograd", "--wide")  # the entries column is one a narrow table drops
    assert result.exit_code == 0, result.output
    assert "128 of 300" in result.output and "(30,10)" in result.output  # w1 sampled; w2 (20 entries) full
    assert "sizes from the config" in result.output


def test_bad_dtype_is_bad_input():
    assert invoke("--dtype", "float16").exit_code == 2


@pytest.mark.parametrize("mode", ["manual", "autograd", "custom-relu", "static"])
def test_each_mode_gradient_matches_finite_differences(mode):
    report = run_checks(only=f"loss:{mode}")
    assert report.passed and {r.input for r in report.rows} == {"w1", "w2"}
    assert np.isfinite([r.result.max_abs_err for r in report.rows]).all()


def test_second_order_rows_cover_every_op_case_and_catch_a_wrong_second_derivative(monkeypatch):
    from autotrain.engine.gradcheck import op_cases
    from autotrain.engine.ops import OPS

    report = run_checks(only="grad2:*")
    assert report.passed
    assert {r.name for r in report.rows} == {f"grad2:{c.op_name}" for c in op_cases()} | {"grad2:MyReLU"}
    tanh = OPS["tanh"]

    def first_order_only(ctx, xp, g):  # right values, but the saved output taken as a constant
        y = ctx.output.detach() if hasattr(ctx.output, "detach") else ctx.output
        return (g * (1.0 - y * y),)

    monkeypatch.setattr(tanh, "backward", staticmethod(first_order_only))
    assert run_checks(only="op:tanh").passed
    broken = run_checks(only="grad2:tanh")
    assert not broken.passed
    assert {r.input for r in broken.rows if not r.passed} == {"d grad#0 / d #0"}
