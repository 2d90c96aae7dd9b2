"""Running a sweep: trials as ``autotrain fit --resume <trial dir>`` processes, scheduled by the study.

Every trial is literally ``fit --resume`` of its prepared run directory in a fresh Python process: the same
code path, files and exit codes as a plain ``fit``.  Trials come from :class:`Scheduler`: the fixed points
of a grid:/random: file, or a sampler's proposals.  Each logged metrics row is reported to the driver
over a pipe (:mod:`autotrain.sweep.report`) and answered by the pruner.  One driver at a time holds a
sweep (``sweep.lock``); a SIGKILLed sweep resumes trial by trial: completed, diverged and pruned trials
are kept, running ones continue from their newest checkpoint, missing ones start.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import selectors
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from autotrain.training.config import ConfigError, FitConfig
from autotrain.sweep import results as res
from autotrain.sweep import report
from autotrain.sweep.results import FINISHED, Progress, SweepResult, TrialResult
from autotrain.sweep.spec import SweepSpec, Trial, expand, load_sweep, value_label, with_data_shapes

BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
            "NUMEXPR_NUM_THREADS")
POLL_S = 0.05
OnProgress = Callable[["Progress"], None]


def worker_env(workers: int, cores: int | None = None, environ=None) -> dict[str, str]:
    """BLAS/OpenMP thread counts for each of ``workers`` concurrent trials: the cores shared out, at least 1.

    A variable the user already set (e.g. ``OMP_NUM_THREADS=1 autotrain sweep ...``) is left as it is.
    """
    cores = cores or default_workers()
    environ = os.environ if environ is None else environ
    n = str(max(1, cores // max(workers, 1)))
    return {name: n for name in BLAS_ENV if name not in environ}


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def fit_command(run_dir: str | os.PathLike, tensorboard: bool | None = None) -> list[str]:
    """The command a trial runs: ``fit --resume`` of its prepared run directory (TensorBoard as ``fit``'s flag:
    None = when installed)."""
    cmd = [sys.executable, "-m", "autotrain", "fit", "--resume", os.fspath(run_dir), "--quiet"]
    return cmd + ({True: ["--tensorboard"], False: ["--no-tensorboard"], None: []}[tensorboard])


def _die_with_parent() -> None:
    # Linux: a trial dies with the sweep (even on SIGKILL), so a resumed sweep never races an orphan.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Stop:
    signum: int | None = None


def _forward_stop(stop: _Stop, children: Callable[[], list]):
    def handler(signum, frame):
        first = stop.signum is None
        stop.signum = signum
        for proc in children():
            try:
                proc.send_signal(signal.SIGTERM if first else signal.SIGKILL)
            except OSError:
                pass
    return handler


def open_sweep(path: str | os.PathLike) -> SweepSpec:
    """The spec stored in a sweep directory; RunError if ``path`` is not one."""
    from autotrain.store.runs import RunError

    p = Path(os.fspath(path))
    if not (p / "sweep.yaml").is_file() or p.is_symlink():
        raise RunError(f"{p} is not a sweep directory (it needs sweep.yaml)")
    return load_sweep(p / "sweep.yaml")



def run_sweep(spec: SweepSpec, runs_dir: str | os.PathLike = "runs", *, workers: int | None = None,
              backend: str = "local", address: str | None = None, tensorboard: bool | None = None,
              on_progress: OnProgress | None = None) -> SweepResult:
    """Create a sweep directory for ``spec`` and run every trial; see :func:`resume_sweep` for the rest."""
    path = res.create_sweep(spec, runs_dir)
    return resume_sweep(path, workers=workers, backend=backend, address=address, tensorboard=tensorboard,
                        on_progress=on_progress)


class SweepLocked(Exception):
    """Another process is running this sweep."""


class sweep_lock:
    """One driver per sweep directory: an exclusive ``flock`` on ``sweep.lock`` (released by the kernel when
    the holder dies, so a SIGKILLed sweep never blocks its resume)."""

    def __init__(self, path: Path):
        self.path = path / "sweep.lock"

    def __enter__(self):
        from autotrain.store.runs import RunError

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(self.fd)
            raise RunError(f"{self.path.parent} is being run by another sweep (pid {holder}); wait for it to end "
                           "or stop it, then: autotrain sweep --resume " + str(self.path.parent)) from None
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, str(os.getpid()).encode(), 0)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)  # closing drops the lock


class Scheduler:
    """Hands out the sweep's trials and records what each did.

    Fixed points (grid:/random: files) run in the file's order; a ``search:`` sweep asks its sampler for
    each new trial.  With Optuna installed every trial is also an Optuna trial in ``study.journal`` (its
    parameters, every reported value, its state); ``search:`` and ``prune:`` need it.
    """

    def __init__(self, spec: SweepSpec, path: Path):
        from autotrain.sweep import study as st

        self.spec, self.path = spec, path
        self.study = st.open_study(spec, path) if (spec.needs_optuna or st.available()) else None
        self.ids: dict[str, int] = {}  # trial dir -> Optuna trial id
        self.fixed = expand(spec) if not spec.search else None
        self.created = 0
        if self.study is not None:
            for t in self.study.get_trials(deepcopy=False):
                if "run" in t.user_attrs:
                    self.ids[t.user_attrs["run"]] = t._trial_id

    def known(self) -> list[Trial]:
        """The trials that exist so far (every fixed point; a search's trials already asked), in order."""
        if self.fixed is not None:
            return list(self.fixed)
        trials = sorted(self.study.get_trials(deepcopy=False), key=lambda t: t.number)
        out = [self._trial(t.number, t.params) for t in trials if "run" in t.user_attrs]
        self.created = len(trials)
        return out

    def new(self) -> Trial | None:
        """The next trial a search proposes (None: the budget is spent or the sweep has fixed points)."""
        if self.fixed is not None or self.created >= self.spec.trials:
            return None
        from autotrain.sweep import study as st

        self.study.sampler = st.sampler(self.spec, self.created)
        ot = self.study.ask(st.space_distributions(self.spec))
        self.created += 1
        trial = self._trial(ot.number, ot.params)
        ot.set_user_attr("run", trial.dirname)
        self.ids[trial.dirname] = ot._trial_id
        return trial

    def _trial(self, number: int, params: dict) -> Trial:
        from autotrain.store.runs import sanitize_name

        values = {k: params[k] for k in self.spec.space if k in params}
        try:
            cfg = with_data_shapes(FitConfig.model_validate({**self.spec.base, **values}), "sweep", {})
        except (ConfigError, ValueError):
            cfg = None  # a proposal the config rejects: the trial is a failed row
        label = "-".join(f"{k}_{value_label(v)}" for k, v in values.items())
        return Trial(number, values, cfg, sanitize_name(f"trial-{number:03d}-{label}"))

    def started(self, trial: Trial) -> None:
        """A fixed point is about to run: make it an Optuna trial (enqueued, so its values are its params)."""
        if self.study is None or trial.dirname in self.ids:
            return
        from autotrain.sweep import study as st

        self.study.enqueue_trial(trial.values, skip_if_exists=False)
        ot = self.study.ask(st.fixed_distributions(self.spec, trial.values))
        ot.set_user_attr("run", trial.dirname)
        ot.set_user_attr("values", {k: _plain(v) for k, v in trial.values.items()})
        self.ids[trial.dirname] = ot._trial_id

    def report(self, trial: Trial, step: int, value: float) -> bool:
        """Record one reported value; whether the pruner stops the trial here."""
        if self.study is None or trial.dirname not in self.ids:
            return False
        import optuna

        ot = optuna.Trial(self.study, self.ids[trial.dirname])
        reported = self.study._storage.get_trial(ot._trial_id).intermediate_values
        if step in reported:  # a resumed trial logs its rows after the checkpoint again
            if step < max(reported):
                return False  # it went on past this step before: the verdict here was "go"
        else:
            ot.report(value, step)
        return ot.should_prune()

    def tell(self, r: TrialResult) -> None:
        """Record a trial's end in the study (an interrupted one stays running, to be continued)."""
        if self.study is None or r.trial.dirname not in self.ids or r.status in ("interrupted", "running"):
            return
        from optuna.trial import TrialState

        tid = self.ids[r.trial.dirname]
        frozen = self.study._storage.get_trial(tid)
        if frozen.state.is_finished():
            return
        self.study._storage.set_trial_user_attr(tid, "status", r.status)
        number = frozen.number
        try:
            if r.status == "completed" and r.metric is not None:
                self.study.tell(number, r.metric)
            elif r.status == "pruned":
                self.study.tell(number, state=TrialState.PRUNED)
            else:
                self.study.tell(number, state=TrialState.FAIL)
        except RuntimeError as exc:
            # GridSampler asks to stop the study once its grid is visited (allowed only inside optimize);
            # Optuna has stored the trial's end by then, and the sweep's budget already ends the loop.
            if "Study.stop" not in str(exc):
                raise


def _plain(v):
    return v if v is None or isinstance(v, (bool, int, float, str)) else repr(v)


def resume_sweep(path: str | os.PathLike, *, workers: int | None = None, backend: str = "local",
                 address: str | None = None, tensorboard: bool | None = None,
                 on_progress: OnProgress | None = None) -> SweepResult:
    """Run every trial of the sweep in ``path`` that is not finished.

    Completed, diverged and pruned trials are kept; an interrupted or killed one continues from its newest
    checkpoint; a missing one starts; a search asks for new trials until it has ``trials``.
    SIGINT/SIGTERM stop launching trials and ask running ones to checkpoint (``interrupted`` is set);
    sweep.csv is rewritten after every trial.  A second driver on the same sweep gets RunError.
    """
    path = Path(os.fspath(path))
    spec = open_sweep(path)
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}; choose local or ray")
    with sweep_lock(path):
        return _drive(path, spec, workers, backend, address, tensorboard, on_progress)


