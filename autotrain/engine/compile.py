"""``torch.compile``: trace one eager call into the static compiler's IR, replay the plan while guards hold.

The first call of a compiled function runs eagerly, as it would without ``compile``, while a tracer
records what it does: every op ``apply_op`` runs becomes a node of a static graph (tensor arguments
are placeholders, tensors that existed before the call are Variables read and written in place),
``loss.backward()`` becomes the static autodiff's gradient nodes (the same backward rules of
``ops.py``; ops eager ran without gradient pass none; a custom ``autograd.Function``'s output takes its
gradient from the Function's own ``backward``, traced), in-place updates under ``no_grad`` become one
assign per tensor (a later write computes from the earlier one), ``optimizer.step()`` of SGD, Adam,
AdamW and RMSprop becomes its formula's nodes (op for op in the engine's order; the state tensors are
Variables updated by assigns, the numbers it reads from ``param_groups`` are fed each call, so a
scheduler's or a hand-made change of ``lr``, ``betas``, ``momentum``... takes effect without a re-trace),
and ``.grad`` ends up as it did eagerly.  The graph then goes through the Session's passes and ``bind``
into one plan function.

Later calls check the guards (argument shapes, dtypes, devices, ``requires_grad`` and aliasing;
non-tensor arguments, globals and closure values by value; the modules' structure, ``training``
flags and parameters; the optimizers' parameter lists, structural hyper-parameters (``nesterov``,
``amsgrad``, whether ``momentum`` or ``weight_decay`` is 0...) and state tensors; grad mode and the
default dtype) and run the plan.  The common case is checked by a generated function of identity
tests (:class:`_FastGuard`, a few microseconds); anything it does not pass goes to the full guard.
Another optimizer's step (a user's subclass, a ``closure``) stays eager code replayed after the plan.
A call whose guards fail is traced again; what a trace cannot replay makes the call eager, with a
one-line reason in ``explain()``: reading a value (``.item()``, ``float(t)``, ``bool(t)``,
``.numpy()``, ``.tolist()``), Python's or numpy's global random state changing, engine random draws
other than dropout masks, tensors made outside the op table, indexing with a tensor (the index would
be baked in), or ops after an eagerly replayed ``optimizer.step()``.
"""
from __future__ import annotations

import functools
import gc
import random as _pyrandom
import sys
import types

import numpy as np

from . import creation, dtypes
from .function import Function, FunctionCtx
from .graph import GRAD_MODE
from .ops import OPS, Op, register
from .tensor import LAYOUTS, Tensor, new_tensor as _new, promote as _promote

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


class _SoftmaxWork:
    """What a planned ``softmax_cross_entropy`` leaves for its gradient in the same run: ``exp`` of the
    shifted logits and their sum, the two arrays the backward rule would compute again from the same logits."""

    __slots__ = ("shifted", "exps", "total")

    def __init__(self):
        self.shifted = self.exps = self.total = None

    def __repr__(self) -> str:
        return "<softmax work>"


@register
class PlannedSoftmaxCrossEntropy(Op):
    """``softmax_cross_entropy``'s forward as a plan runs it: the same ufuncs in the same order (``max`` is
    ``maximum.reduce``, ``sum`` is ``add.reduce``: the same numbers) without numpy's Python wrappers, into
    buffers kept in ``work``, where :class:`PlannedSoftmaxCrossEntropyGrad` finds ``exp`` and its sum.
    Only compiled plans build it, from a traced ``softmax_cross_entropy`` whose gradient the trace takes."""
    name = "planned_softmax_cross_entropy"
    arity = 2
    differentiable = False
    saves_inputs = False

    @staticmethod
    def forward(xp, logits, target, axis=1, reduction="none", work=None):
        if xp is not np or type(logits) is not np.ndarray or work is None:
            return _SCE.forward(xp, logits, target, axis=axis, reduction=reduction)
        if work.shifted is None or work.shifted.shape != logits.shape or work.shifted.dtype != logits.dtype:
            work.shifted, work.exps = np.empty_like(logits), np.empty_like(logits)
        shifted, exps = work.shifted, work.exps
        np.subtract(logits, np.maximum.reduce(logits, axis=axis, keepdims=True), out=shifted)
        np.exp(shifted, out=exps)
        work.total = total = np.add.reduce(exps, axis=axis, keepdims=True)
        np.subtract(shifted, np.log(total), out=shifted)   # now log_softmax(logits)
        if not np.logical_and.reduce(np.isfinite(shifted), axis=None):
            shifted = np.where(np.equal(target, 0), 0, shifted)   # as the op: -inf where the target is 0 adds 0
        if reduction == "sum":
            return np.asarray(-np.vdot(target, shifted))
        shifted = shifted * target
        return np.negative(np.add.reduce(shifted, axis=axis))

    @staticmethod
    def shape(logits_shape, target_shape, axis=1, reduction="none", work=None):
        return _SCE.shape(logits_shape, target_shape, axis=axis, reduction=reduction)


@register
class PlannedSoftmaxCrossEntropyGrad(Op):
    """The logits' gradient of a :class:`PlannedSoftmaxCrossEntropy` (its node is the fourth input, so it
    runs first in the plan): the backward rule's ``exps / total * sum(target) - target``, times ``g``, on the
    forward's ``exp`` and sum of this run."""
    name = "planned_softmax_cross_entropy_grad"
    arity = 4
    differentiable = False
    saves_inputs = False

    @staticmethod
    def forward(xp, logits, target, g, loss, out=None, axis=1, reduction="none", work=None):
        if xp is not np or work is None or work.total is None or work.exps.shape != logits.shape:
            return SoftmaxCrossEntropyGrad.forward(xp, logits, target, g, out=out, axis=axis, reduction=reduction)
        g = np.asarray(g)
        if reduction == "none":
            g = np.expand_dims(g, axis)
        grad = np.divide(work.exps, work.total, out=out)
        grad *= np.add.reduce(target, axis=axis, keepdims=True)
        grad -= target
        grad *= g
        return grad

    @staticmethod
    def shape(logits_shape, target_shape, g_shape, loss_shape, axis=1, reduction="none", work=None):
        return tuple(logits_shape)


def _graph_sce_backward(ctx, xp, g):
    """``softmax_cross_entropy``'s backward on graph nodes: the gradient node, with the forward node turned
    into its planned form (numpy plans) so the two share ``exp`` and its sum."""
    from .static.graph import Node, apply
    if not isinstance(g, Node):
        return _EAGER_SCE_BACKWARD(ctx, xp, g)
    logits, target = ctx.inputs
    node = ctx.output
    attrs = {k: v for k, v in ctx.attrs.items() if k != "work"}
    if node.op == _SCE.name and set(attrs) <= {"axis", "reduction"}:
        node.op, node.attrs = PlannedSoftmaxCrossEntropy.name, dict(attrs, work=_SoftmaxWork())
    if node.op == PlannedSoftmaxCrossEntropy.name:
        return apply(PlannedSoftmaxCrossEntropyGrad.name, logits, target, g, node, work=node.attrs["work"],
                     **attrs), None
    return apply("softmax_cross_entropy_grad", logits, target, g, **attrs), None


