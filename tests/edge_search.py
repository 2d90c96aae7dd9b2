"""A differential search of the engine against PyTorch over ops x edge values, written once for both.

A *case* is a JSON-able dict: an op name from :data:`UNARY`, :data:`BINARY` or :data:`FOUND` and its
operands, each a tensor ``{"dtype", "shape", "values"}`` or a Python number.  :func:`run` executes a
case on a framework (real ``torch`` or ``autotrain.engine``) and returns a record: the result's dtype,
shape and values (or the error's class), and for float inputs the gradient of ``out.sum()``.
:func:`differences` compares two records: dtypes, shapes, values to a tolerance with NaNs equal and
the sign of every zero, and which side raised.

* :func:`random_cases` draws ops x edge values (inf, -inf, nan, -0.0, 1e+-300, 0-d and empty shapes,
  float32/float64/int/uint8/bool) from a seed; ``tests/test_edge_vectors.py`` runs a large draw live
  against torch in the slow tier;
* :data:`FOUND` are the cases where the search (or the differential probes of the engine's edges)
  found the engine answering differently from PyTorch without an error; they are fixed, and
  ``tools/gen_edge_vectors.py`` stores PyTorch's answers to them and to a fixed draw in
  ``tests/vectors/edges.npz`` so the default tier checks them without torch.

Nothing here imports torch or the engine at module level.
"""
from __future__ import annotations

import math
import random

import numpy as np

INF, NAN = math.inf, math.nan

FLOAT_VALUES = (0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, INF, -INF, NAN, 1e300, -1e300, 1e-300, 2.0)
INT_VALUES = (0, 1, -1, 2, -3, 7, 100, -128)
#: float32's own extremes in place of 1e+-300 (which it cannot hold): its largest and a subnormal
FLOAT32_VALUES = tuple({1e300: 3e38, -1e300: -3e38, 1e-300: 1e-40}.get(v, v) for v in FLOAT_VALUES)
VALUES = {"float32": FLOAT32_VALUES, "float64": FLOAT_VALUES, "int64": INT_VALUES + (2 ** 62,),
          "int32": INT_VALUES + (2 ** 31 - 1,), "uint8": (0, 1, 2, 7, 200, 255), "bool": (True, False)}
DTYPES = tuple(VALUES)
SHAPES = ((), (0,), (1,), (3,), (2, 3))
SCALARS = (0, 1, -1, 2, 3, 0.5, -0.5, 2.5, -0.0, INF, NAN, True, False, 2 ** 40)

#: name -> fn(t, x): unary ops and reductions, in PyTorch's names
UNARY = {
    "abs": lambda t, x: x.abs(), "neg": lambda t, x: -x, "sign": lambda t, x: x.sign(),
    "exp": lambda t, x: x.exp(), "log": lambda t, x: x.log(), "sqrt": lambda t, x: x.sqrt(),
    "relu": lambda t, x: x.relu(), "sigmoid": lambda t, x: x.sigmoid(), "tanh": lambda t, x: x.tanh(),
    "sin": lambda t, x: x.sin(), "cos": lambda t, x: x.cos(), "floor": lambda t, x: x.floor(),
    "ceil": lambda t, x: x.ceil(), "round": lambda t, x: x.round(), "trunc": lambda t, x: x.trunc(),
    "square": lambda t, x: x.square(), "pow2": lambda t, x: x ** 2, "pow3": lambda t, x: x ** 3,
    "pow0": lambda t, x: x ** 0, "pow_half": lambda t, x: x ** 0.5, "pow_neg1": lambda t, x: x ** -1,
    "pow_neg_half": lambda t, x: x ** -0.5, "pow_neg2": lambda t, x: x ** -2, "rpow2": lambda t, x: 2 ** x,
    "clamp_min": lambda t, x: x.clamp(min=0.5), "clamp_max": lambda t, x: x.clamp(max=0), "clip": lambda t, x: x.clip(-1, 1),
    "sum": lambda t, x: x.sum(), "mean": lambda t, x: x.mean(), "amax": lambda t, x: x.amax(),
    "amin": lambda t, x: x.amin(), "max": lambda t, x: x.max(), "min": lambda t, x: x.min(),
    "max_dim": lambda t, x: x.max(0)[0], "min_dim": lambda t, x: x.min(0)[0], "argmax": lambda t, x: x.argmax(),
    "argmax_dim": lambda t, x: x.argmax(0), "sum_dim": lambda t, x: x.sum(0), "mean_dim": lambda t, x: x.mean(0),
    "var": lambda t, x: x.var(), "std": lambda t, x: x.std(), "softmax": lambda t, x: x.softmax(0),
    "log_softmax": lambda t, x: x.log_softmax(0), "isnan": lambda t, x: x.isnan(), "isinf": lambda t, x: x.isinf(),
    "isfinite": lambda t, x: x.isfinite(), "logical_not": lambda t, x: x.logical_not(), "invert": lambda t, x: ~x,
    "mul_self": lambda t, x: x * x, "where_pos": lambda t, x: t.where(x > 0, x, x.log()),
    "index_mask": lambda t, x: x[x > 0], "reshape": lambda t, x: x.reshape(-1), "t": lambda t, x: x.t(),
    "clone": lambda t, x: x.clone(), "float": lambda t, x: x.float(), "long": lambda t, x: x.long(),
    "bool": lambda t, x: x.bool(), "double": lambda t, x: x.double(),
}

