"""Sweeps: many ordinary ``fit`` runs over a search space, locally in K processes or on a Ray cluster.

Nothing here prints: :func:`run_sweep` reports progress to an optional callback and returns a
:class:`SweepResult`.  A sweep lives in ``<runs_dir>/<UTC timestamp>-sweep-<name>/``::

    sweep.yaml              the resolved sweep (base config inlined), enough to resume it anywhere
    sweep.csv               one row per trial: trial, run, the swept values, status, the metric
    logs/<trial>.log        what each trial's ``fit`` printed (errors, notes)
    trial-000-H=16-mode=manual/   an ordinary run directory (config.yaml, metrics.csv, checkpoints/, ...)

Every trial is literally ``autotrain fit --resume <trial dir>`` in a fresh Python process (the trial's
directory and config.yaml are made first, so "resume" of a run without checkpoints starts it): the same
code path, files and exit codes as a plain ``fit``, and a killed sweep resumes trial by trial
(:func:`resume_sweep`): finished trials are kept, interrupted ones continue from their newest checkpoint
(bit-identical, as ``fit --resume`` is), missing ones start.

The sweep file (validated as strictly as a config; errors name file:line)::

    name: width                  # default: the sweep file's stem
    base: two_layer.yaml         # a config file relative to this file, or a mapping of config keys
    set: {steps: 200}            # config keys on top of base (optional)
    grid:                        # every combination of these lists
      H: [16, 64, 256]
      mode: [manual, static]
    random:                      # `trials` draws per grid point, seeded
      lr: {loguniform: [1.0e-6, 1.0e-4]}    # also uniform: [a, b], int: [a, b], choice: [...], or a list
    trials: 4
    seed: 0
    metric: loss                 # see METRICS
    goal: min                    # min | max (default: max for accuracy and steps_per_s, else min)
    workers: 1                   # default for --workers (e.g. 1 for timing sweeps)
"""
from __future__ import annotations

import ctypes
import difflib
import itertools
import math
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from autotrain.config import ConfigError, FitConfig, Problem, _parse_yaml, _problem_for, read_config_file

SPEC_KEYS = ("name", "base", "set", "grid", "random", "trials", "seed", "metric", "goal", "workers")
#: What a sweep can rank by: summary.json fields, the last value of a metrics.csv column, and ms_per_step.
METRICS = ("loss", "final_loss", "val_loss", "val_accuracy", "best_val_loss", "best_val_accuracy",
           "steps_per_s", "ms_per_step", "wall_time_s", "elapsed_s")
MAXIMISED = ("val_accuracy", "best_val_accuracy", "steps_per_s")
DISTRIBUTIONS = ("uniform", "loguniform", "int", "choice")
BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
            "NUMEXPR_NUM_THREADS")
FINISHED = ("completed", "diverged")
MAX_TRIALS = 10_000
POLL_S = 0.05
OnProgress = Callable[["Progress"], None]


# ----------------------------------------------------------------------------- the spec
@dataclass
class SweepSpec:
    """A validated sweep: the base config values, the search space, the metric and its goal."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list] = field(default_factory=dict)
    random: dict[str, dict] = field(default_factory=dict)
    trials: int = 1
    seed: int = 0
    metric: str = "loss"
    goal: str = "min"
    workers: int | None = None

    @property
    def keys(self) -> list[str]:
        """The swept config keys, grid first."""
        return list(self.grid) + [k for k in self.random if k not in self.grid]

    def to_yaml(self) -> str:
        """The resolved sweep as YAML (``base`` inlined), which :func:`load_sweep` reads back to an equal spec."""
        data: dict[str, Any] = {"name": self.name, "base": self.base}
        if self.grid:
            data["grid"] = self.grid
        if self.random:
            data.update(random=self.random, trials=self.trials)
        data.update(seed=self.seed, metric=self.metric, goal=self.goal)
        if self.workers is not None:
            data["workers"] = self.workers
        header = "# written by autotrain sweep; resume with: autotrain sweep --resume <this directory>\n"
        return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None)


@dataclass
class Trial:
    """One point of the search space: its index, swept values, full config and directory name."""

    index: int
    values: dict[str, Any]
    config: FitConfig
    dirname: str


def _positions(text: str) -> dict[tuple, tuple[int, int]]:
    """(line, column) of every mapping key by its path, e.g. ``("grid", "H")``."""
    from autotrain.config import _Loader

    out: dict[tuple, tuple[int, int]] = {}
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError:
        return out
    finally:
        loader.dispose()

    def walk(node, path):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = path + (k.value,)
                out.setdefault(key, (k.start_mark.line + 1, k.start_mark.column + 1))
                walk(v, key)
    walk(root, ())
    return out


class _Checker:
    """Collects Problems for one sweep file, each with its line."""

    def __init__(self, source: str, positions: dict):
        self.source, self.positions, self.problems = source, positions, []

    def add(self, path: tuple, message: str) -> None:
        line, col = self.positions.get(path, (None, None))
        self.problems.append(Problem(self.source, message, key=".".join(map(str, path)), line=line, column=col))


def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a sweep file; ConfigError lists every problem with file:line."""
    source = str(path)
    data, _ = read_config_file(path)
    text = Path(path).read_text(encoding="utf-8")
    return spec_from_mapping(data, source, _positions(text), Path(path).resolve().parent, Path(path).stem)


