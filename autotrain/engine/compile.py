"""``torch.compile``: trace one eager call into the static compiler's IR, replay the plan while guards hold.

The first call of a compiled function runs eagerly, as it would without ``compile``, while a tracer
records what it does: every op ``apply_op`` runs becomes a node of a static graph (tensor arguments
are placeholders, tensors that existed before the call are Variables read and written in place),
``loss.backward()`` becomes the static autodiff's gradient nodes (the same backward rules of
``ops.py``), in-place updates under ``no_grad`` become assigns, and ``.grad`` ends up as it did
eagerly.  The graph then goes through the Session's passes and ``bind`` into one plan function.

Later calls check the guards (argument shapes, dtypes, devices, ``requires_grad`` and aliasing;
non-tensor arguments, globals and closure values by value; the modules' structure, ``training``
flags and parameters; grad mode and the default dtype) and run the plan, then the optimizer steps
the call made (``optimizer.step()`` stays eager code on the plan's gradients: it reads ``lr`` and its
state each call, so a scheduler's change needs no re-trace).  A call whose guards fail is traced
again; what a trace cannot replay makes the call eager, with a one-line reason in ``explain()``:
reading a value (``.item()``, ``float(t)``, ``bool(t)``, ``.numpy()``, ``.tolist()``), Python's or
numpy's global random state changing, engine random draws other than dropout masks, tensors made
outside the op table, or ops after ``optimizer.step()``.
"""
from __future__ import annotations

import functools
import gc
import random as _pyrandom
import sys
import types

import numpy as np

from . import creation, dtypes
from .graph import GRAD_MODE
from .ops import OPS, Op, register
from .tensor import Tensor, new_tensor as _new, promote as _promote

_tensor_module = sys.modules[Tensor.__module__]   # engine.tensor is also the name of a creation function

_SCE = OPS["softmax_cross_entropy"]


@register
class SoftmaxCrossEntropyGrad(Op):
    """The logits' gradient of ``softmax_cross_entropy`` as one op: its backward rule run on arrays.

    That rule uses ``max`` and ``vdot``, which a graph ``xp`` lacks; as one node of a compiled plan it
    computes exactly what the dynamic engine's backward computes.  Only compiled plans build it.
    """
    name = "softmax_cross_entropy_grad"
    arity = 3
    differentiable = False
    saves_inputs = False

    @staticmethod
    def forward(xp, logits, target, g, out=None, axis=1, reduction="none"):
        ctx = types.SimpleNamespace(inputs=(logits, target), attrs={"axis": axis, "reduction": reduction},
                                    needs_input_grad=(True, False))
        grad, _ = _SCE.backward(ctx, xp, xp.asarray(g))
        if out is None:
            return grad
        xp.copyto(out, grad)
        return out

    @staticmethod
    def shape(logits_shape, target_shape, g_shape, axis=1, reduction="none"):
        return tuple(logits_shape)


def _graph_sce_backward(ctx, xp, g):
    from .static.graph import Node, apply
    if not isinstance(g, Node):
        return _EAGER_SCE_BACKWARD(ctx, xp, g)
    logits, target = ctx.inputs
    return apply("softmax_cross_entropy_grad", logits, target, g, **ctx.attrs), None


_EAGER_SCE_BACKWARD = _SCE.backward
_MAX_TRACES = 8   # distinct guard sets before a function stays eager (a Python value that changes every call)


class TraceAbort(Exception):
    """The traced call did something a plan cannot replay; the message is the one-line reason."""