#: name -> fn(t, a, b): binary ops (b may be a Python number)
BINARY = {
    "add": lambda t, a, b: a + b, "radd": lambda t, a, b: b + a, "sub": lambda t, a, b: a - b,
    "rsub": lambda t, a, b: b - a, "mul": lambda t, a, b: a * b, "div": lambda t, a, b: a / b,
    "rdiv": lambda t, a, b: b / a, "floordiv": lambda t, a, b: a // b, "mod": lambda t, a, b: a % b,
    "pow": lambda t, a, b: a ** b, "rpow": lambda t, a, b: b ** a, "maximum": lambda t, a, b: t.maximum(a, b),
    "minimum": lambda t, a, b: t.minimum(a, b), "fmax": lambda t, a, b: t.fmax(a, b),
    "fmin": lambda t, a, b: t.fmin(a, b), "eq": lambda t, a, b: a == b, "lt": lambda t, a, b: a < b,
    "ge": lambda t, a, b: a >= b, "and": lambda t, a, b: a & b, "or": lambda t, a, b: a | b,
    "xor": lambda t, a, b: a ^ b, "where": lambda t, a, b: t.where(a > 0, a, b),
    "clamp_t": lambda t, a, b: a.clamp(min=b), "clip_t": lambda t, a, b: t.clip(a, max=b),
}

#: binary ops whose second operand PyTorch takes only as a Tensor (the engine also takes a number)
TENSOR_ONLY = ("maximum", "minimum", "fmax", "fmin")

#: the cases the differential search and probes found disagreeing (each fixed): name -> (fn, operands, doc)
FOUND: dict = {}


def found(*operands, doc: str):
    """Register ``fn(t, *tensors)`` as a found case over ``operands`` (tensor specs or numbers)."""
    def register(fn):
        FOUND[fn.__name__] = (fn, operands, doc)
        return fn
    return register


def T(values, dtype="float64", grad=True):
    """A tensor operand: nested ``values`` of ``dtype``; float ones require grad unless ``grad=False``."""
    shape = list(np.asarray(values, dtype=object if dtype == "bool" else None).shape)
    return {"dtype": dtype, "shape": shape, "values": values, "grad": grad and dtype.startswith("float")}


# ------------------------------------------------------------------ found: optional tensor arguments
@found(T([0.0, 1.0, 2.0, 3.0]), T([0.5, 0.5, 2.5, 2.0]), T([2.0, 0.7, 2.6, 2.5]), doc="clamp(x, Tensor, Tensor): "
       "the bounds got no gradient")
def clamp_tensor_bounds(t, x, lo, hi): return t.clamp(x, lo, hi) * t.tensor([1.0, 2.0, 3.0, 4.0], dtype=x.dtype)


@found(T([0.0, 1.0, 5.0]), T([3.0, 3.0, 3.0]), T([1.0, 1.0, 1.0]), doc="clamp with min > max: max wins, "
       "and gets the gradient")
