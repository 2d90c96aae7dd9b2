"""Every op's declared spellings of its forward (``ufunc``/``ufunc_for``, ``method``, ``unrolled``) compute the
forward's values exactly: same dtype, same bits (signed zeros, NaN where NaN), for ordinary values, inf,
nan, -0.0, 0-d and empty inputs, wherever the forward accepts them.  The static plan writes these spellings
instead of calling the forward, so a mismatch here is a compiled result differing from the eager one."""
import numpy as np
import pytest

from autotrain.engine.ops import BINARY_CASES, OPS, UNARY_CASES, Method, Op, Ufunc

DTYPES = (np.float32, np.float64, np.int64, np.uint8, np.bool_)
SPECIALS = (np.inf, -np.inf, np.nan, -0.0, 0.0)


def _declares(op) -> bool:
    return (op.ufunc is not None or op.ufunc_for.__func__ is not Op.ufunc_for.__func__
            or op.method is not None or op.unrolled is not None)


def _values(shape, dtype, rng):
    if dtype == np.bool_:
        return np.asarray(rng.random(shape) > 0.5)   # a 0-d array, not a numpy scalar
    if np.dtype(dtype).kind in "iu":
        return np.asarray(rng.integers(0 if np.dtype(dtype).kind == "u" else -4, 5, shape), dtype=dtype)
    a = (rng.standard_normal(shape) * 3).astype(dtype)
    flat = a.reshape(-1)
    flat[:len(SPECIALS)] = SPECIALS[:flat.size]
    return a


def _variants(shape):
    """The case's shape, then 0-d and empty ones."""
    yield shape
    yield ()
    if shape:
        yield (0,) + tuple(shape[1:])


def _cases(op):
    """(inputs, attrs) to check ``op``'s spellings on."""
    if op.name == "one_hot":
        labels = np.array([0, 3, 9, -1, 12, 3])
        for attrs in ({"depth": 10, "dtype": np.float32}, {"depth": 10, "dtype": np.float64, "labels": True},
                      {"depth": 4, "dtype": np.float64, "on_value": 5.0, "off_value": -1.0}):
            for indices in (labels, labels[:0], np.int64(3), np.array([0, 3, 1, 2])):
                yield [indices], attrs
        return
    cases = op.cases or (UNARY_CASES if op.arity == 1 else BINARY_CASES)
    extra = {"pow": ((((3, 4), -1), {}), (((3, 4), 2), {}), (((3, 4), True), {})),
             "clamp": ((((3, 4),), {"min": 0.0, "max": None}), (((3, 4),), {"min": None, "max": 1})),
             "cast": ((((3, 4),), {"dtype": "float32"}), (((3, 4),), {"dtype": "int64"}))}.get(op.name, ())
    rng = np.random.default_rng(3)
    for shapes, attrs in tuple(cases) + extra:
        for dtype in DTYPES:
            for variant in _variants(next((s for s in shapes if isinstance(s, tuple)), ())):
                inputs = [_values(variant if s == shapes[0] or len(s) == len(variant) else s, dtype, rng)
                          if isinstance(s, tuple) else s for s in shapes]
                arrays = [x for x in inputs if isinstance(x, np.ndarray)]
                if len(arrays) == 2 and arrays[0].shape == arrays[1].shape and arrays[0].size:
                    arrays[1].reshape(-1)[-1] = arrays[0].reshape(-1)[-1]   # a tie, for max/min and ==
                yield inputs, attrs


def _same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    if want.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))   # -0.0 stays -0.0


def _forward(op, inputs, attrs, out=None):
    kwargs = dict(attrs) if out is None else {**attrs, "out": out}
    with np.errstate(all="ignore"):
        return op.forward(np, *[x.copy() if isinstance(x, np.ndarray) else x for x in inputs], **kwargs)


def _check_ufunc(op, spec, inputs, attrs, want) -> None:
    assert isinstance(spec, Ufunc)
    with np.errstate(all="raise") if spec.quiet else np.errstate(all="ignore"):   # quiet: it turns them off
        if not spec.out_first:
            _same(spec.call(np, *inputs, **attrs), want)
        if isinstance(want, np.ndarray) or spec.out_first:
            out, ref = np.empty_like(np.asarray(want)), np.empty_like(np.asarray(want))
            got = spec.call(np, *inputs, out=out, **attrs)
            assert got is out
            _same(got, _forward(op, inputs, attrs, out=ref))