def _drive(path, spec, workers, backend, address, tensorboard, on_progress) -> SweepResult:
    sched = Scheduler(spec, path)
    result = SweepResult(path, spec, [TrialResult(t) for t in sched.known()])
    (path / "logs").mkdir(exist_ok=True)
    jobs = []
    for r in result.results:
        run_path = path / r.trial.dirname
        if res.trial_state(run_path) in FINISHED:
            res.finish_trial(r, run_path, spec.metric, 0)
            sched.tell(r)  # e.g. killed after the trial ended but before the study heard of it
        elif r.trial.config is None:
            r.status, r.note = "failed", "the sampler proposed values the config rejects"
            sched.tell(r)
        else:
            jobs.append(r)
    res.write_csv(result)
    workers = max(1, workers or spec.workers or default_workers())
    progress = Progress(spec.total, done=len(result.results) - len(jobs),
                        failed=sum(r.status in ("failed", "diverged") for r in result.results))
    if on_progress:
        on_progress(progress)

    def next_job() -> TrialResult | None:
        while jobs or sched.fixed is None:
            if jobs:
                r = jobs.pop(0)
            else:
                trial = sched.new()
                if trial is None:
                    return None
                r = TrialResult(trial)
                result.results.append(r)
                if trial.config is None:
                    r.status, r.note = "failed", "the sampler proposed values the config rejects"
                    finished(r, None, None)
                    continue
            sched.started(r.trial)
            res.prepare_trial(path, r.trial)
            r.status = "running"
            return r
        return None

    def finished(r: TrialResult, run_path: Path | None, code) -> None:
        if run_path is not None:
            res.finish_trial(r, run_path, spec.metric, code)
        sched.tell(r)
        progress.done += 1
        progress.failed += r.status in ("failed", "diverged")
        res.write_csv(result)
        changed()

    def changed() -> None:
        progress.running = sum(r.status == "running" for r in result.results)
        if on_progress:
            on_progress(progress)

    stop, children = _Stop(), {}
    env = worker_env(min(workers, max(spec.total - progress.done, 1)))
    old = {}
    if threading.current_thread() is threading.main_thread():  # Ctrl-C/SIGTERM: stop launching, let trials checkpoint
        handler = _forward_stop(stop, lambda: list(children))
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    hooks = _Hooks(next_job, finished, changed, sched.report)
    try:
        if backend == "ray":
            from autotrain.sweep.ray_backend import run_ray

            run_ray(hooks, workers, env, stop, tensorboard, address, path, spec.metric)
        else:
            _run_local(hooks, workers, env, stop, tensorboard, path, spec.metric, children)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    result.results.sort(key=lambda r: r.trial.index)
    result.interrupted = stop.signum is not None or any(r.status in ("pending", "running", "interrupted")
                                                         for r in result.results)
    for r in result.results:
        if r.status == "running":
            r.status = "interrupted"
    res.write_csv(result)
    return result


