"""The engine at the edges against PyTorch: the cases of tests/edge_search.py (ops x inf, -inf, nan, -0.0,
1e+-300, 0-d and empty shapes, float/int/uint8/bool dtypes, and the FOUND list of fixed disagreements).

Always: every stored case (tests/vectors/edges.*, made by tools/gen_edge_vectors.py from real PyTorch) runs
on the engine and must give PyTorch's dtype, shape, values (NaNs equal, zeros' signs), gradients and refusals.
With torch installed the FOUND cases also run live; the slow tier draws 20000 fresh cases live.
"""
from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import autotrain.engine as engine

sys.path.insert(0, str(Path(__file__).parent))
import edge_search  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors"
sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture(scope="module")
def stored():
    meta = json.loads((VECTORS / "edges.json").read_text(encoding="utf-8"))
    with np.load(VECTORS / "edges.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    records = [{k: arrays[f"{i}/{k}"] if v == "array" else v for k, v in rec.items()}
               for i, rec in enumerate(meta["records"])]
    return meta, records


def _quiet_run(t, case):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return edge_search.run(t, case)


def test_stored_vectors_are_current(stored):
    import gen_edge_vectors
    meta, _ = stored
    assert meta["search_sha256"] == gen_edge_vectors.search_sha256(), \
        "tests/edge_search.py changed since tests/vectors/edges.* were made: run tools/gen_edge_vectors.py"
    assert json.dumps(meta["cases"]) == json.dumps(edge_search.stored_cases())
    assert meta["torch"]


@pytest.mark.parametrize("name", list(edge_search.FOUND))
def test_found_case_matches_pytorch(name, stored):
    meta, records = stored
    index = next(i for i, c in enumerate(meta["cases"]) if c["op"] == name)
    case = meta["cases"][index]
    problems = edge_search.differences(records[index], _quiet_run(engine, case), op=case["op"])
    assert not problems, f"{name} ({edge_search.FOUND[name][2]}): {problems}"


def test_the_stored_draw_matches_pytorch(stored):
    meta, records = stored
    problems = []
    for case, want in zip(meta["cases"], records):
        if case["op"] not in edge_search.FOUND:
            problems += [f"{case}: {p}" for p in edge_search.differences(want, _quiet_run(engine, case),
                                                                         op=case["op"])]
    assert not problems, "\n".join(problems[:20])


def test_the_draw_covers_the_edges():
    cases = edge_search.random_cases(edge_search.STORED_SEED, edge_search.STORED_COUNT)
    values = [v for c in cases for o in c["operands"] if isinstance(o, dict)
              for v in np.asarray(o["values"], dtype=o["dtype"]).ravel().tolist()]
    floats = np.asarray([v for v in values if isinstance(v, float)])
    assert np.isnan(floats).any() and np.isposinf(floats).any() and np.isneginf(floats).any()
    assert (np.signbit(floats) & (floats == 0)).any() and (np.abs(floats) == 1e300).any()
    shapes = {tuple(o["shape"]) for c in cases for o in c["operands"] if isinstance(o, dict)}
    dtypes = {o["dtype"] for c in cases for o in c["operands"] if isinstance(o, dict)}
    assert {(), (0,), (2, 3)} <= shapes and set(edge_search.DTYPES) <= dtypes
    assert {c["op"] for c in cases} == set(edge_search.UNARY) | set(edge_search.BINARY)


def test_the_comparison_catches_differences():
    base = {"dtype": "float64", "shape": [3], "value": np.array([0.0, np.nan, 1.0]), "grad0": np.ones(3)}
    assert edge_search.differences(base, dict(base)) == []
    for changed in ({"value": np.array([-0.0, np.nan, 1.0])}, {"value": np.array([0.0, 1.0, 1.0])},
                    {"value": np.array([0.0, np.nan, 1.0 + 1e-6])}, {"dtype": "float32"},
                    {"grad0": None}, {"grad0": np.array([1.0, 1.0, 0.0])}):
        assert edge_search.differences(base, dict(base, **changed)), changed
    assert edge_search.differences(base, {"error": "RuntimeError"})
    assert edge_search.differences({"error": "TypeError"}, {"error": "RuntimeError"}) == []   # both refuse


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def test_found_cases_match_live_pytorch(torch):
    problems = []
    for case in edge_search.found_cases():
        problems += [f"{case['op']}: {p}" for p in edge_search.differences(_quiet_run(torch, case),
                                                                           _quiet_run(engine, case), op=case["op"])]
    assert not problems, "\n".join(problems)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_search_against_live_pytorch(torch, seed):
    """5000 fresh cases per seed: any disagreement is a bug to fix and to add to FOUND."""
    problems = []
    for case in edge_search.random_cases(seed, 5000):
        if edge_search.known_difference(case):
            continue
        problems += [f"{case}: {p}" for p in edge_search.differences(_quiet_run(torch, case),
                                                                     _quiet_run(engine, case), op=case["op"])]
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(problems[:20])
