"""The engine against test vectors from real PyTorch and TF compat.v1.

Always: every corpus case (tests/corpus.py) runs on ``autotrain.engine`` (``static`` cases on
``autotrain.engine.static``) and is compared with ``tests/vectors/`` — values and gradients to 1e-9
relative in float64, dtypes, shapes, Python types and error records exactly.  No torch needed.

When torch is installed the same programs also run live on PyTorch (under the RNG contract) and are
compared with the stored vectors, so vectors that no longer match the corpus or PyTorch are caught.
The live TF check is in the slow tier (importing TensorFlow alone takes seconds).
Regenerate with ``python tools/gen_vectors.py`` (tests/vectors/README.md).
"""
from __future__ import annotations

import importlib.util
import json

import pytest

import corpus
import vectorlib

STATIC = [c for c in corpus.CASES.values() if c.area == "static"]
DYNAMIC = [c for c in corpus.CASES.values() if c.area != "static"]
HAVE_TORCH = importlib.util.find_spec("torch") is not None
HAVE_TF = importlib.util.find_spec("tensorflow") is not None


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with vectorlib.single_blas_thread():
        yield


def _fail(problems: list[str], what: str) -> None:
    if problems:
        shown = "\n  ".join(problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        pytest.fail(f"{what}: {len(problems)} difference(s)\n  {shown}{more}", pytrace=False)


def _ids(cases):
    return [f"{c.area}:{c.name}" for c in cases]


@pytest.fixture(scope="module")
def engine():
    import autotrain.engine
    return autotrain.engine


@pytest.mark.parametrize("case", DYNAMIC, ids=_ids(DYNAMIC))
def test_engine_matches_pytorch_vectors(case, engine):
    actual = vectorlib.run_case(case, engine)
    _fail(vectorlib.check_against_stored(case.name, actual, case.rtol), f"{case.name} ({case.doc})")


@pytest.mark.parametrize("case", STATIC, ids=_ids(STATIC))
def test_static_engine_matches_tensorflow_vectors(case):
    import autotrain.engine.static as tf
    actual = vectorlib.run_recorded(case.fn, tf)
    _fail(vectorlib.check_against_stored(case.name, actual, case.rtol), f"{case.name} ({case.doc})")


def test_vectors_cover_the_corpus_and_are_current():
    index, _ = vectorlib.load_vectors()
    manifest = json.loads(vectorlib.MANIFEST.read_text(encoding="utf-8"))
    wanted = set(corpus.CASES) | set(vectorlib.program_names())
    assert set(index) == wanted, f"stored vectors differ from the corpus: missing {sorted(wanted - set(index))}, " \
                                 f"stale {sorted(set(index) - wanted)}; run tools/gen_vectors.py"
    assert manifest["corpus_sha256"] == vectorlib.corpus_hash(), \
        "tests/corpus.py, tests/vectorlib.py or tests/programs changed since the vectors were made: " \
        "run tools/gen_vectors.py"
    assert manifest["torch"] and manifest["tensorflow"]


def test_comparison_catches_differences():
    """The comparison itself: a 1e-8 relative change, a dtype, a shape and an error text all fail."""
    import numpy as np
    base = vectorlib.record_outputs({"v": np.array([1.0, 2.0]), "s": "RuntimeError: x", "n": 3})
    same = vectorlib.record_outputs({"v": np.array([1.0, 2.0 * (1 + 1e-11)]), "s": "RuntimeError: x", "n": 3})
    assert vectorlib.compare_live(base, same) == []
    for changed in ({"v": np.array([1.0, 2.0 * (1 + 1e-8)])}, {"v": np.array([1.0, 2.0], dtype=np.float32)},
                    {"v": np.array([[1.0, 2.0]])}, {"s": "RuntimeError: y"}, {"n": 3.0}):
        other = dict(base, **vectorlib.record_outputs(changed))
        assert vectorlib.compare_live(base, other), changed
    big = np.arange(1000.0)
    moved = big.copy()
    moved[3] += 1e-3   # not in the stored sample, still caught by the sums
    assert vectorlib.compare_live(vectorlib.record_outputs({"b": big}), vectorlib.record_outputs({"b": moved}))


@pytest.fixture(scope="module")
def torch():
    if not HAVE_TORCH:
        pytest.skip("torch not installed: live comparison skipped (stored vectors still checked)")
    import torch
    torch.set_num_threads(1)
    return torch


#: the default tier reruns every dynamic case live except the 100-step optimizer runs, which take
#: seconds in PyTorch eager (its optim package alone takes seconds to import); the slow tier runs them
LIVE_QUICK = [c for c in DYNAMIC if c.area != "optim"]


def _live_torch(torch, cases):
    problems = []
    for case in cases:
        live = vectorlib.run_case(case, torch, torch_reference=True)
        problems += [f"{case.name}: {p}" for p in vectorlib.check_against_stored(case.name, live, 1e-12)]
    _fail(problems, "live PyTorch vs stored vectors")


def test_live_pytorch_reproduces_the_stored_vectors(torch):
    """The corpus rerun on real PyTorch matches what is stored (stale vectors fail here)."""
    _live_torch(torch, LIVE_QUICK)


@pytest.mark.slow
def test_live_pytorch_reproduces_every_stored_vector(torch):
    _live_torch(torch, [c for c in DYNAMIC if c not in LIVE_QUICK])


@pytest.mark.slow
def test_live_tensorflow_reproduces_the_stored_vectors():
    if not HAVE_TF:
        pytest.skip("tensorflow not installed")
    import tensorflow as tf
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    problems = []
    for case in STATIC:
        live = vectorlib.run_recorded(case.fn, tf1)
        problems += [f"{case.name}: {p}" for p in vectorlib.check_against_stored(case.name, live, 1e-12)]
    _fail(problems, "live TF vs stored vectors")


def test_contract_rng_replays_the_engine_draws_and_restores_torch(torch):
    """Inside contract_rng PyTorch draws the engine's numbers; outside, torch is untouched."""
    import numpy as np
    import autotrain.engine as engine
    before = (torch.randn, torch.manual_seed, torch.Tensor.uniform_, torch.nn.Linear.reset_parameters)
    with vectorlib.contract_rng(torch):
        torch.manual_seed(5)
        theirs = torch.randn(3, 2, dtype=torch.float64).numpy(), torch.nn.Linear(4, 2).weight.detach().numpy()
    engine.manual_seed(5)
    ours = engine.randn(3, 2, dtype=engine.float64).numpy()
    np.testing.assert_array_equal(ours, theirs[0])
    assert theirs[1].shape == (2, 4) and np.all(np.abs(theirs[1]) <= 0.5)
    assert before == (torch.randn, torch.manual_seed, torch.Tensor.uniform_, torch.nn.Linear.reset_parameters)
