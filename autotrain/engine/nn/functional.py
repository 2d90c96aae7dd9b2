"""``torch.nn.functional``: stateless layers, activations and losses as compositions of engine ops.

Import it as PyTorch users do: ``import autotrain.engine.nn.functional as F``.
"""
from __future__ import annotations

import functools
import warnings

import numpy as np

from .. import backend, creation
from .. import functional as _engine
from ..dtypes import get_default_dtype
from ..graph import GRAD_MODE
from ..ops import OPS
from ..tensor import Tensor, apply_op, new_tensor, torch_name

_LINEAR = OPS["linear"]
_SOFTMAX_CE = OPS["softmax_cross_entropy"]
_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x, name: str, param: str = "input", position: int = 1) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{param}' (position {position}) must be Tensor, not {type(x).__name__}")
    return x


def _float_kernel(kernel: str, *tensors: Tensor) -> None:
    """PyTorch's NotImplementedError for a loss kernel that exists only for floating dtypes, named by the dtype
    the inputs promote to (an integer or bool loss has no meaning, and numpy would compute one)."""
    dtype = np.result_type(*(t.dtype for t in tensors))
    if dtype.kind not in "fc":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{torch_name(dtype)}\'')


def _takes_tensors(*params: str):
    """Check that the arguments ``params`` (the first ones, in order) are Tensors: PyTorch's TypeError naming
    the argument otherwise, before the function reads an attribute a Python object lacks.  ``None`` passes
    for an optional one (a default of None)."""
    def decorate(fn):
        defaults = fn.__defaults__ or ()
        names = fn.__code__.co_varnames[:fn.__code__.co_argcount]
        optional = set(names[len(names) - len(defaults):])

        @functools.wraps(fn)
        def checked(*args, **kwargs):
            for position, param in enumerate(params):
                value = args[position] if position < len(args) else kwargs.get(param)
                if not isinstance(value, Tensor) and not (value is None and param in optional):
                    _tensor(value, fn.__name__, param, position + 1)
            return fn(*args, **kwargs)
        return checked
    return decorate


# --------------------------------------------------------------------- layers and activations
@_takes_tensors("input", "weight", "bias")
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``: input (..., in), weight (out, in), bias (out,) -> (..., out)."""
    x, w = input._data, weight._data
    if x.dtype != w.dtype or (bias is not None and bias._data.dtype != w.dtype):
        other = w.dtype if x.dtype != w.dtype else bias._data.dtype
        raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {torch_name(x.dtype)} and "
                           f"{torch_name(other)}")
    if w.ndim == 1 and x.ndim and x.shape[-1] == w.shape[0]:   # PyTorch: a 1-D weight gives (...,) outputs
        out = input.matmul(weight)
        return out if bias is None else out + bias
    if w.ndim != 2 or x.ndim == 0 or x.shape[-1] != w.shape[1]:
        rows = int(np.prod(x.shape[:-1])) if x.ndim > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{x.shape[-1] if x.ndim else 0}"
                           f" and {'x'.join(map(str, w.shape[::-1]))})")
    if bias is None:
        return input.matmul(weight.t())
    return apply_op(_LINEAR, (input, weight, bias))


@_takes_tensors("input")
def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0); the gradient at 0 is 0. ``inplace`` is accepted and computed out of place."""
    return _tensor(input, "relu").relu()


@_takes_tensors("input")
def tanh(input: Tensor) -> Tensor:
    return _tensor(input, "tanh").tanh()


@_takes_tensors("input")
def sigmoid(input: Tensor) -> Tensor:
    return _tensor(input, "sigmoid").sigmoid()