# --------------------------------------------------------------------------------------- tracing
class _Tracer:
    """Builds a static graph from the eager ops of one call (see the module docstring)."""

    def __init__(self, static, pre_existing: set[int]):
        self.tf = static
        self.graph = static.Graph()
        self.pre_existing = pre_existing
        self.nodes: dict[int, object] = {}      # id(tensor) -> node holding its value now
        self.keep: list = []                    # tensors whose ids are keys (kept alive: ids stay unique)
        self.variables: dict[int, tuple] = {}   # id(tensor) -> (tensor, Variable node)
        self.placeholders: list = []            # (placeholder node, how to get its value from a call)
        self.writes: dict[int, object] = {}     # id(tensor) -> the node of its new value
        self.grad_owners: dict[int, Tensor] = {}
        self.after: list = []                   # eager calls replayed after the plan (optimizer steps)
        self.stepped: list = []                 # optimizers whose step ran (their tensors may change unseen)
        self.grad_snapshot = None               # {id(leaf): its .grad} when the first step ran
        self.draws: list = []                   # engine RNG draws the plan's feeds repeat
        self.paused = 0
        self.reason = None
        self.arg_tensors: list = []
        self.versions: dict[int, int] = {}      # id(state tensor) -> its version when the trace first read it
        self.watched: set[int] = set()          # ids of leaves whose .grad state the guard covers
        self.grad_sources: dict[int, Tensor] = {}   # id(a .grad that existed before) -> its parameter

    # ----------------------------------------------------------------- values
    def abort(self, reason: str):
        if self.reason is None:
            self.reason = reason
        raise TraceAbort(reason)

    def bind_arg(self, t: Tensor, getter) -> None:
        with self.graph.as_default():
            node = self.tf.placeholder(t.dtype, shape=tuple(t.shape), name="arg")
        self.placeholders.append((node, getter))
        self._map(t, node)

    def _map(self, t, node) -> None:
        self.nodes[id(t)] = node
        self.keep.append(t)

    def node_of(self, value):
        if not isinstance(value, Tensor):
            return value
        node = self.nodes.get(id(value))
        if node is not None:
            return node
        if id(value) not in self.pre_existing:
            self.abort(f"a {tuple(value.shape)} tensor made outside the op table during the trace (a creation function or a host array) "
                       "cannot be replayed")
        if value._base is not None:
            self.abort("a view made before the call is read inside it")
        var = object.__new__(self.tf.Variable)
        self.tf.Node.__init__(var, "variable", (), {}, tuple(value.shape), value.dtype,
                              self.graph.unique_name("state"), self.graph)
        var.initial_value = var.initializer = None
        var.trainable = True
        self.graph.add(var)
        self.variables[id(value)] = (value, var)
        self.versions[id(value)] = value._version
        self._map(value, var)
        return var

    # ----------------------------------------------------------------- hooks
    def record(self, op, inputs, attrs, result) -> None:
        """The hook ``apply_op`` calls: never raises into the traced code (a failure only marks the trace)."""
        if self.paused or self.reason is not None:
            return
        try:
            with self.graph.as_default():
                self._record(op, inputs, attrs, result)
        except TraceAbort:
            pass

    def _record(self, op, inputs, attrs, result) -> None:
        if self.after:
            self.abort(f"op {op.name} runs after optimizer.step() in the same call")
        args = [self.node_of(v) for v in inputs]
        if op.promotes:   # PyTorch's promotion made explicit: the graph computes in the dtypes eager did
            promoted = _promote(op, tuple(v._data if isinstance(v, Tensor) else v for v in inputs))
            for k, (v, p) in enumerate(zip(inputs, promoted)):
                if isinstance(v, Tensor) and p.dtype != v.dtype:
                    args[k] = self.apply("cast", args[k], dtype=p.dtype)
                elif not isinstance(v, Tensor) and isinstance(p, np.ndarray):
                    args[k] = self.tf.constant(p, graph=self.graph)
        node = self.apply(op.name, *args, **attrs)
        if tuple(node.shape) != tuple(result.shape) or node.dtype != result.dtype:
            self.abort(f"op {op.name} gives {result.dtype} {tuple(result.shape)} eagerly but {node.dtype} "
                       f"{tuple(node.shape)} in the graph")
        self._map(result, node)

    def apply(self, op, *args, **attrs):
        from .static.graph import apply, numpy_rules
        try:
            with numpy_rules():
                return apply(op, *args, **attrs)
        except Exception as exc:  # noqa: BLE001 - any failure to build the node is a reason to stay eager
            self.abort(f"op {op} cannot be put in a static graph: {exc}")

    def inplace(self, t: Tensor, op, others, attrs) -> None:
        """``t.op_(others)`` (also ``t[key] = v``, ``zero_()``): the new value is an assign to t's Variable."""
        old = self.node_of(t)
        if old.op == "placeholder":
            self.abort(f"in-place {op.name} changes an argument of the call")
        value = self.apply(op.name, old, *(self.node_of(o) for o in others), **attrs)
        if tuple(value.shape) != tuple(t.shape):
            self.abort(f"in-place {op.name} changes the shape of a tensor")
        if value.dtype != t.dtype:
            value = self.apply("cast", value, dtype=t.dtype)
        if old.op == "variable" or id(t) in self.writes and self.writes[id(t)].op == "assign":
            var = self.variables[id(t)][1]
            value = self.tf.assign(var, value)
            self.writes[id(t)] = value
        self._map(t, value)

    def backward(self, loss: Tensor, leaves_before: dict) -> None:
        """The gradient of ``loss`` for every leaf that requires grad, added to ``.grad`` as eager adds it."""
        from .static.autodiff import gradients
        root = self.node_of(loss)
        for ph, how in self.placeholders:
            if how[0] == "arg" and self.arg_tensors[how[1]].requires_grad:
                self.abort("an argument requires grad: its gradient would leave the plan (pass it as state)")
        owners = [(t, var) for t, var in self.variables.values() if t.requires_grad and t.grad_fn is None]
        for t, _ in owners:
            if id(t) not in self.watched:
                self.abort("a leaf that requires grad is reached neither from the arguments nor from the "
                           "function's globals, closure, modules or optimizers (its .grad state is unguarded)")
        _SCE.backward = staticmethod(_graph_sce_backward)   # the graph form of its rule, for this call only
        try:
            with self._numpy_rules():
                grads = gradients(root, [var for _, var in owners])
        except Exception as exc:  # noqa: BLE001 - a rule the graph cannot replay: stay eager
            self.abort(f"the static autodiff cannot differentiate the trace: {type(exc).__name__}: {exc}")
        finally:
            _SCE.backward = staticmethod(_EAGER_SCE_BACKWARD)
        for (t, _), g in zip(owners, grads):
            if g is None:
                continue
            if g.dtype != t.dtype:
                g = self.apply("cast", g, dtype=t.dtype)
            before = leaves_before.get(id(t))
            if before is not None:   # accumulated into the existing .grad, in place
                if id(before) in self.pre_existing:
                    self.grad_sources[id(before)] = t
                g_old = self.node_of(before)
                total = self.apply("add", g_old, g)
                if g_old.op == "variable" or g_old.op == "assign":
                    total = self.tf.assign(self.variables[id(before)][1], total)
                    self.writes[id(before)] = total
                self._map(before, total)
            else:
                self._map(t.grad, g)
            self.grad_owners[id(t)] = t

    @staticmethod
    def _numpy_rules():
        from .static.graph import numpy_rules
        return numpy_rules()


