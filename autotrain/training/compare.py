"""``compare-modes``: train one config in several modes from identical arrays and put them side by side.

Nothing here prints.  :func:`compare_modes` returns a :class:`Comparison`; progress goes to an optional
``on_step(mode, step, loss)`` callback.  ``autotrain.store.comparisons`` writes a comparison to a run
directory.

How the numbers are made: every mode starts from the same arrays (``prepare_fit_data``).  Timings come from this
process: each mode first runs ``WARMUP_STEPS`` steps on a throwaway copy (the static mode compiles
there), then the timed run measures every step with ``perf_counter``; the table shows the median.
Peak memory is the most ``tracemalloc`` saw allocated during one step of the warmed-up copy, above
what was allocated before it (a separate step, so tracing never slows the timed run).
"""
from __future__ import annotations

import csv
import math
import os
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

import numpy as np

from autotrain.training.config import FitConfig
from autotrain.modes.names import REFERENCE_FRAMEWORKS
from autotrain.modes.problem import Problem

REFERENCE = "manual"
#: Max relative deviation from ``manual`` still called agreement.  float64 is tight; float32 is loose because
#: the loss falls ~12 orders of magnitude in the seed's 500 steps: late losses are sums of squares of tiny
#: residuals ``y_pred - y``, so one ulp of difference in the weights moves them far more than one ulp.
#: (Measured at the seed's sizes: real PyTorch and JAX stay within 7e-10 (float64) and 1.6e-2 (float32).)
TOLERANCE = {"float64": 1e-8, "float32": 5e-2}
WARMUP_STEPS = 3
AGAINST = REFERENCE_FRAMEWORKS
OnModeStep = Callable[[str, int, float], None]


@dataclass
class ModeResult:
    """One row of the comparison: a mode's trajectory, timing and how far it is from ``manual``."""

    mode: str
    losses: list[float] = field(default_factory=list)
    weights: dict[str, np.ndarray] = field(default_factory=dict)
    step_ms: list[float] = field(default_factory=list)
    peak_bytes: int | None = None
    loss_dev: float = 0.0  # max over steps of |loss - manual's| / |manual's|
    weight_dev: float = 0.0  # max |w - manual's w| / max |manual's w|, after the last step
    first_out: int | None = None  # first step whose loss deviation exceeds the tolerance
    bit_identical: bool = False
    agrees: bool = True
    speed: float | None = None  # manual's median ms/step / this mode's (> 1: faster than manual)

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1] if self.losses else None

    @property
    def diverged_at(self) -> int | None:
        """The first step whose loss is NaN/inf (None: every loss is finite)."""
        return next((t for t, loss in enumerate(self.losses) if not math.isfinite(loss)), None)

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.step_ms) if self.step_ms else None


@dataclass
class Comparison:
    """Every mode's result, the tolerance used and where the files went."""

    cfg: FitConfig
    steps: int
    tolerance: float
    results: list[ModeResult]
    run_dir: Path | None = None
    graph: object | None = None  # the static compiler's Report (with graph=True)
    notes: list[str] = field(default_factory=list)
    data: object | None = None  # the FitData every mode started from (what a saved comparison keeps)

    @property
    def agree(self) -> bool:
        """True when every row that ran agrees with ``manual`` within the tolerance."""
        return all(r.agrees for r in self.results)

    def result(self, mode: str) -> ModeResult:
        return next(r for r in self.results if r.mode == mode)

    @property
    def diverged(self) -> bool:
        """True when every mode's loss became NaN/inf: ``lr`` is too large, nothing else is wrong."""
        return bool(self.results) and all(r.diverged_at is not None for r in self.results)

    @property
    def diverged_at(self) -> int | None:
        """The step where the reference (``manual``) diverged, when every mode did."""
        return self.result(REFERENCE).diverged_at if self.diverged else None


# --------------------------------------------------------------------------- runners
@dataclass
class Runner:
    """One way of training, reduced to what the comparison needs: ``step() -> loss`` and ``weights()``."""

    name: str
    step: Callable[[], float]
    weights: Callable[[], dict]
    mode: object = None  # the autotrain Mode behind it (None for torch/jax)


def mode_runner(name: str, problem: Problem, lr: float, device: str = "cpu") -> Runner:
    """An autotrain mode, started from ``problem``'s arrays (x and y converted once, as in fit)."""
    from autotrain.modes import make_mode

    m = make_mode(name, problem, lr, device)
    x, y = m.prepare(problem.x, problem.y)
    return Runner(name, lambda: m.step(x, y), m.state, m)