def clamp_min_above_max(t, x, lo, hi): return x.clamp(lo, hi)


@found(T([0.0, 1.0, 2.0]), T([[0.5], [1.5]]), doc="clamp(min=Tensor) broadcasts x to the bound's shape")
def clamp_tensor_broadcast(t, x, lo): return x.clamp(min=lo)


@found(T([0, 1, 5], "int64"), T([1.5, 1.0, 1.0], "float32"), doc="clamp of int64 by a float32 bound: float32")
def clamp_int_by_float_tensor(t, x, lo): return x.clamp(min=lo)


@found(T([0.0, 1.0, 2.0]), T([0.5, 0.5, 2.5]), doc="clamp(min=Tensor, max=number): PyTorch refuses")
def clamp_tensor_and_number(t, x, lo): return x.clamp(min=lo, max=2.0)


@found(T([0.2, 0.7]), T([1.0, 2.0]), doc="binary_cross_entropy(weight=Tensor requiring grad): PyTorch refuses")
def bce_weight_requires_grad(t, x, w): return t.nn.functional.binary_cross_entropy(x, t.tensor([0.0, 1.0], dtype=x.dtype), weight=w)


@found(T([[1.0, 2.0, 0.5], [0.0, 1.0, 3.0]]), T([1.0, 2.0, 3.0]), doc="cross_entropy(weight=Tensor requiring "
       "grad): PyTorch refuses")
def cross_entropy_weight_requires_grad(t, x, w): return t.nn.functional.cross_entropy(x, t.tensor([0, 2]), weight=w)


@found(T([0.2, -0.7]), T([3.0, 0.5]), doc="binary_cross_entropy_with_logits(pos_weight=Tensor requiring grad): "
       "PyTorch refuses")
def bce_logits_pos_weight_requires_grad(t, x, pw):
    return t.nn.functional.binary_cross_entropy_with_logits(x, t.tensor([0.3, 1.0], dtype=x.dtype), pos_weight=pw)


# ------------------------------------------------------------------ found: indexing
@found(T([1.0, 2.0, 3.0]), T([1, 0, 1], "uint8"), doc="a uint8 index is a mask (engine: integer indices)")
def uint8_mask(t, x, m): return x[m]


@found(T([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]), T([1, 0], "uint8"), doc="a uint8 mask over the first dimension")
def uint8_mask_rows(t, x, m): return x[m] * 2


@found(T([1.0, 2.0, 3.0], grad=False), T([1, 0, 1], "uint8"), doc="x[uint8_mask] = number: PyTorch refuses")
def uint8_mask_assign_number(t, x, m):
    x[m] = 0.0
    return x


@found(T([1.0, 2.0, 3.0], grad=False), T([1, 0, 1], "uint8"), doc="x[uint8_mask] = values: a masked assignment")
def uint8_mask_assign_values(t, x, m):
    x[m] = t.tensor([5.0, 6.0], dtype=x.dtype)
    return x


@found(T([1.0, 2.0, 3.0]), T([2, 1], "int32"), doc="int32 indices are accepted")
def int32_index(t, x, i): return x[i]


@found(T([[0.0, 1.0], [2.0, 3.0]]), doc="x[[]]: no rows (engine: refused as a float index)")
def empty_list_index(t, x): return x[[]]


# ------------------------------------------------------------------ found: integer and bool arithmetic
@found(T([0, 1, -1, 2, -2], "int64"), T([-1, -1, -1, -1, -3], "int64"), doc="int ** negative int Tensor: 0 unless "
       "the base is 1 or -1 (only a negative Python exponent raises)")
def int_pow_negative_tensor(t, a, b): return a ** b


@found(T([-1, 2], "int64"), doc="2 ** int Tensor with a negative exponent")
def number_pow_negative_int_tensor(t, b): return 2 ** b


@found(T([1], "int32"), doc="int32 + 2**40: the number wraps to int32, as PyTorch (engine: OverflowError)")
def int32_plus_large_number(t, a): return a + 2 ** 40