_EAGER_SCE_BACKWARD = _SCE.backward
_MAX_TRACES = 8   # distinct guard sets before a function stays eager (a Python value that changes every call)


def _no_gradient(g) -> tuple:
    """The gradient rule of a node eager computed without gradient: it passes none to its inputs."""
    return ()


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
        self.writes: dict[int, object] = {}     # id(tensor) -> the node of its new value (an assign when built)
        self.pending: set[int] = set()          # ids in writes whose value gets its assign at the end (write)
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
        self.quiet: set[int] = set()            # ids of optimizer state the plan writes (eager bumps no version)
        self.unread_grads: set[int] = set()     # ids of leaves whose .grad at the start is never read (reset_grads)
        self.grad_reads: set[int] = set()       # ids of tensors whose .grad the call read
        self.zeroing = 0                        # inside zero_grad (its reads of .grad are its own)
        self.functions: dict[int, object] = {}  # node id of a custom Function's output -> its ctx
        self.no_grad_nodes: set[int] = set()    # ids of nodes eager computed without recording a gradient
        self.function_grads: dict[int, object] = {}   # id(ctx) -> the gradient eager's backward gave it

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
        return self._variable(value)

    def state_variable(self, value):
        """The node of an optimizer's state tensor, made by the step the trace just ran eagerly or before:
        the plan reads and writes it as a Variable (the guard covers the state's identity)."""
        node = self.nodes.get(id(value))
        if node is not None:
            return node
        if value._base is not None:
            self.abort("an optimizer's state tensor is a view")
        return self._variable(value)

    def _variable(self, value):
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

    def reset_grads(self, opt) -> None:
        """``opt.zero_grad()`` (to None) before any backward of the call: a parameter whose ``.grad`` the call
        has not read (``Tensor.grad`` is watched while tracing) never sees its ``.grad`` at the start, so
        whether it was None is no guard of this trace: a loop that zeroes first needs one trace, not two."""
        if self.paused or self.grad_owners:
            return
        for group in opt.param_groups:
            for p in group["params"]:
                if id(p) not in self.grad_reads:
                    self.unread_grads.add(id(p))

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
        self.no_arrays_in(op, attrs)
        args = [self.node_of(v) for v in inputs]
        for v, node in zip(inputs, args):
            if isinstance(v, Tensor) and type(v.grad_fn) is FunctionCtx and node.id not in self.functions:
                self.abort(f"autograd.Function {v.grad_fn.fn.__name__}'s output was not made by Function.apply "
                           "during the trace (its backward would not be the plan's)")
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
        if op.differentiable and not result.requires_grad and any(
                isinstance(v, Tensor) and v.requires_grad for v in inputs):
            self.no_grad_nodes.add(node.id)   # run without gradient (no_grad, a Function's forward)
        self._map(result, node)

    def function_output(self, out) -> None:
        """A custom Function's output (see ``_Patches._function_apply``): its node's gradient rule is its
        ``backward``."""
        if isinstance(out, tuple):
            self.abort("a custom autograd.Function with several outputs is not traced")
        node = self.nodes.get(id(out))
        if node is None or node.op in ("variable", "placeholder") or node.id in self.functions:
            self.abort(f"autograd.Function {out.grad_fn.fn.__name__} returns a tensor its forward's ops did not "
                       "make (an input, a view of one, or a tensor made outside the op table)")
        self.functions[node.id] = out.grad_fn
        self.function_grads[id(out.grad_fn)] = None
        self.keep.append(out.grad_fn)

    def function_rule(self, ctx):
        """The gradient rule of a custom Function's output node: its ``backward`` run again on the gradient
        eager's backward gave it, the ops traced, the tensor holding that gradient standing for the node."""
        def rule(g):
            ran = self.function_grads.get(id(ctx))
            if ran is None or ctx.n_outputs != 1:
                self.abort(f"autograd.Function {ctx.fn.__name__}'s backward did not run eagerly")
            grad, parents, saved = ran
            g_tensor = _new(grad)
            self._map(g_tensor, g)
            # run right after eager's backward, which ran it on these tensors: nothing changed them since
            prev, GRAD_MODE.enabled = GRAD_MODE.enabled, False
            freed, (ctx.parents, ctx._saved) = (ctx.parents, ctx._saved), (parents, saved)
            try:
                result = ctx.fn.backward(ctx, g_tensor)
            finally:
                GRAD_MODE.enabled = prev
                ctx.parents, ctx._saved = freed
            if self.reason is not None:
                raise TraceAbort(self.reason)
            result = result if type(result) is tuple else (result,)
            if len(result) != len(parents):
                self.abort(f"autograd.Function {ctx.fn.__name__}'s backward returns {len(result)} gradients for "
                           f"{len(parents)} inputs")
            pairs = []
            for parent, gi, need in zip(parents, result, ctx.needs_input_grad):
                if gi is None or not need:
                    continue
                if not isinstance(gi, Tensor) or gi.dtype != parent.dtype:
                    self.abort(f"autograd.Function {ctx.fn.__name__}'s backward returns a gradient that is not "
                               "a tensor of its input's dtype")
                pairs.append((self.node_of(parent), self.node_of(gi)))
            return pairs
        return rule

    def traced_mask(self, t: Tensor, op, others, attrs):
        """The node of ``mask`` in ``t[mask] = number`` (a bool tensor of t's shape the trace computed, a Python
        number or a 0-d tensor), or None for any other write."""
        key = attrs.get("key")
        if op.name != "setitem" or type(key) is not np.ndarray or key.dtype != bool or key.shape != tuple(t.shape):
            return None
        value = others[0]
        if not (type(value) in (int, float) or isinstance(value, Tensor) and value.ndim == 0):
            return None
        owner = next((m for m in reversed(self.keep) if isinstance(m, Tensor) and m._data is key), None)
        return None if owner is None else self.nodes.get(id(owner))

    def no_arrays_in(self, op, attrs) -> None:
        """An index tensor (``x[idx]``, ``t[mask] = v``) is an array in the op's attributes, which a node
        would hold as a constant: the plan would index every later call with this call's indices."""
        for value in attrs.values():
            for part in value if isinstance(value, tuple) else (value,):
                if isinstance(part, np.ndarray) or hasattr(part, "__cuda_array_interface__"):
                    self.abort(f"op {op.name} indexes with a tensor (a mask or indices), which the plan would "
                               "bake in")

    def apply(self, op, *args, **attrs):
        from .static.graph import apply, numpy_rules
        try:
            with numpy_rules():
                return apply(op, *args, **attrs)
        except Exception as exc:  # noqa: BLE001 - any failure to build the node is a reason to stay eager
            self.abort(f"op {op} cannot be put in a static graph: {exc}")

    def inplace(self, t: Tensor, op, others, attrs) -> None:
        """``t.op_(others)`` (also ``t[key] = v``, ``zero_()``): the new value is an assign to t's Variable."""
        mask = self.traced_mask(t, op, others, attrs)
        if mask is None:
            self.no_arrays_in(op, attrs)
        old = self.node_of(t)
        if old.op == "placeholder":
            self.abort(f"in-place {op.name} changes an argument of the call")
        if mask is not None:   # t[mask] = number writes the number where mask is True: where() computes that
            value = self.apply("where", mask, self.node_of(others[0]), old)
        else:
            value = self.apply(op.name, old, *(self.node_of(o) for o in others), **attrs)
        if tuple(value.shape) != tuple(t.shape):
            self.abort(f"in-place {op.name} changes the shape of a tensor")
        if value.dtype != t.dtype:
            value = self.apply("cast", value, dtype=t.dtype)
        if id(t) in self.variables:
            self.write(t, value)
        self._map(t, value)

    def write(self, t: Tensor, value) -> None:
        """``value`` is the state tensor ``t``'s new value: its one assign is made when the trace ends
        (:meth:`assigns`), so a later write in the same call (``w.grad`` accumulated, then zeroed) computes
        from this value and replaces it, and the plan leaves the last value, as the eager call does."""
        pending = self.writes.get(id(t))
        if pending is not None and id(t) not in self.pending:
            # the planned optimizer step's assign (its formula's later lines read it): it becomes an alias of
            # its value, which this write computes from and replaces (a clamp of the weights after the step)
            if pending.op != "assign" or pending.inputs[0] is not self.variables[id(t)][1]:
                self.abort("a tensor the plan updates is changed again in the same call")
            pending.op, pending.inputs, pending.attrs = "stop_gradient", (pending.inputs[1],), {}
        self.writes[id(t)] = value
        self.pending.add(id(t))

    def assigns(self) -> list:
        """Every written Variable's assign node (a write still pending gets its assign now, once)."""
        with self.graph.as_default():
            for key in self.pending:
                self.writes[key] = self.tf.assign(self.variables[key][1], self.writes[key])
        self.pending.clear()
        return list(self.writes.values())

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
                rules = dict.fromkeys(self.no_grad_nodes, _no_gradient)   # the graph stays as traced
                rules.update({key: self.function_rule(ctx) for key, ctx in self.functions.items()})
                grads = gradients(root, [var for _, var in owners], rules=rules)
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
                if id(before) in self.variables:
                    self.write(before, total)
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
        self._set(Tensor, "grad", self._grad_slot(Tensor.__dict__["grad"]))
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
        self._set(Tensor, "clone", self._clone(Tensor.__dict__["clone"]))
        self._set(Function, "apply", self._function_apply(Function.__dict__["apply"]))
        self._set(FunctionCtx, "run_backward", self._function_backward(FunctionCtx.__dict__["run_backward"]))
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

    def _clone(self, method):
        """``Tensor.clone``: a copy made outside the op table where no gradient is recorded (a custom
        backward's ``grad_output.clone()``) is the same value as its source's node, passing no gradient."""
        tracer = self.tracer

        @functools.wraps(method)
        def clone(t):
            out = method(t)
            if not tracer.paused and tracer.reason is None and id(out) not in tracer.nodes:
                try:
                    node = tracer.node_of(t)
                    with tracer.graph.as_default():
                        tracer._map(out, tracer.apply("stop_gradient", node) if t.requires_grad else node)
                except TraceAbort:
                    pass
            return out
        return clone

    def _function_apply(self, method):
        """``Function.apply`` telling the tracer which node is the Function's output: its forward's ops are
        traced as they run (without gradient, as eager runs them), and the static autodiff takes that node's
        gradient with the Function's own ``backward`` (:meth:`_Tracer.function_rule`), not the op table's
        rules of the forward (a straight-through estimator's backward is not its forward's derivative)."""
        tracer, run = self.tracer, method.__func__

        @functools.wraps(run)
        def apply(cls, *args, **kwargs):
            out = run(cls, *args, **kwargs)
            if not tracer.paused and tracer.reason is None and isinstance(out, (Tensor, tuple)) and any(
                    isinstance(t, Tensor) and isinstance(t.grad_fn, FunctionCtx) for t in
                    (out if isinstance(out, tuple) else (out,))):
                try:
                    tracer.function_output(out)
                except TraceAbort:
                    pass
            return out
        return classmethod(apply)

    def _function_backward(self, method):
        """``FunctionCtx.run_backward`` keeping the gradient the eager backward gives a traced Function's
        output: the trace runs the Function's ``backward`` again on that value, its ops becoming graph nodes."""
        tracer = self.tracer

        @functools.wraps(method)
        def run_backward(ctx, g, xp):
            if id(ctx) in tracer.function_grads and ctx.n_outputs == 1:   # with what its release frees
                tracer.function_grads[id(ctx)] = (g.copy(), ctx.parents, ctx._saved)
            return method(ctx, g, xp)
        return run_backward

    def _grad_slot(self, slot):
        """``Tensor.grad`` noting which tensors' ``.grad`` the call reads (``if w.grad is None:`` included),
        so that only an unread ``.grad`` loses its guard (:meth:`_Tracer.reset_grads`)."""
        tracer = self.tracer

        def get(t):
            grad = slot.__get__(t, Tensor)
            if not tracer.zeroing:
                tracer.grad_reads.add(id(t))
                if grad is not None and id(grad) in tracer.pre_existing:
                    tracer.grad_sources.setdefault(id(grad), t)   # a replay reads t.grad then, not this tensor
            return grad
        return property(get, slot.__set__, slot.__delete__, "the gradient ``backward`` accumulated, or None")

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
            return patches._record_step(opt, functools.partial(method, opt), closure, True)
        return step

    def _instance_step(self, opt, bound):
        """An instance's own ``step`` (a scheduler's wrapper around the class's): recorded the same way, in the
        plan when it is the scheduler's (its only effect, ``_opt_called = True``, is the same every call)."""
        patches = self

        def step(closure=None):
            return patches._record_step(opt, bound, closure, getattr(bound, "_wrapped_by_lr_sched", False))
        return step

    def _record_step(self, opt, run, closure, plain: bool):
        """Run ``opt.step()`` eagerly (paused) and put it in the graph (:class:`_StepGraph`), or, for an
        optimizer the plan does not know or a step the graph cannot hold, replay it eagerly after the plan."""
        tracer = self.tracer
        if closure is not None:
            tracer.reason = tracer.reason or "optimizer.step(closure) is not traced"
        formula = _STEPPERS.get(type(opt)) if plain and closure is None and not tracer.after else None
        snapshot = {k: t.grad for k, t in tracer.grad_owners.items()}
        result = self._paused(run, closure) if closure is not None else self._paused(run)
        tracer.stepped.append(opt)
        if formula is not None and tracer.reason is None:
            # built after the eager step: the state it made (Adam's moments...) is what later calls read;
            # the parameters' and gradients' nodes are still their values before the step
            graph = _StepGraph(tracer, opt)
            try:
                with tracer.graph.as_default():
                    getattr(graph, formula)()
                graph.commit()
                return result
            except TraceAbort:
                tracer.reason = None   # only this step stays eager (the trace had no reason before it)
        if not tracer.after:   # the .grad the step reads: what the plan must leave (a later zero_grad replays)
            tracer.grad_snapshot = snapshot
        tracer.after.append((run, (), {}))
        return result

    def _zero_grad(self, method):
        tracer, patches = self.tracer, self

        @functools.wraps(method)
        def zero_grad(opt, *args, **kwargs):
            if tracer.after:   # after a step: replayed eagerly after the plan, in order
                tracer.after.append((functools.partial(method, opt), args, kwargs))
                return patches._paused(method, opt, *args, **kwargs)
            if args[0] if args else kwargs.get("set_to_none", True):
                tracer.reset_grads(opt)
            tracer.zeroing += 1   # its own reads of .grad are not the function's
            try:
                return method(opt, *args, **kwargs)
            finally:
                tracer.zeroing -= 1
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
                labels_t = tensors[where]
                labels = F.check_targets(stand_in, labels_t, F.class_dim_of(stand_in))
                matrix, _ = F.target_matrix(stand_in, labels, F.class_dim_of(stand_in), None,
                                             kwargs.get("ignore_index", -100), kwargs.get("label_smoothing", 0.0),
                                             reduction == "mean")
                return matrix
            if len(shape) == 2 and kwargs.get("ignore_index", -100) < 0 and not kwargs.get("label_smoothing", 0.0):
                matrix_of = _OneHotTargets(matrix_of, where, shape, dtype, reduction == "mean")
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


