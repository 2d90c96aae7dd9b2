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


class CustomReluMode(AutogradMode):
    """Identical to AutogradMode except for ``relu``."""

    name: ClassVar[str] = "custom-relu"

    def relu(self, h):
        return my_relu().apply(h)
