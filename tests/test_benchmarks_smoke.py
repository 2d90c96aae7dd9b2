"""The benchmark suite runs end to end for any row and workload subset (tiny sizes, a few steps), and
its hand-written references compute what they claim.  No timing is asserted."""
from __future__ import annotations

import importlib.util
import json
import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
ENGINE_ROWS = "5 matmuls,manual,autograd,custom-relu,static"  # torch and jax are optional and slow to import


@pytest.fixture(scope="module")
def suite(frozen_heap):  # the suite collects garbage before each round: only its own (conftest.py)
    spec = importlib.util.spec_from_file_location("autotrain_bench_suite", BENCH / "suite.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("autotrain_bench_suite", None)


@pytest.fixture
def small(suite, monkeypatch):
    """Every workload at tiny sizes and a handful of steps."""
    few = dict(rounds=2, block=2, rewarm=1, warmup=1, memory_steps=4)
    monkeypatch.setitem(suite.WORKLOADS, "tiny", replace(suite.WORKLOADS["tiny"], **few))
    monkeypatch.setitem(suite.WORKLOADS, "mlp", replace(suite.WORKLOADS["mlp"], sizes=(8, 12, 16, 16, 4), **few))
    return suite


def run(suite, tmp_path, *args):
    out = tmp_path / "suite.json"
    suite.main([*args, "--json", str(out), "--startup-runs", "0"])
    return json.loads(out.read_text())


def test_suite_runs_tiny_and_writes_json(small, tmp_path):
    report = run(small, tmp_path, "--workloads", "tiny", "--threads", "1", "--rows", ENGINE_ROWS)
    (result,) = report["results"]
    assert set(result["rows"]) == {"numpy", *ENGINE_ROWS.split(",")}, result["skipped"]
    for row in result["rows"].values():
        assert row["seconds"] > 0 and row["gflops"] > 0 and len(row["samples"]) == 2
    memory = report["memory"]["tiny"]
    assert memory["5 matmuls"]["allocs_per_step"] == 0
    assert memory["numpy"]["allocs_per_step"] > 0  # the hand-written step makes temporaries
    assert any(t["target"].startswith("static: 0 arrays") for t in report["targets"])
    assert result["twin"]["row"] == "manual"  # the reference's self-check ran


@pytest.mark.parametrize("rows", ["manual,autograd,static", "autograd", "5 matmuls", "numpy"])
def test_any_row_subset_runs(small, tmp_path, rows):
    """The report needs no particular row: the floor row may be left out."""
    report = run(small, tmp_path, "--workloads", "tiny", "--threads", "1", "--rows", rows)
    (result,) = report["results"]
    assert set(result["rows"]) == {"numpy", *rows.split(",")}
    floor = result["rows"].get("5 matmuls")
    assert all((r["floor_fraction"] is None) == (floor is None) for r in result["rows"].values())
    judged = [t for t in report["targets"] if t["unit"] == "x"]
    assert all(t["row"] in rows.split(",") for t in judged)  # no target for a row that was not asked for


def test_workload_subsets_and_rows_a_workload_lacks(small, tmp_path):
    """Rows are names across workloads: a row one workload lacks is left out there, not an error."""
    report = run(small, tmp_path, "--workloads", "mlp,tiny", "--threads", "1,default", "--rows", "manual,engine")
    got = {(r["workload"], r["threads"]): set(r["rows"]) | set(r["skipped"]) for r in report["results"]}
    assert got == {("mlp", "1"): {"numpy", "engine"}, ("mlp", "default"): {"numpy", "engine"},
                   ("tiny", "1"): {"numpy", "manual"}, ("tiny", "default"): {"numpy", "manual"}}
    assert not any(t["threads"] == "default" for t in report["targets"] if t["unit"] == "x")  # judged at 1 only
    from _report import markdown_table

    table = markdown_table(report["results"]).splitlines()
    assert table[0] == "| row | mlp, 1 thread | mlp, default threads | tiny, 1 thread | tiny, default threads |"
    assert table[2].startswith("| numpy | ") and "(1.00x)" in table[2]


@pytest.mark.parametrize("args, message", [
    (["--rows", "nope"], "unknown rows"),
    (["--workloads", "seed,huge"], "unknown workloads"),
    (["--threads", "two"], "--threads"),
])
def test_bad_arguments_are_refused(suite, args, message):
    with pytest.raises(SystemExit, match=message):
        suite.main([*args, "--startup-runs", "0"])


def test_unpinnable_thread_count_is_refused(suite, monkeypatch):
    """Without threadpoolctl (and no BLAS variables set) a '1 thread' run would silently be a 2-thread run."""
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # import fails
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit, match="threadpoolctl is not installed"):
        suite.main(["--workloads", "tiny", "--threads", "1", "--startup-runs", "0"])
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # pinned by the environment, but to another count
    with pytest.raises(SystemExit, match="threadpoolctl is not installed"):
        suite.main(["--workloads", "tiny", "--threads", "1", "--startup-runs", "0"])