_minimum = np.minimum.reduce   # ndarray.min without its Python wrapper


class _OneHotTargets:
    """The target matrix of ``cross_entropy`` with plain class labels (no weight, smoothing or ignored rows,
    (N, C) logits): one-hot rows of ``1/N`` for the mean (else 1), written into one buffer each call, as
    ``functional._one_hot`` writes a new one (the plan only reads its feeds while it runs).  A named fast path
    of ``general`` (``functional._target_matrix``), which takes every call whose labels it does not
    check here: a negative label, an empty batch, or one out of range (its error is the eager one)."""

    def __init__(self, general, where, shape, dtype, mean: bool):
        self.general, self.where = general, where
        self.buffer = np.zeros(shape, dtype)
        self.rows = np.arange(shape[0])
        self.value = 1.0 / shape[0] if mean else 1.0

    def __call__(self, tensors):
        labels = tensors[self.where]._data
        if type(labels) is not np.ndarray or not labels.size or _minimum(labels, axis=None) < 0:
            return self.general(tensors)
        buffer = self.buffer
        buffer.fill(0)
        try:
            buffer[self.rows, labels] = self.value
        except IndexError:
            return self.general(tensors)
        return buffer


def _subclasses(cls):
    out, todo = [], [cls]
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(c.__subclasses__())
    return out