@found(T([5], "uint8"), doc="uint8 * -1 wraps (engine: OverflowError)")
def uint8_times_negative(t, a): return a * -1


@found(T([5.0, -5.0, 0.0, -0.0]), doc="float % negative: a zero remainder keeps the dividend's sign")
def float_remainder_zero_sign(t, a): return (a % -3) * 1


@found(T([True, False], "bool"), doc="abs of bool: PyTorch has no kernel")
def bool_abs(t, a): return a.abs()


@found(T([True, False], "bool"), doc="relu of bool: PyTorch refuses (engine: int64)")
def bool_relu(t, a): return a.relu()


@found(T([True, False], "bool"), doc="square of bool is int64 (engine: int8)")
def bool_square(t, a): return a.square()


@found(T([True, False], "bool"), doc="sign of bool is bool (engine: an error)")
def bool_sign(t, a): return a.sign()


@found(T([True, False], "bool"), doc="round of bool: PyTorch has no kernel (engine: float16)")
def bool_round(t, a): return a.round()


# ------------------------------------------------------------------ found: edge values
@found(T([-0.0, 0.0, -1.0, NAN]), doc="relu(-0.0) is -0.0")
def relu_negative_zero(t, x): return x.relu()


@found(T([0.0, -0.0, -1.0, INF, -INF, NAN]), doc="x ** 0.5's gradient at -0.0 is -inf and at -inf nan "
       "(PyTorch's sqrt and rsqrt for the exponents 0.5 and -0.5)")
def pow_half_gradient(t, x): return x ** 0.5


@found(T([0.0, -0.0, 1.0, NAN]), doc="sign(nan) is 0")
def sign_nan(t, x): return x.sign()


@found(T([1.0, NAN, 3.0, NAN]), doc="max() of a tensor with NaNs: the gradient is shared among the NaNs")
def max_nan_gradient(t, x): return x.max()


# ------------------------------------------------------------------ found: what PyTorch refuses
@found(T([0.0, 1.0, 2.0]), doc="detach_() on a view: PyTorch refuses")
def detach_in_place_on_a_view(t, x):
    return (x * 1)[1:].detach_()


@found(T([0.0, 1.0, 2.0, 3.0]), doc="an in-place change of a split() output: PyTorch refuses")
def split_output_changed_in_place(t, x):
    return (x * 1).split(2)[0].mul_(2)


@found(T([0.0, 1.0, 2.0, 3.0]), doc="an assignment into a chunk() output: PyTorch refuses")
def chunk_output_assigned(t, x):
    piece = (x * 1).chunk(2)[1]
    piece[0] = 5.0
    return piece


@found(T([0.0, 1.0, 2.0, 3.0], grad=False), doc="split() outputs of a tensor that needs no grad change freely")
def split_output_changed_without_grad(t, x):
    x.split(2)[0].mul_(2)
    return x


@found(T([0.0, 0.0, 0.0]), doc=".grad of the wrong shape: PyTorch refuses")
def grad_of_wrong_shape(t, x):
    x.grad = t.zeros(2, dtype=x.dtype)
    return x.grad


@found(T([0.0, 0.0, 0.0]), doc=".grad of the wrong dtype: PyTorch refuses")
def grad_of_wrong_dtype(t, x):
    x.grad = t.zeros(3, dtype=t.float32)
    return x.grad


@found(T([0.0, 0.0, 0.0]), doc=".grad = a list: PyTorch refuses")
def grad_not_a_tensor(t, x):
    x.grad = [1.0, 2.0, 3.0]
    return x.grad


@found(T([1, 2], "int32"), doc="where(cond, int32, 2**40): PyTorch refuses the overflow (engine: int64)")
def where_number_overflows(t, a): return t.where(a > 1, a, 2 ** 40)


@found(T([2, 3], "uint8"), doc="uint8 < 256: the number wraps to 0 (engine: True)")
def uint8_compared_with_256(t, a): return a < 256


@found(T([2, 3], "uint8"), doc="uint8.fill_(-1) is 255")
def uint8_fill_negative(t, a): return a.fill_(-1)


@found(T([2, 3], "int32"), doc="int32.fill_(2**40): PyTorch refuses")
def int32_fill_overflows(t, a): return a.fill_(2 ** 40)