# --------------------------------------------------------------------------------------- the patches
class _Patches:
    """Tensor and optimizer methods wrapped while a trace runs (restored after): each tells the tracer."""

    READS = ("item", "tolist", "numpy", "__array__", "__float__", "__int__", "__bool__", "__index__", "__repr__")

    def __init__(self, tracer: _Tracer, optimizers=()):
        self.tracer, self.saved, self.optimizers = tracer, [], optimizers

    def _set(self, owner, name, value):
        self.saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def __enter__(self):
        tracer = self.tracer
        for name in self.READS:
            self._set(Tensor, name, self._value_read(Tensor.__dict__[name], name))
        self._set(Tensor, "_write", self._write(Tensor.__dict__["_write"]))
        self._set(Tensor, "backward", self._backward(Tensor.__dict__["backward"]))
        from .optim.optimizer import Optimizer
        for cls in _subclasses(Optimizer):
            if "step" in cls.__dict__:
                self._set(cls, "step", self._step(cls.__dict__["step"]))
            if "zero_grad" in cls.__dict__:
                self._set(cls, "zero_grad", self._zero_grad(cls.__dict__["zero_grad"]))
        for opt in self.optimizers:
            if "step" in opt.__dict__:
                self._set(opt, "step", self._instance_step(opt, opt.__dict__["step"]))
        from .nn import functional as F
        self._set(F, "dropout", self._dropout(F.__dict__["dropout"]))
        self._set(F, "cross_entropy", self._cross_entropy(F.__dict__["cross_entropy"]))
        _tensor_module.TRACE_HOOK = tracer.record
        return self

    def __exit__(self, *exc):
        _tensor_module.TRACE_HOOK = None
        for owner, name, value in reversed(self.saved):
            setattr(owner, name, value)

    def _paused(self, fn, *args, **kwargs):
        self.tracer.paused += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self.tracer.paused -= 1

    def _value_read(self, method, name):
        tracer = self.tracer

        @functools.wraps(method)
        def read(t, *args, **kwargs):
            if not tracer.paused and tracer.reason is None:
                tracer.reason = f"Tensor.{name} reads a value during the trace (data-dependent Python)"
            return method(t, *args, **kwargs)
        return read

    def _write(self, method):
        tracer, patches = self.tracer, self

        @functools.wraps(method)
        def write(t, op, others, attrs):
            if not tracer.paused and tracer.reason is None:
                try:
                    tracer.inplace(t, op, others, attrs)
                except TraceAbort:
                    pass
            return patches._paused(method, t, op, others, attrs)
        return write

    def _backward(self, method):
        tracer, patches = self.tracer, self

        @functools.wraps(method)
        def backward(t, gradient=None, retain_graph=None, create_graph=False, inputs=None):
            if gradient is not None or inputs is not None or create_graph:
                tracer.reason = tracer.reason or "backward with gradient=, inputs= or create_graph= is not traced"
            before = {id(p): p.grad for p, _ in tracer.variables.values() if p.grad is not None}
            patches._paused(method, t, gradient, retain_graph, create_graph, inputs)
            if not tracer.paused and tracer.reason is None:
                try:
                    if tracer.after:
                        tracer.abort("backward runs after optimizer.step() in the same call")
                    tracer.backward(t, before)
                except TraceAbort:
                    pass
        return backward

    def _step(self, method):
        tracer, patches = self.tracer, self

        @functools.wraps(method)
        def step(opt, closure=None):
            if closure is not None:
                tracer.reason = tracer.reason or "optimizer.step(closure) is not traced"
            if not tracer.after:   # the .grad the step reads: what the plan must leave (a later zero_grad replays)
                tracer.grad_snapshot = {k: t.grad for k, t in tracer.grad_owners.items()}
            tracer.after.append((functools.partial(method, opt), (), {}))
            tracer.stepped.append(opt)
            return patches._paused(method, opt, closure)
        return step

    def _instance_step(self, opt, bound):
        """An instance's own ``step`` (a scheduler's wrapper around the class's): recorded the same way."""
        tracer, patches = self.tracer, self

        def step(closure=None):
            if closure is not None:
                tracer.reason = tracer.reason or "optimizer.step(closure) is not traced"
            if not tracer.after:
                tracer.grad_snapshot = {k: t.grad for k, t in tracer.grad_owners.items()}
            tracer.after.append((bound, (), {}))
            tracer.stepped.append(opt)
            return patches._paused(bound)
        return step

    def _zero_grad(self, method):
        tracer, patches = self.tracer, self

        @functools.wraps(method)
        def zero_grad(opt, *args, **kwargs):
            if tracer.after:   # after a step: replayed eagerly after the plan, in order
                tracer.after.append((functools.partial(method, opt), args, kwargs))
            return patches._paused(method, opt, *args, **kwargs) if tracer.after else method(opt, *args, **kwargs)
        return zero_grad

    def _dropout(self, fn):
        tracer, patches = self.tracer, self

        @functools.wraps(fn)
        def dropout(input, p=0.5, training=True, inplace=False):
            if tracer.paused or not training or p in (0.0, 1.0) or inplace or tracer.reason is not None:
                return fn(input, p, training, inplace)
            state = creation.RNG.bit_generator.state
            out = patches._paused(fn, input, p, training, inplace)
            # the mask is a feed drawn before the plan runs, from the engine RNG, as eager draws it
            shape, dtype = tuple(input.shape), input.dtype
            keep = 1.0 - p
            scale_value = 1.0 / (1.0 - p)

            def draw():
                return (creation.RNG.random(shape) < keep) * scale_value
            try:
                mask = tracer.tf.placeholder(np.float64, shape=shape, name="dropout_mask")
                tracer.placeholders.append((mask, ("draw", draw, dtype)))
                tracer.draws.append((state, shape))
                scale = tracer.apply("cast", mask, dtype=dtype)
                node = tracer.apply("mul", tracer.node_of(input), scale)
                tracer._map(out, node)
            except TraceAbort:
                pass
            return out
        return dropout

    def _cross_entropy(self, fn):
        tracer, patches = self.tracer, self

        @functools.wraps(fn)
        def cross_entropy(input, target, *args, **kwargs):
            if tracer.paused or tracer.reason is not None:
                return fn(input, target, *args, **kwargs)
            if not isinstance(target, Tensor) or not isinstance(input, Tensor) or args or set(kwargs) - {
                    "weight", "ignore_index", "reduction", "label_smoothing"} or kwargs.get("weight") is not None:
                return fn(input, target, *args, **kwargs)   # traced op by op (a host-made tensor aborts)
            found = [g for ph, g in tracer.placeholders if tracer.nodes.get(id(target)) is ph]
            if target.dtype.kind == "f" or not found:
                return fn(input, target, *args, **kwargs)
            out = patches._paused(fn, input, target, **kwargs)
            from .nn import functional as F
            shape, dtype, where = tuple(input.shape), input.dtype, found[0][1]
            reduction = kwargs.get("reduction", "mean")
            reduction = F.reduction_of(reduction, None, None)

            def matrix_of(tensors):
                stand_in = _new(np.empty(shape, dtype))
                labels_t = tensors[where][1]
                labels = F.check_targets(stand_in, labels_t, F.class_dim_of(stand_in))
                matrix, _ = F.target_matrix(stand_in, labels, F.class_dim_of(stand_in), None,
                                             kwargs.get("ignore_index", -100), kwargs.get("label_smoothing", 0.0),
                                             reduction == "mean")
                return matrix
            try:
                ph = tracer.tf.placeholder(dtype, shape=shape, name="target_matrix")
                tracer.placeholders.append((ph, ("derived", matrix_of)))
                node = tracer.apply("softmax_cross_entropy", tracer.node_of(input), ph, axis=F.class_dim_of(input),
                                    reduction="none" if reduction == "none" else "sum")
                tracer._map(out, node)
            except TraceAbort:
                pass
            return out
        return cross_entropy