def test_environment_pinning_stands_in_for_threadpoolctl(suite, monkeypatch):  # suite: puts benchmarks/ on sys.path
    """OPENBLAS_NUM_THREADS=1 (etc.) set before numpy loads pins BLAS as well; every variable set must agree."""
    from _measure import pinned_by_environment

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert not pinned_by_environment(1)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert pinned_by_environment(1) and not pinned_by_environment(2)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert not pinned_by_environment(1)


def test_twin_check_flags_a_reference_that_disagrees_with_the_same_computation(suite):
    from _rows import TWO_LAYER

    rows = {"numpy": {"samples": [1.2, 1.2, 1.2]}, "manual": {"samples": [1.0, 1.0, 1.0]}}
    assert suite.twin_check(TWO_LAYER, rows) == pytest.approx({"row": "manual", "ratio": 1 / 1.2, "ok": False})
    rows["manual"]["samples"] = [1.17, 1.15, 1.16]  # within 5%
    assert suite.twin_check(TWO_LAYER, rows)["ok"]
    rows["manual"]["samples"] = [1.5, 1.5, 1.5]  # a slower twin does more work; the reference is not to blame
    assert suite.twin_check(TWO_LAYER, rows)["ok"]


def test_placed_copy_is_equal_aligned_and_private(suite):
    from _measure import placed_copy
    from autotrain.training.data import make_problem

    problem = make_problem(4, 3, 5, 2, "float32", seed=0)
    placed = placed_copy(problem, random.Random(0))
    assert type(placed) is type(problem)
    for a, b in zip(problem, placed):
        np.testing.assert_array_equal(a, b)
        assert b.ctypes.data % 64 == 0 and not np.shares_memory(a, b)


def test_rounds_rebuild_rows_and_shuffle_their_order(suite):
    from _measure import timed_rounds

    built, ran = [], []

    def build(name, rng):
        built.append(name)
        return lambda: ran.append(name)

    samples = timed_rounds(build, ["a", "b", "c"], rounds=12, block=2, rewarm=1, warmup=3)
    assert built.count("a") == 13  # once for warm-up, then once per round
    assert all(len(v) == 12 for v in samples.values())
    blocks = [ran[i] for i in range(9, len(ran), 3)]  # first step of each row's block, after the warm-ups
    orders = {tuple(blocks[i:i + 3]) for i in range(0, len(blocks), 3)}
    assert len(orders) > 1 and all(sorted(o) == ["a", "b", "c"] for o in orders)


def test_mlp_numpy_reference_matches_torch(suite):
    """The hand-written forward, backward and Adam compute PyTorch's step (float32)."""
    torch = pytest.importorskip("torch")
    from _mlp import mlp_problem, numpy_step, pytorch_program

    problem = mlp_problem((8, 12, 16, 16, 4))
    ours, theirs = numpy_step(problem, 1e-2), pytorch_program(torch, problem, 1e-2)
    losses = [(ours(), theirs()) for _ in range(5)]
    np.testing.assert_allclose(*zip(*losses), rtol=1e-5)
    assert losses[-1][0] < losses[0][0]


def test_mlp_rows_agree_with_the_numpy_reference(suite):
    """Every mlp row that can run here trains the same model from the same weights: the same losses
    over four Adam steps (static uses TF1's Adam, whose epsilon-hat form moves the 6th digit)."""
    from _mlp import MLP, mlp_problem
    from _rows import Skip

    problem = mlp_problem((8, 12, 16, 16, 4))
    step = MLP.rows["numpy"](problem, 1e-2)
    reference = [step() for _ in range(4)]
    for name, rel in (("engine", 1e-5), ("static", 1e-4)):
        try:
            step = MLP.rows[name](problem, 1e-2)
        except Skip:
            continue
        assert [step() for _ in range(4)] == pytest.approx(reference, rel=rel), name


