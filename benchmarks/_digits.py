"""Workload ``digits``: the training step of the shipped classification config,
``configs/digits.yaml`` (8x8 handwritten digits, standardised, an MLP with a hidden layer, cross-entropy,
Adam, minibatches of N rows), in every mode and in hand-written numpy, PyTorch eager and JAX jit.

A step is what ``autotrain fit`` does per step: gather the next minibatch of the first epoch's shuffled
order, convert it for the row (``mode.prepare``, ``torch.from_numpy``...), one optimizer step.  All rows
start from the config's data and initial weights (``autotrain.training.train.resolve_data``).
"""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from _mlp import MLPProblem, jax_step, numpy_step, torch_step
from _rows import REFERENCE, RowTable, Skip, Step

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "digits.yaml"
MODES = ("manual", "autograd", "custom-relu", "static", "compiled")


class DigitsProblem(NamedTuple):
    """The config's model and data: the MLP problem the reference rows take, and what the modes take."""

    mlp: MLPProblem
    spec: object  # autotrain.modes.ModelSpec
    params: dict  # {"w1": (in, out), "b1": ...}: the modes' initial parameters


def digits_problem(sizes=(), config: Path = CONFIG) -> DigitsProblem:
    """The config's split, standardised data, its initial weights and its first epoch's minibatches."""
    if not config.exists():
        raise Skip(f"{config.name} is not in this checkout")
    from autotrain.training.config import load_config
    from autotrain.training.data import order_rng
    from autotrain.modes import spec_from_config
    from autotrain.training.train import resolve_data

    cfg, data = resolve_data(load_config(config))
    spec = spec_from_config(cfg, data.D_in, data.D_out)
    unsupported = {"loss": (spec.loss, "cross_entropy"), "optimizer": (spec.optimizer.name, "adam"),
                   "activation": (spec.activation, "relu"), "bias": (spec.bias, True)}
    wrong = {k: got for k, (got, want) in unsupported.items() if got != want}
    if wrong:
        raise Skip(f"the digits rows are written for a ReLU MLP with biases, cross-entropy and Adam; "
                   f"{config.name} has {wrong}")
    n = len(data.x_train)
    batch = cfg.N or n
    order = order_rng(cfg.seed).permutation(n) if cfg.shuffle else np.arange(n)
    batches = tuple(order[i:i + batch] for i in range(0, n, batch))
    layers = tuple((np.ascontiguousarray(data.params[f"w{i}"].T), data.params[f"b{i}"])
                   for i in range(1, spec.layers + 1))
    mlp = MLPProblem(data.x_train, data.y_train, layers, batches)
    return DigitsProblem(mlp, spec, dict(data.params))


def mode_step(name: str):
    """Mode ``name`` built as ``fit`` builds it, stepping on ``mode.prepare`` of each minibatch."""
    def build(problem: DigitsProblem, lr: float, threads=None) -> Step:
        from autotrain.modes import build_mode

        mode = build_mode(name, problem.spec, problem.params)
        x, y, batches = problem.mlp.x, problem.mlp.y, problem.mlp.batches
        i = -1

        def step() -> float:
            nonlocal i
            i = (i + 1) % len(batches)
            rows = batches[i]
            return mode.step(*mode.prepare(x[rows], y[rows]))
        return step
    return build


def on_mlp(factory):
    """A row of the ``mlp`` workload, run on this config's model, data, minibatches and learning rate."""
    def build(problem: DigitsProblem, lr: float, threads=None) -> Step:
        return factory(problem.mlp, problem.spec.optimizer.lr, threads=threads)
    return build


DIGITS = RowTable(
    rows={REFERENCE: on_mlp(numpy_step), **{name: mode_step(name) for name in MODES},
          "torch eager": on_mlp(torch_step), "jax jit": on_mlp(jax_step)},
    reference=REFERENCE, floor=None,
    problem=lambda sizes: digits_problem(),
    flops=lambda sizes: 0,  # sizes come from the config; the table shows ms and ratios
    describe=lambda sizes: f"{CONFIG.name}: one minibatch step, as fit runs it",
    alloc_threshold=lambda p: p.mlp.layers[-1][0].shape[0] * p.mlp.x.itemsize,  # one row of logits
)