def _subclasses(cls):
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(c.__subclasses__())
    return out


# --------------------------------------------------------------------------------------- guards
def _flatten(value, path, tensors, spec):
    """The call's arguments as (tensor paths, a hashable spec of everything else); raises TypeError for
    a value that cannot be guarded by value."""
    if isinstance(value, Tensor):
        tensors.append((path, value))
        spec.append(("T", path))
    elif isinstance(value, (list, tuple)):
        spec.append((type(value).__name__, len(value)))
        for k, v in enumerate(value):
            _flatten(v, path + (k,), tensors, spec)
    elif isinstance(value, dict):
        spec.append(("dict", tuple(value)))
        for k, v in value.items():
            _flatten(v, path + (k,), tensors, spec)
    elif value is None or isinstance(value, (bool, int, float, str, complex)):
        spec.append((type(value).__name__, value))
    else:
        spec.append(("id", id(value)))   # a module, optimizer or other object: by identity (state guarded apart)


def _tensor_key(t: Tensor):
    return (tuple(t.shape), t.dtype, str(t.device), t.requires_grad, t._base is not None)


def _alias_key(tensors):
    """Which argument tensors are the same object or share memory (each call must alias as the trace did)."""
    seen, key = {}, []
    for k, (_, t) in enumerate(tensors):
        key.append(seen.setdefault(id(t), k))
    arrays = [t._data for _, t in tensors]
    shared = tuple((i, j) for i in range(len(arrays)) for j in range(i + 1, len(arrays))
                   if key[j] != key[i] and np.may_share_memory(arrays[i], arrays[j])) if len(arrays) < 16 else ()
    return tuple(key), shared