@found(T([2, 3], "int32"), doc="int32.add_(2**40) wraps")
def int32_add_in_place_wraps(t, a): return a.add_(2 ** 40)


@found(T([2, 3, 0], "uint8"), doc="uint8.clamp(min=-1): the bound is 255")
def uint8_clamp_negative_bound(t, a): return a.clamp(min=-1)


@found(T([2, 3], "int32"), doc="int32 ** 2**40: PyTorch refuses the exponent")
def int_pow_huge_exponent(t, a): return a ** 2 ** 40


@found(T([], "int64"), doc="an empty int ** -1: PyTorch refuses even with no elements")
def empty_int_pow_negative(t, a): return a ** -1


@found(T([], "int32"), doc="an empty int // 0: nothing is divided, PyTorch raises nothing")
def empty_int_floor_divide_zero(t, a): return a // 0


@found(T([1, 2], "int64"), doc="softmax of int64: PyTorch has no kernel (engine: float)")
def int_softmax(t, a): return a.softmax(0)


@found(T([[True, False], [False, True]], "bool"), doc="max(dim) of bool (engine: argmax refused)")
def bool_max_dim(t, a): return a.max(0)[0]


@found(T([1.0, 2.0]), T([True, False], "bool"), doc="float ** bool tensor: PyTorch's backward refuses")
def float_pow_bool_tensor(t, a, b): return a ** b


@found(T([0.5, -1.5]), doc="x.long() of a tensor requiring grad needs no grad (engine: recorded)")
def long_cast_has_no_grad(t, x):
    y = x.long()
    return t.tensor(y.requires_grad)


# ------------------------------------------------------------------ found: more edge values
@found(T([-1e300, 0.5, 1e-300]), doc="inf / x: its gradient as reciprocal's (nan at -1e300, engine -inf)")
def number_over_tensor_gradient(t, x): return float("inf") / x


@found(T([0.5, NAN, NAN]), doc="amin of NaNs: no element equals the NaN result, the gradient is NaN")
def amin_nan_gradient(t, x): return x.amin()


@found(T([-INF, 0.5, -0.0, 0.0]), doc="x ** -0.5: PyTorch's rsqrt (-inf -> nan, -0.0 -> -inf)")
def pow_negative_half(t, x): return x ** -0.5


@found(T([True, False], "bool"), doc="bool ** -1: PyTorch refuses")
def bool_pow_negative(t, a): return a ** -1


@found(T([[0.2, 0.7]]), T([1.0, 2.0]), doc="cross_entropy with probabilities: the class weights get a gradient")
def cross_entropy_probabilities_weight_gradient(t, x, w):
    return t.nn.functional.cross_entropy(x, t.tensor([[0.4, 0.6]], dtype=x.dtype), weight=w)


#: FOUND cases the engine answered as PyTorch already before the fixes: guards of a neighbouring fix
#: (a split output without grad still changes; bool max(dim) after argmax refuses bool; ...)
GUARDS = ("int32_index", "split_output_changed_without_grad", "grad_not_a_tensor", "int32_fill_overflows",
          "int_pow_huge_exponent", "bool_max_dim", "amin_nan_gradient", "bool_pow_negative")

#: the fixed draw stored in tests/vectors/edges.npz beside FOUND (the slow tier draws more, live)
STORED_SEED, STORED_COUNT = 0, 800


def stored_cases() -> list[dict]:
    """Every case ``tools/gen_edge_vectors.py`` stores: FOUND, then the fixed draw (known differences left out)."""
    return found_cases() + [c for c in random_cases(STORED_SEED, STORED_COUNT) if not known_difference(c)]


@found(T([9.99994610111476e-41, 1.0], "float32"), doc="False / x at a float32 subnormal: reciprocal overflows, "
       "inf * 0 is nan (engine: 0, as a division)")
def bool_over_subnormal(t, x): return False / x


@found(T([-2.5, 3e38, 0.0], "float32"), doc="std of float32 near 1e38: PyTorch accumulates in float64 (engine: inf)")
def float32_std_near_overflow(t, x): return x.std()


