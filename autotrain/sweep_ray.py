"""The sweep's Ray backend (``autotrain sweep --backend ray``; needs ``pip install 'autotrain[ray]'``).

Each trial is one Ray task (``num_cpus=1``) that runs the same command as the local backend,
``autotrain fit --resume <trial dir>``, on whichever node Ray picks, with the BLAS thread variables in
its ``runtime_env``.  Where the files land:

* **shared storage** (NFS, a cluster file system; also a single machine): when the trial directory
  exists on the worker node, ``fit`` writes into it directly, exactly as locally;
* **no shared storage**: the task rebuilds the trial directory in a temporary folder on the worker
  from its config.yaml (and any checkpoints the driver already has, so resuming works), runs ``fit``
  there, and sends the finished directory back as a tar archive, which the driver unpacks into the
  sweep directory (``tarfile``'s ``data`` filter: no links out, no absolute paths).

Every node needs autotrain installed (the same version) and a Python that can run it.
"""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

RAY_HINT = "--backend ray needs Ray: pip install 'autotrain[ray]' (or: pip install 'ray[default]')"


def available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for p in sorted(folder.rglob("*")):
            if (p.is_file() or p.is_dir()) and not p.is_symlink():
                tar.add(p, arcname=str(p.relative_to(folder)), recursive=False)
    return buf.getvalue()


def _unpack(data: bytes, folder: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")


def run_trial(run_dir: str, packed: bytes, tensorboard: bool | None, force_copy: bool = False) -> dict:
    """The Ray task: ``fit --resume`` the trial in place, or in a temporary copy sent back as a tar."""
    from autotrain.sweep import fit_command

    shared = os.path.isdir(run_dir) and not force_copy
    work = run_dir if shared else tempfile.mkdtemp(prefix="autotrain-trial-")
    try:
        if not shared:
            _unpack(packed, Path(work))
        proc = subprocess.run(fit_command(work, tensorboard), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
        out = {"returncode": proc.returncode, "log": proc.stdout[-20000:], "node": os.uname().nodename}
        if not shared:
            out["files"] = _pack(Path(work))
        return out
    finally:
        if not shared:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def run_ray(jobs, workers: int, env: dict, on_done, stop, tensorboard: bool | None, address: str | None,
            log_dir: Path, force_copy: bool = False) -> None:
    """Submit every job as a Ray task; ``on_done((result, path, returncode))`` as each finishes."""
    import ray

    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(ignore_reinit_error=True, log_to_driver=False, configure_logging=False, **kwargs)
    remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)
    refs = {}
    for result, path in jobs:
        packed = _pack(path)
        ref = remote.options(runtime_env={"env_vars": env}).remote(str(path.resolve()), packed, tensorboard,
                                                                   force_copy)
        refs[ref] = (result, path)
        result.status = "running"
    on_done(None)
    cancelled = False
    while refs:
        if stop.signum is not None and not cancelled:  # a trial stopped mid-way resumes from its last checkpoint
            cancelled = True
            for ref in refs:
                ray.cancel(ref, force=False)
        ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.2)
        for ref in ready:
            result, path = refs.pop(ref)
            try:
                out = ray.get(ref)
            except Exception as exc:  # a cancelled or crashed task: the trial resumes next time
                (log_dir / f"{path.name}.log").write_text(f"ray task failed: {type(exc).__name__}: {exc}\n")
                on_done((result, path, None))
                continue
            if "files" in out:
                _unpack(out["files"], path)
            with open(log_dir / f"{path.name}.log", "ab") as f:
                f.write(out["log"])
            on_done((result, path, out["returncode"]))
        if not ready:
            time.sleep(0.01)


__all__ = ["run_ray", "run_trial", "available", "RAY_HINT"]