def _check_unrolled(op, inputs, attrs, want) -> bool:
    scratch = op.scratch(np, np.shape(want), np.asarray(want).dtype, attrs)
    if scratch is None:
        return False
    with np.errstate(all="ignore"):
        got = op.unrolled(np, inputs[0], *scratch, **attrs)
    assert got is scratch[0]
    _same(got, want)
    return True


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_declared_spelling_computes_exactly_the_forward(name):
    op = OPS[name]
    if not _declares(op):
        assert op.unrolled is None and op.method is None
        return
    checked = 0
    for inputs, attrs in _cases(op):
        try:
            want = _forward(op, inputs, attrs)
        except (ValueError, TypeError, RuntimeError, IndexError, OverflowError, np.exceptions.AxisError):
            spec = op.ufunc_for(tuple(np.asarray(x).dtype if isinstance(x, np.ndarray) else x for x in inputs), attrs)
            if spec is not None and not spec.out_first:   # the spelling refuses what the forward refuses
                with pytest.raises(Exception), np.errstate(all="ignore"):
                    spec.call(np, *inputs, **attrs)
            continue
        kinds = tuple(x.dtype if isinstance(x, np.ndarray) else x for x in inputs)
        spec = op.ufunc_for(kinds, attrs)
        if spec is not None:
            _check_ufunc(op, spec, inputs, attrs, want)
            checked += 1
        if op.method is not None and op.method.takes(attrs):
            assert isinstance(op.method, Method)
            got = op.method.call(inputs[0], **attrs)
            _same(got, want)
            assert np.shares_memory(got, inputs[0]) == np.shares_memory(op.forward(np, inputs[0], **attrs), inputs[0])
            checked += 1
        if op.unrolled is not None:
            checked += _check_unrolled(op, inputs, attrs, want)
    assert checked, f"{name} declares a spelling but no case exercised it"


def test_the_spellings_the_static_plan_relies_on_are_declared():
    """The plan's fast paths exist only through these declarations: losing one is a silent slowdown."""
    float32 = np.dtype(np.float32)
    assert {n for n, op in OPS.items() if op.ufunc is not None} >= {
        "add", "sub", "mul", "div", "neg", "exp", "log", "tanh", "square", "sqrt", "relu", "maximum",
        "minimum", "greater", "less", "equal", "matmul", "sum", "cast"}
    assert OPS["transpose"].method is not None
    assert OPS["pow"].ufunc_for((float32, 0.5), {}).path == "power" and OPS["pow"].ufunc_for((float32, 2), {}) is None
    assert OPS["clamp"].ufunc_for((float32,), {"min": 0.0, "max": None}).path == "maximum"
    assert OPS["clamp"].ufunc_for((float32,), {"min": 0.0, "max": 1.0}) is None
    assert OPS["sum"].ufunc_for((np.dtype(np.bool_),), {}) is None
    assert OPS["log_softmax"].scratch(np, (2, 3), float32, {"axis": 1}) is not None
    assert OPS["one_hot"].scratch(np, (2, 3), float32, {"depth": 3, "dtype": float32}) is not None


def test_one_hot_unrolled_refuses_an_out_of_range_class_label_as_the_forward():
    op = OPS["one_hot"]
    attrs = {"depth": 3, "dtype": np.float32, "labels": True}
    indices = np.array([0, 3])
    with pytest.raises(ValueError, match="outside the valid range") as want:
        op.forward(np, indices, **attrs)
    with pytest.raises(ValueError) as got:
        op.unrolled(np, indices, *op.scratch(np, (2, 3), np.float32, attrs), **attrs)
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("spec, attrs, dtype", [
    (Ufunc("maximum", lead=(0.0,), ignored=("min", "max")), {"min": 0.0, "max": None}, np.float32),
    (Ufunc("maximum", extra=(0.0,), ignored=("min", "max")), {"min": 0.0, "max": None}, np.float32),
    (Ufunc("minimum", lead=(1,), ignored=("min", "max")), {"min": None, "max": 1}, np.float64),
    (Ufunc("copyto", ignored=("dtype",), keywords=(("casting", "unsafe"),), out_first=True), {"dtype": "int64"},
     np.float64),
])
def test_the_plan_writes_a_spelling_as_the_call_it_declares(monkeypatch, spec, attrs, dtype):
    """The static plan's text for a declared call (constants before and after the inputs, constant keywords,
    the buffer first) computes what :meth:`Ufunc.call` does, signed zeros included."""
    from autotrain.engine.static.compiler import _Writer

    op = OPS["clamp"] if "min" in attrs else OPS["cast"]
    monkeypatch.setattr(op, "ufunc_for", classmethod(lambda cls, inputs, attrs: spec))
    a = np.array([-0.0, 0.0, -2.5, 0.5, 1.0, 3.0, np.nan, -np.inf], dtype=dtype)
    out_dtype = np.dtype(attrs["dtype"]) if "dtype" in attrs else np.dtype(dtype)
    w = _Writer(np, memory=None)
    w.ns.update(a=a, o=np.empty(a.shape, out_dtype))
    text = w.call(op.name, ["a"], attrs, "o", [a.dtype], np.dtype(dtype))
    assert text.startswith("u_"), text
    with np.errstate(all="ignore"):
        got = eval(text, dict(w.ns))   # noqa: S307 - the plan's own generated line
        want = spec.call(np, a, out=np.empty(a.shape, out_dtype), **attrs)
    _same(w.ns["o"] if spec.out_first else got, want)
