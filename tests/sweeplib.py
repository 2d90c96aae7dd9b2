"""What the sweep tests share: a base config beside a sweep file, the CLI, sweep.csv rows, a sweep killed
mid-trial (SIGKILL, as a crash or an OOM kill would), and the same sweep on a local Ray."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from autotrain import sweep
from autotrain.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def write_files(tmp_path: Path, sweep_text: str, base: str) -> Path:
    """``base.yaml`` and ``s.yaml`` (whose ``base: base.yaml`` names it) in ``tmp_path``; returns s.yaml."""
    (tmp_path / "base.yaml").write_text(base)
    (tmp_path / "s.yaml").write_text(sweep_text)
    return tmp_path / "s.yaml"


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def kill_mid_trial(path: Path, runs_dir: Path, trial: int) -> Path:
    """Run ``autotrain sweep path`` in a child process and SIGKILL it once trial ``trial`` has a checkpoint
    past step 0; returns the sweep directory it left."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "autotrain", "sweep", str(path), "--runs-dir", str(runs_dir), "-q",
                             "--no-tensorboard"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ckpts = list(runs_dir.glob(f"*/trial-{trial:03d}-*/checkpoints/step-*.npz"))
        if any(not p.name.endswith("000000.npz") for p in ckpts):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    [sweep_dir] = runs_dir.iterdir()
    time.sleep(0.5)  # the trial process dies with the sweep (PR_SET_PDEATHSIG); give it a moment
    return sweep_dir


def local_and_ray(spec, tmp_path: Path, workers: int):
    """The sweep ``spec`` run by local processes and on a local Ray cluster: (local result, Ray result)."""
    import ray

    local = sweep.run_sweep(spec, tmp_path / "local", workers=workers, tensorboard=False)
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = sweep.run_sweep(spec, tmp_path / "ray", workers=workers, backend="ray", tensorboard=False)
    finally:
        ray.shutdown()
    return local, on_ray
