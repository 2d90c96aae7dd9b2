"""The checks behind ``autotrain gradcheck``: every gradient autotrain computes, against central finite
differences and against each other.  Nothing here prints: :func:`run_checks` returns a :class:`GradcheckReport`.

What is checked (each a named *task*; ``only`` selects tasks by name):

* ``op:<name>`` -- every case each differentiable op of ``OPS`` declares (broadcasting, scalar operands),
  the full Jacobian by backward passes vs finite differences (``engine.gradcheck``).
* ``grad2:<name>`` -- the same cases' second derivatives: the Jacobian of the vector-Jacobian product
  that ``backward(create_graph=True)`` records (``engine.gradcheck.vjp_function``), with respect to each
  input and to the output weights ``v#<k>``, vs finite differences of that product; and
  ``grad2:MyReLU`` the custom Function's (its backward is made of differentiable tensor ops).
* ``function:MyReLU`` -- the custom-relu mode's ``autograd.Function`` vs finite differences, on inputs
  kept ``KINK_MARGIN`` away from 0 so no central difference straddles the kink; and
  ``function:MyReLU-kink`` -- its gradient *at* 0 (a convention, not a derivative: finite differences
  would give 0.5) vs ``clamp(min=0)``'s, the rule the other modes use (the gradient passes at 0).
* ``loss:<mode>`` -- d loss / d w1 and d w2 of the two-layer net as each mode's own ``step()`` computes
  it (one SGD step with lr = 1: the gradient is ``w_before - w_after``), vs finite differences of the
  loss and vs ``manual``'s hand-written backward.
* ``static:passes`` -- the static graph's symbolic gradient nodes evaluated as built (no passes) vs
  after the compiler's optimisation passes.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterator

import numpy as np

from autotrain.modes.names import MODE_NAMES
from autotrain.training.data import Problem, make_problem

DEFAULT_SIZES = {"N": 4, "D_in": 5, "H": 4, "D_out": 3}  # small: full Jacobians in well under a second
MAX_ENTRIES = 128  # with a CONFIG, at most this many finite-difference entries per weight (seeded sample)
KINK_MARGIN = 0.05  # samples of ReLU inputs are at least this far from 0 (>> eps)
#: Default (eps, atol, rtol) per dtype.  float32 has 7 significant digits: a central difference with eps 1e-3
#: is good to ~1e-3 relative, so the pass rule is 1e-2 (every default check passes with a margin); the loss
#: rows' finite differences are always taken in float64 from the same float32 numbers.
DEFAULTS = {"float64": (1e-6, 1e-5, 1e-3), "float32": (1e-3, 1e-2, 1e-2)}
FLOAT32_ADVICE = ("float32: finite differences in single precision need looser tolerances (defaults for float32: "
                  "--eps 1e-3 --atol 1e-2 --rtol 1e-2); a float64 run is the stricter check")


class NoMatch(ValueError):
    """``only`` matches no check."""


def validate(eps: float, atol: float, rtol: float) -> None:
    """ValueError naming the option when a setting cannot give a meaningful check."""
    import math

    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"--eps {eps!r}: expected a finite step > 0 (e.g. 1e-6 for float64, 1e-3 for float32)")
    for name, value in (("--atol", atol), ("--rtol", rtol)):
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} {value!r}: expected a finite tolerance >= 0")


@dataclass(frozen=True)
class Check:
    """One row: one check of one input. ``result`` is None when the check could not run (``error``)."""

    name: str
    input: str
    shapes: str
    dtype: str
    result: object | None  # engine.gradcheck.GradientComparison
    worst: str = ""  # the worst entry, in the input's (and output's) coordinates
    compared: int = 0  # entries compared
    total: int = 0  # entries there are
    against: str = "finite diff"
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and self.result is not None and self.result.passed


@dataclass
class GradcheckReport:
    """Every row of a gradcheck run, and the settings that produced them."""

    rows: list[Check]
    dtype: str
    eps: float
    atol: float
    rtol: float
    sizes: dict
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.rows) and all(r.passed for r in self.rows)


@dataclass(frozen=True)
class Settings:
    dtype: str
    eps: float
    atol: float
    rtol: float
    problem: Problem
    max_entries: int | None  # None: every Jacobian entry
    seed: int = 0


# --------------------------------------------------------------------------- helpers
def _shape(shape) -> str:
    return "(" + ",".join(str(n) for n in shape) + ")"


def _index(idx: tuple) -> str:
    return "[" + ",".join(str(i) for i in idx) + "]"


def _row(name, input_, shapes, s: Settings, ana, num, against="finite diff", total=None, where=None):
    """Compare two flat arrays with the pass rule; ``where(k)`` turns the worst flat position into text."""
    from autotrain.engine.gradcheck import compare

    result = compare(np.ravel(ana), np.ravel(num), s.atol, s.rtol)
    k = result.worst_index[0] if result.worst_index else 0
    return Check(name, input_, shapes, s.dtype, result, where(k) if where else _index((k,)), result.entries,
                 result.entries if total is None else total, against)


def _failed(name, input_, shapes, s: Settings, exc: BaseException) -> Check:
    return Check(name, input_, shapes, s.dtype, None, error=f"{type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- ops and the custom Function
def _jacobian_rows(name: str, fn: Callable, inputs: tuple, s: Settings, shapes: str) -> Iterator[Check]:
    """One row per differentiable input: the backward Jacobian vs the finite-difference one."""
    from autotrain.engine.gradcheck import analytical_jacobian, numerical_jacobian
    from autotrain.engine.tensor import Tensor

    for i, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        ana = analytical_jacobian(fn, inputs, i)[0]
        num = numerical_jacobian(fn, inputs, i, s.eps)[0]
        in_shape, out_shape = tuple(t.shape), tuple(fn(*inputs).shape)

        def where(k, in_shape=in_shape, out_shape=out_shape, cols=ana.shape[1]):
            row, col = divmod(k, cols)
            inner = _index(np.unravel_index(col, in_shape))
            return f"in{inner}" if not out_shape else f"out{_index(np.unravel_index(row, out_shape))} in{inner}"

        yield _row(name, f"#{i}", shapes, s, ana, num, where=where)


def _op_task(case, s: Settings) -> Callable[[], Iterator[Check]]:
    def run():
        inputs = case.make_inputs(np.random.default_rng(s.seed), np.dtype(s.dtype))
        yield from _jacobian_rows(f"op:{case.op_name}", case.fn, inputs, s, case.label)
    return run


def _second_order_rows(name: str, fn: Callable, inputs: tuple, s: Settings, shapes: str) -> Iterator[Check]:
    """One row per (gradient, variable) pair: the recorded backward's Jacobian vs finite differences of it."""
    from autotrain.engine.gradcheck import analytical_jacobian, numerical_jacobian, vjp_function
    from autotrain.engine.tensor import Tensor

    vjp, variables = vjp_function(fn, inputs, seed=s.seed)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    labels = [f"#{i}" for i in range(len(inputs))] + [f"v#{k}" for k in range(len(variables) - len(inputs))]
    for i, t in enumerate(variables):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        anas, nums = analytical_jacobian(vjp, variables, i), numerical_jacobian(vjp, variables, i, s.eps)
        for j, (ana, num) in enumerate(zip(anas, nums)):
            yield _row(name, f"d grad#{wrt[j]} / d {labels[i]}", shapes, s, ana, num)


