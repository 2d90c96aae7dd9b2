"""BLAS threads per run: the auto rule, --threads/threads, summary.json, and fit == sweep trial."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain.training.config import FitConfig
from autotrain.training.threads import AUTO_MIN_WORK, blas_threads, limit_blas, parse_threads, work_per_step

ROOT = Path(__file__).resolve().parent.parent


def test_auto_gives_the_seed_one_thread_and_a_large_network_every_core():
    seed = FitConfig()
    assert work_per_step(seed) == 3 * 64 * (1000 * 100 + 100 * 10)
    assert blas_threads(seed, cores=8) == 1
    big = FitConfig(N=1024, D_in=2048, H=1024)
    assert work_per_step(big) >= AUTO_MIN_WORK
    assert blas_threads(big, cores=8) == 8
    assert blas_threads(big, cores=1) == 1


def test_full_batch_uses_the_batch_rows_and_an_explicit_count_wins():
    cfg = FitConfig(N=None, D_in=2048, H=1024)
    assert blas_threads(cfg, batch=10, cores=4) == 1
    assert blas_threads(cfg, batch=100_000, cores=4) == 4
    assert blas_threads(FitConfig(threads=3), cores=1) == 3


@pytest.mark.parametrize("text", ["0", "-1", "1025", "two", "", "1.5", "9" * 40])
def test_parse_threads_refuses_bad_values(text):
    with pytest.raises(ValueError, match="--threads"):
        parse_threads(text)


def test_parse_threads_accepts_auto_and_counts():
    assert parse_threads("AUTO") == "auto" and parse_threads("4") == 4


def test_limit_blas_sets_and_restores():
    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    with limit_blas(1):
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def _fit(tmp_path, *args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "autotrain", "fit", str(ROOT / "configs" / "two_layer.yaml"),
                           "--no-tensorboard", "--set", "steps=40", *args], env=env, capture_output=True, text=True)


def _summaries(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.rglob("summary.json"))]


def test_fit_and_a_sweep_trial_of_the_same_config_compute_the_same_numbers(tmp_path):
    # The environment offers OpenBLAS every core; the sweep pins its trials by the environment:
    # both end with the thread count of the one rule, so the float32 numbers are bit-identical.
    plain = _fit(tmp_path, "--runs-dir", str(tmp_path / "fit"), "-q")
    swept = _fit(tmp_path, "--runs-dir", str(tmp_path / "sweep"), "--sweep", "seed=0", "--workers", "2", "-q")
    assert plain.returncode == 0, plain.stderr
    assert swept.returncode == 0, swept.stderr
    [a], [b] = _summaries(tmp_path / "fit"), _summaries(tmp_path / "sweep")
    assert a["threads"] == b["threads"] == 1
    assert a["final_loss"] == b["final_loss"]


def test_threads_option_is_recorded_and_a_bad_one_is_refused(tmp_path):
    ok = _fit(tmp_path, "--runs-dir", str(tmp_path), "--threads", "2", "-q")
    assert ok.returncode == 0, ok.stderr
    assert _summaries(tmp_path)[0]["threads"] == 2
    bad = _fit(tmp_path, "--runs-dir", str(tmp_path / "bad"), "--threads", "0")
    assert bad.returncode == 2 and "--threads '0'" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "bad").exists()