def _readers(fn):
    """Getters for the globals and closure cells ``fn`` reads (found once; read on every call)."""
    func = getattr(fn, "__func__", fn)
    if not hasattr(func, "__code__"):
        forward = getattr(type(fn), "forward", None)
        if forward is None or not hasattr(forward, "__code__"):
            return []
        func = forward
    code = func.__code__
    names = set(code.co_names)
    for const in code.co_consts:   # nested functions and comprehensions read globals too
        if isinstance(const, types.CodeType):
            names.update(const.co_names)
    g = func.__globals__
    readers = [(("global", n), functools.partial(g.get, n)) for n in sorted(names) if n in g]
    for name, cell in zip(code.co_freevars, func.__closure__ or ()):
        readers.append((("closure", name), functools.partial(_cell_value, cell)))
    return readers


def _cell_value(cell):
    try:
        return cell.cell_contents
    except ValueError:
        return None


def _value_guard(value):
    """How a captured Python value is compared on later calls: numbers and strings by value, the rest by identity."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return (type(value).__name__, value)
    if isinstance(value, tuple) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value):
        return ("tuple", value)
    return ("id", id(value))


def _modules_in(values):
    from .nn.module import Module
    from .optim.optimizer import Optimizer
    mods, opts, seen = [], [], set()
    for v in values:
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, Module):
            mods.append(v)
        elif isinstance(v, Optimizer):
            opts.append(v)
        elif getattr(v, "__self__", None) is not None and isinstance(v.__self__, Module):
            mods.append(v.__self__)
    return mods, opts


_PLAIN = (bool, int, float, str)


def _module_key(module):
    """A module tree's structure: each submodule's identity and ``training`` flag, its parameters' and
    buffers' identities, its plain Python attributes (``p`` of Dropout...) by value."""
    key, stack = [], [module]
    while stack:
        m = stack.pop()
        key += (id(m), m.training, len(m._parameters))
        key += map(id, m._parameters.values())
        key += map(id, m._buffers.values())
        key += [v for v in m.__dict__.values() if type(v) in _PLAIN]
        stack += [c for c in m._modules.values() if c is not None]
    return tuple(key)