def _op2_task(case, s: Settings) -> Callable[[], Iterator[Check]]:
    def run():
        inputs = case.make_inputs(np.random.default_rng(s.seed), np.dtype(s.dtype))
        yield from _second_order_rows(f"grad2:{case.op_name}", case.fn, inputs, s, case.label)
    return run


def _my_relu_second_order_rows(s: Settings) -> Iterator[Check]:
    import autotrain.engine as torch
    from autotrain.modes.custom_relu import my_relu

    values = _away_from_kink(np.random.default_rng(s.seed).standard_normal((3, 4)))
    x = torch.tensor(values.astype(s.dtype), requires_grad=True)
    relu = my_relu()
    yield from _second_order_rows("grad2:MyReLU", lambda v: relu.apply(v) * v, (x,), s, "(3,4)")


def _away_from_kink(values: np.ndarray) -> np.ndarray:
    # Same convention as the op sweep: no central difference may straddle ReLU's kink at 0.
    return np.sign(values) * (KINK_MARGIN + np.abs(values))


def _my_relu_rows(s: Settings) -> Iterator[Check]:
    import autotrain.engine as torch
    from autotrain.modes.custom_relu import my_relu

    values = _away_from_kink(np.random.default_rng(s.seed).standard_normal((3, 4)))
    x = torch.tensor(values.astype(s.dtype), requires_grad=True)
    yield from _jacobian_rows("function:MyReLU", my_relu().apply, (x,), s, "(3,4)")