@dataclass
class _Hooks:
    """What a backend calls: the next trial to run, a trial's end, a status change, a report (-> prune?)."""

    next_job: Callable[[], TrialResult | None]
    finished: Callable[[TrialResult, Path | None, int | None], None]
    changed: Callable[[], None]
    report: Callable[[Trial, int, float], bool]


class _Channel:
    """The driver's end of one trial's report pipes: reads ``step value`` lines, answers each."""

    def __init__(self, trial: Trial, on_report):
        self.trial, self.on_report = trial, on_report
        self.reports_r, self.reports_w = os.pipe()
        self.verdict_r, self.verdict_w = os.pipe()
        self.buffer = b""

    def child_env(self, metric: str) -> dict[str, str]:
        return {report.ENV: f"{self.reports_w},{self.verdict_r},{metric}"}

    def child_fds(self) -> tuple[int, int]:
        return self.reports_w, self.verdict_r

    def after_spawn(self) -> None:
        os.close(self.reports_w)
        os.close(self.verdict_r)

    def readable(self) -> bool:
        """Answer every complete report line waiting; False at end of file."""
        data = os.read(self.reports_r, 65536)
        if not data:
            return False
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        for line in lines:
            parsed = report.parse_report(line.decode(errors="replace"))
            verdict = parsed is not None and self.on_report(self.trial, *parsed)
            try:
                os.write(self.verdict_w, b"prune\n" if verdict else b"go\n")
            except OSError:  # the trial is gone
                pass
        return True

    def close(self) -> None:
        for fd in (self.reports_r, self.verdict_w):
            try:
                os.close(fd)
            except OSError:
                pass