def torch_runner(problem: Problem, lr: float) -> Runner:
    """The seed's autograd program in real PyTorch (CPU), from the same arrays."""
    import torch

    # One intra-op thread: torch's idle pool threads spin after each op and, in lockstep timing, steal the
    # CPU from the next mode's step (measured: manual looked 5x slower on 2 cores).
    torch.set_num_threads(1)
    x, y = torch.from_numpy(problem.x.copy()), torch.from_numpy(problem.y.copy())
    w1 = torch.from_numpy(problem.w1.copy()).requires_grad_(True)
    w2 = torch.from_numpy(problem.w2.copy()).requires_grad_(True)

    def step() -> float:
        nonlocal w1, w2  # `w1 -= ...` as the seed writes it rebinds the (same, in-place updated) tensor
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
        return loss.item()

    return Runner("torch", step, lambda: {"w1": w1.detach().numpy().copy(), "w2": w2.detach().numpy().copy()})


def jax_runner(problem: Problem, lr: float) -> Runner:
    """The seed's program in JAX (``jax.value_and_grad`` of the same loss, plain SGD), from the same arrays."""
    import jax

    if problem.x.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)  # otherwise JAX silently computes in float32
    jnp = jax.numpy
    x, y = jnp.asarray(problem.x), jnp.asarray(problem.y)
    state = {"w1": jnp.asarray(problem.w1), "w2": jnp.asarray(problem.w2)}

    def loss_fn(w):
        return jnp.sum((jnp.maximum(x @ w["w1"], 0) @ w["w2"] - y) ** 2)

    value_and_grad = jax.jit(jax.value_and_grad(loss_fn))

    def step() -> float:
        loss, g = value_and_grad(state)
        for k in state:
            state[k] = state[k] - lr * g[k]
        return float(loss)

    return Runner("jax", step, lambda: {k: np.array(v) for k, v in state.items()})


def fit_runner(name: str, spec, data, plan, seed: int, device: str = "cpu") -> Runner:
    """Mode ``name`` training ``spec`` on ``data``'s minibatches in ``fit``'s order (the same for every mode)."""
    from autotrain.training.data import order_rng
    from autotrain.modes import build_mode
    from autotrain.training.train import Batches

    m = build_mode(name, spec, data.params, device)
    batches = Batches(data, plan, m, order_rng(seed), 0)
    counter = iter(range(10**12))
    return Runner(name, lambda: m.step(*batches.get(next(counter))), m.state, m)


def _is_seed_network(cfg: FitConfig) -> bool:
    return (cfg.synthetic and isinstance(cfg.H, int) and not cfg.bias and cfg.activation == "relu"
            and cfg.loss == "sum_squares" and cfg.optimizer == "sgd" and cfg.init == "randn"
            and cfg.weight_decay in (None, 0.0) and cfg.val_fraction == 0 and not cfg.standardize)


def make_runner(name: str, problem: Problem, lr: float, device: str = "cpu") -> Runner:
    """A runner for an autotrain mode, or for ``"torch"`` / ``"jax"`` (ImportError when not installed)."""
    if name == "torch":
        return torch_runner(problem, lr)
    if name == "jax":
        return jax_runner(problem, lr)
    return mode_runner(name, problem, lr, device)


def warm_up(runner: Runner, trace: bool = True) -> int | None:
    """Run ``WARMUP_STEPS`` steps (the static mode compiles here), then trace one step's peak allocation.

    Returns the most bytes ``tracemalloc`` saw allocated during that step above what was allocated
    before it, or None without ``trace`` (torch/jax allocate outside Python's allocator).
    """
    with np.errstate(all="ignore"):
        for _ in range(WARMUP_STEPS):
            runner.step()
        if not trace:
            return None
        was_tracing = tracemalloc.is_tracing()
        if not was_tracing:
            tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            runner.step()
            return max(int(tracemalloc.get_traced_memory()[1] - base), 0)
        finally:
            if not was_tracing:
                tracemalloc.stop()


def run_lockstep(runners: list[Runner], steps: int, on_step: OnModeStep | None = None) -> list[ModeResult]:
    """Step every runner once per round, timing each step: load changes on a shared machine hit all alike."""
    results = [ModeResult(r.name) for r in runners]
    clock = time.perf_counter
    with np.errstate(all="ignore"):
        for t in range(steps):
            for runner, result in zip(runners, results):
                t0 = clock()
                loss = runner.step()
                result.step_ms.append((clock() - t0) * 1e3)
                result.losses.append(loss)
                if on_step is not None:
                    on_step(runner.name, t, loss)
            if all(r.diverged_at is not None for r in results):  # every mode diverged: more steps say nothing
                break
    for runner, result in zip(runners, results):
        result.weights = runner.weights()
    return results