def _my_relu_kink_rows(s: Settings) -> Iterator[Check]:
    """MyReLU's gradient at exactly 0 vs clamp(min=0)'s: a convention every mode must share."""
    import autotrain.engine as torch
    from autotrain.engine.gradcheck import analytical_jacobian
    from autotrain.modes.custom_relu import my_relu

    x = torch.tensor(np.array([-1.0, 0.0, 1.0], dtype=s.dtype), requires_grad=True)
    mine = np.diag(analytical_jacobian(my_relu().apply, (x,), 0)[0])
    clamp = np.diag(analytical_jacobian(lambda t: t.clamp(min=0), (x,), 0)[0])
    yield _row("function:MyReLU-kink", "x=[-1,0,1]", "(3,)", s, mine, clamp,
               against="clamp(min=0)", where=lambda k: f"in[{k}] (x={x.tolist()[k]:g})")


# --------------------------------------------------------------------------- the two-layer loss
class LossOracle:
    """Finite-difference and per-mode gradients of ``sum((relu(x @ w1) @ w2 - y)**2)``, each computed once."""

    def __init__(self, s: Settings):
        self.s = s
        self._grads: dict[str, dict[str, np.ndarray]] = {}

    def entries(self, name: str) -> np.ndarray:
        """The flat entries of weight ``name`` that finite differences perturb (all, or a seeded sample)."""
        size = getattr(self.s.problem, name).size
        if self.s.max_entries is None or size <= self.s.max_entries:
            return np.arange(size)
        rng = np.random.default_rng(self.s.seed + (name == "w2"))
        return np.sort(rng.choice(size, self.s.max_entries, replace=False))

    @cached_property
    def numerical(self) -> dict[str, np.ndarray]:
        """{weight: d loss / d weight at ``entries(weight)``} by central differences."""
        import autotrain.engine as torch
        from autotrain.engine.gradcheck import numerical_jacobian

        # Always in float64, from the very same (possibly float32) numbers: a float32 loss of thousands has
        # an ulp near 1e-3, so float32 differences would measure rounding, not the gradient.
        p = Problem(*(a.astype(np.float64) for a in self.s.problem))
        x, y = torch.from_numpy(p.x.copy()), torch.from_numpy(p.y.copy())
        weights = (torch.tensor(p.w1), torch.tensor(p.w2))

        def loss(w1, w2):
            return (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum()

        return {name: numerical_jacobian(loss, weights, i, self.s.eps, self.entries(name))[0][0, self.entries(name)]
                for i, name in enumerate(("w1", "w2"))}

    def mode_gradient(self, mode: str) -> dict[str, np.ndarray]:
        """{weight: gradient} as ``mode``'s own step computes it: one SGD step with lr=1, ``w_before - w_after``.

        With lr=1 the subtraction ``w - 1*g`` rounds once, so the recovered gradient is exact to
        about one ulp of ``max(|w|, |g|)``.
        """
        if mode not in self._grads:
            from autotrain.modes import make_mode

            p = self.s.problem
            m = make_mode(mode, p, lr=1.0)
            before = m.state()
            m.step(*m.prepare(p.x, p.y))
            after = m.state()
            self._grads[mode] = {k: before[k].astype(np.float64) - after[k].astype(np.float64) for k in before}
        return self._grads[mode]


def _weight_where(shape):
    return lambda k: f"{_index(np.unravel_index(k, shape))}"


def _loss_rows(mode: str, oracle: LossOracle) -> Iterator[Check]:
    """``mode``'s gradient vs finite differences, then (for modes other than manual) vs manual's."""
    s = oracle.s
    grads = oracle.mode_gradient(mode)
    for name in ("w1", "w2"):
        shape = getattr(s.problem, name).shape
        idx = oracle.entries(name)
        yield _row(f"loss:{mode}", name, _shape(shape), s, grads[name].ravel()[idx], oracle.numerical[name],
                   total=int(np.prod(shape)), where=lambda k, shape=shape, idx=idx: _index(
                       np.unravel_index(idx[k], shape)))
    if mode != "manual":
        reference = oracle.mode_gradient("manual")
        for name in ("w1", "w2"):
            shape = getattr(s.problem, name).shape
            yield _row(f"loss:{mode}", name, _shape(shape), s, grads[name], reference[name],
                       against="manual", where=_weight_where(shape))


# --------------------------------------------------------------------------- static: before vs after the passes
def _static_pass_rows(s: Settings) -> Iterator[Check]:
    """The symbolic gradient nodes run by the reference interpreter (no passes) vs by a compiled Session."""
    before, after = static_gradients(s.problem)
    for name in ("w1", "w2"):
        shape = getattr(s.problem, name).shape
        yield _row("static:passes", name, _shape(shape), s, after[name], before[name],
                   against="no passes", where=_weight_where(shape))


def static_gradients(problem: Problem) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """({w: gradient} evaluated as built, {w: gradient} after the optimisation passes) for ``problem``."""
    import autotrain.engine.static as tf
    from autotrain.engine.static.interpret import evaluate
    from autotrain.engine.static.lower import lower

    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(problem.x.dtype, shape=problem.x.shape)
        y = tf.placeholder(problem.y.dtype, shape=problem.y.shape)
        w1, w2 = tf.Variable(problem.w1.copy()), tf.Variable(problem.w2.copy())
        loss = tf.reduce_sum((tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2) - y) ** 2)
        grads = tf.gradients(loss, [w1, w2])
        init = tf.global_variables_initializer()
    feeds = {x: problem.x, y: problem.y}
    program = lower(graph, grads, {k: v.shape for k, v in feeds.items()})
    raw = evaluate(program, feeds, {w1: problem.w1.copy(), w2: problem.w2.copy()})
    with tf.Session(graph=graph) as sess:
        sess.run(init)
        optimised = sess.run(grads, feed_dict=feeds)
    return (dict(zip(("w1", "w2"), (np.asarray(g, np.float64) for g in raw))),
            dict(zip(("w1", "w2"), (np.asarray(g, np.float64) for g in optimised))))