def _run_local(hooks: _Hooks, workers, env, stop, tensorboard, sweep_dir: Path, metric: str,
               children: dict) -> None:
    """Run trials as subprocesses, at most ``workers`` at once, from this (main) thread; live ones are in
    ``children``; each trial's reports are answered as they arrive."""
    sel = selectors.DefaultSelector()
    exhausted = False
    while not exhausted or children:
        while not exhausted and len(children) < workers and stop.signum is None:
            r = hooks.next_job()
            if r is None:
                exhausted = True
                break
            run_path = sweep_dir / r.trial.dirname
            chan = _Channel(r.trial, hooks.report)
            log = open(sweep_dir / "logs" / f"{run_path.name}.log", "ab")
            proc = subprocess.Popen(fit_command(run_path, tensorboard), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env={**os.environ, **env, **chan.child_env(metric)},
                                    start_new_session=True, pass_fds=chan.child_fds(),
                                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
            chan.after_spawn()
            sel.register(chan.reports_r, selectors.EVENT_READ, chan)
            children[proc] = (r, run_path, log, chan)
            hooks.changed()
        if stop.signum is not None:
            exhausted = True
        for key, _ in sel.select(timeout=POLL_S if children else 0):
            if not key.data.readable():
                sel.unregister(key.fd)
        for proc in [p for p in children if p.poll() is not None]:
            r, run_path, log, chan = children.pop(proc)
            log.close()
            if chan.reports_r in sel.get_map():
                sel.unregister(chan.reports_r)
            chan.close()
            hooks.finished(r, run_path, proc.returncode)
    sel.close()


__all__ = ["run_sweep", "resume_sweep", "open_sweep", "worker_env", "default_workers", "fit_command", "Scheduler",
           "Progress", "sweep_lock"]