@_takes_tensors("input")
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x (the gradient at 0 is negative_slope, as PyTorch)."""
    input = _tensor(input, "leaky_relu")
    _float_kernel("leaky_relu_cpu", input)
    return _engine.where(input > 0, input, input * negative_slope)


@_takes_tensors("input")
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (identity unless ``training``).

    The mask follows the engine's RNG rule: ``keep = RNG.random(input.shape) < 1 - p`` (float64 draws).
    """
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise TypeError(f"dropout(): argument 'p' must be a number, not {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    input = _tensor(input, "dropout")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0   # zeros of the input's dtype (an integer tensor stays integer, as PyTorch)
    if input.dtype.kind not in "fc":   # the 1/(1-p) scale cannot be stored in an integer or bool tensor
        raise RuntimeError(f"result type {torch_name(get_default_dtype())} can't be cast to the desired output type "
                           f"{torch_name(input.dtype)}")
    keep = creation.RNG.random(tuple(input.shape)) < 1.0 - p
    scale = (keep * (1.0 / (1.0 - p))).astype(input.dtype)
    return input * new_tensor(backend.to_device(scale, input.device))


def _softmax_dim(name: str, ndim: int, dim):
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


@_takes_tensors("input")
def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x), dim), computed after subtracting the max along ``dim`` (no overflow)."""
    dim = _softmax_dim("softmax", _tensor(input, "softmax").ndim, dim)
    return _engine.softmax(input, dim, dtype=dtype)


@_takes_tensors("input")
def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x, dim), computed stably."""
    dim = _softmax_dim("log_softmax", _tensor(input, "log_softmax").ndim, dim)
    return _engine.log_softmax(input, dim, dtype=dtype)


# --------------------------------------------------------------------- losses
def reduction_of(reduction: str, size_average=None, reduce=None) -> str:
    if size_average is not None or reduce is not None:  # the pre-1.0 arguments, still accepted by PyTorch
        warnings.warn("size_average and reduce args will be deprecated, please use reduction='"
                      f"{_legacy_reduction(size_average, reduce)}' instead.", UserWarning, stacklevel=3)
        return _legacy_reduction(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def _legacy_reduction(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    return ("mean" if size_average else "sum") if reduce else "none"


def _reduce(losses: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def _warn_shape(name: str, input: Tensor, target: Tensor) -> None:
    if tuple(input.shape) != tuple(target.shape):
        warnings.warn(f"Using a target size (torch.Size({list(target.shape)})) that is different to the input size "
                      f"(torch.Size({list(input.shape)})). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", UserWarning, stacklevel=3)


@_takes_tensors("input", "target")
def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)**2, averaged (``mean``), summed (``sum``) or per element (``none``)."""
    reduction = reduction_of(reduction, size_average, reduce)
    _float_kernel("mse_cpu", input, target)
    _warn_shape("mse_loss", input, target)
    return _reduce((input - target) ** 2, reduction)


@_takes_tensors("input", "target")
def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Absolute error |input - target| (gradient 0 where they are equal, as PyTorch)."""
    reduction = reduction_of(reduction, size_average, reduce)
    _warn_shape("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def _not_differentiable(function: str, argument: str, value) -> None:
    """PyTorch's refusal of an argument its kernel has no derivative for, when it requires grad."""
    if isinstance(value, Tensor) and value.requires_grad and GRAD_MODE.enabled:
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to argument "
                           f"'{argument}'. This input cannot have requires_grad True.")


@_takes_tensors("input", "target", "weight")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """-w * (y * log(p) + (1 - y) * log(1 - p)) for probabilities ``input``, each log clamped to >= -100
    (PyTorch's guard against log(0))."""
    reduction = reduction_of(reduction, size_average, reduce)
    input = _tensor(input, "binary_cross_entropy")
    _float_kernel("binary_cross_entropy", input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size (torch.Size({list(target.shape)})) that is different to the input "
                         f"size (torch.Size({list(input.shape)})) is deprecated. Please ensure they have the same "
                         "size.")
    _not_differentiable("binary_cross_entropy", "weight", weight)
    data = input._data
    if data.size and (data.min() < 0 or data.max() > 1):
        raise RuntimeError("all elements of input should be between 0 and 1")
    losses = apply_op(OPS["binary_cross_entropy"], (input, target))
    if weight is not None:
        losses = losses * weight
    return _reduce(losses, reduction)


@_takes_tensors("input", "target", "weight")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """-w * (pos_weight * y * log(sigmoid(x)) + (1 - y) * log(1 - sigmoid(x))), computed stably.

    It is the softmax cross-entropy of the two logits (0, x) against the weights (1 - y, pos_weight * y),
    so it shares that fused op (gradient sigmoid(x) * (1 - y + pos_weight * y) - pos_weight * y).
    """
    reduction = reduction_of(reduction, size_average, reduce)
    input = _tensor(input, "binary_cross_entropy_with_logits")
    _float_kernel("log_sigmoid_cpu", input)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size (torch.Size({list(target.shape)})) must be the same as input size "
                         f"(torch.Size({list(input.shape)}))")
    _not_differentiable("binary_cross_entropy_with_logits", "weight", weight)
    _not_differentiable("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    positive = target if pos_weight is None else target * pos_weight
    weights = _engine.stack([1 - target, positive], dim=-1)
    if weight is not None:
        weights = weights * _engine.unsqueeze(weight, -1)
    logits = _engine.stack([creation.zeros_like(input), input], dim=-1)
    losses = apply_op(_SOFTMAX_CE, (logits, weights), {"axis": logits.ndim - 1, "reduction": "none"})
    return _reduce(losses, reduction)


def class_dim_of(input: Tensor) -> int:
    if input.ndim == 0:
        raise ValueError("Expected input to have at least 1 dimension (got a 0-d tensor)")
    return 1 if input.ndim >= 2 else 0


def check_targets(input: Tensor, target: Tensor, class_dim: int) -> np.ndarray:
    labels = target._data
    if labels.dtype.kind not in "iu":
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_torch_dtype_name(labels.dtype)}")
    expected = tuple(n for i, n in enumerate(input.shape) if i != class_dim)
    if tuple(labels.shape) != expected:
        if input.ndim >= 2 and labels.ndim >= 1 and labels.shape[0] != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size "
                             f"({labels.shape[0]}).")
        raise RuntimeError(f"expected target of shape {list(expected)} for input of shape {list(input.shape)}, "
                           f"got {list(labels.shape)}")
    return labels


