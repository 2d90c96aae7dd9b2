"""PyTorch's update rules (``torch.optim`` 2.x, single-tensor path), written once for every kind of array.

Each rule is one function, ``rule(param, grad, state, step, *, hyper-parameters..., ops) -> (param, state)``,
that reads as ``torch/optim/<name>.py``'s ``_single_tensor_<name>``: the same tensor methods
(``lerp_``, ``addcmul_``, ``addcdiv_``...) in the same order, so every spelling rounds alike.  ``state``
maps PyTorch's state names (``exp_avg``, ``momentum_buffer``...) to arrays; ``step`` is the update's
number, 1 for the first (only Adam's bias corrections use it).  The rule returns the new parameter and
the new state (an entry the rule creates, such as SGD's first ``momentum_buffer``, appears there).
``ops`` says what the methods do:

* :class:`ArrayOps` -- numpy or cupy arrays, updated in place with ``out=`` forms and two scratch
  arrays: the engine's optimizers and the ``manual`` mode.
* :class:`FunctionalOps` -- every method returns a new value built with operators and ``xp.sqrt`` /
  ``xp.maximum``.  With ``xp`` the graph namespace ``autotrain.engine.static`` and Nodes/Variables as
  ``param``, ``grad`` and the state (``step`` a node or a number), a rule builds the update as graph
  nodes (numbers become constants of the parameter's dtype, as numpy treats Python scalars); assign
  the results::

      import autotrain.engine.static as tf
      from autotrain.engine.optim.formulas import FunctionalOps, adam

      new_p, new_state = adam(var, grad, {"exp_avg": m, "exp_avg_sq": v}, t,   # t: a node, the step number
                              lr=1e-3, betas=(0.9, 0.999), eps=1e-8, ops=FunctionalOps(tf))
      train_op = tf.group(var.assign(new_p), *(slots[k].assign(x) for k, x in new_state.items()))

  (the static compiler runs every read of a Variable before the write to it, so the order of the
  assigns does not matter).  With ``xp = numpy`` it computes, allocating, what :class:`ArrayOps`
  computes in place, bit for bit (tests/test_optim_formulas.py checks it).

A method's name ends in ``_`` where PyTorch's updates its first argument: the array spelling writes
into that array (a state array or a temporary the rule made), the functional one returns the new
value; a rule always continues with the returned value.
"""
from __future__ import annotations


class ArrayOps:
    """The methods on numpy/cupy arrays, in place.

    Two scratch arrays shaped like ``like`` (the parameter), made on first use: ``tmp`` is used inside
    one method only; ``out`` holds a temporary result (``sqrt``, ``addcmul``) until the rule consumes it.
    Keep one ``ArrayOps`` per parameter between steps and an update allocates nothing but the gradient's
    modified copies.
    """

    __slots__ = ("xp", "like", "_tmp", "_out")

    def __init__(self, xp, like):
        self.xp, self.like, self._tmp, self._out = xp, like, None, None

    def fits(self, array) -> bool:
        """Whether the scratch arrays suit ``array`` (same shape, dtype and array type as ``like``)."""
        like = self.like
        return array.shape == like.shape and array.dtype == like.dtype and type(array) is type(like)

    @property
    def tmp(self):
        if self._tmp is None:
            self._tmp = self.xp.empty_like(self.like)
        return self._tmp

    @property
    def out(self):
        if self._out is None:
            self._out = self.xp.empty_like(self.like)
        return self._out

    # new values (the gradient's modified copies)
    def neg(self, a):
        return -a

    def add(self, a, b, alpha=1):
        return a + b if alpha == 1 else a + alpha * b

    def clone(self, a):
        # xp.array, not a.copy(): for a 0-d parameter ``a`` may be a numpy scalar (``-g`` hands one
        # back), whose copy could not be updated in place later
        return self.xp.array(a)

    # results in the ``out`` scratch buffer
    def sqrt(self, a):
        if isinstance(a, (float, int)):
            return a ** 0.5   # a bias correction: Python's pow, as PyTorch
        return self.xp.sqrt(a, out=self.out)

    def addcmul(self, a, b, c, value=1):
        out = self.out
        self.xp.multiply(b, value, out=out)
        out *= c
        out += a
        return out

    # in place on the first argument
    def mul_(self, a, s):
        a *= s
        return a

    def div_(self, a, s):
        a /= s
        return a

    def add_(self, a, b, alpha=1):
        if alpha == 1:
            a += b
        else:
            self.xp.multiply(b, alpha, out=self.tmp)
            a += self.tmp
        return a

    def sub_(self, a, b, alpha=1):
        a -= alpha * b
        return a

    def lerp_(self, a, b, weight):
        tmp = self.tmp
        self.xp.subtract(b, a, out=tmp)
        tmp *= weight
        a += tmp
        return a

    def addcmul_(self, a, b, c, value=1):
        tmp = self.tmp
        self.xp.multiply(b, value, out=tmp)
        tmp *= c
        a += tmp
        return a

    def addcdiv_(self, a, b, c, value=1):
        tmp = self.tmp
        self.xp.divide(b, c, out=tmp)
        if value != 1:
            tmp *= value
        return self.add_in_place(a, tmp)

    def add_in_place(self, a, t):
        """``a += t`` (a rule's last write into the parameter goes through here)."""
        a += t
        return a

    def maximum_(self, a, b):
        return self.xp.maximum(a, b, out=a)