# --------------------------------------------------------------------------- deviations
def _relative(values, reference) -> np.ndarray:
    values, reference = np.asarray(values, np.float64), np.asarray(reference, np.float64)
    return np.abs(values - reference) / np.maximum(np.abs(reference), np.finfo(np.float64).tiny)


def assess(result: ModeResult, reference: ModeResult, tolerance: float) -> None:
    """Fill in ``result``'s deviations from ``reference`` and whether it agrees within ``tolerance``."""
    with np.errstate(all="ignore"):  # NaN/inf losses of a diverged run are compared, not warned about
        _assess(result, reference, tolerance)


def _assess(result: ModeResult, reference: ModeResult, tolerance: float) -> None:
    n = min(len(result.losses), len(reference.losses))
    dev = _relative(result.losses[:n], reference.losses[:n])
    bad = np.flatnonzero(~(dev <= tolerance))  # NaN counts as out of tolerance
    result.loss_dev = float(dev.max()) if n else 0.0
    result.first_out = int(bad[0]) if bad.size else None
    scale = max(float(np.max(np.abs(w))) for w in reference.weights.values()) if reference.weights else 1.0
    devs = [float(np.max(np.abs(result.weights[k].astype(np.float64) - w.astype(np.float64)))) / max(scale, 1e-300)
            for k, w in reference.weights.items()]
    result.weight_dev = max(devs, default=0.0)
    result.bit_identical = (result.losses == reference.losses and
                            all(np.array_equal(result.weights[k], w) for k, w in reference.weights.items()))
    weights_ok = math.isfinite(result.weight_dev) and result.weight_dev <= tolerance
    result.agrees = result.first_out is None and weights_ok and len(result.losses) == len(reference.losses)
    ref_ms, ms = reference.median_ms, result.median_ms
    result.speed = ref_ms / ms if ref_ms and ms else None


# --------------------------------------------------------------------------- the whole comparison
def compare_modes(cfg: FitConfig, modes=None, steps: int | None = None, on_step: OnModeStep | None = None, *,
                  against=(), graph: bool = False) -> Comparison:
    """Train ``cfg`` in each of ``modes`` (default: all four) from identical data and weights, and compare.

    ``manual`` is always run: it is the reference every deviation is measured from.  ``against``
    adds rows for the seed in real ``"torch"`` / ``"jax"`` (a note instead when not installed).  ``graph`` keeps the static compiler's report (node counts per pass, fused groups,
    DOT).  Nothing is written: ``autotrain.store.comparisons.write_comparison`` saves a comparison.

    >>> from autotrain.training.config import FitConfig
    >>> c = compare_modes(FitConfig(N=8, D_in=5, H=4, D_out=3, steps=5, dtype="float64", lr=1e-3),
    ...                   ["autograd"])
    >>> [r.mode for r in c.results], c.agree
    (['manual', 'autograd'], True)
    """
    from autotrain.modes import MODES

    from autotrain.modes.base import spec_from_config
    from autotrain.training.train import FitPlan, resolve_data

    names = _mode_list(modes, MODES)
    if "custom-relu" in names and cfg.activation != "relu":
        names.remove("custom-relu")
        skipped = f"custom-relu skipped: it trains ReLU networks only (this config has activation {cfg.activation!r})"
    else:
        skipped = None
    cfg, data = resolve_data(cfg)
    spec = spec_from_config(cfg, data.D_in, data.D_out)
    plan = FitPlan.of(cfg, data)
    steps = plan.steps if steps is None else steps
    problem = Problem(data.x_train, data.y_train, data.params.get("w1"), data.params.get("w2"))
    comparison = Comparison(cfg, steps, TOLERANCE[cfg.dtype], [])
    if skipped:
        comparison.notes.append(skipped)
    runners, peaks = [], []
    for name in names + [a for a in dict.fromkeys(against)]:
        if name not in MODES and not _is_seed_network(cfg):
            comparison.notes.append(f"--against {name} runs the seed's network only (synthetic data, one hidden "
                                    "ReLU layer, no bias, sum of squares, sgd); skipped")
            continue
        build = (lambda: fit_runner(name, spec, data, plan, cfg.seed, cfg.device)) if name in MODES else (
            lambda: make_runner(name, problem, cfg.lr, cfg.device))
        try:
            spare = build()  # a throwaway copy for warm-up and memory
        except ImportError:
            comparison.notes.append(f"{name} is not installed (pip install {name}); skipped --against {name}")
            continue
        peaks.append(warm_up(spare, trace=name in MODES))
        if graph and name == "static":
            comparison.graph = static_report(spare.mode, problem)
        runners.append(build())
    comparison.results = run_lockstep(runners, steps, on_step)
    for result, peak in zip(comparison.results, peaks):
        result.peak_bytes = peak
    reference = comparison.result(REFERENCE)
    for r in comparison.results:
        assess(r, reference, comparison.tolerance)
    if graph and "static" not in names:
        comparison.notes.append("--show-graph needs the static mode in --modes")
    comparison.data = data
    return comparison


