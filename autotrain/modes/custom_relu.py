"""``custom-relu``: as ``autograd``, with ReLU written as a user-defined ``torch.autograd.Function``."""
from __future__ import annotations

import functools
from typing import ClassVar

from autotrain.modes.autograd import AutogradMode


@functools.cache
def my_relu():
    """The seed's ``MyReLU`` class, built on first use so importing this module does not load the engine."""
    import autotrain.engine as torch

    class MyReLU(torch.autograd.Function):
        """ReLU with a hand-written backward: the gradient is zeroed where the input is negative."""

        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            grad_input = grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    return MyReLU


@functools.cache
def _my_relu_module_class():
    import autotrain.engine as torch

    class MyReLUModule(torch.nn.Module):
        """The user-defined Function as a layer of the ``nn.Sequential``."""

        def forward(self, x):
            return my_relu().apply(x)

    return MyReLUModule


class CustomReluMode(AutogradMode):
    """Identical to AutogradMode except for the hidden activation: ReLU as the user's ``MyReLU.apply``."""

    name: ClassVar[str] = "custom-relu"

    def activation(self):
        return _my_relu_module_class()()