class FunctionalOps:
    """The methods as new values, from operators and ``xp.sqrt``/``xp.maximum``: graph nodes, or arrays.

    The operands of every operator are in the order :class:`ArrayOps` computes them, so both round alike.
    """

    __slots__ = ("xp",)

    def __init__(self, xp):
        self.xp = xp

    def neg(self, a):
        return -a

    def add(self, a, b, alpha=1):
        return a + b if alpha == 1 else a + alpha * b

    def clone(self, a):
        return a   # values are never updated in place here

    def sqrt(self, a):
        if isinstance(a, (float, int)):
            return a ** 0.5
        return self.xp.sqrt(a)

    def addcmul(self, a, b, c, value=1):
        return value * b * c + a

    def mul_(self, a, s):
        return a * s

    def div_(self, a, s):
        return a / s

    add_ = add

    def sub_(self, a, b, alpha=1):
        return a - alpha * b

    def lerp_(self, a, b, weight):
        return a + (b - a) * weight

    def addcmul_(self, a, b, c, value=1):
        return a + value * b * c

    def addcdiv_(self, a, b, c, value=1):
        return a + b / c if value == 1 else a + b / c * value

    def maximum_(self, a, b):
        return self.xp.maximum(a, b)


# ===================================================================================== the rules
def sgd(param, grad, state, step=None, *, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False,
        maximize=False, ops):
    r"""SGD with momentum, dampening, Nesterov and weight decay (``torch.optim.SGD``)::

        g = -g                                      if maximize
        g = g + weight_decay * p                    if weight_decay != 0
        if momentum != 0:
            b = g                                   at the first step (no momentum_buffer in state)
            b = momentum * b + (1 - dampening) * g  afterwards
            g = g + momentum * b                    if nesterov, else g = b
        p = p - lr * g

    State: ``momentum_buffer`` (when momentum != 0).
    """
    if maximize:
        grad = ops.neg(grad)
    if weight_decay != 0:
        grad = ops.add(grad, param, alpha=weight_decay)
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = ops.clone(grad)
        else:
            buf = ops.add_(ops.mul_(buf, momentum), grad, alpha=1 - dampening)
        state = {**state, "momentum_buffer": buf}
        grad = ops.add(grad, buf, alpha=momentum) if nesterov else buf
    return ops.sub_(param, grad, lr), state