def spec_from_mapping(data: dict, source: str, positions: dict, folder: Path, default_name: str) -> SweepSpec:
    """Validate a parsed sweep mapping (see the module docstring for the format)."""
    c = _Checker(source, positions)
    for key in data:
        if key not in SPEC_KEYS:
            close = difflib.get_close_matches(str(key), SPEC_KEYS, n=1)
            c.add((key,), f"unknown key{f'; did you mean {close[0]!r}?' if close else ''} "
                          f"(allowed keys: {', '.join(SPEC_KEYS)})")
    base, where = _base_values(data, c, folder)
    grid = {k: [_rebase(k, v, folder) for v in vs] for k, vs in _grid(data.get("grid"), c).items()}
    rand = _random(data.get("random"), c)
    trials = _int_field(data, "trials", c, 1 if rand else 1, minimum=1)
    seed = _int_field(data, "seed", c, 0, minimum=0)
    workers = _int_field(data, "workers", c, None, minimum=1)
    if "trials" in data and not rand and not c.problems:
        c.add(("trials",), "trials applies to random: draws; with grid: only, every combination runs once")
    metric = data.get("metric", "loss")
    if metric not in METRICS:
        close = difflib.get_close_matches(str(metric), METRICS, n=1)
        c.add(("metric",), f"bad value {metric!r}{f'; did you mean {close[0]!r}?' if close else ''} "
                           f"(allowed: {', '.join(METRICS)})")
    goal = data.get("goal", "max" if metric in MAXIMISED else "min")
    if goal not in ("min", "max"):
        c.add(("goal",), f"bad value {goal!r} (allowed: min, max)")
    name = data.get("name", default_name)
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not name:
        c.add(("name",), f"bad value {name!r} (allowed: a non-empty string)")
    if not grid and not rand and not c.problems:
        c.add(("grid",), "nothing to sweep: give grid: (lists) and/or random: (ranges) over config keys")
    for key in list(grid) + list(rand):
        if key not in FitConfig.model_fields:
            section = "grid" if key in grid else "random"
            close = difflib.get_close_matches(str(key), list(FitConfig.model_fields), n=1)
            c.add((section, key), f"unknown config key{f'; did you mean {close[0]!r}?' if close else ''} "
                                  f"(allowed keys: {', '.join(FitConfig.model_fields)})")
        where[key] = (source, positions.get(("grid" if key in grid else "random", key)))
    if c.problems:
        raise ConfigError(c.problems)
    spec = SweepSpec(name, base, grid, rand, trials, seed, metric, goal, workers)
    check_trials(spec, where)
    return spec


def _base_values(data: dict, c: _Checker, folder: Path) -> tuple[dict, dict]:
    """The base config's values and where each came from (base file lines, or this file's)."""
    values: dict[str, Any] = {}
    where: dict[str, tuple] = {}
    base = data.get("base", {})
    if isinstance(base, str):
        path = folder / base
        try:
            file_data, lines = read_config_file(path)
        except ConfigError as exc:
            c.problems += exc.problems
            file_data, lines = {}, {}
        for k, v in file_data.items():
            values[str(k)], where[str(k)] = _rebase(k, v, path.parent), (str(path), lines.get(k))
    elif isinstance(base, dict):
        for k, v in base.items():
            values[str(k)], where[str(k)] = _rebase(k, v, folder), (c.source, c.positions.get(("base", k)))
    else:
        c.add(("base",), f"bad value {base!r} (allowed: a config file path relative to the sweep file, "
                         "or a mapping of config keys)")
    inline = data.get("set", {})
    if not isinstance(inline, dict):
        c.add(("set",), f"bad value {inline!r} (allowed: a mapping of config keys, e.g. {{steps: 100}})")
        inline = {}
    for k, v in inline.items():
        values[str(k)], where[str(k)] = _rebase(k, v, folder), (c.source, c.positions.get(("set", k)))
    return values, where