def _watched(values, mods, opts) -> list:
    """The leaves whose ``.grad`` a call may read or set: tensors passed or captured, modules' and optimizers'
    parameters (the guard covers whether each ``.grad`` is None)."""
    seen, out = set(), []
    candidates = [v for v in values if isinstance(v, Tensor)]
    for m in mods:
        candidates.extend(m.parameters())
    for o in opts:
        candidates.extend(p for g in o.param_groups for p in g["params"])
    for v in values:
        if isinstance(v, (list, tuple)):
            candidates.extend(x for x in v if isinstance(x, Tensor))
    for t in candidates:
        if id(t) not in seen and t.requires_grad:
            seen.add(id(t))
            out.append(t)
    return out


def _optimizer_key(opt):
    return tuple(tuple(id(p) for p in g["params"]) for g in opt.param_groups)


# --------------------------------------------------------------------------------------- the compiled function
class _Trace:
    """One traced call: its guards, plan and how to run it."""

    def __init__(self, guard, tracer: _Tracer, plan, fetch_plan, outputs_build, report, grads, var_writes):
        self.guard, self.tracer, self.plan = guard, tracer, plan
        self.fetch_plan, self.build, self.report, self.grads = fetch_plan, outputs_build, report, grads
        self.var_writes = var_writes