# --------------------------------------------------------------------------------------- optimizer steps in the plan
class _GroupFeeds:
    """The numbers one parameter group's update reads, computed each call as the eager step computes them
    (from ``group["lr"]``... read then, so a scheduler's or a hand-made change needs no re-trace), each
    fed to the plan as a 0-d array of the parameters' dtype (numpy rounds a Python float to that dtype
    before the ufunc runs: the same numbers as the eager step's)."""

    def __init__(self, compute, group, counter, dtype):
        self.compute, self.group, self.counter, self.dtype = compute, group, counter, np.dtype(dtype)

    def __call__(self):
        step = None if self.counter is None else _next_count(self.counter._data)
        return self.compute(self.group, step)


def _next_count(counter) -> float:
    """The step count after ``counter += 1`` (what ``next_step`` returns), without the 0-d array op while
    the count is exact in every counter dtype."""
    value = float(counter) + 1.0
    if value > 16777216.0:   # 2 ** 24: past it a float32 counter stops counting; let numpy say what eager gets
        value = float(counter + 1)
    return value


def _sgd_numbers(group, step):
    return (group["lr"], group["weight_decay"], group["momentum"], 1 - group["dampening"])


def _adam_numbers(group, step):
    lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    decay = 1 - lr * wd if group.get("decoupled_weight_decay", False) else wd
    return (decay, 1 - beta1, beta2, 1 - beta2, bias_correction2_sqrt, eps, -(lr / bias_correction1))


def _rmsprop_numbers(group, step):
    return (group["lr"], group["weight_decay"], group["alpha"], 1 - group["alpha"], group["eps"], group["momentum"])