def _rebase(key, value, folder: Path):
    """A data file (or .npy pair) named relative to the file it was written in, made absolute: the sweep
    inlines the config elsewhere (as ``fit`` does for a run's own config.yaml)."""
    if key != "data" or value == "synthetic":
        return value
    if isinstance(value, list):
        return [_rebase(key, v, folder) for v in value]
    if isinstance(value, str) and value and not os.path.isabs(os.path.expanduser(value)):
        return str((folder / os.path.expanduser(value)).resolve())
    return value


def _grid(grid, c: _Checker) -> dict[str, list]:
    if grid is None:
        return {}
    if not isinstance(grid, dict):
        c.add(("grid",), f"bad value {grid!r} (allowed: a mapping of config keys to lists, e.g. H: [16, 64])")
        return {}
    out = {}
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            c.add(("grid", key), f"bad value {values!r} (allowed: a non-empty list of values, e.g. [16, 64])")
        elif len({repr(v) for v in values}) != len(values):
            c.add(("grid", key), f"repeated value in {values!r} (each value once)")
        else:
            out[str(key)] = values
    return out


def _random(rand, c: _Checker) -> dict[str, dict]:
    if rand is None:
        return {}
    if not isinstance(rand, dict):
        c.add(("random",), f"bad value {rand!r} (allowed: a mapping of config keys to ranges or choices)")
        return {}
    out = {}
    for key, dist in rand.items():
        if isinstance(dist, list):
            dist = {"choice": dist}
        ok = isinstance(dist, dict) and len(dist) == 1 and next(iter(dist)) in DISTRIBUTIONS
        if ok:
            kind, arg = next(iter(dist.items()))
            if kind == "choice":
                ok = isinstance(arg, list) and len(arg) > 0
            else:
                ok = (isinstance(arg, list) and len(arg) == 2 and all(_is_real(a) for a in arg) and arg[0] <= arg[1]
                      and (kind != "loguniform" or arg[0] > 0) and (kind != "int" or all(isinstance(a, int) for a in arg)))
        if not ok:
            c.add(("random", key), f"bad value {dist!r} (allowed: uniform: [a, b], loguniform: [a, b] with "
                                   "0 < a <= b, int: [a, b] (integers, inclusive), choice: [v1, v2, ...], or a list)")
        else:
            out[str(key)] = dist
    return out


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_field(data: dict, key: str, c: _Checker, default, minimum: int):
    value = data.get(key, default)
    if key in data and (not isinstance(value, int) or isinstance(value, bool) or value < minimum):
        c.add((key,), f"bad value {value!r} (allowed: an integer >= {minimum})")
        return default
    return value


def _draw(dist: dict, rng) -> Any:
    kind, arg = next(iter(dist.items()))
    if kind == "choice":
        return arg[int(rng.integers(len(arg)))]
    if kind == "int":
        return int(rng.integers(arg[0], arg[1] + 1))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(arg[0]), math.log(arg[1]))))
    return float(rng.uniform(arg[0], arg[1]))


def _label(value) -> str:
    return format(value, ".4g") if isinstance(value, float) else str(value)


def trial_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every trial's swept values, in a fixed order (grid combinations, then ``trials`` seeded draws each)."""
    import numpy as np

    rng = np.random.default_rng(spec.seed)
    points = [dict(zip(spec.grid, combo)) for combo in itertools.product(*spec.grid.values())] or [{}]
    if not spec.random:
        return points
    return [{**p, **{k: _draw(d, rng) for k, d in spec.random.items()}} for p in points for _ in range(spec.trials)]


def _data_key(cfg: FitConfig) -> str:
    return repr((getattr(cfg, "data", "synthetic"), getattr(cfg, "target", None), getattr(cfg, "loss", None)))