class CompiledFunction:
    """What ``compile(fn)`` returns: call it as ``fn``; ``explain()`` says what was traced and why a call ran eagerly."""

    def __init__(self, fn, options=None, fullgraph=False):
        self.fn = fn
        self.options = dict(options or {})
        self.fullgraph = fullgraph
        self.traces: list[_Trace] = []
        self.fallbacks: list[str] = []
        self.eager_reason = None
        self.calls = self.compiled_calls = 0
        self._readers = None
        func = getattr(fn, "__func__", None)
        self._attr_names = tuple(func.__code__.co_names) if func is not None and hasattr(func, "__code__") else ()
        functools.update_wrapper(self, fn, updated=())

    def __get__(self, obj, objtype=None):   # as a decorator on a method
        if obj is None:
            return self
        bound = obj.__dict__.get(f"_compiled_{id(self)}")
        if bound is None:
            bound = obj.__dict__[f"_compiled_{id(self)}"] = CompiledFunction(
                types.MethodType(self.fn, obj), self.options, self.fullgraph)
        return bound

    # ----------------------------------------------------------------- calling
    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.eager_reason is not None:
            return self.fn(*args, **kwargs)
        try:
            guard, tensors = self._guard_key(args, kwargs)
        except TypeError as exc:
            return self._eager(f"arguments cannot be guarded: {exc}", args, kwargs)
        for trace in self.traces:
            if trace.guard == guard and all([(p.grad is None) is none for p, none in trace.grads_none]):
                self.compiled_calls += 1
                return self._replay(trace, tensors)
        if len(self.traces) >= _MAX_TRACES:
            self.eager_reason = f"{_MAX_TRACES} traces with different guards: the function stays eager"
            self.fallbacks.append(self.eager_reason)
            return self.fn(*args, **kwargs)
        return self._trace(guard, tensors, args, kwargs)

    def _eager(self, reason, args, kwargs):
        self.fallbacks.append(reason)
        return self.fn(*args, **kwargs)

    def _guard_key(self, args, kwargs):
        """Everything a trace assumed, as one tuple compared with each trace's (``.grad`` states apart, per trace)."""
        tensors, spec = [], []
        _flatten((args, kwargs), (), tensors, spec)
        if self._readers is None:
            self._readers = _readers(self.fn)
        captured = [(k, get()) for k, get in self._readers]
        owner = getattr(self.fn, "__self__", None)
        if owner is not None and self._attr_names:   # the attributes a method reads from its object
            d = getattr(owner, "__dict__", {})
            captured += [(("attr", n), d[n]) for n in self._attr_names if n in d]
        values = [v for _, v in captured]
        values += list(args) + list(kwargs.values())
        from .nn.module import Module
        if isinstance(self.fn, Module):
            values.append(self.fn)
        mods, opts = _modules_in(values)
        key = (tuple(spec), tuple([_tensor_key(t) for _, t in tensors]), _alias_key(tensors),
               tuple([(k, _value_guard(v)) for k, v in captured]),
               tuple([_module_key(m) for m in mods]), tuple([_optimizer_key(o) for o in opts]),
               GRAD_MODE.enabled, dtypes.get_default_dtype())
        self._values, self._mods, self._opts = values, mods, opts
        return key, tensors

    # ----------------------------------------------------------------- tracing
    def _trace(self, guard, tensors, args, kwargs):
        from . import static
        py_state, np_state = _pyrandom.getstate(), np.random.get_state()[1].copy()
        engine_state = creation.RNG.bit_generator.state
        pre = {id(o) for o in gc.get_objects() if issubclass(type(o), Tensor)}   # type(): no __class__ lookups
        tracer = _Tracer(static, pre)
        tracer.arg_tensors = [t for _, t in tensors]
        watched = _watched(self._values, self._mods, self._opts)
        tracer.watched = {id(t) for t in watched}
        grads_none = [(t, t.grad is None) for t in watched]
        for k, (path, t) in enumerate(tensors):
            if id(t) in tracer.nodes:   # the same tensor passed twice: one placeholder
                continue
            tracer.bind_arg(t, ("arg", k))
        with _Patches(tracer, self._opts), tracer.graph.as_default():
            result = self.fn(*args, **kwargs)
        reason = tracer.reason or self._rng_reason(py_state, np_state, engine_state, tracer) or \
            _unseen_change(tracer)
        if reason is None:
            try:
                trace = self._build(guard, tracer, result)
            except TraceAbort as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001 - the compiler refused the graph: stay eager, say why
                reason = f"the static compiler cannot compile the trace: {type(exc).__name__}: {exc}"
        if reason is not None:
            self.fallbacks.append(reason)
            if self.fullgraph:
                raise RuntimeError(f"compile(fullgraph=True): {reason}")
            self.eager_reason = reason
            return result
        trace.grads_none = grads_none
        self.traces.append(trace)
        return result

    @staticmethod
    def _rng_reason(py_state, np_state, engine_state, tracer):
        if _pyrandom.getstate() != py_state:
            return "Python's random module was used during the trace (a plan would repeat one draw)"
        if not np.array_equal(np.random.get_state()[1], np_state):
            return "numpy's global random state was used during the trace (a plan would repeat one draw)"
        expected = np.random.default_rng()
        expected.bit_generator.state = engine_state
        for _, shape in tracer.draws:
            expected.random(shape)
        if expected.bit_generator.state != creation.RNG.bit_generator.state:
            return "the engine's random generator drew values outside dropout during the trace"
        return None

    def _build(self, guard, tracer: _Tracer, result):
        from .static.compiler import bind, optimize
        from .static.passes import pipeline
        outputs, out_nodes = [], []

        def leaf(value):
            if not isinstance(value, Tensor):
                return ("const", value)
            if id(value) in tracer.variables and id(value) not in tracer.writes:
                return ("same", value)
            node = tracer.nodes.get(id(value))
            if node is None:
                if id(value) in tracer.pre_existing:
                    return ("same", value)
                raise TraceAbort("the call returns a tensor made outside the op table")
            if id(value) in tracer.variables:
                return ("same", value)
            out_nodes.append(node)
            return ("out", len(out_nodes) - 1, value.requires_grad)
        build = _structure(result, leaf)
        grads = []
        snapshot = tracer.grad_snapshot
        for key, t in tracer.grad_owners.items():
            g = t.grad if snapshot is None else snapshot.get(key)
            if g is None:
                grads.append((t, None))
            elif id(g) in tracer.variables:
                continue   # accumulated in place into a .grad that existed before the call
            else:
                node = tracer.nodes.get(id(g))
                if node is None:
                    raise TraceAbort(".grad was set to a tensor made outside the op table")
                out_nodes.append(node)
                grads.append((t, len(out_nodes) - 1))
        fetches = out_nodes + list(tracer.writes.values())
        if not fetches:
            raise TraceAbort("the call computes nothing a plan could hold")
        placeholders = [ph for ph, _ in tracer.placeholders]
        shapes = {ph: tuple(ph.shape) for ph in placeholders}
        program, report = optimize(tracer.graph, fetches, shapes, pipeline(self.options.get("rewrites", ())))
        plan = bind(program, placeholders)
        report.code = plan.source
        var_of = {var.id: t for t, var in tracer.variables.values()}
        var_writes = [var_of[v.id] for v in plan.writes]
        sources = [_source(var_of[v.id], tracer) for v in plan.reads]
        var_writes = [_source(t, tracer) for t in var_writes]
        return _Trace(guard, tracer, plan, sources, build, report, grads, var_writes)

    # ----------------------------------------------------------------- replay
    def _replay(self, trace: _Trace, tensors):
        plan, tracer = trace.plan, trace.tracer
        feeds = []
        for ph, how in tracer.placeholders:
            kind = how[0]
            if kind == "arg":
                feeds.append(tensors[how[1]][1]._data)
            elif kind == "draw":
                feeds.append(how[1]())
            else:
                feeds.append(np.asarray(how[1](tensors), dtype=ph.dtype))
        reads = [t._data if p is None else p.grad._data for t, p in trace.fetch_plan]
        targets = [t if p is None else p.grad for t, p in trace.var_writes]
        writes = []
        for var, t in zip(plan.writes, targets):
            writes.append(np.empty_like(t._data) if var in plan.distinct else t._data)
        outs = [np.empty(shape, dtype) for shape, dtype in plan.outs]
        values = plan.run(*feeds, *reads, *writes, *outs)
        for t, w in zip(targets, writes):
            if w is not t._data:
                np.copyto(t._data, w)
            t._bump()
        results = values
        for t, k in trace.grads:
            t.grad = None if k is None else _new(_own(results[k]))
        value = trace.build(lambda leaf: _output(leaf, results))
        for method, args, kwargs in tracer.after:
            method(*args, **kwargs)
        return value

    # ----------------------------------------------------------------- explain
    def explain(self) -> str:
        """The traces (guards, plan report and code), the fallbacks and their reasons, as text."""
        lines = [f"compiled {getattr(self.fn, '__qualname__', self.fn)!r}: {self.calls} calls, "
                 f"{self.compiled_calls} ran the plan, {len(self.traces)} traces, {len(self.fallbacks)} eager"]
        for k, trace in enumerate(self.traces):
            t = trace.tracer
            lines.append(f"trace {k}: {len(t.placeholders)} feeds, {len(t.variables)} state tensors, "
                         f"{len(t.writes)} written in place, {len(t.grad_owners)} .grad set, "
                         f"{len(t.after)} optimizer steps after the plan")
            lines.append(f"  guards: {len(trace.guard[1])} argument tensors (shape, dtype, device, requires_grad, "
                         f"aliasing), {len(trace.guard[3])} globals/closure values, {len(trace.guard[4])} modules, "
                         f"{len(trace.guard[5])} optimizers, grad mode, default dtype")
            lines.extend("  " + line for line in str(trace.report).splitlines())
        lines.extend(f"eager: {reason}" for reason in self.fallbacks)
        return "\n".join(lines)