def mode_names(modes=None) -> list[str]:
    """The modes a comparison runs: ``modes`` (names, or comma-separated lists) in order, unknown names
    refused with ValueError, ``manual`` first (it is the reference); every mode when ``modes`` is empty."""
    from autotrain.modes import MODES

    return _mode_list(modes, MODES)


def _mode_list(modes, known) -> list[str]:
    names = list(known) if not modes else [m.strip() for part in modes for m in part.split(",") if m.strip()]
    unknown = [m for m in names if m not in known]
    if unknown:
        raise ValueError(f"unknown mode {unknown[0]!r}; choose from {', '.join(known)}")
    names = list(dict.fromkeys(names))
    return [REFERENCE] + [m for m in names if m != REFERENCE]


def static_report(mode, problem: Problem):
    """The static compiler's report (instr counts per pass, fused groups, DOT) for the graph the mode trains."""
    return mode.explain(*mode.prepare(problem.x, problem.y))


COLUMNS = ("mode", "final_loss", "max_loss_rel_dev", "max_weight_rel_dev", "first_step_out_of_tol",
           "bit_identical", "agrees", "median_ms_per_step", "speed_vs_manual", "peak_step_bytes", "diverged_at")


def rows(comparison: Comparison) -> list[dict]:
    """The comparison table as plain values (comparison.csv and the terminal table use these)."""
    return [{"mode": r.mode, "final_loss": r.final_loss, "max_loss_rel_dev": r.loss_dev,
             "max_weight_rel_dev": r.weight_dev, "first_step_out_of_tol": r.first_out,
             "bit_identical": r.bit_identical, "agrees": r.agrees, "median_ms_per_step": r.median_ms,
             "speed_vs_manual": r.speed, "peak_step_bytes": r.peak_bytes, "diverged_at": r.diverged_at}
            for r in comparison.results]


#: What Ctrl-C/SIGTERM and an OS error leave of a comparison (it keeps no checkpoint).
INTERRUPTED = ("interrupted before the comparison was complete; compare-modes keeps no checkpoint, so there "
               "is nothing to resume: run it again")
KEPT = "the comparison was not completely written (compare-modes keeps no checkpoint): run it again"


def lower_lr_line(comparison: Comparison) -> str:
    """One line for a comparison where every mode diverged, with a learning rate worth trying."""
    steps = sorted({r.diverged_at for r in comparison.results})
    where = f"at step {steps[0]}" if len(steps) == 1 else f"at steps {steps[0]}..{steps[-1]}"
    return f"diverged {where} in every mode: lower lr (try --set lr={comparison.cfg.lr / 10:.3g})"


def to_dict(comparison: Comparison) -> dict:
    """The table's rows, the verdict and where the files went, as JSON data (NaN/inf as their repr)."""
    def plain(v):
        return v if not isinstance(v, float) or math.isfinite(v) else repr(v)  # JSON has no NaN/inf

    c = comparison
    return {"config": c.cfg.model_dump(), "steps": c.steps, "tolerance": c.tolerance,
            "agree": c.agree and not c.diverged, "diverged": c.diverged, "diverged_at": c.diverged_at,
            "rows": [{k: plain(v) for k, v in row.items()} for row in rows(c)], "notes": c.notes,
            "run_dir": None if c.run_dir is None else str(c.run_dir)}


def check_against(against) -> list[str]:
    """The ``against`` names, each one of AGAINST (ValueError naming the first that is not)."""
    bad = [a for a in against or () if a not in AGAINST]
    if bad:
        raise ValueError(f"--against {bad[0]!r}: choose from {', '.join(AGAINST)}")
    return list(against or ())


__all__ = ["compare_modes", "Comparison", "to_dict", "lower_lr_line", "check_against", "INTERRUPTED", "KEPT",
           "ModeResult", "TOLERANCE", "REFERENCE", "AGAINST", "rows", "assess", "Runner", "make_runner", "warm_up",
           "run_lockstep", "static_report", "COLUMNS"]