class _StepGraph:
    """Builds one optimizer step as graph nodes: the engine's formula for each parameter, op for op in its
    order (so the plan's numbers are eager's bit for bit); nothing is committed to the tracer until every
    parameter is built (a refusal leaves the step eager)."""

    def __init__(self, tracer, opt):
        self.tracer, self.opt = tracer, opt
        self.assigns: list = []    # (tensor, its Variable, the new value's node)
        self.feeds: list = []      # (placeholder, ("opt", feeder, index))
        self.feeders: list = []

    def op(self, name, *args):
        return self.tracer.apply(name, *args)

    def numbers(self, compute, group, params, count_key, count):
        """Placeholders for the group's numbers (``count`` of them) and the feeder computing them."""
        dtypes = {p._data.dtype for p in params}
        if len(dtypes) != 1 or next(iter(dtypes)).kind != "f":
            self.tracer.abort("an optimizer group mixes parameter dtypes")
        dtype = dtypes.pop()
        counter = None
        if count_key is not None:
            counters = [self.opt.state[p][count_key] for p in params]
            if len({float(c._data) for c in counters}) != 1:
                self.tracer.abort("the group's parameters have taken different numbers of steps")
            counter = counters[0]
        feeder = _GroupFeeds(compute, group, counter, dtype)
        values = compute(group, 1.0)
        if not all(type(v) in (int, float) for v in values):
            self.tracer.abort("an optimizer hyper-parameter is not a Python number")
        self.feeders.append(feeder)
        nodes = []
        with self.tracer.graph.as_default():
            for k in range(count):
                ph = self.tracer.tf.placeholder(dtype, shape=(), name="optimizer_number")
                self.feeds.append((ph, ("opt", feeder, k)))
                nodes.append(ph)
        return nodes

    def param(self, p):
        grad = p.grad
        if grad is None or id(p) not in self.tracer.grad_owners or id(grad) not in self.tracer.nodes:
            self.tracer.abort("optimizer.step() reads a .grad this call's backward did not compute")
        return self.tracer.node_of(p), self.tracer.nodes[id(grad)]

    def state(self, p, key):
        t = self.opt.state[p].get(key)
        if not isinstance(t, Tensor) or t._data.shape != p._data.shape and key != "step":
            self.tracer.abort(f"the optimizer's {key} state is not a tensor the plan can hold")
        return t, self.tracer.state_variable(t)

    def assign(self, t, var, value):
        """The assign of ``t``'s new value; later formula lines read the assign (as eager reads the updated
        array), which leaves the value one user and lets the memory plan compute it straight into ``t``."""
        variable = self.tracer.variables.get(id(t), (None, None))[1]
        if variable is None or self.tracer.writes.get(id(t)) is not None:
            self.tracer.abort("the step updates a tensor the call already changed")
        node = self.tracer.tf.assign(variable, value)
        self.assigns.append((t, variable, node))
        return node

    def count(self, p, key="step"):
        t, var = self.state(p, key)
        self.assign(t, var, self.op("add", var, 1))

    def stepped(self, group):
        return [p for p in group["params"] if p.grad is not None]

    # ----------------------------------------------------------------- the formulas (see optim/*.py)
    def sgd(self):
        for group in self.opt.param_groups:
            params = self.stepped(group)
            if not params:
                continue
            lr, wd, momentum, keep = self.numbers(_sgd_numbers, group, params, None, 4)
            for p in params:
                w, g = self.param(p)
                if group["maximize"]:
                    g = self.op("neg", g)
                if group["weight_decay"] != 0:
                    g = self.op("add", g, self.op("mul", wd, w))
                if group["momentum"] != 0:
                    t, buf = self.state(p, "momentum_buffer")
                    b = self.op("add", self.op("mul", buf, momentum), self.op("mul", keep, g))
                    b = self.assign(t, buf, b)
                    g = self.op("add", g, self.op("mul", momentum, b)) if group["nesterov"] else b
                self.assign(p, w, self.op("sub", w, self.op("mul", lr, g)))

    def adam(self):
        for group in self.opt.param_groups:
            params = self.stepped(group)
            if not params:
                continue
            decay, c1, beta2, c2, bc2, eps, step_size = self.numbers(_adam_numbers, group, params, "step", 7)
            for p in params:
                var, g = self.param(p)
                w = var
                self.count(p)
                if group["maximize"]:
                    g = self.op("neg", g)
                if group["weight_decay"] != 0:
                    if group.get("decoupled_weight_decay", False):
                        w = self.op("mul", w, decay)
                    else:
                        g = self.op("add", g, self.op("mul", w, decay))
                tm, m = self.state(p, "exp_avg")
                tv, v = self.state(p, "exp_avg_sq")
                m = self.assign(tm, m, self.op("add", m, self.op("mul", self.op("sub", g, m), c1)))
                v = self.assign(tv, v, self.op("add", self.op("mul", v, beta2),
                                               self.op("mul", self.op("mul", g, c2), g)))
                if group["amsgrad"]:
                    tx, x = self.state(p, "max_exp_avg_sq")
                    v = self.assign(tx, x, self.op("maximum", x, v))
                denom = self.op("add", self.op("div", self.op("sqrt", v), bc2), eps)
                self.assign(p, var, self.op("add", w, self.op("mul", self.op("div", m, denom), step_size)))

    def rmsprop(self):
        for group in self.opt.param_groups:
            params = self.stepped(group)
            if not params:
                continue
            lr, wd, alpha, rest, eps, momentum = self.numbers(_rmsprop_numbers, group, params, "step", 6)
            for p in params:
                w, g = self.param(p)
                self.count(p)
                if group["maximize"]:
                    g = self.op("neg", g)
                if group["weight_decay"] != 0:
                    g = self.op("add", g, self.op("mul", wd, w))
                ts, sq = self.state(p, "square_avg")
                sq = self.assign(ts, sq, self.op("add", self.op("mul", sq, alpha),
                                                 self.op("mul", self.op("mul", rest, g), g)))
                if group["centered"]:
                    ta, ga = self.state(p, "grad_avg")
                    ga = self.assign(ta, ga, self.op("add", ga, self.op("mul", rest, self.op("sub", g, ga))))
                    avg = self.op("sqrt", self.op("sub", sq, self.op("mul", ga, ga)))
                else:
                    avg = self.op("sqrt", sq)
                avg = self.op("add", avg, eps)
                if group["momentum"] > 0:
                    tb, buf = self.state(p, "momentum_buffer")
                    buf = self.assign(tb, buf, self.op("add", self.op("mul", buf, momentum), self.op("div", g, avg)))
                    self.assign(p, w, self.op("sub", w, self.op("mul", lr, buf)))
                else:
                    self.assign(p, w, self.op("sub", w, self.op("mul", lr, self.op("div", g, avg))))

    def commit(self):
        """Make the built step the trace's: each written tensor's node becomes its assign."""
        tracer = self.tracer
        params = {id(p) for g in self.opt.param_groups for p in g["params"]}
        for t, _, node in self.assigns:
            if id(t) not in params:
                tracer.quiet.add(id(t))
            tracer.writes[id(t)] = node
            tracer._map(t, node)
        tracer.placeholders.extend(self.feeds)


def _steppers():
    from .optim.adam import Adam, AdamW
    from .optim.rmsprop import RMSprop
    from .optim.sgd import SGD
    return {SGD: "sgd", Adam: "adam", AdamW: "adam", RMSprop: "rmsprop"}


class _Steppers(dict):
    """Optimizer class (exactly: a subclass may change the update) -> the :class:`_StepGraph` formula."""

    def get(self, key, default=None):
        if not self:
            self.update(_steppers())
        return super().get(key, default)


_STEPPERS = _Steppers()


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


def _layout_key(values, mods, opts) -> tuple:
    """The array type, shape and dtype of every tensor a plan may read besides its arguments: captured
    tensors, modules' parameters and buffers, optimizers' parameters (``p.data = <another shape>`` or
    ``model.double()`` must re-trace: the plan was written for the old layout).  Optimizer state is left
    out: it is made by the first step, and the optimizer's key guards its tensors by identity."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    for v in values:
        if isinstance(v, (list, tuple)):
            tensors.extend(x for x in v if isinstance(x, Tensor))
    for m in mods:
        tensors.extend(m.parameters())
        tensors.extend(b for b in m.buffers() if b is not None)
    for o in opts:
        tensors.extend(p for g in o.param_groups for p in g["params"])
    return tuple([(type(t._data), t._data.shape, t._data.dtype) for t in tensors])


def _optimizer_key(opt):
    """Each group's parameters; for an optimizer whose step a plan may hold, also each group's structural
    hyper-parameters by value (the numbers are fed each call) and each parameter's state tensors by identity."""
    groups = tuple(tuple(map(id, g["params"])) for g in opt.param_groups)
    formula = _STEPPERS.get(type(opt))
    if formula is None:
        return groups
    structure = tuple(tuple(_sign(g.get(k)) for k in _STRUCTURAL) for g in opt.param_groups)
    state = opt.state
    entries = tuple(_state_key(state.get(p)) for g in opt.param_groups for p in g["params"])
    return groups, structure, id(state), entries


# The hyper-parameters that choose the formula's shape (the rest are numbers the plan is fed): by value
_STRUCTURAL = ("maximize", "weight_decay", "momentum", "nesterov", "amsgrad", "decoupled_weight_decay", "centered")


def _sign(value):
    """A structural hyper-parameter as the formulas test it: a flag as itself, a number by its sign."""
    if value is None or type(value) is bool:
        return value
    try:
        return (value > 0) - (value < 0)
    except TypeError:
        return ("id", id(value))


def _state_key(entries):
    if not entries:
        return None
    return tuple([(k, id(v)) for k, v in entries.items()])


