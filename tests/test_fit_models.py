"""Any-depth MLPs, every loss, activation and optimizer -- manual's hand-written backward against
finite differences, its optimizer steps against hand-derived numbers (and real torch.optim when installed),
and the four modes against manual on every shipped config."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

from autotrain.training.config import load_config
from autotrain.modes import MODES, ModelSpec, OptimizerSpec, build_mode, make_mode
from autotrain.store.runs import create_run
from autotrain.training.train import fit, is_logged, problem_for, run_steps

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p for p in (ROOT / "configs").glob("*.yaml") if not p.name.startswith("sweep_"))  # sweep_*: sweeps
# two_layer_<mode>.yaml are two_layer.yaml with another mode: the same network, so one of them stands for all
NETWORKS = [p for p in CONFIGS if not p.stem.startswith("two_layer_")]
LOSSES, ACTIVATIONS = ("sum_squares", "mse", "cross_entropy"), ("relu", "tanh", "sigmoid")
OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw")


def problem(spec, rows=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, spec.sizes[0]))
    y = rng.integers(0, spec.sizes[-1], rows) if spec.classify else rng.standard_normal((rows, spec.sizes[-1]))
    params = {k: rng.standard_normal(s) * 0.7 for k, s in spec.param_shapes().items()}
    return x, y, params


# ------------------------------------------------------------------ manual's backward vs finite differences
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("hidden", [(), (4,), (5, 3)])
def test_manual_backward_matches_finite_differences(loss, activation, hidden):
    spec = ModelSpec((3, *hidden, 4), activation, bias=True, loss=loss)
    x, y, params = problem(spec)
    m = build_mode("manual", spec, params)

    def loss_at(p):
        m.load_state(p)
        return m._loss(m._forward(x)[0], y)[0]

    m.load_state(params)
    out, hidden_acts = m._forward(x)
    grads = m._backward(x, m._loss(out, y)[1], hidden_acts)
    eps = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus, minus = {k: v.copy() for k, v in params.items()}, {k: v.copy() for k, v in params.items()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            numeric[idx] = (loss_at(plus) - loss_at(minus)) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-7, err_msg=name)


# ------------------------------------------------------------------ optimizer steps by hand
def one_weight_steps(name, grads, w0=1.0, **kw):
    """Manual mode on a 1x1 linear model whose gradient we control: the weights after each step."""
    spec = ModelSpec((1, 1), optimizer=OptimizerSpec(name, **kw))
    m = build_mode("manual", spec, {"w1": np.array([[w0]])})
    out = []
    for g in grads:
        m._update({"w1": np.array([[g]])})
        out.append(float(m.params["w1"][0, 0]))
    return out


def test_optimizer_steps_match_hand_derived_values():
    g = [0.5, -1.0, 2.0]
    # sgd with weight decay 0.1: w -= lr * (g + 0.1 w)
    w, want = 1.0, []
    for gi in g:
        w -= 0.1 * (gi + 0.1 * w)
        want.append(w)
    assert one_weight_steps("sgd", g, lr=0.1, weight_decay=0.1) == pytest.approx(want, rel=1e-15)
    # momentum 0.9: buf = g (first step), then 0.9 buf + g
    assert one_weight_steps("momentum", g, lr=0.1, momentum=0.9) == pytest.approx(
        [1 - 0.05, 0.95 - 0.1 * (0.45 - 1.0), 1.005 - 0.1 * (0.9 * -0.55 + 2.0)], rel=1e-15)
    # adam, step 1: m = 0.1 g, v = 0.001 g^2, update = lr * (m / 0.1) / (sqrt(v / 0.001) + eps) = lr * g / (|g| + eps)
    [w1] = one_weight_steps("adam", [0.5], lr=0.01, eps=1e-8)
    assert w1 == pytest.approx(1 - 0.01 * 0.5 / (0.5 + 1e-8), rel=1e-15)
    # adamw decays first: w * (1 - lr * wd), then the same adam step
    [w1] = one_weight_steps("adamw", [0.5], lr=0.01, eps=1e-8, weight_decay=0.1)
    assert w1 == pytest.approx(1 * (1 - 0.001) - 0.01 * 0.5 / (0.5 + 1e-8), rel=1e-15)
    # rmsprop, step 1: sq = 0.01 g^2, w -= lr g / (sqrt(sq) + eps)
    [w1] = one_weight_steps("rmsprop", [0.5], lr=0.01, alpha=0.99, eps=1e-8)
    assert w1 == pytest.approx(1 - 0.01 * 0.5 / (0.05 + 1e-8), rel=1e-15)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_match_real_torch_optim(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    w0, grads = rng.standard_normal((3, 2)), rng.standard_normal((25, 3, 2))
    kw = dict(lr=0.05, weight_decay=0.03)
    spec = ModelSpec((3, 2), optimizer=OptimizerSpec(name, **kw, momentum=0.8, alpha=0.9, betas=(0.8, 0.95),
                                                     eps=1e-6))
    m = build_mode("manual", spec, {"w1": w0})
    p = torch.tensor(w0.copy(), requires_grad=True)
    opt = {"sgd": lambda: torch.optim.SGD([p], **kw),
           "momentum": lambda: torch.optim.SGD([p], momentum=0.8, **kw),
           "rmsprop": lambda: torch.optim.RMSprop([p], alpha=0.9, eps=1e-6, **kw),
           "adam": lambda: torch.optim.Adam([p], betas=(0.8, 0.95), eps=1e-6, **kw),
           "adamw": lambda: torch.optim.AdamW([p], betas=(0.8, 0.95), eps=1e-6, **kw)}[name]()
    for g in grads:
        m._update({"w1": g})
        p.grad = torch.tensor(g.copy())
        opt.step()
    np.testing.assert_allclose(m.params["w1"], p.detach().numpy(), rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------ every mode, every combination
ENGINE_MODES = [m for m in MODES if m != "manual"]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("loss", LOSSES)
def test_every_mode_agrees_with_manual_on_losses_outputs_and_state(loss, optimizer):
    activation = {"sum_squares": "relu", "mse": "tanh", "cross_entropy": "sigmoid"}[loss]
    spec = ModelSpec((4, 5, 3, 3), activation, bias=True, loss=loss,
                     optimizer=OptimizerSpec(optimizer, 0.02, weight_decay=0.01))
    x, y, params = problem(spec, rows=7, seed=2)
    ref = build_mode("manual", spec, params)
    want = [ref.step(*ref.prepare(x, y)) for _ in range(6)]
    want_eval = ref.evaluate(*ref.prepare(x, y))
    for name in ENGINE_MODES:
        if name == "custom-relu" and activation != "relu":
            continue
        m = build_mode(name, spec, params)
        got = [m.step(*m.prepare(x, y)) for _ in range(6)]
        np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)
        loss_val, out = m.evaluate(*m.prepare(x, y))
        assert loss_val == pytest.approx(want_eval[0], rel=1e-12)
        np.testing.assert_allclose(out, want_eval[1], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(m.predict(x), want_eval[1], rtol=1e-10, atol=1e-12)
        for k, v in ref.optimizer_state().items():
            np.testing.assert_allclose(m.optimizer_state()[k], v, rtol=1e-10, atol=1e-14, err_msg=f"{name} {k}")
        # a fresh mode loaded with this state continues exactly as the original
        again = build_mode(name, spec, params)
        again.load_state(m.state(), m.optimizer_state())
        assert again.step(*again.prepare(x, y)) == m.step(*m.prepare(x, y))


def test_custom_relu_refuses_other_activations():
    spec = ModelSpec((2, 3, 1), "tanh")
    with pytest.raises(ValueError, match="custom-relu' trains ReLU networks only"):
        build_mode("custom-relu", spec, problem(spec)[2])


# ------------------------------------------------------------------ shipped configs: four modes, every metric
def metric_rows(run):
    return [(r["step"], r["epoch"], r["loss"], r["val_loss"], r["val_accuracy"]) for r in run.read_metrics().rows()]


def assert_rows_close(got, want, rtol):
    assert [r[:2] for r in got] == [r[:2] for r in want]
    for a, b in zip(got, want):
        for u, v in zip(a[2:], b[2:]):
            assert (u is None) == (v is None)
            if u is not None:
                assert math.isclose(u, v, rel_tol=rtol, abs_tol=0), (a, b)


def test_every_shipped_config_is_covered():
    assert {load_config(p, check=False).model_copy(update={"mode": "manual", "name": "x"}).config_hash()
            for p in CONFIGS} == {load_config(p, check=False).model_copy(update={"mode": "manual", "name": "x"})
                                  .config_hash() for p in NETWORKS}


@pytest.mark.parametrize("config", NETWORKS, ids=lambda p: p.stem)
def test_four_modes_agree_on_every_logged_metric_of_each_shipped_config(config, tmp_path):
    """float64, the first 12 steps (truncated: whole runs are the slow tier's), every column of metrics.csv."""
    cfg = load_config(config, check=False).model_copy(update={"epochs": None, "steps": 12, "dtype": "float64",
                                                              "log_every": 1, "checkpoint_every": 1000})
    tables = {}
    for mode in MODES:
        if mode == "custom-relu" and cfg.activation != "relu":
            continue
        c = cfg.model_copy(update={"mode": mode})
        run = create_run(c, tmp_path / mode)
        assert fit(c, run).status == "completed"
        tables[mode] = metric_rows(run)
    assert len(tables["manual"]) == 12
    for mode, rows in tables.items():
        assert_rows_close(rows, tables["manual"], 1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("config", NETWORKS, ids=lambda p: p.stem)
def test_four_modes_agree_on_whole_runs_of_each_shipped_config(config, tmp_path):
    cfg = load_config(config, check=False).model_copy(update={"dtype": "float64"})
    from autotrain.training.train import resolve_data
    cfg, data = resolve_data(cfg)
    tables = {}
    for mode in MODES:
        if mode == "custom-relu" and cfg.activation != "relu":
            continue
        c = cfg.model_copy(update={"mode": mode})
        run = create_run(c, tmp_path / mode)
        assert fit(c, run, data=data).status == "completed"
        tables[mode] = metric_rows(run)
    for mode, rows in tables.items():
        assert_rows_close(rows, tables["manual"], 1e-9)


# ------------------------------------------------------------------ the seed config, bit for bit
SEED_CONFIG = ROOT / "configs" / "two_layer.yaml"
# float64, from real PyTorch (tools/seed_loss_table.py): true on any machine to its stored rtol
SEED_ANCHOR = json.loads((ROOT / "tests" / "data" / "seed_loss_tables.json").read_text())


def seed_reference(cfg, steps):
    """The seed's training, frozen: its arrays and its step exactly as autotrain's manual mode computed them
    by the tutorial's numpy program (commit 1737de7).  Every step's loss and the final weights.

    Independent of autotrain's code, and computed in the test's own process: float32 bits depend on the
    BLAS kernel and thread count (step 0 is 31519526.0 with two OpenBLAS threads, 31519524.0 with one), so
    the bit-for-bit claim is "every mode computes what this computes here", on any machine.
    """
    rng = np.random.default_rng(cfg.seed)
    x, y, w1, w2 = (rng.standard_normal(shape).astype(cfg.dtype)
                    for shape in ((cfg.N, cfg.D_in), (cfg.N, cfg.D_out), (cfg.D_in, cfg.H), (cfg.H, cfg.D_out)))
    losses = []
    for _ in range(steps):
        h = x.dot(w1)
        h_relu = np.maximum(h, 0)
        y_pred = h_relu.dot(w2)
        losses.append(float(np.square(y_pred - y).sum()))
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h_relu.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_h[h < 0] = 0  # clamp(min=0): the gradient passes where h == 0
        grad_w1 = x.T.dot(grad_h)
        w1 -= cfg.lr * grad_w1
        w2 -= cfg.lr * grad_w2
    return losses, {"w1": w1, "w2": w2}


def logged_table(cfg, losses):
    """[step, repr(loss)] for the steps metrics.csv logs: repr round-trips, so equal strings are equal bits."""
    return [[t, repr(loss)] for t, loss in enumerate(losses) if is_logged(t, cfg.steps, cfg.log_every)]


def test_seed_reference_is_the_tutorial_program_pytorch_runs():
    """The frozen reference in float64 against the table real PyTorch made (a tolerance: summation order)."""
    cfg = load_config(SEED_CONFIG, ["dtype=float64"])
    losses, _ = seed_reference(cfg, cfg.steps)
    got = [[t, loss] for t, loss in enumerate(losses) if is_logged(t, cfg.steps, cfg.log_every)]
    assert [t for t, _ in got] == [t for t, _ in SEED_ANCHOR["losses"]]
    for (t, loss), (_, want) in zip(got, SEED_ANCHOR["losses"]):
        assert math.isclose(loss, want, rel_tol=SEED_ANCHOR["rtol"], abs_tol=0), (t, loss, want)


@pytest.mark.parametrize("mode", list(MODES))
def test_seed_config_is_the_seed_program_bit_for_bit_in_every_mode(mode):
    """All 500 float32 steps of configs/two_layer.yaml: every loss and the final weights equal the frozen
    reference's bits (static with the default compiler: its rounding-changing rewrites are opt-in)."""
    cfg = load_config(SEED_CONFIG, [f"mode={mode}"])
    assert cfg.dtype == "float32"
    want_losses, want_weights = seed_reference(cfg, cfg.steps)
    m = make_mode(mode, problem_for(cfg), cfg.lr)
    x, y = m.prepare(*problem_for(cfg)[:2])
    losses = [m.step(x, y) for _ in range(cfg.steps)]
    assert [repr(v) for v in losses] == [repr(v) for v in want_losses]
    for name, want in want_weights.items():
        got = m.state()[name]
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), name


@pytest.mark.parametrize("steps", [101, pytest.param(500, marks=pytest.mark.slow)])
@pytest.mark.parametrize("mode", list(MODES))
def test_seed_config_keeps_its_loss_table_bit_for_bit_through_fit(mode, steps, tmp_path):
    """The same through fit's loop, as the CLI runs it: metrics.csv's loss column, repr for repr (the first
    101 steps; the config's 500 in the slow tier)."""
    cfg = load_config(SEED_CONFIG, [f"mode={mode}", f"steps={steps}"])
    want = logged_table(cfg, seed_reference(cfg, cfg.steps)[0])
    assert logged_table(cfg, run_steps(mode, problem_for(cfg), cfg.lr, cfg.steps)) == want
    run = create_run(cfg, tmp_path)
    fit(cfg, run)
    assert [[s, repr(loss)] for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")] == want


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
def test_digits_config_reaches_95_percent_in_every_mode(mode, tmp_path):
    cfg = load_config(ROOT / "configs" / "digits.yaml", [f"mode={mode}"])
    from autotrain.training.train import resolve_data
    cfg, data = resolve_data(cfg)
    s = fit(cfg, create_run(cfg, tmp_path), data=data)
    assert s.status == "completed" and s.best_val_accuracy >= 0.95
    assert metric_rows(open_run_of(s))[-1][4] >= 0.95


def open_run_of(summary):
    from autotrain.store.runs import open_run
    return open_run(summary.run_dir)