def with_data_shapes(cfg: FitConfig, source: str, cache: dict) -> FitConfig:
    """``cfg`` with D_in/D_out read from its data file, as ``fit`` records them (DataError/ConfigError if the
    data cannot be used); one read per distinct data file, target and loss."""
    if getattr(cfg, "synthetic", True):
        return cfg
    from autotrain.train import resolve_data

    key = _data_key(cfg)
    if key not in cache:
        resolved, _ = resolve_data(cfg, source)
        cache[key] = (resolved.D_in, resolved.D_out)
    d_in, d_out = cache[key]
    return cfg.model_copy(update={"D_in": d_in, "D_out": d_out})


def expand(spec: SweepSpec) -> list[Trial]:
    """The trials of ``spec`` with their validated configs (see :func:`check_trials` for the errors)."""
    from autotrain.runs import sanitize_name

    out, cache = [], {}
    for i, values in enumerate(trial_values(spec)):
        cfg = with_data_shapes(FitConfig.model_validate({**spec.base, **values}), "sweep", cache)
        label = "-".join(f"{k}_{_label(v)}" for k, v in values.items())
        out.append(Trial(i, values, cfg, sanitize_name(f"trial-{i:03d}-{label}")))
    return out


def check_trials(spec: SweepSpec, where: dict | None = None) -> None:
    """Validate every trial's config as ``fit`` would; ConfigError names the key, the value and its line."""
    values = trial_values(spec)
    if len(values) > MAX_TRIALS:
        raise ConfigError([Problem("sweep", f"{len(values)} trials; at most {MAX_TRIALS} (narrow the grid)")])
    from autotrain import config as config_module

    cross_check = getattr(config_module, "cross_check", None)  # problems between keys, where config.py has them
    problems: dict[str, Problem] = {}
    checked: set[str] = set()
    for v in values:
        try:
            cfg = FitConfig.model_validate({**spec.base, **v})
        except Exception as exc:  # pydantic's ValidationError
            for err in getattr(exc, "errors", lambda: [])():
                p = _problem_for(err, where or {})
                problems.setdefault(str(p), p)
            continue
        found = list(cross_check(cfg, where or {})) if cross_check else []
        if not found and not getattr(cfg, "synthetic", True) and _data_key(cfg) not in checked:
            checked.add(_data_key(cfg))
            try:  # the data file itself (DataError propagates: exit 2 naming the file and position)
                with_data_shapes(cfg, (where or {}).get("data", ("sweep",))[0], {})
            except ConfigError as exc:
                found += exc.problems
        for p in found:
            problems.setdefault(str(p), p)
    if problems:
        raise ConfigError(list(problems.values()))


def quick_spec(config: str | os.PathLike, sweeps: list[str], overrides: list[str] = (), metric: str = "loss",
               goal: str | None = None) -> SweepSpec:
    """``autotrain fit CONFIG --sweep lr=1e-4,1e-3 --sweep mode=autograd,static``: a grid sweep over CONFIG."""
    from autotrain.config import parse_override, resolve

    base_cfg = resolve(config, overrides).config
    data, _ = read_config_file(config)
    base = {str(k): v for k, v in data.items()}
    for text in overrides:
        k, v = parse_override(text)
        base[k] = v
    grid, problems = {}, []
    for text in sweeps:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            problems.append(Problem("--sweep", f"expected key=v1,v2,..., got {text!r}"))
            continue
        vals = []
        for part in raw.split(","):
            value, _ = _parse_yaml(part, f"--sweep {key}")
            vals.append(value)
        grid[key] = vals
    if problems:
        raise ConfigError(problems)
    data = {"name": base_cfg.name, "base": base, "grid": grid, "metric": metric}
    if goal is not None:
        data["goal"] = goal
    folder = Path(config).resolve().parent
    data["base"] = {k: _rebase(k, v, folder) for k, v in base.items()}
    return spec_from_mapping(data, "--sweep", {}, folder, base_cfg.name)


# ----------------------------------------------------------------------------- the sweep directory
@dataclass
class TrialResult:
    """What one trial did: its status and metric (None unless it completed)."""

    trial: Trial
    status: str = "pending"  # pending | running | completed | diverged | interrupted | failed
    metric: float | None = None
    note: str = ""


@dataclass
class Progress:
    total: int
    done: int = 0
    running: int = 0
    failed: int = 0