def test_digits_rows_train_the_shipped_config_alike(suite):
    """The digits workload: every mode and reference takes the same minibatches of configs/digits.yaml
    from the same weights, so their losses agree step by step."""
    from _digits import DIGITS, digits_problem
    from _rows import Skip

    problem = digits_problem()
    assert problem.spec.loss == "cross_entropy" and len(problem.mlp.batches) > 1
    losses = {}
    for name, factory in DIGITS.rows.items():
        if name in ("torch eager", "jax jit"):
            continue  # optional frameworks: slow to import here; the mlp tests cover them
        try:
            step = factory(problem, 0.0)
        except Skip:
            continue
        losses[name] = [step() for _ in range(3)]
    assert {"numpy", "manual", "autograd", "static"} <= set(losses)
    for name, values in losses.items():
        assert values == pytest.approx(losses["numpy"], rel=1e-5), name


def test_digits_workload_in_the_suite(small, tmp_path, monkeypatch):
    monkeypatch.setitem(small.WORKLOADS, "digits", replace(small.WORKLOADS["digits"], rounds=2, block=2, rewarm=1,
                                                           warmup=1, memory_steps=4))
    report = run(small, tmp_path, "--workloads", "digits", "--threads", "1", "--rows", "manual,static")
    (result,) = report["results"]
    assert set(result["rows"]) == {"numpy", "manual", "static"}, result["skipped"]
    assert [t["row"] for t in report["targets"] if t["unit"] == "x"] == ["static"]


def test_mlp_flops():
    sys.path.insert(0, str(BENCH))
    from _mlp import mlp_flops

    n = 32
    forward = 2 * n * (64 * 128 + 128 * 128 + 128 * 10)
    assert mlp_flops((n, 64, 128, 128, 10)) == 2 * forward + 2 * n * (128 * 128 + 128 * 10)


def test_seed_programs_harness_runs_the_programs_interleaved(suite):
    import bench_seed_programs as harness

    result = harness.measure(["numpy", "autograd", "static"], rounds=3, block=2, rewarm=1, warmup=1, threads=1)
    assert set(result) == {"numpy", "autograd", "static"}
    assert result["numpy"]["ratio"] == 1.0 and all(r["ms"] > 0 for r in result.values())


def test_seed_programs_harness_turnstile_counts_steps_and_reports_errors(suite):
    import bench_seed_programs as harness

    gate = harness.start("counter", "seen = []\nfor t in range(500):\n    seen.append(t)\n    assert t < 6\n")
    gate.turn(2, 3)  # 5 steps: t = 0..4
    assert len(gate.samples) == 1
    with pytest.raises(RuntimeError, match="seed program failed"):
        gate.turn(0, 3)  # the program fails at t = 6


@pytest.mark.slow
def test_cli_overhead_prints_an_estimate_then_progress(capsys):
    sys.path.insert(0, str(BENCH))
    import bench_cli_overhead

    bench_cli_overhead.main(["--steps", "20", "--repeat", "1"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 runs of 20 steps") and "about" in lines[0]
    assert lines[1].lstrip().startswith("[1/2] library") and lines[2].lstrip().startswith("[2/2] autotrain fit")
    assert lines[-1].startswith("ratio cli/library")


def test_results_go_outside_runs_by_default_and_are_git_ignored(small, tmp_path, monkeypatch):
    """`autotrain runs` lists runs/: a benchmark report there was a row marked unreadable."""
    root = Path(__file__).resolve().parents[1]
    assert small.RESULTS == BENCH / "results" and "runs" not in small.RESULTS.relative_to(root).parts
    assert "benchmarks/results/" in (root / ".gitignore").read_text().split()
    monkeypatch.setattr(small, "RESULTS", tmp_path / "results")
    small.main(["--workloads", "tiny", "--threads", "1", "--rows", "manual", "--startup-runs", "0", "--no-memory"])
    (written,) = (tmp_path / "results").iterdir()
    assert written.name.startswith("suite-") and json.loads(written.read_text())["results"]


def test_the_suite_prints_no_up_front_time_guess(small, tmp_path, capsys):
    run(small, tmp_path, "--workloads", "tiny", "--threads", "1", "--rows", "manual", "--no-memory")
    out = capsys.readouterr().out
    assert "estimate" not in out and "so far" in out