def _tensor_of(t, spec):
    dtype = getattr(t, "bool" if spec["dtype"] == "bool" else spec["dtype"])
    values = np.asarray(spec["values"], dtype=spec["dtype"]).reshape(spec["shape"])
    x = t.tensor(values.tolist(), dtype=dtype) if values.ndim else t.tensor(values.item(), dtype=dtype)
    if spec.get("grad"):
        x.requires_grad_(True)
    return x


def _fn(name):
    if name in FOUND:
        return FOUND[name][0]
    return UNARY.get(name) or BINARY[name]


def run(t, case: dict) -> dict:
    """The record of ``case`` on framework ``t``: value (dtype, shape, array) or error class; input gradients."""
    operands = [_tensor_of(t, o) if isinstance(o, dict) else o for o in case["operands"]]
    try:
        out = _fn(case["op"])(t, *operands)
        record = {"dtype": str(out.dtype).replace("torch.", ""), "shape": list(out.shape),
                  "value": np.array(out.detach().numpy(), copy=True)}
    except Exception as exc:  # noqa: BLE001 - which side raises is part of the answer
        return {"error": type(exc).__name__}
    leaves = [o for o in operands if hasattr(o, "requires_grad") and o.requires_grad]
    if leaves and out.requires_grad:
        try:
            out.sum().backward()
        except Exception as exc:  # noqa: BLE001
            record["grad_error"] = type(exc).__name__
        else:
            for i, leaf in enumerate(leaves):
                record[f"grad{i}"] = None if leaf.grad is None else np.array(leaf.grad.numpy(), copy=True)
    return record


#: ops where PyTorch resolves a tie of -0.0 and 0.0 by the tensor's size (its vectorized and scalar loops
#: differ), so the sign of a zero result is not compared
UNSIGNED_ZEROS = ("clamp_t", "clip_t", "maximum", "minimum", "fmax", "fmin", "amax", "amin", "max", "min", "max_dim",
                  "min_dim")

#: ops that sum over elements (their gradients are sums too when an operand broadcasts)
REDUCTIONS = ("sum", "mean", "var", "std", "softmax", "log_softmax", "sum_dim", "mean_dim")

#: float tolerance of a comparison, relative to each entry
RTOL = {"float32": 1e-5, "float64": 1e-9, "float16": 2e-3}


def known_difference(case: dict) -> str | None:
    """Why PyTorch's answer to ``case`` is not one to compare with (None: compare it).

    Each is a PyTorch inconsistency where the engine keeps one rule (a bool clamped by bool tensors has
    a kernel or not by its shape; a 0-d float64 exponent of a float32 base is differentiated unpromoted
    although the forward used it as float32; ...).
    """
    operands = case["operands"]
    dtypes = [o["dtype"] if isinstance(o, dict) else type(o).__name__ for o in operands]
    if case["op"] in ("clamp_t", "clip_t") and dtypes[0] == "bool":
        return "bool clamp by bool tensors: PyTorch's kernel depends on the shape"
    if case["op"] in ("pow", "rpow") and len(dtypes) == 2 and set(dtypes) == {"float32", "float64"}:
        return "a float64 exponent of a float32 base: PyTorch differentiates with the unpromoted exponent"
    if case["op"] == "pow" and dtypes[0] == "float32" and type(operands[1]) is int and abs(operands[1]) > 2 ** 24:
        return "an int exponent beyond float32's integers: PyTorch keeps its parity in the gradient"
    tensors = [o for o in operands if isinstance(o, dict)]
    reduces = case["op"] in REDUCTIONS or len({tuple(o["shape"]) for o in tensors}) > 1 or \
        len(tensors) < len(operands) and tensors[0]["shape"] != []
    huge = [v for o in tensors if o["dtype"].startswith("float")
            for v in np.ravel(np.asarray(o["values"], dtype=float)) if 1e38 <= abs(v) < INF]
    if reduces and min(huge, default=0) < 0 < max(huge, default=0):
        return "a sum of 1e300 and -1e300 with small terms: the answer is the summation order's"
    if case["op"] in ("var", "std") and operands[0]["shape"] in ([], [1]):
        return "the variance of one element: PyTorch's gradient is inf or nan by the value"
    return None


