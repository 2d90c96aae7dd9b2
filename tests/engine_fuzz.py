"""A fuzzer of the engine's error messages: every public name called with odd arguments.

It calls Tensor methods, module functions, ``nn.functional``, layers' forward, optimizers, ``autograd.grad``
and the static graph (placeholders, Session.run, Node operators, ``tf.gradients``) with wrong shapes, dtypes
and Python objects, and reports each message that shows numpy's or Python's internals instead of the engine's
words.  ``python3 tests/engine_fuzz.py`` prints every finding; tests/test_engine_errors.py runs a bounded
version.
"""
from __future__ import annotations

import itertools
import re
import warnings

import numpy as np

#: Messages that are numpy's or Python's internals, never the engine's words.
RAW = re.compile(r"zero-size array|object has no attribute|not supported between instances|"
                 r"unsupported operand type\(s\)|object is not (iterable|callable|subscriptable)|"
                 r"<locals>|list index out of range|tuple index out of range|object cannot be interpreted|"
                 r"ufunc|numpy\.|numpy's|numpy boolean|operands could not|cannot reshape array|axis -?\d+ is out of bounds|"
                 r"invalid literal|unhashable|must be real number|iteration over a 0-d array|casting rule|"
                 r"Python int too large to convert|NoneType' object|dtype\('")
#: Exception types that only a bug raises (a misuse has PyTorch's/TF's type).
BUG_TYPES = ("AttributeError", "KeyError", "ZeroDivisionError", "UnboundLocalError", "NameError", "AssertionError",
             "RecursionError", "UFuncTypeError")


def _values(torch):
    return {
        "empty": lambda: torch.zeros(0), "empty2": lambda: torch.zeros(0, 3), "zerod": lambda: torch.tensor(1.5),
        "int": lambda: torch.tensor([1, 2, 3]), "bool": lambda: torch.tensor([True, False]),
        "m": lambda: torch.ones(2, 3), "none": lambda: None, "str": lambda: "a", "list": lambda: [1, 2],
        "nan": lambda: float("nan"), "big": lambda: 10 ** 30, "obj": lambda: object(), "neg": lambda: -1,
        "far": lambda: -7, "pair": lambda: (0, 5), "booltrue": lambda: True, "m3": lambda: torch.ones(3, 2, 4),
    }


def _check(label, call, seen) -> None:
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - every exception's message is what is checked
        kind = type(exc).__name__
        if RAW.search(str(exc)) or kind in BUG_TYPES:
            seen.setdefault((label, kind, str(exc)[:60]), f"{label}: {kind}: {str(exc)[:200]}")


def _calls(owner, names, firsts, seconds, values):
    for name in names:
        for a, b in itertools.product(firsts, seconds):
            def call(name=name, a=a, b=b):
                fn = getattr(values[a](), name) if owner is None else getattr(owner, name)
                args = () if b is None else (values[b](),)
                if owner is not None:
                    args = (values[a](),) + args
                fn(*args)
            yield f"{name}({a}, {b})", call


def tensor_methods(torch, values, seconds):
    names = [n for n in dir(torch.Tensor) if not n.startswith("_") and callable(getattr(torch.Tensor, n))]
    yield from _calls(None, names, ["empty", "zerod", "int", "bool", "m"], seconds, values)


def module_functions(torch, values, seconds):
    skip = {"manual_seed", "set_default_dtype", "set_default_device", "compile", "set_grad_enabled"}
    names = [n for n in torch.__all__ if callable(getattr(torch, n)) and not isinstance(getattr(torch, n), type)
             and n not in skip and n[0].islower()]
    yield from _calls(torch, names, ["empty", "zerod", "int", "bool", "m", "none", "str"], seconds, values)


def functional(torch, values, seconds):
    F = torch.nn.functional
    names = [n for n in getattr(F, "__all__", dir(F)) if not n.startswith("_") and callable(getattr(F, n))
             and not isinstance(getattr(F, n), type)
             and getattr(getattr(F, n), "__module__", "").startswith("autotrain.engine.nn")
             and n not in ("class_dim_of", "check_targets", "target_matrix", "reduction_of")]   # helpers of losses
    yield from _calls(F, names, ["empty", "zerod", "int", "bool", "m", "none"], seconds, values)