# --------------------------------------------------------------------------------------- the common case's guard
# Numbers fed to a plan rather than guarded (read from each group every call)
_NUMBER_TYPES = frozenset({int, float})
_SIGNED = ("momentum", "weight_decay")   # fed, and guarded by sign (0 or not chooses the formula's shape)
_STALE = object()   # what a replay returns when a fed number is not one the plan can take
_FED = frozenset({"lr", "betas", "eps", "alpha", "dampening", "initial_lr"})


class _FastGuard:
    """The guard of the trace the last call ran, written out as one generated function of ``is`` tests.

    It tests every object the full guard's key is computed from: the captured globals, closure cells and
    method attributes, each module's attributes, parameters, buffers and submodules, the optimizers'
    attributes, groups, parameter lists, structural hyper-parameters and state entries, each by identity
    (``is``: a value rebound to an equal new object only sends the call to the full guard) with each
    container's length; then the arguments (type, shape, dtype, ``requires_grad``, no view, no aliasing),
    the ``.grad`` states, grad mode and the default dtype.  The same objects and arguments make the full key
    what it was when this guard was built (it matched this trace then), so a passing check is one the full
    guard would pass; anything else returns False and the call takes the full guard.  It holds what it
    compares with (an id stays unique while the object lives).
    """

    def __init__(self, compiled, trace, args):
        self.trace = trace
        w = _GuardWriter()
        w.arguments(args)
        w.line(f"if LAYOUTS.changes != {LAYOUTS.changes}: return False")   # an array replaced by another layout
        w.line(f"if GRAD_MODE.enabled is not {w.const(GRAD_MODE.enabled)} or "
               f"default_dtype() != {w.const(dtypes.get_default_dtype())}: return False")
        _write_identities(w, compiled)
        for t, none in trace.grads_none:
            w.line(f"if {w.const(t)}.grad is {'not ' if none else ''}None: return False")
        w.ns.update(GRAD_MODE=GRAD_MODE, LAYOUTS=LAYOUTS, default_dtype=dtypes.get_default_dtype, Tensor=Tensor,
                    ndarray=np.ndarray, may_share=np.may_share_memory)
        self.source = "def check(args):\n    try:\n" + "".join(f"        {line}\n" for line in _joined(w.lines)) + \
            "    except (AttributeError, KeyError, ValueError, TypeError):   # not a tensor, a name gone...\n" \
            "        return False\n    return True\n"
        from .static.compiler import closure
        self.check = closure(self.source, w.ns, "check")


class _GuardWriter:
    """Lines and bound objects of a :class:`_FastGuard`'s function."""

    def __init__(self):
        self.lines: list[str] = []
        self.ns: dict = {}
        self.names: dict[int, str] = {}

    def line(self, text: str) -> None:
        self.lines.append(text)

    def const(self, value) -> str:
        name = self.names.get(id(value))
        if name is None:
            name = self.names[id(value)] = f"c{len(self.ns)}"
            self.ns[name] = value
        return name

    def same(self, expr: str, value) -> None:
        self.line(f"if {expr} is not {self.const(value)}: return False")

    def items(self, container, values) -> None:
        """``container``'s values (a dict's, a list's) are exactly ``values``, in order."""
        name = self.const(container)
        values = list(values)
        if not values:   # the usual empty registry (no buffers, no submodules): its truth value, no len()
            self.line(f"if {name}: return False")
            return
        self.line(f"if len({name}) != {len(values)}: return False")
        source = f"{name}.values()" if isinstance(container, dict) else name
        locals_ = [f"v{len(self.lines)}_{k}" for k in range(len(values))]
        self.line(f"{', '.join(locals_)}, = {source}")
        self.line("if " + " or ".join(f"{v} is not {self.const(x)}" for v, x in zip(locals_, values))
                  + ": return False")

    def keys(self, mapping, keys) -> None:
        """``mapping[k]`` is still the same object for each of ``keys`` (and no key came or went)."""
        name = self.const(mapping)
        self.line(f"if len({name}) != {len(mapping)}: return False")
        if keys:
            self.line("if " + " or ".join(f"{name}[{k!r}] is not {self.const(mapping[k])}" for k in keys)
                      + ": return False")

    def sign(self, expr: str, value) -> None:
        """``expr`` is still a number of ``value``'s type with its sign (``_sign``'s test, written out)."""
        if type(value) not in (int, float):
            self.same(expr, value)
            return
        test = "> 0" if value > 0 else "< 0" if value < 0 else "== 0"
        self.line(f"if type({expr}) is not {type(value).__name__} or not {expr} {test}: return False")

    def arguments(self, args) -> None:
        n = len(args)
        self.line(f"if len(args) != {n}: return False")
        if not n:
            return
        names = [f"a{k}" for k in range(n)]
        self.line(f"{', '.join(names)}, = args")
        for a, t in zip(names, args):
            data = t._data
            self.line(f"if type({a}) is not Tensor or {a}._base is not None or {a}._requires_grad is not "
                      f"{t._requires_grad}: return False")
            self.line(f"d{a} = {a}._data")
            self.line(f"if type(d{a}) is not ndarray or d{a}.shape != {tuple(data.shape)!r} or "
                      f"d{a}.dtype is not {self.const(data.dtype)}: return False")
        if n > 1:   # the traced call had no aliasing (else no fast guard): no two the same array or sharing memory
            arrays = [f"d{a}" for a in names]
            pairs = [(x, y) for i, x in enumerate(arrays) for y in arrays[i + 1:]]
            self.line("if " + " or ".join(f"{x} is {y}" for x, y in pairs) + ": return False")
            self.line("if (" + " or ".join(f"{x}.base is not None" for x in arrays) + ") and ("
                      + " or ".join(f"may_share({x}, {y})" for x, y in pairs) + "): return False")


def _joined(lines: list[str]) -> list[str]:
    """Consecutive ``if <test>: return False`` lines as one ``if`` of their tests joined by ``or`` (the same
    tests in the same order, one branch instead of many)."""
    out, tests = [], []
    head, tail = "if ", ": return False"
    for line in lines:
        if line.startswith(head) and line.endswith(tail):
            tests.append(f"({line[len(head):-len(tail)]})")
            continue
        if tests:
            out.append(head + " or ".join(tests) + tail)
            tests = []
        out.append(line)
    if tests:
        out.append(head + " or ".join(tests) + tail)
    return out


_MODULE_SKIP = frozenset({"_forward_pre_hooks", "_forward_hooks", "_non_persistent_buffers_set"})


