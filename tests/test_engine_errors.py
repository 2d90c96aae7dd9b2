"""Misuse of the engine is answered as PyTorch answers it: PyTorch's exception type, one sentence in the
engine's words naming the op, the argument and the value; numpy's and Python's internals never show.

Each case is one call written against a module ``m`` (``autotrain.engine`` or real ``torch``): the engine must
raise the expected type with a message matching the pattern, and real PyTorch (when installed) the same type,
so the table states PyTorch's behaviour rather than the engine's.  The last test runs a bounded sweep of
tests/engine_fuzz.py over every public name.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import autotrain.engine as engine
import autotrain.engine.static as tf
from engine_fuzz import RAW, fuzz

F = engine.nn.functional


def _x(m):
    return m.ones(2, requires_grad=True)


#: (id, call(m), expected type, message pattern, whether real PyTorch raises the same type)
CASES = [
    # a dtype the op has no kernel for (numpy's ufunc text before)
    ("bitwise_not float", lambda m: m.ones(2).bitwise_not(), NotImplementedError,
     r'^"bitwise_not_cpu" not implemented for \'Float\'$', True),
    ("bitwise_and float", lambda m: m.ones(2).bitwise_and(m.ones(2)), NotImplementedError,
     r'"bitwise_and_cpu" not implemented for \'Float\'', True),
    ("bitwise_or double", lambda m: m.ones(2, dtype=m.float64) | m.ones(2, dtype=m.float64), NotImplementedError,
     r"'Double'", True),
    # an in-place result that the tensor's dtype cannot hold (numpy's casting rule text before)
    ("clamp_ int nan", lambda m: m.tensor([1, 2]).clamp_(float("nan")), RuntimeError,
     r"^result type Float can't be cast to the desired output type Long$", True),
    ("clip_ bool nan", lambda m: m.tensor([True]).clip_(float("nan")), RuntimeError,
     r"result type Float can't be cast to the desired output type", True),
    ("exp_ int", lambda m: m.tensor([1, 2]).exp_(), RuntimeError,
     r"result type Float can't be cast to the desired output type Long", True),
    ("div_ int", lambda m: m.tensor([1, 2]).div_(2), RuntimeError,
     r"result type Float can't be cast to the desired output type Long", True),
    ("neg bool", lambda m: -m.tensor([True]), RuntimeError, r"^Negation, the `-` operator, on a bool tensor", True),
    ("neg_ bool", lambda m: m.tensor([True]).neg_(), RuntimeError, r"Negation, the `-` operator", True),
    # a size argument that is not a tuple of ints, or does not fit (numpy's broadcast text before)
    ("broadcast_to str", lambda m: m.broadcast_to(m.ones(2), "a"), TypeError,
     r"^broadcast_to\(\): argument 'size' \(position 2\) must be tuple of ints, not str$", True),
    ("broadcast_to None", lambda m: m.broadcast_to(m.ones(2), None), TypeError, r"must be tuple of ints, not NoneType",
     True),
    ("broadcast_to (2, 2)", lambda m: m.broadcast_to(m.ones(3), (2, 2)), RuntimeError,
     r"^The expanded size of the tensor \(2\) must match the existing size \(3\) at non-singleton dimension 1", True),
    ("expand (1, 2)", lambda m: m.ones(2, 3).expand(1, 2), RuntimeError,
     r"expanded size of the tensor \(2\) must match the existing size \(3\).*Target sizes: \[1, 2\]", True),
    ("expand leading -1", lambda m: m.ones(3, 1).expand(-1, -1, 2), RuntimeError,
     r"isn't allowed in a leading, non-existing dimension 0", True),
    ("expand_as", lambda m: m.ones(2).expand_as(m.ones(3)), RuntimeError, r"expanded size of the tensor \(3\)", True),
    ("view_as size", lambda m: m.ones(2).view_as(m.ones(2, 3)), RuntimeError,
     r"^shape '\[2, 3\]' is invalid for input of size 2$", True),
    # a Python object where a Tensor belongs (AttributeError on .shape/.dtype before)
    ("expand_as None", lambda m: m.ones(2).expand_as(None), TypeError,
     r"^expand_as\(\): argument 'other' \(position 1\) must be Tensor, not NoneType$", True),
    ("view_as float", lambda m: m.ones(2).view_as(1.5), TypeError, r"view_as\(\): argument 'other'.*not float", True),
    ("type_as list", lambda m: m.ones(2).type_as([1]), TypeError, r"type_as\(\): argument 'other'.*not list", True),
    ("matmul float", lambda m: m.ones(2).matmul(1.5), TypeError,
     r"^matmul\(\): argument 'other' \(position 1\) must be Tensor, not float$", True),
    ("matmul big int", lambda m: m.zeros(0).matmul(10 ** 30), TypeError, r"must be Tensor, not int", True),
    ("zeros_like None", lambda m: m.zeros_like(None), TypeError,
     r"^zeros_like\(\): argument 'input' \(position 1\) must be Tensor, not NoneType$", True),
    ("ones_like str", lambda m: m.ones_like("a"), TypeError, r"ones_like\(\): argument 'input'.*not str", True),
    ("full_like list", lambda m: m.full_like([1], 2.0), TypeError, r"full_like\(\): argument 'input'", True),
    ("randn_like None", lambda m: m.randn_like(None), TypeError, r"randn_like\(\): argument 'input'", True),
    ("chunk None input", lambda m: m.chunk(None, 2), TypeError, r"^chunk\(\): argument 'input' \(position 1\)", True),
    ("F.linear int weight", lambda m: m.nn.functional.linear(m.ones(2, 3), 5), TypeError,
     r"^linear\(\): argument 'weight' \(position 2\) must be Tensor, not int$", True),
    ("Linear list input", lambda m: m.nn.Linear(3, 2)([1, 2, 3]), TypeError,
     r"^linear\(\): argument 'input' \(position 1\) must be Tensor, not list$", True),
    ("ReLU list", lambda m: m.nn.ReLU()([1, 2]), TypeError, r"^relu\(\): argument 'input' \(position 1\)", True),
    ("Tanh None", lambda m: m.nn.Tanh()(None), TypeError, r"tanh\(\): argument 'input'.*not NoneType", True),
    ("cross_entropy None target", lambda m: m.nn.functional.cross_entropy(m.ones(2, 3), None), TypeError,
     r"cross_entropy\(\): argument 'target' \(position 2\) must be Tensor, not NoneType", True),
    ("nll_loss float target", lambda m: m.nn.functional.nll_loss(m.ones(2, 3), 1.5), TypeError,
     r"nll_loss\(\): argument 'target'.*not float", True),
    # PyTorch itself leaks an AttributeError here; the engine names the argument
    ("mse_loss int target", lambda m: m.nn.functional.mse_loss(m.ones(2), 5), TypeError,
     r"^mse_loss\(\): argument 'target' \(position 2\) must be Tensor, not int$", False),
    ("binary_cross_entropy list", lambda m: m.nn.functional.binary_cross_entropy(m.ones(2), [1, 2]), TypeError,
     r"binary_cross_entropy\(\): argument 'target'", False),
    ("l1_loss None input", lambda m: m.nn.functional.l1_loss(None, m.ones(2)), TypeError,
     r"l1_loss\(\): argument 'input' \(position 1\)", False),
    # chunk/split arguments (tuple index / floor division of None before)
    ("chunk None", lambda m: m.ones(2).chunk(None), TypeError,
     r"^chunk\(\): argument 'chunks' \(position 1\) must be int, not NoneType$", True),
    ("chunk 0-d", lambda m: m.tensor(1.5).chunk(2), RuntimeError, r"^chunk expects at least a 1-dimensional tensor$",
     True),
    ("chunk 0", lambda m: m.ones(2).chunk(0), RuntimeError, r"chunk expects `chunks` to be greater than 0, got: 0",
     True),
    ("split None", lambda m: m.ones(2).split(None), TypeError,
     r"split_with_sizes\(\): argument 'split_sizes' \(position 2\) must be tuple of ints, not NoneType", True),
    ("split str", lambda m: m.ones(2).split("a"), TypeError, r"must be tuple of ints, not str", True),
    ("split 0-d", lambda m: m.tensor(1.5).split(1), RuntimeError, r"split expects at least a 1-dimensional tensor",
     True),
    ("split 0", lambda m: m.ones(2).split(0), RuntimeError,
     r"split_size can only be 0 if dimension size is 0, but got dimension size of 2", True),
    # a method called with an argument it does not take (the binder's <locals> name before)
    ("float(None)", lambda m: m.ones(2).float(None), TypeError, r"^Tensor\.float\(\) takes", True),
    ("long(1)", lambda m: m.ones(2).long(1), TypeError, r"^Tensor\.long\(\) takes", True),
    # Python ints beyond 64 bits (numpy's C-long text before): PyTorch's own OverflowError
    ("add huge int", lambda m: m.tensor([1, 2]).add(10 ** 30), OverflowError, r"^int too big to convert$", True),
    ("clamp bool huge", lambda m: m.tensor([True]).clamp(10 ** 30), OverflowError, r"^int too big to convert$", True),
    ("clamp_ bool huge", lambda m: m.tensor([True]).clamp_(10 ** 30), OverflowError, r"int too big to convert", True),
    ("full huge", lambda m: m.full((2,), 10 ** 30, dtype=m.int64), OverflowError, r"int too big to convert", True),
    # reductions with no identity over an empty axis (numpy's zero-size reduction before)
    ("amax empty dim", lambda m: m.zeros(0, 3).amax(0), IndexError,
     r"^amax\(\): Expected reduction dim 0 to have non-zero size\.$", True),
    ("amin empty", lambda m: m.zeros(0).amin(), RuntimeError, r"^amin\(\): Expected reduction dim to be specified", True),
    ("amin empty dims", lambda m: m.zeros(0, 3).amin((0, 1)), IndexError, r"amin\(\): Expected reduction dim 0", True),
    ("argmax empty", lambda m: m.zeros(0).argmax(), IndexError,
     r"^argmax\(\): Expected reduction dim to be specified for input\.numel\(\) == 0\.$", True),
    ("argmin empty dim", lambda m: m.zeros(0, 3).argmin(0), IndexError, r"argmin\(\): Expected reduction dim 0", True),
    ("argmax empty keepdim", lambda m: m.zeros(2, 0).argmax(1, keepdim=True), IndexError, r"reduction dim 1", True),
    ("cat nothing", lambda m: m.cat([]), ValueError, r"^torch\.cat\(\): expected a non-empty list of Tensors$", True),
    ("stack nothing", lambda m: m.stack([]), RuntimeError, r"^stack expects a non-empty TensorList$", True),
    ("int() of many", lambda m: int(m.ones(2)), ValueError, r"^only one element tensors can be converted", True),
    ("float() of many", lambda m: float(m.ones(2)), ValueError, r"only one element tensors", True),
    # a Python number where PyTorch's signature has only a Tensor (lifted to a constant before)
    ("sqrt 4", lambda m: m.sqrt(4), TypeError, r"^sqrt\(\): argument 'input' \(position 1\) must be Tensor, not int$",
     True),
    ("exp float", lambda m: m.exp(2.0), TypeError, r"^exp\(\): argument 'input'.*not float$", True),
    ("abs int", lambda m: m.abs(-1), TypeError, r"abs\(\): argument 'input'", True),
    ("sum int", lambda m: m.sum(5), TypeError, r"sum\(\): argument 'input'", True),
    ("clamp float input", lambda m: m.clamp(3.0, min=1.0), TypeError, r"clamp\(\): argument 'input'", True),
    ("eq int input", lambda m: m.eq(1, m.ones(2)), TypeError, r"eq\(\): argument 'input'", True),
    ("where bool condition", lambda m: m.where(True, m.ones(2), m.zeros(2)), TypeError,
     r"^where\(\): argument 'condition' \(position 1\) must be Tensor, not bool$", True),
    ("maximum float other", lambda m: m.maximum(m.ones(2), 1.0), TypeError,
     r"^maximum\(\): argument 'other' \(position 2\) must be Tensor, not float$", True),
    ("Tensor.minimum int", lambda m: m.ones(2).minimum(1), TypeError,
     r"^minimum\(\): argument 'other' \(position 1\) must be Tensor, not int$", True),
    ("fmax float", lambda m: m.fmax(m.ones(2), 1.0), TypeError, r"fmax\(\): argument 'other'", True),
    ("logical_and int", lambda m: m.logical_and(m.ones(2), 1), TypeError, r"logical_and\(\): argument 'other'", True),
    ("mm float", lambda m: m.mm(m.ones(2, 2), 2.0), TypeError,
     r"^mm\(\): argument 'mat2' \(position 2\) must be Tensor, not float$", True),
    ("requires_grad_ str", lambda m: m.ones(2).requires_grad_("a"), TypeError,
     r"^requires_grad_\(\): argument 'requires_grad' \(position 1\) must be bool, not str$", True),
    ("requires_grad_ int", lambda m: m.ones(2).requires_grad_(1), TypeError, r"must be bool, not int", True),
    ("requires_grad_ None", lambda m: m.ones(2).requires_grad_(None), TypeError, r"must be bool, not NoneType", True),
    ("ones requires_grad str", lambda m: m.ones(2, requires_grad="a"), TypeError,
     r"^argument 'requires_grad' must be bool, not str$", True),
    ("tensor requires_grad int", lambda m: m.tensor(1.0, requires_grad=1), TypeError, r"must be bool, not int", True),
    ("zeros_like requires_grad str", lambda m: m.zeros_like(m.ones(1), requires_grad="a"), TypeError,
     r"'requires_grad' must be bool", True),
    ("requires_grad = int", lambda m: setattr(m.ones(2), "requires_grad", 1), RuntimeError,
     r"^requires_grad must be a bool$", True),
    ("requires_grad = None", lambda m: setattr(m.ones(2), "requires_grad", None), RuntimeError,
     r"requires_grad must be a bool", True),
    # an argument of the right type whose value the op cannot take (accepted and computed before)
    ("add int alpha float", lambda m: m.add(m.tensor([1, 2]), m.tensor([1, 2]), alpha=1.5), RuntimeError,
     r"^For integral input tensors, argument alpha must not be a floating point number\.$", True),
    ("sub int alpha float", lambda m: m.sub(m.tensor([1, 2]), m.tensor([1, 2]), alpha=1.5), RuntimeError,
     r"argument alpha must not be a floating point number", True),
    ("add_ int alpha float", lambda m: m.tensor([1, 2]).add_(1, alpha=0.5), RuntimeError,
     r"argument alpha must not be a floating point number", True),
    ("subtract bool alpha", lambda m: m.ones(2).subtract(m.ones(2), alpha=True), RuntimeError,
     r"^Boolean alpha only supported for Boolean results\.$", True),
    ("add alpha str", lambda m: m.ones(2).add(m.ones(2), alpha="a"), TypeError,
     r"^add\(\): argument 'alpha' must be Number, not str$", True),
    ("fill_ 1-d", lambda m: m.ones(2).fill_(m.ones(2)), RuntimeError,
     r"^fill_ only supports 0-dimension value tensor but got tensor with 1 dimensions\.$", True),
    ("fill_ 2-d one element", lambda m: m.ones(2).fill_(m.ones(1, 1)), RuntimeError, r"tensor with 2 dimensions", True),
    ("invert float", lambda m: ~m.ones(2), TypeError,
     r"^~ \(operator\.invert\) is only implemented on integer and Boolean-type tensors$", True),
    ("invert double", lambda m: ~m.ones(2, dtype=m.float64), TypeError, r"operator\.invert", True),
    ("square bool into bool", lambda m: m.tensor([True]).square_(), RuntimeError,
     r"^result type Long can't be cast to the desired output type Bool$", True),
    # a loss kernel PyTorch has only for floating dtypes (an integer loss computed, or another error, before)
    ("mse_loss int", lambda m: m.nn.functional.mse_loss(m.tensor([1, 2]), m.tensor([1, 2])), NotImplementedError,
     r'^"mse_cpu" not implemented for \'Long\'$', True),
    ("mse_loss bool", lambda m: m.nn.functional.mse_loss(m.tensor([True]), m.tensor([True])), NotImplementedError,
     r'"mse_cpu" not implemented for \'Bool\'', True),
    ("binary_cross_entropy int", lambda m: m.nn.functional.binary_cross_entropy(m.tensor([1, 0]), m.tensor([1, 0])),
     NotImplementedError, r'^"binary_cross_entropy" not implemented for \'Long\'$', True),
    ("bce_with_logits int", lambda m: m.nn.functional.binary_cross_entropy_with_logits(
        m.tensor([1, 0]), m.tensor([1, 0])), NotImplementedError, r'"log_sigmoid_cpu" not implemented for', True),
    ("cross_entropy int input", lambda m: m.nn.functional.cross_entropy(m.tensor([[1, 2]]), m.tensor([0])),
     NotImplementedError, r'"log_softmax_lastdim_kernel_impl" not implemented for \'Long\'', True),
    ("nll_loss int input", lambda m: m.nn.functional.nll_loss(m.tensor([[1, 2]]), m.tensor([0])),
     NotImplementedError, r'"nll_loss_out_frame" not implemented for \'Long\'', True),
    ("leaky_relu int", lambda m: m.nn.functional.leaky_relu(m.tensor([1])), NotImplementedError,
     r'^"leaky_relu_cpu" not implemented for \'Long\'$', True),
    ("dropout int", lambda m: m.nn.functional.dropout(m.tensor([1, 2]), 0.5), RuntimeError,
     r"^result type Float can't be cast to the desired output type Long$", True),
    ("dropout bool", lambda m: m.nn.functional.dropout(m.tensor([True]), 0.5), RuntimeError,
     r"desired output type Bool", True),
    # creation arguments
    ("arange None", lambda m: m.arange(None), TypeError, r"^arange\(\): argument 'end'.*must be Number, not NoneType$",
     True),
    ("arange str", lambda m: m.arange("a"), TypeError, r"must be Number, not str", True),
    ("randint None", lambda m: m.randint(None, 5, (2,)), TypeError, r"randint\(\)", True),
    ("tensor str", lambda m: m.tensor("a"), TypeError, r"^can't convert str with elements of type str to a tensor", True),
    ("tensor ragged", lambda m: m.tensor([[1, 2], [3]]), ValueError, r"same length", True),
    ("full size None", lambda m: m.full(None, 1.0), TypeError, r"size must be a tuple of ints, got NoneType", True),
    ("Linear None", lambda m: m.nn.Linear(None, 2), TypeError, r"in_features must be an int, got NoneType", True),
    ("Linear str", lambda m: m.nn.Linear(3, "a"), TypeError, r"out_features must be an int, got str", True),
    ("dropout list p", lambda m: m.nn.functional.dropout(m.ones(2), [1]), TypeError, r"argument 'p' must be a number",
     True),
    # optimizers (Python's comparison text before)
    ("SGD lr list", lambda m: m.optim.SGD([_x(m)], lr=[1]), TypeError, r"^SGD: lr must be a number, got list \[1\]$",
     True),
    ("Adam lr None", lambda m: m.optim.Adam([_x(m)], lr=None), TypeError, r"Adam: lr must be a number", True),
    ("Adam betas float", lambda m: m.optim.Adam([_x(m)], betas=0.9), TypeError, r"betas must be a pair of numbers",
     True),
    ("RMSprop alpha str", lambda m: m.optim.RMSprop([_x(m)], alpha="a"), TypeError, r"RMSprop: alpha must be", True),
    ("SGD params int", lambda m: m.optim.SGD(5, lr=0.1), TypeError,
     r"params argument given to the optimizer should be an iterable of Tensors or dicts, but got int", True),
    ("step closure int", lambda m: m.optim.SGD([_x(m)], lr=0.1).step(5), TypeError,
     r"SGD\.step\(\): closure must be callable", True),
    # autograd.grad with None ('NoneType' object is not iterable before)
    ("grad None outputs", lambda m: m.autograd.grad(None, _x(m)), TypeError, r"outputs must be a Tensor", True),
    ("grad None inputs", lambda m: m.autograd.grad((_x(m) * 2).sum(), None), TypeError, r"inputs must be a Tensor",
     True),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_misuse_is_answered_with_pytorchs_type_and_one_clear_sentence(case):
    _, call, kind, pattern, torch_agrees = case
    with pytest.raises(Exception) as caught:
        call(engine)
    assert type(caught.value) is kind, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert re.search(pattern, message), message
    assert not RAW.search(message), message
    assert "\n" not in message


@pytest.mark.parametrize("case", [c for c in CASES if c[4]], ids=[c[0] for c in CASES if c[4]])
def test_pytorch_raises_the_same_type(case):
    torch = pytest.importorskip("torch")
    _, call, kind, _, _ = case
    with pytest.raises(kind):
        call(torch)


def _graph():
    tf.reset_default_graph()
    return tf.placeholder(tf.float32, [None, 3])


STATIC_CASES = [
    ("name list", lambda x: tf.exp(x, [1, 2]), TypeError, r"name must be a string, got list"),
    ("transpose perm too long", lambda x: tf.transpose(x, [1, 2]), ValueError, r"transpose: axes \(1, 2\) do not"),
    ("transpose perm int", lambda x: tf.transpose(x, 5), TypeError, r"perm must be a list of ints, got int 5"),
    ("random_uniform maxval dict", lambda x: tf.random_uniform([2], 0.0, {}), TypeError, r"maxval must be a number"),
    ("variables_initializer int", lambda x: tf.variables_initializer(5), TypeError, r"var_list must be a list"),
    ("global_variables int", lambda x: tf.global_variables(5), TypeError, r"graph must be a Graph, got int"),
    ("trainable_variables array", lambda x: tf.trainable_variables(np.ones(2)), TypeError, r"graph must be a Graph"),
    ("random_normal mean node", lambda x: tf.random_normal([2], tf.constant(0.0)), TypeError,
     r"random_normal: mean must be a number, got Node"),
    ("truncated_normal stddev str", lambda x: tf.truncated_normal([2], 0.0, "a"), TypeError,
     r"truncated_normal: stddev must be a number, got str 'a'"),
    ("GradientDescentOptimizer str", lambda x: tf.train.GradientDescentOptimizer("a"), TypeError,
     r"GradientDescentOptimizer: learning_rate must be a number or a node, got str 'a'"),
    ("AdamOptimizer list", lambda x: tf.train.AdamOptimizer([1]), TypeError, r"AdamOptimizer: learning_rate must be"),
    ("MomentumOptimizer None momentum", lambda x: tf.train.MomentumOptimizer(0.1, None), TypeError,
     r"momentum must be a number or a node, got NoneType"),
    ("RMSPropOptimizer decay str", lambda x: tf.train.RMSPropOptimizer(0.1, "a"), TypeError, r"decay must be"),
]


@pytest.mark.parametrize("case", STATIC_CASES, ids=[c[0] for c in STATIC_CASES])
def test_static_misuse_is_one_clear_sentence(case):
    _, call, kind, pattern = case
    with pytest.raises(kind, match=pattern) as caught:
        call(_graph())
    assert not RAW.search(str(caught.value)), caught.value
    tf.reset_default_graph()


def test_op_rules_own_words_reach_the_user():
    """A rule's own refusal (OperandError) keeps its sentence inside the op wrapper; numpy's text does not."""
    with pytest.raises(RuntimeError, match=r"Integers to negative integer powers are not allowed"):
        engine.tensor([1, 2]).pow_(-1)
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
        engine.ones(2, 3) @ engine.ones(2, 3)


def test_fuzzer_pattern_catches_raw_messages():
    """The pattern the sweep relies on flags each kind of raw message it is meant to flag."""
    for raw in ("zero-size array to reduction operation maximum which has no identity",
                "'>' not supported between instances of 'Node' and 'float'", "'bool' object has no attribute 'dtype'",
                "tuple index out of range", "'NoneType' object is not iterable",
                "unsupported operand type(s) for //: 'int' and 'NoneType'",
                "_caster.<locals>.cast() takes 1 positional argument but 2 were given",
                "Cannot cast ufunc 'maximum' output from dtype('float64') to dtype('int64') with casting rule "
                "'same_kind'", "Python int too large to convert to C long"):
        assert RAW.search(raw), raw
    for fine in ("Tensor.float() takes 1 positional argument but 2 were given",
                 "unsupported operand type for a Tensor operation: NoneType", "int too big to convert"):
        assert not RAW.search(fine), fine


def test_a_bounded_sweep_of_every_public_name_shows_no_raw_message():
    findings = fuzz()
    assert not findings, "\n".join(findings)


def test_dropout_of_an_integer_tensor_where_pytorch_computes_one():
    """p=1 zeroes in the input's dtype, and no dropout (p=0 or eval) is the input itself, as PyTorch."""
    F = engine.nn.functional
    x = engine.tensor([1, 2])
    assert F.dropout(x, 1.0).dtype == np.int64 and F.dropout(x, 1.0).tolist() == [0, 0]
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.5, training=False) is x


def test_unfed_placeholder_is_tfs_invalid_argument_error_and_a_key_error():
    x = _graph()
    with tf.Session() as sess, pytest.raises(tf.errors.InvalidArgumentError) as caught:
        sess.run(tf.reduce_sum(x))
    assert isinstance(caught.value, tf.errors.OpError) and isinstance(caught.value, KeyError)
    assert str(caught.value) == caught.value.message   # one sentence, not KeyError's quoted repr
    assert str(caught.value).startswith("You must feed a value for placeholder 'Placeholder")
    tf.reset_default_graph()


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "true_divide", "floor_divide", "remainder", "pow",
                                  "bitwise_and", "bitwise_or", "bitwise_xor"])
def test_a_python_number_first_stays_valid_where_pytorch_takes_it(name):
    """PyTorch's arithmetic takes a number as its first argument (``torch.add(2, t)``); so does the engine."""
    torch = pytest.importorskip("torch")
    want = getattr(torch, name)(3, torch.tensor([1, 2]))
    got = getattr(engine, name)(3, engine.tensor([1, 2]))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    np.testing.assert_array_equal(got.numpy(), want.numpy())
