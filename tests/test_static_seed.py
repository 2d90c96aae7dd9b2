"""The contract: the seed's TensorFlow program runs on autotrain.engine.static with only its import changed."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEEDS = (HERE / "data" / "learning-pytorch-autograd.md",)  # the repository's own copy: a fresh clone has it
IMPORT = "import tensorflow as tf"


def tf_program() -> str:
    """The third ```py block of the seed (the TensorFlow one), with the import line replaced."""
    text = next(p for p in SEEDS if p.exists()).read_text(encoding="utf-8")
    program = re.findall(r"```py\n(.*?)```", text, re.S)[2]
    assert IMPORT in program
    return program.replace(IMPORT, "import autotrain.engine.static as tf", 1)


def test_seed_tensorflow_program_trains():
    np.random.seed(0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tf_program(), "seed-tensorflow", "exec"), {"__name__": "__seed__"})  # noqa: S102
    losses = [float(line) for line in out.getvalue().split()]
    assert len(losses) == 500
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0] * 1e-4, (losses[0], losses[-1])   # falls by orders of magnitude
    assert losses[-1] < min(losses[:10])
