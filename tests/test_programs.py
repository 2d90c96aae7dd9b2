"""Every program of "Learning PyTorch with Examples", both forms, run on the engine.

``tests/programs/`` holds each program as the tutorial has it (``import torch`` / ``import tensorflow
as tf``): the older random-data form (``old_*``: numpy warm-up, tensors, autograd, custom ReLU Function,
TF static graph, nn, optim, custom Module, DynamicNet) and the current fitting-sin(x) form (``poly_*``:
numpy, tensors, autograd, LegendrePolynomial3, nn with Flatten, optim with RMSprop, Polynomial3,
DynamicNet).  The harness (``vectorlib.port``, README in tests/programs) changes only the import line,
seeds (``manual_seed``, ``random.seed``, ``np.random.seed``), float64 (``set_default_dtype`` and the
``dtype`` lines) and the loop's step count; then the final loss and every weight must match PyTorch /
TF to 1e-9 relative: against the stored vectors always, and against a live PyTorch run when installed.
"""
from __future__ import annotations

import importlib.util

import pytest

import vectorlib
from seed import seed_programs

NAMES = vectorlib.program_names()
TORCH_NAMES = [n for n in NAMES if vectorlib.program_kind((vectorlib.PROGRAMS / f"{n}.py").read_text()) == "torch"]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with vectorlib.single_blas_thread():
        yield


def _fail(problems, what):
    if problems:
        pytest.fail(f"{what}: {len(problems)} difference(s)\n  " + "\n  ".join(problems[:30]), pytrace=False)


def test_every_tutorial_program_of_both_forms_is_here():
    wanted = {f"old_{n}" for n in ("numpy", "tensors", "autograd", "custom_function", "tf_static", "nn", "optim",
                                   "custom_module", "dynamic_net")} | \
             {f"poly_{n}" for n in ("numpy", "tensors", "autograd", "legendre", "nn", "optim", "module", "dynamic_net")}
    assert wanted <= set(NAMES)


def test_seed_programs_are_the_seed_text():
    """The three programs the seed tutorial shows are stored verbatim (the contract's text)."""
    for name, text in zip(("old_autograd", "old_custom_function", "old_tf_static"), seed_programs()):
        assert (vectorlib.PROGRAMS / f"{name}.py").read_text(encoding="utf-8") == text, name


def test_harness_changes_only_what_it_documents():
    text = (vectorlib.PROGRAMS / "old_autograd.py").read_text(encoding="utf-8")
    ported = vectorlib.port(text, "engine", 20)
    assert "import autotrain.engine as torch\n" in ported and "\nimport torch\n" not in ported
    assert "for t in range(20):" in ported and "range(500)" not in ported
    assert "dtype = torch.float64\n" in ported
    changed = set(ported.splitlines()) - set(text.splitlines())
    assert changed == {"import random as _r", "import numpy as _np", "import autotrain.engine as torch",
                       "torch.set_default_dtype(torch.float64); torch.manual_seed(0); _r.seed(0); _np.random.seed(0)",
                       "dtype = torch.float64", "for t in range(20):"}
    tf_text = (vectorlib.PROGRAMS / "old_tf_static.py").read_text(encoding="utf-8")
    tf_changed = set(vectorlib.port(tf_text, "engine", 20).splitlines()) - set(tf_text.splitlines())
    assert tf_changed == {"import random as _r", "import numpy as _np", "import autotrain.engine.static as tf",
                          "tf.reset_default_graph(); _tf_harness(tf); _r.seed(0); _np.random.seed(0)",
                          "x = tf.placeholder(tf.float64, shape=(None, D_in))",
                          "y = tf.placeholder(tf.float64, shape=(None, D_out))", "    for _ in range(20):"}


@pytest.mark.parametrize("name", NAMES)
def test_tutorial_program_matches_reference_vectors(name):
    actual = vectorlib.run_program(name, "engine")
    _fail(vectorlib.check_against_stored(name, actual), f"{name} on the engine vs stored PyTorch/TF vectors")


@pytest.fixture(scope="module")
def torch():
    if importlib.util.find_spec("torch") is None:
        pytest.skip("torch not installed: live comparison skipped (stored vectors still checked)")
    import torch
    torch.set_num_threads(1)
    return torch


#: live in the default tier: one program of each form without torch.optim (whose first import takes
#: seconds); every torch program live in the slow tier
LIVE_QUICK = ("old_autograd", "poly_legendre")


@pytest.mark.parametrize("name", [n if n in LIVE_QUICK else pytest.param(n, marks=pytest.mark.slow)
                                  for n in TORCH_NAMES])
def test_tutorial_program_matches_live_pytorch(name, torch):
    live = vectorlib.run_program(name, "reference", torch=torch)
    _fail(vectorlib.check_against_stored(name, live, 1e-12), f"{name}: live PyTorch vs stored vectors")
    _fail(vectorlib.compare_live(live, vectorlib.run_program(name, "engine")), f"{name}: engine vs live PyTorch")


@pytest.mark.slow
def test_tf_program_matches_live_tensorflow():
    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow not installed")
    live = vectorlib.run_program("old_tf_static", "reference")
    _fail(vectorlib.check_against_stored("old_tf_static", live, 1e-12), "old_tf_static: live TF vs stored vectors")
    _fail(vectorlib.compare_live(live, vectorlib.run_program("old_tf_static", "engine")), "engine vs live TF")