@dataclass
class SweepResult:
    """A sweep's directory, spec and one result per trial (in trial order)."""

    path: Path
    spec: SweepSpec
    results: list[TrialResult]
    interrupted: bool = False

    def ranked(self) -> list[TrialResult]:
        """Completed trials best first by the metric, then the others in trial order."""
        good = [r for r in self.results if r.metric is not None]
        good.sort(key=lambda r: r.metric, reverse=self.spec.goal == "max")
        return good + [r for r in self.results if r.metric is None]

    @property
    def best(self) -> TrialResult | None:
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].metric is not None else None


def csv_columns(spec: SweepSpec) -> list[str]:
    return ["trial", "run", *spec.keys, "status", "metric", "value"]


def write_csv(result: SweepResult) -> None:
    """sweep.csv, atomically: one row per trial in trial order (values written so they read back exactly)."""
    import csv
    import io

    from autotrain.runs import atomic_write

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(csv_columns(result.spec))
    for r in result.results:
        vals = [repr(v) if isinstance(v, float) else v for v in (r.trial.values.get(k, "") for k in result.spec.keys)]
        w.writerow([r.trial.index, r.trial.dirname, *vals, r.status, result.spec.metric,
                    "" if r.metric is None else repr(r.metric)])
    atomic_write(result.path / "sweep.csv", lambda f: f.write(buf.getvalue().encode()))


def create_sweep(spec: SweepSpec, runs_dir: str | os.PathLike = "runs") -> Path:
    """A new ``<runs_dir>/<UTC timestamp>-sweep-<name>/`` holding sweep.yaml."""
    from autotrain.runs import atomic_write, create_unique_dir, sanitize_name

    path = create_unique_dir(runs_dir, f"sweep-{sanitize_name(spec.name)}")
    atomic_write(path / "sweep.yaml", lambda f: f.write(spec.to_yaml().encode()))
    return path


def metric_value(run_path: Path, metric: str) -> float | None:
    """``metric`` of a finished run: a summary.json field, or the last value of a metrics.csv column."""
    from autotrain import catalog

    try:
        summary = catalog.read_json(run_path / "summary.json")
    except catalog.UnreadableError:
        summary = {}
    if metric == "ms_per_step":
        rate = summary.get("steps_per_s")
        return 1e3 / rate if _is_real(rate) and rate > 0 else None
    if metric == "loss" and _is_real(summary.get("final_loss")):
        return float(summary["final_loss"])
    if _is_real(summary.get(metric)):
        return float(summary[metric])
    try:
        value = catalog.read_metrics(run_path / "metrics.csv").last(metric.removeprefix("final_"))
    except catalog.UnreadableError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _trial_state(path: Path) -> str:
    """``missing``, ``completed``/``diverged`` (kept on resume), or ``unfinished`` (to resume)."""
    from autotrain import catalog

    if not path.is_dir():
        return "missing"
    try:
        status = catalog.read_json(path / "summary.json").get("status")
    except catalog.UnreadableError:
        return "unfinished"
    return status if status in FINISHED else "unfinished"


def _prepare_trial(sweep_dir: Path, trial: Trial) -> Path:
    """The trial's run directory with its config.yaml (made now if missing; a foreign one is refused)."""
    from autotrain.runs import RunDir, RunError

    path = sweep_dir / trial.dirname
    run = RunDir(path)
    path.mkdir(exist_ok=True)
    (path / "checkpoints").mkdir(exist_ok=True)
    if run.config_path.is_file():
        try:
            existing = run.read_config()
        except ConfigError:
            existing = None
        if existing is None or existing.config_hash() != trial.config.config_hash():
            raise RunError(f"{path} holds a run of another config; move it away to resume this sweep")
    else:
        run.write_config(trial.config)
    return path


def _finish(result: TrialResult, path: Path, metric: str, returncode: int | None) -> None:
    from autotrain import catalog

    try:
        status = catalog.read_json(path / "summary.json").get("status")
    except catalog.UnreadableError:
        status = None
    if status in ("completed", "diverged", "interrupted"):
        result.status = status
    else:
        result.status = "failed"
        result.note = f"fit exited with code {returncode}; see logs/{path.name}.log"
    result.metric = metric_value(path, metric) if result.status == "completed" else None


# ----------------------------------------------------------------------------- running trials
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


def run_sweep(spec: SweepSpec, runs_dir: str | os.PathLike = "runs", *, workers: int | None = None,
              backend: str = "local", address: str | None = None, tensorboard: bool | None = None,
              on_progress: OnProgress | None = None) -> SweepResult:
    """Create a sweep directory for ``spec`` and run every trial; see :func:`resume_sweep` for the rest."""
    path = create_sweep(spec, runs_dir)
    return resume_sweep(path, workers=workers, backend=backend, address=address, tensorboard=tensorboard,
                        on_progress=on_progress)