def _value_differences(name, want, got, rtol, signed=True, atol=0.0) -> list[str]:
    if want is None or got is None:
        return [] if want is None and got is None else [f"{name}: {want} != {got}"]
    want, got = np.asarray(want), np.asarray(got)
    if want.shape != got.shape or want.dtype != got.dtype:
        return [f"{name}: {want.dtype}{want.shape} != {got.dtype}{got.shape}"]
    if want.dtype.kind != "f":
        return [] if np.array_equal(want, got) else [f"{name}: {want.tolist()} != {got.tolist()}"]
    both_nan = np.isnan(want) & np.isnan(got)
    close = np.isclose(want, got, rtol=rtol, atol=atol) | both_nan
    zero = (want == 0) & (got == 0)
    if not close.all() or signed and (np.signbit(want[zero]) != np.signbit(got[zero])).any():
        return [f"{name}: {want.tolist()} != {got.tolist()}"]
    return []


def differences(want: dict, got: dict, rtol: float | None = None, op: str = "") -> list[str]:
    """What differs between two records of ``op`` (empty when they agree)."""
    if "error" in want or "error" in got:   # both refuse: the error classes may differ (TypeError, RuntimeError)
        return [] if ("error" in want) == ("error" in got) else \
            [f"error: {want.get('error', 'none')} != {got.get('error', 'none')}"]
    problems = []
    rtol = rtol or RTOL.get(want.get("dtype"), 1e-9)
    for key in ("dtype", "shape", "grad_error"):
        if (want.get(key) != got.get(key)) if key != "grad_error" else ((key in want) != (key in got)):
            problems.append(f"{key}: {want.get(key)} != {got.get(key)}")
    problems += _value_differences("value", want["value"], got["value"], rtol, op not in UNSIGNED_ZEROS)
    for key in sorted(k for k in set(want) | set(got) if k.startswith("grad") and k != "grad_error"):
        grad = want.get(key)
        tol = RTOL.get(getattr(grad, "dtype", None) and grad.dtype.name, rtol)
        # the gradient of out.sum(): entries are of order 1, so a rounding residue of a cancelling sum
        # (softmax's gradient, 0 in exact arithmetic) is compared absolutely
        problems += _value_differences(key, grad, got.get(key), tol, atol=tol)
    return problems


def _random_tensor(rng: random.Random, dtype: str, shape) -> dict:
    n = int(np.prod(shape)) if shape else 1
    values = np.asarray([rng.choice(VALUES[dtype]) for _ in range(n)], dtype=dtype).reshape(shape)
    return {"dtype": dtype, "shape": list(shape), "values": values.tolist(),
            "grad": dtype.startswith("float") and rng.random() < 0.7}


def random_cases(seed: int, n: int) -> list[dict]:
    """``n`` cases drawn from ``seed``: an op, dtypes, shapes and edge values (same seed, same cases)."""
    rng = random.Random(seed)
    ops = sorted(UNARY) + sorted(BINARY)
    cases = []
    for i in range(n):
        shape = rng.choice(SHAPES)
        op = ops[i % len(ops)]   # every op in turn: a draw of n >= len(ops) covers them all
        if op in UNARY:
            operands = [_random_tensor(rng, rng.choice(DTYPES), shape)]
        else:
            a = _random_tensor(rng, rng.choice(DTYPES), shape)
            numbers = op not in TENSOR_ONLY and rng.random() < 0.4
            # a Python bool exponent: PyTorch's backward fails an internal assert (no answer to compare)
            scalars = [s for s in SCALARS if type(s) is not bool] if op in ("pow", "rpow") else SCALARS
            other = rng.choice(scalars) if numbers else \
                _random_tensor(rng, rng.choice(DTYPES), rng.choice((shape, shape[-1:], ())))
            operands = [a, other]
        cases.append({"op": op, "operands": operands})
    return cases


def found_cases() -> list[dict]:
    """The FOUND cases in the same form as :func:`random_cases`."""
    return [{"op": name, "operands": list(operands)} for name, (_, operands, _) in FOUND.items()]