def _write_identities(w: _GuardWriter, compiled) -> None:
    """The :class:`_FastGuard` lines testing what the full guard's key reads from objects, by identity."""
    fn = compiled.fn
    func = getattr(fn, "__func__", fn)
    if getattr(func, "__code__", None) is not None:
        g = func.__globals__
        for key, _ in compiled._readers:
            if key[0] == "global":
                w.same(f"{w.const(g)}[{key[1]!r}]", g[key[1]])
        for cell in func.__closure__ or ():
            w.same(f"{w.const(cell)}.cell_contents", _cell_value(cell))
    owner = getattr(fn, "__self__", None)
    if owner is not None and compiled._attr_names:
        d = getattr(owner, "__dict__", None)
        if d is not None:
            w.same(f"{w.const(owner)}.__dict__", d)
            w.keys(d, [n for n in compiled._attr_names if n in d])
    for m in compiled._mods:
        for sub in _module_tree(m):
            d = sub.__dict__
            w.same(f"{w.const(sub)}.__dict__", d)
            w.keys(d, [k for k in d if k not in _MODULE_SKIP])
            for name in ("_parameters", "_buffers", "_modules"):   # what the full guard's module key reads
                inner = d.get(name)
                if isinstance(inner, dict):
                    w.items(inner, inner.values())
    for opt in compiled._opts:
        d = opt.__dict__
        w.same(f"{w.const(opt)}.__dict__", d)
        w.keys(d, list(d))
        w.items(opt.param_groups, opt.param_groups)
        state = opt.state
        w.line(f"if len({w.const(state)}) != {len(state)}: return False")
        for group in opt.param_groups:
            w.keys(group, [k for k in group if k not in _FED and k not in _SIGNED])
            for k in _SIGNED:   # fed numbers whose sign chooses the formula (a schedule may change them)
                if k in group:
                    w.sign(f"{w.const(group)}[{k!r}]", group[k])
            w.items(group["params"], group["params"])
            for p in group["params"]:
                entry = state.get(p)
                if entry is not None:
                    w.same(f"{w.const(state)}.get({w.const(p)})", entry)
                    w.items(entry, entry.values())


def _usual_args(args, kwargs) -> bool:
    """The calls the fast guard serves: positional plain CPU tensors only, none a view, no two sharing memory
    (its function tests for exactly that: an aliased call always takes the full guard)."""
    if kwargs or not all(type(t) is Tensor and t._base is None and type(t._data) is np.ndarray for t in args):
        return False
    arrays = [t._data for t in args]
    return not any(np.may_share_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])


def _module_tree(module):
    out, stack = [], [module]
    while stack:
        m = stack.pop()
        out.append(m)
        stack += [c for c in m._modules.values() if c is not None]
    return out


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
        self._fast = None   # the last replayed trace's guard in its fast form (:class:`_FastGuard`)
        self._fast_guards: dict = {}   # id(trace) -> its newest fast guard
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
        fast = self._fast
        if fast is not None and not kwargs and self.eager_reason is None and (
                fast.check(args) or self._other_fast_guard(args)):
            fast = self._fast
            replay = fast.trace.fast_replay
            value = replay(args) if replay is not None else self._replay(fast.trace, args)
            if value is not _STALE:
                self.compiled_calls += 1
                return value
            return self._eager("an optimizer hyper-parameter is not a Python number: this call ran eagerly",
                               args, kwargs)
        return self._call(args, kwargs)

    def _other_fast_guard(self, args) -> bool:
        """Another trace's fast guard that holds for this call (a training loop's short last batch and the
        full ones take turns); it becomes the one tried first."""
        for guard in self._fast_guards.values():
            if guard is not self._fast and guard.check(args):
                self._fast = guard
                return True
        return False

    def _call(self, args, kwargs):
        """The full guard: find the trace whose guards hold, or trace the call."""
        if self.eager_reason is not None:
            self._fast, self._fast_guards = None, {}
            return self.fn(*args, **kwargs)
        try:
            guard, tensors = self._guard_key(args, kwargs)
        except TypeError as exc:
            return self._eager(f"arguments cannot be guarded: {exc}", args, kwargs)
        for trace in self.traces:
            if trace.guard == guard and all([(p.grad is None) is none for p, none in trace.grads_none]):
                value = self._replay(trace, [t for _, t in tensors])
                if value is _STALE:
                    return self._eager("an optimizer hyper-parameter is not a Python number: this call ran "
                                       "eagerly", args, kwargs)
                self.compiled_calls += 1
                self._fast = _FastGuard(self, trace, args) if _usual_args(args, kwargs) else None
                if self._fast is not None:
                    self._fast_guards[id(trace)] = self._fast   # one a trace: the newest replaces its old one
                return value
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
               _layout_key(values, mods, opts), GRAD_MODE.enabled, dtypes.get_default_dtype())
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
        trace.grads_none = [(t, none) for t, none in grads_none if id(t) not in tracer.unread_grads]
        trace.fast_replay = _write_replay(trace)
        # the optimizers' state as the traced call left it (a first step makes it): what a replay reads
        trace.guard = guard[:5] + (tuple([_optimizer_key(o) for o in self._opts]),) + guard[6:]
        self.traces.append(trace)
        self._fast_after_trace(trace, args, kwargs)
        # The trace made thousands of objects (graph, program, plan): collected here with its young garbage,
        # its survivors moved out of the young generations, the collector's work lands in this slow call
        # rather than in the first replays (a young collection there cost milliseconds).
        gc.collect(1)
        return result

    def _fast_after_trace(self, trace, args, kwargs) -> None:
        """The new trace's fast guard, built now when the full guard, computed again after the call, matches
        it (the call changed nothing the guards read): the next call then replays at once."""
        if not _usual_args(args, kwargs):
            return
        try:
            key, _ = self._guard_key(args, kwargs)
        except TypeError:
            return
        if key == trace.guard and all((p.grad is None) is none for p, none in trace.grads_none):
            self._fast = self._fast_guards[id(trace)] = _FastGuard(self, trace, args)

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
        outputs, out_nodes, specs = [], [], []

        def leaf(value):
            specs.append(_leaf(value))
            return specs[-1]

        def _leaf(value):
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
        fetches = out_nodes + tracer.assigns()
        if not fetches:
            raise TraceAbort("the call computes nothing a plan could hold")
        placeholders = [ph for ph, _ in tracer.placeholders]
        shapes = {ph: tuple(ph.shape) for ph in placeholders}
        program, report = optimize(tracer.graph, fetches, shapes, pipeline(self.options.get("rewrites", ())))
        used = {ins.node.id for ins in program.instrs if ins.op == "feed"}
        # an optimizer number the formula does not read (SGD's momentum without momentum...) is not fed
        tracer.placeholders = [(ph, how) for ph, how in tracer.placeholders if how[0] != "opt" or ph.id in used]
        placeholders = [ph for ph, _ in tracer.placeholders]
        plan = bind(program, placeholders, returned=len(out_nodes))   # the assigns' values are not read
        report.code = plan.source
        var_of = {var.id: t for t, var in tracer.variables.values()}
        var_writes = [var_of[v.id] for v in plan.writes]
        sources = [_source(var_of[v.id], tracer) for v in plan.reads]
        var_writes = [_source(t, tracer) for t in var_writes]
        trace = _Trace(guard, tracer, plan, sources, build, report, grads, var_writes)
        trace.feed_plan = _feed_plan(tracer.placeholders)
        trace.plain_io = not plan.distinct and all(p is None for _, p in sources + var_writes)
        trace.read_tensors = [t for t, _ in sources]
        trace.write_tensors = [t for t, _ in var_writes]
        trace.bumped = [t for t, p in var_writes if p is None and id(t) not in tracer.quiet]
        single = isinstance(result, Tensor) and specs[0][0] == "out"
        trace.single_output = specs[0][1] if single else None
        trace.scalar_outputs = {k for k, node in enumerate(out_nodes) if tuple(node.shape) == ()}
        return trace

    # ----------------------------------------------------------------- replay
    def _replay(self, trace: _Trace, tensors):
        """Run the trace's plan for a call whose guards hold (``tensors``: the call's tensor arguments in
        flattened order) and leave every tensor, ``.grad`` and output as the eager call would."""
        plan = trace.plan
        feeds = []
        for how in trace.feed_plan:
            kind = how[0]
            if kind == "arg":
                feeds.append(tensors[how[1]]._data)
            elif kind == "numbers":
                values = how[1]()
                values = [values[i] for i in how[3]]
                if not all(map(_NUMBER_TYPES.__contains__, map(type, values))):
                    return _STALE   # a hyper-parameter set to something else than a Python number
                feeds += map(how[2], values)
            elif kind == "draw":
                feeds.append(how[1]())
            else:
                feeds.append(np.asarray(how[1](tensors), dtype=how[2]))
        if trace.plain_io:   # the usual case: every Variable updated in place, read from its tensor
            reads = [t._data for t in trace.read_tensors]
            writes = [t._data for t in trace.write_tensors]
            targets = None
        else:
            reads = [t._data if p is None else p.grad._data for t, p in trace.fetch_plan]
            targets = [t if p is None else p.grad for t, p in trace.var_writes]
            writes = [np.empty_like(t._data) if var in plan.distinct else t._data
                      for var, t in zip(plan.writes, targets)]
        values = plan.run(*feeds, *reads, *writes, *[np.empty(shape, dtype) for shape, dtype in plan.outs])
        if targets is not None:
            for t, w, (_, p) in zip(targets, writes, trace.var_writes):
                if w is not t._data:
                    np.copyto(t._data, w)
                if p is not None:
                    t._bump()
        for t in trace.bumped:   # what eager bumps: in-place tensor ops, stepped parameters (not optimizer state)
            t._bump()
        for t, k in trace.grads:
            t.grad = None if k is None else _new(_own(values[k]))
        single = trace.single_output
        value = _new(_own(values[single])) if single is not None else trace.build(lambda leaf: _output(leaf, values))
        for method, args, kwargs in trace.tracer.after:
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


