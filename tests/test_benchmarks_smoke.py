"""The benchmark suite still runs end to end (tiny sizes, a few steps).  No timing is asserted."""
from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "suite.py"


@pytest.fixture(scope="module")
def suite():
    spec = importlib.util.spec_from_file_location("autotrain_bench_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("autotrain_bench_suite", None)


def test_suite_runs_tiny_and_writes_json(suite, tmp_path, monkeypatch):
    tiny = replace(suite.WORKLOADS["tiny"], rounds=2, per_round=2, warmup=2, memory_steps=4)
    monkeypatch.setitem(suite.WORKLOADS, "tiny", tiny)
    out = tmp_path / "suite.json"
    rows = "5 matmuls,manual,autograd,custom-relu,static"  # torch and jax rows are optional and slow to import
    suite.main(["--workloads", "tiny", "--threads", "1", "--rows", rows, "--json", str(out), "--startup-runs", "0"])

    report = json.loads(out.read_text())
    (result,) = report["results"]
    assert set(result["rows"]) == {"numpy", *rows.split(",")}, result["skipped"]
    for row in result["rows"].values():
        assert row["seconds"] > 0 and row["gflops"] > 0
    memory = report["memory"]["tiny"]
    assert memory["5 matmuls"]["allocs_per_step"] == 0
    assert memory["numpy"]["allocs_per_step"] > 0  # the hand-written step makes temporaries
    assert any(t["target"].startswith("static: 0 arrays") for t in report["targets"])


def test_flops_count_no_gradient_for_x(suite):
    from _measure import step_flops

    n, d_in, h, d_out = 64, 1000, 100, 10
    assert step_flops(n, d_in, h, d_out) == 4 * n * d_in * h + 6 * n * h * d_out


def test_unknown_row_is_refused(suite):
    with pytest.raises(SystemExit, match="unknown rows"):
        suite.main(["--rows", "nope", "--startup-runs", "0"])