def open_sweep(path: str | os.PathLike) -> SweepSpec:
    """The spec stored in a sweep directory; RunError if ``path`` is not one."""
    from autotrain.runs import RunError

    p = Path(os.fspath(path))
    if not (p / "sweep.yaml").is_file() or p.is_symlink():
        raise RunError(f"{p} is not a sweep directory (it needs sweep.yaml)")
    return load_sweep(p / "sweep.yaml")


def resume_sweep(path: str | os.PathLike, *, workers: int | None = None, backend: str = "local",
                 address: str | None = None, tensorboard: bool | None = None,
                 on_progress: OnProgress | None = None) -> SweepResult:
    """Run every trial of the sweep in ``path`` that is not finished.

    Completed and diverged trials are kept; an interrupted or killed one continues from its newest
    checkpoint; a missing one starts.  SIGINT/SIGTERM stop launching trials and ask running ones to
    checkpoint (``interrupted`` is set); sweep.csv is rewritten after every trial.
    """
    path = Path(os.fspath(path))
    spec = open_sweep(path)
    trials = expand(spec)
    result = SweepResult(path, spec, [TrialResult(t) for t in trials])
    (path / "logs").mkdir(exist_ok=True)
    jobs = []
    for r in result.results:
        run_path = path / r.trial.dirname
        state = _trial_state(run_path)
        if state in FINISHED:
            _finish(r, run_path, spec.metric, 0)
        else:
            jobs.append((r, _prepare_trial(path, r.trial)))
    write_csv(result)
    workers = max(1, workers or spec.workers or default_workers())
    progress = Progress(len(trials), done=len(trials) - len(jobs),
                        failed=sum(r.status in ("failed", "diverged") for r in result.results))
    if on_progress:
        on_progress(progress)

    def on_done(item) -> None:
        if item is not None:
            r, run_path, code = item
            _finish(r, run_path, spec.metric, code)
            progress.done += 1
            progress.failed += r.status in ("failed", "diverged")
            write_csv(result)
        progress.running = sum(r.status == "running" for r in result.results)
        if on_progress:
            on_progress(progress)

    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}; choose local or ray")
    stop, children = _Stop(), {}
    env = worker_env(min(workers, max(len(jobs), 1)))
    old = {}
    if threading.current_thread() is threading.main_thread():  # Ctrl-C/SIGTERM: stop launching, let trials checkpoint
        handler = _forward_stop(stop, lambda: list(children))
        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if backend == "ray":
            from autotrain.sweep_ray import run_ray

            run_ray(jobs, workers, env, on_done, stop, tensorboard, address, path / "logs")
        else:
            _run_local(jobs, workers, env, on_done, stop, tensorboard, path / "logs", children)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    result.interrupted = stop.signum is not None or any(r.status in ("pending", "running", "interrupted")
                                                         for r in result.results)
    for r in result.results:
        if r.status == "running":
            r.status = "interrupted"
    write_csv(result)
    return result


def _run_local(jobs, workers, env, on_done, stop, tensorboard, log_dir, children: dict) -> None:
    """Run ``jobs`` as subprocesses, at most ``workers`` at once, from this (main) thread; live ones are in ``children``."""
    pending = list(jobs)
    while pending or children:
        while pending and len(children) < workers and stop.signum is None:
            result, path = pending.pop(0)
            log = open(log_dir / f"{path.name}.log", "ab")
            proc = subprocess.Popen(fit_command(path, tensorboard), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env={**os.environ, **env}, start_new_session=True,
                                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)
            children[proc] = (result, path, log)
            result.status = "running"
            on_done(None)
        if stop.signum is not None:
            pending.clear()
        for proc in [p for p in children if p.poll() is not None]:
            result, path, log = children.pop(proc)
            log.close()
            on_done((result, path, proc.returncode))
        if children:
            time.sleep(POLL_S)


__all__ = ["SweepSpec", "Trial", "TrialResult", "SweepResult", "Progress", "load_sweep", "quick_spec", "expand",
           "run_sweep", "resume_sweep", "open_sweep", "metric_value", "worker_env", "default_workers", "METRICS",
           "csv_columns", "trial_values"]