def _write_replay(trace):
    """The trace's replay as one generated function (a fast path of :meth:`CompiledFunction._replay`, which
    stays the reference: tests run both): the feeds, buffers, version bumps, ``.grad`` updates and output
    written out for this trace, so a call pays no loop over how each value is found.  ``None`` where the
    trace needs the general replay (buffers chosen per call, optimizer steps replayed eagerly, a
    structured result).

    Generated code rather than a loop over how each value is found, for the reason the plan itself is
    generated (measured in :func:`static.compiler.bind`'s docstring): a loop step looks its arguments up
    and calls through ``*args``, about 0.3 us a step, where a written-out line is the call alone."""
    plan = trace.plan
    if not trace.plain_io or trace.tracer.after or trace.single_output is None:
        return None
    ns = {"run": plan.run, "new": _new, "own": _own, "empty": np.empty, "STALE": _STALE,
          "NUMBER": _NUMBER_TYPES.__contains__}
    lines, args = [], []
    for k, how in enumerate(trace.feed_plan):
        kind = how[0]
        if kind == "arg":
            args.append(f"tensors[{how[1]}]._data")
        elif kind == "numbers":
            ns[f"N{k}"], ns[f"T{k}"] = how[1], how[2]
            lines += [f"n{k} = N{k}()",
                      "if not (" + " and ".join(f"NUMBER(type(n{k}[{j}]))" for j in how[3]) + "):",
                      "    return STALE"]
            args += [f"T{k}(n{k}[{j}])" for j in how[3]]
        elif kind == "draw":
            ns[f"D{k}"] = how[1]
            args.append(f"D{k}()")
        else:
            ns[f"D{k}"], ns[f"Y{k}"] = how[1], how[2]
            args.append(f"asarray(D{k}(tensors), dtype=Y{k})")
            ns["asarray"] = np.asarray
    for k, t in enumerate(trace.read_tensors):
        ns[f"R{k}"] = t
        args.append(f"R{k}._data")
    for k, t in enumerate(trace.write_tensors):
        ns[f"W{k}"] = t
        args.append(f"W{k}._data")
    for k, (shape, dtype) in enumerate(plan.outs):
        ns[f"S{k}"], ns[f"Y_out{k}"] = shape, dtype
        args.append(f"empty(S{k}, Y_out{k})")
    lines.append(f"values = run({', '.join(args)})")
    for k, t in enumerate(trace.bumped):
        ns[f"B{k}"] = t
        lines.append(f"B{k}._bump()")
    none_at_start = {id(t) for t, none in trace.grads_none if none}   # guarded: None when the call starts
    ns["ARRAY"] = np.ndarray
    for k, (t, slot) in enumerate(trace.grads):
        ns[f"G{k}"] = t
        if slot is not None:   # a 0-d value comes back as a numpy scalar: own() makes it an array
            value = f"own(values[{slot}])" if slot in trace.scalar_outputs else f"values[{slot}]"
            # the plan's array has the traced shape and dtype on the CPU: while the parameter's array still
            # has them (checked here), the .grad setter's checks hold and the slot is written directly
            ns[f"GS{k}"], ns[f"GY{k}"] = t._data.shape, t._data.dtype
            lines += [f"d = G{k}._data",
                      f"if type(d) is ARRAY and d.shape == GS{k} and d.dtype is GY{k}:",
                      f"    G{k}._grad = new({value})",
                      "else:",
                      f"    G{k}.grad = new({value})"]
        elif id(t) not in none_at_start:
            lines.append(f"G{k}.grad = None")
    out = trace.single_output
    lines.append(f"return new(own(values[{out}]))" if out in trace.scalar_outputs else f"return new(values[{out}])")
    from .static.compiler import closure
    source = "def replay(tensors):\n" + "".join(f"    {line}\n" for line in lines)
    trace.replay_source = source
    return closure(source, ns, "replay")


def _feed_plan(placeholders) -> list:
    """How each placeholder gets its value on a replay, in the plan's feed order: ``("arg", k)``, ``("draw", fn)``,
    ``("derived", fn, dtype)``, and one ``("numbers", feeder, to_dtype, indices)`` for each optimizer group's
    consecutive numbers (the feeder computes them all at once; the plan takes those at ``indices``)."""
    plan = []
    for ph, how in placeholders:
        if how[0] == "opt":
            if plan and plan[-1][0] == "numbers" and plan[-1][1] is how[1]:
                plan[-1][3].append(how[2])
            else:
                plan.append(("numbers", how[1], ph.dtype.type, [how[2]]))
        elif how[0] == "derived":
            plan.append(("derived", how[1], ph.dtype))
        else:
            plan.append(how[:2])
    return plan


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
