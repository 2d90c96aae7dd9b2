"""``torch.nn`` on the engine: Module, Parameter, containers, layers, activations, losses, functional, init.

Layers and losses are compositions of engine ops (``linear`` and ``softmax_cross_entropy`` are fused
op-table entries; see ``ops.py``). ``import autotrain.engine.nn.functional as F`` works as in PyTorch.
"""
from . import functional, init
from .activation import Dropout, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from .container import ModuleDict, ModuleList, Sequential
from .linear import Flatten, Identity, Linear
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .parameter import Parameter

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "ModuleDict", "Linear", "Identity", "Flatten", "ReLU", "LeakyReLU",
           "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Dropout", "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss",
           "BCELoss", "BCEWithLogitsLoss", "functional", "init"]