# --------------------------------------------------------------------------- tasks and the runner
def tasks(s: Settings) -> list[tuple[str, Callable[[], Iterator[Check]]]]:
    """Every check as (name, run), in table order; ``run()`` yields its rows."""
    from autotrain.engine.gradcheck import op_cases

    found = [(f"op:{c.op_name}", _op_task(c, s)) for c in op_cases()]
    found += [(f"grad2:{c.op_name}", _op2_task(c, s)) for c in op_cases()]
    found.append(("grad2:MyReLU", lambda: _my_relu_second_order_rows(s)))
    found += [("function:MyReLU", lambda: _my_relu_rows(s)), ("function:MyReLU-kink", lambda: _my_relu_kink_rows(s))]
    oracle = LossOracle(s)
    found += [(f"loss:{m}", lambda m=m: _loss_rows(m, oracle)) for m in MODE_NAMES]
    found.append(("static:passes", lambda: _static_pass_rows(s)))
    return found


def matches(name: str, pattern: str | None) -> bool:
    """``--only``: a glob (``op:*``, ``loss:static``) or, without wildcards, a substring (``relu``)."""
    if not pattern:
        return True
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(name, pattern)
    return pattern.lower() in name.lower()


def run_checks(cfg=None, dtype: str = "float64", eps: float | None = None, atol: float | None = None,
               rtol: float | None = None, only: str | None = None, max_entries: int = MAX_ENTRIES) -> GradcheckReport:
    """Run every check (those matching ``only``) and return their rows.

    ``eps``/``atol``/``rtol`` default to ``DEFAULTS[dtype]``; a non-finite or non-positive ``eps`` or a
    negative tolerance raises ValueError, and an ``only`` that matches nothing raises :class:`NoMatch`.
    Without ``cfg`` the two-layer checks use ``DEFAULT_SIZES`` and every Jacobian entry; with a
    ``FitConfig`` they use its sizes and seed (the dtype stays ``dtype``) and finite differences
    perturb at most ``max_entries`` entries of each weight, a seeded random sample.

    >>> report = run_checks(only="loss:manual")
    >>> report.passed, [r.input for r in report.rows]
    (True, ['w1', 'w2'])
    """
    d_eps, d_atol, d_rtol = DEFAULTS[dtype]
    eps, atol, rtol = (d_eps if eps is None else eps), (d_atol if atol is None else atol), (d_rtol if rtol is None else rtol)
    validate(eps, atol, rtol)
    sizes = dict(DEFAULT_SIZES) if cfg is None else {k: getattr(cfg, k) for k in DEFAULT_SIZES}
    seed = 0 if cfg is None else cfg.seed
    s = Settings(dtype, eps, atol, rtol, make_problem(**sizes, dtype=dtype, seed=seed),
                 None if cfg is None else max_entries, seed)
    report = GradcheckReport([], dtype, eps, atol, rtol, sizes)
    if dtype != "float64":
        report.warnings.append(FLOAT32_ADVICE)
    selected = [(name, run) for name, run in tasks(s) if matches(name, only)]
    if not selected:
        raise NoMatch(f"--only {only!r} matches no check (names look like op:matmul, grad2:matmul, "
                      "function:MyReLU, loss:static, static:passes)")
    with np.errstate(all="ignore"):
        for name, run in selected:
            report.rows.extend(_safe(name, run, s))
    report.notes.append(_kink_note())
    if cfg is not None:
        report.notes.append(f"sizes from the config (N={sizes['N']}, D_in={sizes['D_in']}, H={sizes['H']}, "
                            f"D_out={sizes['D_out']}); loss rows perturb at most {max_entries} entries per "
                            "weight (a seeded random sample; 'entries' says how many)")
    return report