def _unseen_change(tracer):
    """A reason when a state tensor the plan reads was changed by code the trace did not record (an optimizer
    it could not see, array code on ``._data``...): the plan would miss that change."""
    allowed = {id(p) for opt in tracer.stepped for g in opt.param_groups for p in g["params"]}
    allowed |= {id(t) for opt in tracer.stepped for st in opt.state.values() for t in st.values()
                if isinstance(t, Tensor)}
    for key, (t, _) in tracer.variables.items():
        if key not in tracer.writes and key not in allowed and t._version != tracer.versions[key]:
            return f"a {tuple(t.shape)} tensor the trace reads was changed by code the tracer did not record"
    return None


def _source(t, tracer):
    """Where a state tensor is found on each call: itself, or (for a ``.grad`` that existed before the trace)
    its parameter's ``.grad`` then."""
    return (t, tracer.grad_sources.get(id(t)))


def _own(array):
    return np.asarray(array) if isinstance(array, np.generic) else array


def _output(leaf, results):
    kind = leaf[0]
    if kind == "const":
        return leaf[1]
    if kind == "same":
        return leaf[1]
    return _new(_own(results[leaf[1]]))


def _structure(value, leaf):
    """A function rebuilding ``value``'s list/tuple/dict structure with each leaf replaced by ``make(leaf)``."""
    if isinstance(value, (list, tuple)) and not isinstance(value, Tensor):
        parts = [_structure(v, leaf) for v in value]
        kind = type(value)
        return lambda make: kind(p(make) for p in parts)
    if isinstance(value, dict):
        parts = {k: _structure(v, leaf) for k, v in value.items()}
        return lambda make: {k: p(make) for k, p in parts.items()}
    spec = leaf(value)
    return lambda make: make(spec)


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend=None, mode=None, options=None,  # noqa: A001
            disable: bool = False):
    """``torch.compile(fn)``, ``@torch.compile`` or ``@torch.compile(options=...)``, on a function or an
    ``nn.Module`` (its calls are compiled).  ``options={"rewrites": "all"}`` opts into the compiler's
    rewrites that change rounding; by default a compiled call gives eager's numbers bit for bit.
    ``fullgraph=True`` raises instead of falling back to eager."""
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                                  options=options, disable=disable)
    if disable:
        return model
    from .nn.module import Module
    if isinstance(model, Module):
        compiled = CompiledFunction(model, options, fullgraph)
        return compiled
    if not callable(model):
        raise TypeError(f"compile: {model!r} is not callable (a function or an nn.Module)")
    return CompiledFunction(model, options, fullgraph)