def layers(torch, values, seconds):
    nn = torch.nn
    made = {"Linear": lambda: nn.Linear(3, 2), "ReLU": nn.ReLU, "Tanh": nn.Tanh, "Sigmoid": nn.Sigmoid,
            "MSELoss": nn.MSELoss, "CrossEntropyLoss": nn.CrossEntropyLoss,
            "Sequential": lambda: nn.Sequential(nn.Linear(3, 2), nn.ReLU())}
    for name, make in made.items():
        if not hasattr(nn, name):
            continue
        for a, b in itertools.product(["empty", "zerod", "int", "bool", "m", "none", "str", "list"], seconds):
            def call(make=make, a=a, b=b):
                make()(values[a](), *(() if b is None else (values[b](),)))
            yield f"nn.{name}()({a}, {b})", call
    for bad in ("none", "str", "neg", "nan", "big", "list", "obj"):
        yield f"nn.Linear({bad}, 2)", lambda bad=bad: nn.Linear(values[bad](), 2)


def optimizers(torch, values, seconds):
    optim = torch.optim
    for name in ("SGD", "Adam", "RMSprop", "AdamW"):
        cls = getattr(optim, name, None)
        if cls is None:
            continue
        for bad in ("none", "str", "int", "m", "list", "obj", "zerod", "big"):
            yield f"optim.{name}({bad})", lambda cls=cls, bad=bad: cls(values[bad]())
            yield f"optim.{name}([p], lr={bad})", lambda cls=cls, bad=bad: cls(
                [torch.ones(2, requires_grad=True)], lr=values[bad]())

            def step(cls=cls, bad=bad):
                p = torch.ones(2, requires_grad=True)
                p.grad = None
                cls([p], lr=0.1).step(values[bad]())
            yield f"optim.{name}.step({bad})", step
        yield f"optim.{name}([int param])", lambda cls=cls: cls([torch.tensor([1, 2])], lr=0.1).step()


def autograd_grad(torch, values, seconds):
    def x():
        return torch.ones(2, requires_grad=True)
    for bad in ("none", "str", "int", "m", "list", "obj", "zerod", "empty"):
        yield f"autograd.grad({bad}, x)", lambda bad=bad: torch.autograd.grad(values[bad](), x())
        yield f"autograd.grad(y, {bad})", lambda bad=bad: torch.autograd.grad((x() * 2).sum(), values[bad]())
        yield f"autograd.grad(y, x, grad_outputs={bad})", lambda bad=bad: torch.autograd.grad(
            (x() * 2), x(), grad_outputs=values[bad]())
        yield f"backward(gradient={bad})", lambda bad=bad: (x() * 2).backward(values[bad]())