def _torch_dtype_name(dtype) -> str:
    return {"f": "Float" if dtype.itemsize == 4 else "Double", "b": "Bool"}.get(dtype.kind, str(dtype))


def _class_weights(input: Tensor, weight: Tensor | None):
    if weight is None:
        return None
    classes = input.shape[class_dim_of(input)]
    w = weight._data
    if w.shape != (classes,):
        raise RuntimeError(f"weight tensor should be defined either for all {classes} classes or no classes but "
                           f"got weight tensor of shape: {list(w.shape)}")
    return w


def target_matrix(input: Tensor, labels: np.ndarray, class_dim: int, weight, ignore_index: int,
                   smoothing: float, scale: bool = False):
    """A constant (..., C) array T with loss = -sum(T * log_probs, class_dim), and the mean's denominator.

    T holds, per sample i: (1 - smoothing) * w[y_i] at the true class plus smoothing / C * w_c everywhere;
    rows whose label is ``ignore_index`` are zero. The denominator is the sum of w[y_i] over kept samples.
    With ``scale`` T is divided by it (the mean folded in) and the denominator returned is 1.
    """
    data = input._data
    classes = data.shape[class_dim]
    if weight is None and not smoothing and data.ndim == 2 and ignore_index < 0 and labels.size \
            and labels.min() >= 0:
        # the common case (plain class indices): one reduction checks them all; numpy's IndexError catches >= C
        return _one_hot(data, labels, 1.0 / labels.size if scale else 1.0), (1 if scale else labels.size)
    keep = labels != ignore_index
    if keep.all():
        keep, safe = None, labels
    else:
        safe = np.where(keep, labels, 0)
    if safe.size and (safe.min() < 0 or safe.max() >= classes):
        bad = labels[((labels < 0) | (labels >= classes)) & (labels != ignore_index)].flat[0]
        raise IndexError(f"Target {bad} is out of bounds.")
    if weight is None and keep is None:
        hot, denominator = 1.0 - smoothing, labels.size
    else:
        picked = np.ones(labels.shape, data.dtype) if weight is None else weight[safe].astype(data.dtype)
        if keep is not None:
            picked *= keep
        hot, denominator = picked * (1.0 - smoothing), picked.sum()
    matrix = np.zeros(data.shape, data.dtype)
    if matrix.ndim == 2:
        matrix[np.arange(len(safe)), safe] = hot
    elif matrix.ndim == 1:
        matrix[safe] = hot
    else:
        hot = np.broadcast_to(hot, safe.shape)
        np.put_along_axis(matrix, np.expand_dims(safe, class_dim), np.expand_dims(hot, class_dim), axis=class_dim)
    if smoothing:
        spread = np.full(classes, smoothing / classes) if weight is None else weight * (smoothing / classes)
        shape = [1] * matrix.ndim
        shape[class_dim] = classes
        spread = spread.reshape(shape).astype(data.dtype)
        matrix += spread if keep is None else np.expand_dims(keep, class_dim) * spread
    if scale and denominator:
        matrix /= denominator
        denominator = 1
    # a denominator of 0 (every label ignored, an empty batch) stays for the caller: the mean is nan, as
    # PyTorch's, but its gradient is 0 (dividing T by 0 would make that nan too)
    return matrix, denominator