def _safe(name: str, run, s: Settings) -> list[Check]:
    """The rows of one task; a task that raises becomes one failed row saying why (the others still run)."""
    try:
        return list(run())
    except Exception as exc:  # noqa: BLE001 - a broken check is a failed row, not a crash of the whole table
        return [_failed(name, "-", "-", s, exc)]


def _kink_note() -> str:
    return (f"ReLU kink: finite differences never sample x = 0 (inputs are kept >= {KINK_MARGIN} from it); the "
            "gradient at 0 is a convention (it passes, as in clamp(min=0) and manual's grad_h[h < 0] = 0), "
            "checked by function:MyReLU-kink")


#: What Ctrl-C/SIGTERM and an OS error leave of a gradcheck (it writes nothing).
INTERRUPTED = "interrupted; gradcheck writes nothing, so nothing is lost"
KEPT = "gradcheck writes nothing"


def is_seed_network(cfg) -> bool:
    """Whether ``cfg`` is the network the loss checks differentiate: synthetic data, one hidden ReLU layer,
    no bias, sum of squares."""
    return (cfg.synthetic and isinstance(cfg.H, int) and not cfg.bias and cfg.activation == "relu"
            and cfg.loss == "sum_squares")


def gradcheck(config=None, dtype: str = "float64", eps: float | None = None, atol: float | None = None,
              rtol: float | None = None, only: str | None = None) -> GradcheckReport:
    """``autotrain gradcheck``: :func:`run_checks` at the sizes and seed of the config file ``config`` (or the
    default sizes), after refusing (UsageError) a dtype, tolerance, config or pattern it cannot check."""
    from autotrain.training.config import check_resources, load_config
    from autotrain.training.usage import UsageError

    if dtype not in DEFAULTS:
        raise UsageError(f"--dtype {dtype!r}: choose float32 or float64")
    try:
        validate(*(d if v is None else v for v, d in zip((eps, atol, rtol), DEFAULTS[dtype])))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    cfg = load_config(config, check=False) if config is not None else None
    if cfg is not None and not is_seed_network(cfg):
        raise UsageError(f"gradcheck CONFIG checks the seed's network (synthetic data, one hidden ReLU layer, no "
                         f"bias, sum of squares); {config} describes another (H={cfg.H}, activation "
                         f"{cfg.activation}, loss {cfg.loss}, data {'synthetic' if cfg.synthetic else 'a file'}). "
                         "Run autotrain gradcheck without CONFIG for every op; tests/test_fit_models.py checks "
                         "every loss, activation and depth against finite differences")
    if cfg is not None:
        check_resources(cfg.model_copy(update={"dtype": dtype}), str(config), "gradcheck", runners=4)
    try:
        return run_checks(cfg, dtype=dtype, eps=eps, atol=atol, rtol=rtol, only=only)
    except NoMatch as exc:
        raise UsageError(str(exc)) from None


__all__ = ["gradcheck", "is_seed_network", "INTERRUPTED", "KEPT", "Check", "GradcheckReport", "run_checks",
           "tasks", "matches", "static_gradients", "LossOracle", "DEFAULT_SIZES", "MAX_ENTRIES", "FLOAT32_ADVICE",
           "DEFAULTS", "NoMatch", "validate"]