def rmsprop(param, grad, state, step=None, *, lr, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
            centered=False, maximize=False, ops):
    r"""RMSprop with centering, momentum and weight decay (``torch.optim.RMSprop``)::

        g = -g                                      if maximize
        g = g + weight_decay * p                    if weight_decay != 0
        v = alpha * v + (1 - alpha) * g * g         (square_avg)
        if centered:
            a = a + (1 - alpha) * (g - a)           (grad_avg)
            avg = sqrt(v - a * a) + eps
        else:
            avg = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / avg              (momentum_buffer)
            p = p - lr * b
        else:
            p = p - lr * g / avg

    State: ``square_avg``, and ``grad_avg`` / ``momentum_buffer`` when used (zeros at the start).
    """
    if maximize:
        grad = ops.neg(grad)
    if weight_decay != 0:
        grad = ops.add(grad, param, alpha=weight_decay)
    state = dict(state)
    square_avg = state["square_avg"] = ops.addcmul_(ops.mul_(state["square_avg"], alpha), grad, grad, 1 - alpha)
    if centered:
        grad_avg = state["grad_avg"] = ops.lerp_(state["grad_avg"], grad, 1 - alpha)
        avg = ops.sqrt(ops.addcmul(square_avg, grad_avg, grad_avg, value=-1))
    else:
        avg = ops.sqrt(square_avg)
    avg = ops.add_(avg, eps)
    if momentum > 0:
        buf = state["momentum_buffer"] = ops.addcdiv_(ops.mul_(state["momentum_buffer"], momentum), grad, avg)
        return ops.sub_(param, buf, lr), state
    return ops.addcdiv_(param, grad, avg, value=-lr), state


def adam(param, grad, state, step, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
         maximize=False, decoupled_weight_decay=False, ops):
    r"""Adam, and AdamW with ``decoupled_weight_decay`` (``torch.optim.Adam``/``AdamW``)::

        g = -g                                      if maximize
        p = p * (1 - lr * weight_decay)             if weight_decay != 0 and decoupled (AdamW)
        g = g + weight_decay * p                    if weight_decay != 0 and not decoupled
        m = m + (1 - beta1) * (g - m)               (exp_avg)
        v = beta2 * v + (1 - beta2) * g * g         (exp_avg_sq)
        v_max = max(v_max, v)                       (max_exp_avg_sq) if amsgrad; then v_max is used for v
        denom = sqrt(v) / sqrt(1 - beta2 ** step) + eps
        p = p - (lr / (1 - beta1 ** step)) * m / denom

    State: ``exp_avg``, ``exp_avg_sq``, and ``max_exp_avg_sq`` with amsgrad (zeros at the start).
    """
    beta1, beta2 = betas
    if maximize:
        grad = ops.neg(grad)
    if weight_decay != 0:
        if decoupled_weight_decay:
            param = ops.mul_(param, 1 - lr * weight_decay)
        else:
            grad = ops.add(grad, param, alpha=weight_decay)
    state = dict(state)
    exp_avg = state["exp_avg"] = ops.lerp_(state["exp_avg"], grad, 1 - beta1)
    exp_avg_sq = state["exp_avg_sq"] = ops.addcmul_(ops.mul_(state["exp_avg_sq"], beta2), grad, grad, 1 - beta2)
    bias_correction1 = 1 - beta1 ** step
    bias_correction2 = 1 - beta2 ** step
    step_size = lr / bias_correction1
    bias_correction2_sqrt = ops.sqrt(bias_correction2)
    if amsgrad:
        exp_avg_sq = state["max_exp_avg_sq"] = ops.maximum_(state["max_exp_avg_sq"], exp_avg_sq)
    denom = ops.add_(ops.div_(ops.sqrt(exp_avg_sq), bias_correction2_sqrt), eps)
    return ops.addcdiv_(param, exp_avg, denom, value=-step_size), state


def adamw(param, grad, state, step, *, weight_decay=1e-2, **hyper):
    """AdamW: :func:`adam` with decoupled weight decay (``p = p * (1 - lr * weight_decay)`` first)."""
    return adam(param, grad, state, step, weight_decay=weight_decay, decoupled_weight_decay=True, **hyper)


#: the rules by the names a config uses (``momentum`` is SGD with momentum)
RULES = {"sgd": sgd, "momentum": sgd, "rmsprop": rmsprop, "adam": adam, "adamw": adamw}