def _one_hot(data, labels: np.ndarray, value: float) -> np.ndarray:
    matrix = np.zeros(data.shape, data.dtype)
    try:
        matrix[np.arange(len(labels)), labels] = value
    except IndexError:
        raise IndexError(f"Target {labels[labels >= data.shape[1]].flat[0]} is out of bounds.") from None
    return matrix


@_takes_tensors("input", "target", "weight")
def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy of logits ``input`` (N, C) or (C,) or (N, C, d1, ...) against class indices or probabilities.

    Class indices (an integer ``target`` of shape (N,)): loss_i = -w[y_i] * log_softmax(input)[i, y_i]
    (with ``label_smoothing`` e: (1-e) times that plus e/C * sum_c -w_c * log_softmax(input)[i, c]);
    ``mean`` divides by sum_i w[y_i] over samples whose label is not ``ignore_index``.
    Probabilities (a float ``target`` shaped like ``input``): loss_i = -sum_c w_c t_ic log_softmax(input)_ic,
    ``mean`` divides by the number of samples.
    """
    reduction = reduction_of(reduction, size_average, reduce)
    _float_kernel("log_softmax_lastdim_kernel_impl", _tensor(input, "cross_entropy"))
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = class_dim_of(input)
    w = _class_weights(input, weight)
    if target.dtype.kind == "f" and tuple(target.shape) == tuple(input.shape):
        # a composite in PyTorch: the class weights get a gradient as any factor does
        return _cross_entropy_probs(input, target, weight if w is not None else None, class_dim, reduction,
                                    label_smoothing)
    _not_differentiable("nll_loss_forward", "weight", weight)
    labels = check_targets(input, target, class_dim)
    # a mean is folded into the constant target (T / sum(w_i)): one fused node computes sum(w_i * l_i) / sum(w_i)
    matrix, denominator = target_matrix(input, labels, class_dim, w, ignore_index, label_smoothing,
                                         reduction == "mean")
    loss = apply_op(_SOFTMAX_CE, (input, new_tensor(matrix)),
                    {"axis": class_dim, "reduction": "none" if reduction == "none" else "sum"})
    return _nan_if_nothing_counted(loss) if reduction == "mean" and not denominator else loss


def _nan_if_nothing_counted(total: Tensor) -> Tensor:
    """A mean over no samples: nan, as PyTorch's 0/0, with the gradient 0 its backward gives."""
    return total + float("nan")


def _cross_entropy_probs(input, target, w, class_dim, reduction, smoothing):
    classes = input.shape[class_dim]
    probs = target * (1.0 - smoothing) + smoothing / classes if smoothing else target
    if w is not None:
        shape = [1] * input.ndim
        shape[class_dim] = classes
        probs = probs * w.reshape(shape).to(input.dtype)
    losses = apply_op(_SOFTMAX_CE, (input, probs), {"axis": class_dim, "reduction": "none"})
    if reduction == "mean":
        return losses.sum() / (input.numel() / classes)
    return losses.sum() if reduction == "sum" else losses


@_takes_tensors("input", "target", "weight")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities ``input`` (N, C) at class indices ``target`` (N,).

    loss_i = -w[y_i] * input[i, y_i]; ``mean`` divides by sum_i w[y_i] over samples not ``ignore_index``.
    """
    reduction = reduction_of(reduction, size_average, reduce)
    _float_kernel("nll_loss_out_frame", _tensor(input, "nll_loss"))
    class_dim = class_dim_of(input)
    _not_differentiable("nll_loss_forward", "weight", weight)
    labels = check_targets(input, target, class_dim)
    matrix, denominator = target_matrix(input, labels, class_dim, _class_weights(input, weight), ignore_index, 0.0)
    # picked, not multiplied: an -inf log-probability of another class adds 0, not 0 * -inf = nan
    picked = apply_op(OPS["where"], (new_tensor(matrix != 0), input, 0.0)) * new_tensor(matrix)
    losses = -picked.sum(class_dim)
    if reduction == "mean":
        return losses.sum() / denominator if denominator else _nan_if_nothing_counted(losses.sum())
    return losses.sum() if reduction == "sum" else losses
