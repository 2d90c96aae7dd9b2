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

Pruning: the task starts ``fit`` with the report pipes of :mod:`autotrain.sweep.report` and relays each
report to the driver through a Ray queue (an actor, so it works across nodes without shared storage); the
driver asks the pruner and puts the verdict in the trial's own queue, which the task hands back to ``fit``.
Ctrl-C on the driver: every running task is told to stop (its ``fit`` gets SIGTERM, checkpoints and ends
``interrupted``), and its files come back as a finished one's do.

Every node needs autotrain installed (the same version) and a Python that can run it.
"""
from __future__ import annotations

import io
import os
import subprocess
import tarfile
import tempfile
import signal
import threading
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


def run_trial(run_dir: str, packed: bytes, tensorboard: bool | None, force_copy: bool = False,
              metric: str = "loss", relay=None, stop_flag=None) -> dict:
    """The Ray task: ``fit --resume`` the trial in place, or in a temporary copy sent back as a tar.

    ``relay(step, value) -> bool`` answers each report (True: pruned); ``stop_flag()`` true asks ``fit`` to
    checkpoint and stop (SIGTERM), as Ctrl-C does locally.
    """
    from autotrain.sweep import report
    from autotrain.sweep.local import fit_command

    shared = os.path.isdir(run_dir) and not force_copy
    work = run_dir if shared else tempfile.mkdtemp(prefix="autotrain-trial-")
    reports_r, reports_w = os.pipe()
    verdict_r, verdict_w = os.pipe()
    try:
        if not shared:
            _unpack(packed, Path(work))
        env = {**os.environ, report.ENV: f"{reports_w},{verdict_r},{metric}"}
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(fit_command(work, tensorboard), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, pass_fds=(reports_w, verdict_r))
        os.close(reports_w)
        os.close(verdict_r)
        answering = threading.Thread(target=_answer, args=(reports_r, verdict_w, relay), daemon=True)
        answering.start()
        try:
            while proc.poll() is None:
                if stop_flag is not None and stop_flag():
                    proc.send_signal(signal.SIGTERM)
                    proc.wait()
                    break
                time.sleep(0.1)
        except KeyboardInterrupt:  # ray.cancel: the trial checkpoints and stops
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        answering.join(timeout=5)
        log.seek(0)
        out = {"returncode": proc.returncode, "log": log.read()[-20000:], "node": os.uname().nodename}
        if not shared:
            out["files"] = _pack(Path(work))
        return out
    finally:
        for fd in (reports_r, verdict_w):
            try:
                os.close(fd)
            except OSError:
                pass
        if not shared:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


def _answer(reports_r: int, verdict_w: int, relay) -> None:
    """Read ``fit``'s reports and write the verdicts (``go`` when there is no relay)."""
    from autotrain.sweep import report

    buffer = b""
    while True:
        data = os.read(reports_r, 65536)
        if not data:
            return
        buffer += data
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            parsed = report.parse_report(line.decode(errors="replace"))
            verdict = bool(relay and parsed and relay(*parsed))
            try:
                os.write(verdict_w, b"prune\n" if verdict else b"go\n")
            except OSError:
                return


class _Mailbox:
    """The Ray actor between trials and the driver: reports in, verdicts out, and the stop flag."""

    def __init__(self):
        self.reports, self.verdicts, self.stop = [], {}, False

    def put_report(self, key: str, step: int, value: float) -> None:
        self.reports.append((key, step, value))

    def take_reports(self) -> list:
        out, self.reports = self.reports, []
        return out

    def put_verdict(self, key: str, step: int, verdict: bool) -> None:
        self.verdicts[(key, step)] = verdict

    def take_verdict(self, key: str, step: int):
        return self.verdicts.pop((key, step), None)

    def set_stop(self) -> None:
        self.stop = True

    def stopping(self) -> bool:
        return self.stop


def _remote_trial(run_dir, packed, tensorboard, force_copy, metric, mailbox, key):
    import ray

    def relay(step, value):
        ray.get(mailbox.put_report.remote(key, step, value))
        while True:  # the driver answers within its poll interval
            verdict = ray.get(mailbox.take_verdict.remote(key, step))
            if verdict is not None:
                return verdict
            if ray.get(mailbox.stopping.remote()):
                return False
            time.sleep(0.01)

    return run_trial(run_dir, packed, tensorboard, force_copy, metric, relay,
                     lambda: ray.get(mailbox.stopping.remote()))


def run_ray(hooks, workers: int, env: dict, stop, tensorboard: bool | None, address: str | None,
            sweep_dir: Path, metric: str, force_copy: bool = False) -> None:
    """Run the sweep's trials as Ray tasks, at most ``workers`` at once, answering their reports."""
    import ray

    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(ignore_reinit_error=True, log_to_driver=False, configure_logging=False, **kwargs)
    remote = ray.remote(num_cpus=1, max_retries=0)(_remote_trial)
    mailbox = ray.remote(num_cpus=0)(_Mailbox).remote()
    refs, exhausted, told = {}, False, False
    try:
        while not exhausted or refs:
            while not exhausted and len(refs) < workers and stop.signum is None:
                r = hooks.next_job()
                if r is None:
                    exhausted = True
                    break
                path = sweep_dir / r.trial.dirname
                ref = remote.options(runtime_env={"env_vars": env}).remote(
                    str(path.resolve()), _pack(path), tensorboard, force_copy, metric, mailbox, r.trial.dirname)
                refs[ref] = (r, path)
                hooks.changed()
            if stop.signum is not None and not told:  # trials checkpoint and stop, as local ones do
                exhausted = told = True
                ray.get(mailbox.set_stop.remote())
            by_key = {r.trial.dirname: r for r, _ in refs.values()}
            for key, step, value in ray.get(mailbox.take_reports.remote()):
                verdict = key in by_key and hooks.report(by_key[key].trial, step, value)
                mailbox.put_verdict.remote(key, step, bool(verdict))
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.05) if refs else ([], [])
            for ref in ready:
                r, path = refs.pop(ref)
                try:
                    out = ray.get(ref)
                except Exception as exc:  # a crashed task: the trial resumes next time
                    with open(sweep_dir / "logs" / f"{path.name}.log", "ab") as f:
                        f.write(f"ray task failed: {type(exc).__name__}: {exc}\n".encode())
                    hooks.finished(r, path, None)
                    continue
                if "files" in out:
                    _unpack(out["files"], path)
                with open(sweep_dir / "logs" / f"{path.name}.log", "ab") as f:
                    f.write(out["log"])
                hooks.finished(r, path, out["returncode"])
    finally:
        ray.kill(mailbox)


__all__ = ["run_ray", "run_trial", "available", "RAY_HINT"]