def static(tf, values):
    def fresh():
        tf.reset_default_graph()
        return tf.placeholder(tf.float32, [None, 3])
    odd = {"none": None, "str": "a", "list": [1, 2], "obj": object(), "nan": float("nan"), "big": 10 ** 30,
           "array": np.ones((2, 2)), "bool": True, "dict": {}}
    ops = ("__add__", "__radd__", "__sub__", "__mul__", "__truediv__", "__matmul__", "__pow__", "__gt__",
           "__lt__", "__ge__", "__le__", "__getitem__", "__neg__", "__bool__", "__iter__", "__len__", "__abs__",
           "__and__", "__or__", "__floordiv__", "__mod__", "__rsub__", "__rtruediv__", "__rmatmul__")
    odd["node"] = "node"   # a second placeholder of the same graph, made in the call
    for op, (k, v) in itertools.product(ops, odd.items()):
        def call(op=op, v=v):
            x = fresh()
            v = tf.placeholder(tf.int32, [2]) if v == "node" else v
            fn = getattr(x, op, None)
            if fn is None:
                raise TypeError("absent")
            fn() if op in ("__neg__", "__bool__", "__iter__", "__len__", "__abs__") else fn(v)
        yield f"Node.{op}({k})", call
    for k, v in {**odd, "shape": np.ones((2, 4), np.float32), "1d": np.ones(3, np.float32),
                 "ints": np.ones((2, 3), np.int64), "text": np.array([["a", "b", "c"]])}.items():
        def run(v=v):
            x = fresh()
            with tf.Session() as s:
                s.run(tf.reduce_sum(x * 2.0), {x: v})
        yield f"Session.run(feed={k})", run

        def fetch(v=v):
            x = fresh()
            with tf.Session() as s:
                s.run(v, {x: np.ones((2, 3), np.float32)})
        yield f"Session.run(fetch={k})", fetch

        def grads(v=v):
            x = fresh()
            tf.gradients(tf.reduce_sum(x), v)
        yield f"gradients(y, {k})", grads

        def grads2(v=v):
            x = fresh()
            tf.gradients(v, x)
        yield f"gradients({k}, x)", grads2
    for cls in ("GradientDescentOptimizer", "AdamOptimizer", "RMSPropOptimizer", "MomentumOptimizer"):
        for k, v in odd.items():
            def optimizer(cls=cls, v=v):
                x = fresh()
                w = tf.Variable(np.ones((3, 1), np.float32))
                lr = tf.placeholder(tf.float32, []) if v == "node" else v
                opt = getattr(tf.train, cls)(lr, *((0.9,) if cls == "MomentumOptimizer" else ()))
                step = opt.minimize(tf.reduce_sum(tf.matmul(x, w)))
                with tf.Session() as s:
                    s.run(tf.global_variables_initializer())
                    s.run(step, {x: np.ones((2, 3), np.float32), **({lr: 0.1} if v == "node" else {})})
            yield f"tf.train.{cls}({k})", optimizer

            def minimize(cls=cls, v=v):
                fresh()
                getattr(tf.train, cls)(0.1, *((0.9,) if cls == "MomentumOptimizer" else ())).minimize(v)
            yield f"tf.train.{cls}.minimize({k})", minimize
    for space in (tf.nn, tf.losses):
        for name in [n for n in dir(space) if not n.startswith("_") and callable(getattr(space, n))
                     and not isinstance(getattr(space, n), type) and n not in ("apply", "tf_apply", "as_node")]:
            for k, v in odd.items():
                def nn_call(space=space, name=name, v=v):
                    x = fresh()
                    getattr(space, name)(x, tf.placeholder(tf.float32, [2]) if v == "node" else v)
                yield f"tf.{space.__name__.rsplit('.', 1)[-1]}.{name}(x, {k})", nn_call

                def nn_kw(space=space, name=name, v=v):
                    x = fresh()
                    getattr(space, name)(labels=x, logits=tf.placeholder(tf.float32, [2]) if v == "node" else v)
                yield f"tf.{space.__name__.rsplit('.', 1)[-1]}.{name}(labels=x, logits={k})", nn_kw
    fns = [n for n in tf.__all__ if callable(getattr(tf, n)) and n[0].islower() and n not in (
        "reset_default_graph", "set_random_seed", "disable_eager_execution", "disable_v2_behavior")]
    for name, (k, v) in itertools.product(fns, odd.items()):
        def fn_call(name=name, v=v):
            x = fresh()
            getattr(tf, name)(x, tf.placeholder(tf.float32, []) if v == "node" else v)
        yield f"tf.{name}(x, {k})", fn_call

        def fn_call1(name=name, v=v):
            fresh()
            getattr(tf, name)(tf.placeholder(tf.float32, [2]) if v == "node" else v)

        def fn_call3(name=name, v=v):
            x = fresh()
            getattr(tf, name)(x, 0.0, tf.placeholder(tf.float32, []) if v == "node" else v)
        yield f"tf.{name}(x, 0.0, {k})", fn_call3
        yield f"tf.{name}({k})", fn_call1


def fuzz(every: int = 1) -> list[str]:
    """The suspicious messages, one line each; ``every``: run only every n-th call (a bounded run)."""
    import autotrain.engine as torch
    import autotrain.engine.static as tf
    values = _values(torch)
    seconds = [None, "none", "str", "list", "nan", "big", "m", "empty", "zerod", "int", "obj", "far", "pair",
               "booltrue", "m3"]
    calls = itertools.chain(tensor_methods(torch, values, seconds), module_functions(torch, values, seconds),
                            functional(torch, values, seconds), layers(torch, values, seconds),
                            optimizers(torch, values, seconds), autograd_grad(torch, values, seconds),
                            static(tf, values))
    seen: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (label, call) in enumerate(calls):
            if i % every == 0:
                _check(label, call, seen)
    tf.reset_default_graph()
    return sorted(seen.values())


if __name__ == "__main__":
    for line in fuzz():
        print(line)
