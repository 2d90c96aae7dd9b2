"""The sweep file: reading and validating it, and the trials of its fixed points (grid:/random:).

Nothing here runs anything (:mod:`autotrain.sweep.local` does; the package docstring lists the sweep
directory).

The sweep file (validated as strictly as a config; errors name file:line:column; docs/sweeps.md has it
all, including ``search: tpe|cmaes|random|grid`` over ``space:`` and ``prune: median|halving|hyperband``)::

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

import difflib
import itertools
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from autotrain.training.config import (ConfigError, ConfigIssue, ConfigLoader, FitConfig, cross_check, issue_for,
                                       parse_yaml, read_config_file)

SPEC_KEYS = ("name", "base", "set", "grid", "random", "search", "space", "prune", "trials", "seed", "metric", "goal",
             "workers")
#: Optuna samplers by the sweep file's ``search:`` name.
SEARCHES = ("tpe", "cmaes", "random", "grid")
#: Optuna pruners by the sweep file's ``prune:`` name, with the parameters each takes.
PRUNERS = {"median": ("n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"),
           "halving": ("min_resource", "reduction_factor", "min_early_stopping_rate", "bootstrap_count"),
           "hyperband": ("min_resource", "max_resource", "reduction_factor", "bootstrap_count"),
           "none": ()}
#: Metrics every logged metrics.csv row carries, so a running trial can report them to a pruner.
REPORTED = ("loss", "final_loss", "val_loss", "val_accuracy")
INT64 = 2 ** 63 - 1
#: What a sweep can rank by: summary.json fields, the last value of a metrics.csv column, and ms_per_step.
METRICS = ("loss", "final_loss", "val_loss", "val_accuracy", "best_val_loss", "best_val_accuracy",
           "steps_per_s", "ms_per_step", "wall_time_s", "elapsed_s")
MAXIMISED = ("val_accuracy", "best_val_accuracy", "steps_per_s")
DISTRIBUTIONS = ("uniform", "loguniform", "int", "choice")
MAX_TRIALS = 10_000


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
    search: str | None = None  # tpe | cmaes | random | grid: an Optuna sampler over ``space``
    space: dict[str, dict] = field(default_factory=dict)
    prune: dict[str, dict] = field(default_factory=lambda: {"none": {}})

    @property
    def keys(self) -> list[str]:
        """The swept config keys, grid first."""
        if self.search:
            return list(self.space)
        return list(self.grid) + [k for k in self.random if k not in self.grid]

    @property
    def pruner(self) -> tuple[str, dict]:
        """The pruner's name and its Optuna parameters (``("none", {})``: no pruning)."""
        return next(iter(self.prune.items()))

    @property
    def needs_optuna(self) -> bool:
        """Whether this sweep cannot run without Optuna (a sampler that learns, or pruning)."""
        return self.search is not None or self.pruner[0] != "none"

    @property
    def total(self) -> int:
        """How many trials the sweep runs."""
        if self.search:
            return self.trials
        points = math.prod(len(v) for v in self.grid.values())
        return points * (self.trials if self.random else 1)

    def to_yaml(self) -> str:
        """The resolved sweep as YAML (``base`` inlined), which :func:`load_sweep` reads back to an equal spec."""
        data: dict[str, Any] = {"name": self.name, "base": self.base}
        if self.grid:
            data["grid"] = self.grid
        if self.random:
            data.update(random=self.random, trials=self.trials)
        if self.search:
            data.update(search=self.search, space=self.space, trials=self.trials)
        if self.pruner[0] != "none":
            data["prune"] = self.prune
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
    config: FitConfig | None  # None: a sampled point the config rejects (a failed trial)
    dirname: str


def _positions(text: str) -> dict[tuple, tuple[int, int]]:
    """(line, column) of every mapping key by its path, e.g. ``("grid", "H")``."""
    out: dict[tuple, tuple[int, int]] = {}
    loader = ConfigLoader(text)
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
    """Collects ConfigIssues for one sweep file, each with its line."""

    def __init__(self, source: str, positions: dict):
        self.source, self.positions, self.problems = source, positions, []

    def add(self, path: tuple, message: str) -> None:
        line, col = self.positions.get(path, (None, None))
        self.problems.append(ConfigIssue(self.source, message, key=".".join(map(str, path)), line=line, column=col))


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
    search, space = _search(data, c)
    if search == "grid" and space and "trials" not in data:
        data = {**data, "trials": math.prod(len(grid_values(d)) for d in space.values())}
    trials = _int_field(data, "trials", c, 1, minimum=1)
    if search and search != "grid" and "trials" not in data:
        c.add(("search",), f"search: {search} needs trials: N (how many trials to run)")
    if search and (grid or rand):
        c.add(("search",), "search: samples the space: mapping; give grid:/random: without search:, or move them "
                           "into space:")
    prune = _prune(data.get("prune", "none"), c)
    seed = _int_field(data, "seed", c, 0, minimum=0)
    workers = _int_field(data, "workers", c, None, minimum=1)
    if "trials" in data and not rand and not search and not c.problems:
        c.add(("trials",), "trials applies to random: draws; with grid: only, every combination runs once")
    metric = data.get("metric", "loss")
    if metric not in METRICS:
        close = difflib.get_close_matches(str(metric), METRICS, n=1)
        c.add(("metric",), f"bad value {metric!r}{f'; did you mean {close[0]!r}?' if close else ''} "
                           f"(allowed: {', '.join(METRICS)})")
    goal = data.get("goal", "max" if metric in MAXIMISED else "min")
    if goal not in ("min", "max"):
        c.add(("goal",), f"bad value {goal!r} (allowed: min, max)")
    if next(iter(prune)) != "none" and metric in METRICS and metric not in REPORTED:
        c.add(("prune",), f"prune needs a metric every logged row reports; {metric!r} exists only when a trial "
                          f"ends (allowed with prune: {', '.join(REPORTED)})")
    elif next(iter(prune)) != "none" and str(metric).startswith("val_") and not _validates(data, base):
        c.add(("prune",), f"prune on {metric!r}: the trials hold out no validation rows, so it is never reported "
                          "(set val_fraction: 0.2 in set:, or rank by loss)")
    name = data.get("name", default_name)
    if isinstance(name, (int, float)) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not name:
        c.add(("name",), f"bad value {name!r} (allowed: a non-empty string)")
    if not grid and not rand and not space and not c.problems:
        c.add(("grid",), "nothing to sweep: give grid: (lists) and/or random: (ranges) over config keys, "
                         "or search: tpe with space:")
    if not c.problems:
        total = math.prod(len(v) for v in grid.values()) * (trials if rand else 1) if not search else trials
        if total > MAX_TRIALS:  # counted, never enumerated
            c.add(("trials",) if search or rand else ("grid",),
                  f"{total} trials; at most {MAX_TRIALS} (narrow the grid or lower trials)")
    for key in list(grid) + list(rand) + list(space):
        if key not in FitConfig.model_fields:
            section = "grid" if key in grid else "random" if key in rand else "space"
            close = difflib.get_close_matches(str(key), list(FitConfig.model_fields), n=1)
            c.add((section, key), f"unknown config key{f'; did you mean {close[0]!r}?' if close else ''} "
                                  f"(allowed keys: {', '.join(FitConfig.model_fields)})")
        where[key] = (source, positions.get(("grid" if key in grid else "random" if key in rand else "space", key)))
    if c.problems:
        raise ConfigError(c.problems)
    spec = SweepSpec(name, base, grid, rand, trials, seed, metric, goal, workers, search, space, prune)
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
                ok = (isinstance(arg, list) and len(arg) == 2 and all(is_real_number(a) for a in arg) and arg[0] <= arg[1]
                      and (kind != "loguniform" or arg[0] > 0) and math.isfinite(arg[1] - arg[0])
                      and (kind != "int" or all(isinstance(a, int) and abs(a) <= INT64 // 2 for a in arg)))
        if not ok:
            c.add(("random", key), f"bad value {dist!r} (allowed: uniform: [a, b], loguniform: [a, b] with "
                                   "0 < a <= b, int: [a, b] (integers, inclusive), choice: [v1, v2, ...], or a list)")
        else:
            out[str(key)] = dist
    return out


SPACE_HELP = ("uniform: [low, high], loguniform: [low, high] with 0 < low, int: [low, high] (inclusive), each "
              "optionally with step: s (or log: true), choice: [v1, v2, ...], or a list")


def _search(data: dict, c: _Checker) -> tuple[str | None, dict[str, dict]]:
    """The ``search:`` sampler name and its validated ``space:`` (each entry one Optuna distribution)."""
    search = data.get("search")
    if search is not None and search not in SEARCHES:
        close = difflib.get_close_matches(str(search), SEARCHES, n=1)
        c.add(("search",), f"unknown sampler {search!r}{f'; did you mean {close[0]!r}?' if close else ''} "
                           f"(allowed: {', '.join(SEARCHES)})")
        search = None
    elif search == "cmaes":
        import importlib.util

        if importlib.util.find_spec("cmaes") is None:
            c.add(("search",), "search: cmaes needs the cmaes package: pip install cmaes (or use search: tpe)")
    space = data.get("space")
    if space is None:
        if search is not None:
            c.add(("search",), "search: needs a space: mapping of config keys to distributions, e.g. "
                               "lr: {loguniform: [1.0e-4, 1.0e-1]}")
        return search, {}
    if search is None and "search" not in data:
        c.add(("space",), "space: is searched by a sampler: add search: tpe (or cmaes, random, grid)")
    if not isinstance(space, dict) or not space:
        c.add(("space",), f"bad value {space!r} (allowed: a mapping of config keys to distributions)")
        return search, {}
    out = {}
    for key, dist in space.items():
        problem = _space_problem(dist, search)
        if problem:
            c.add(("space", key), problem)
        else:
            out[str(key)] = {"choice": dist} if isinstance(dist, list) else dist
    return search, out


def _space_problem(dist, search: str | None) -> str | None:
    """What is wrong with one ``space:`` entry (None: it is a valid distribution)."""
    if isinstance(dist, list):
        dist = {"choice": dist}
    kinds = [k for k in (dist if isinstance(dist, dict) else {}) if k in DISTRIBUTIONS]
    if not isinstance(dist, dict) or len(kinds) != 1 or set(dist) - {kinds[0], "step", "log"}:
        return f"bad value {dist!r} (allowed: {SPACE_HELP})"
    kind, arg = kinds[0], dist[kinds[0]]
    if kind == "choice":
        if not isinstance(arg, list) or not arg or set(dist) != {"choice"}:
            return f"bad value {dist!r} (allowed: choice: [v1, v2, ...], a non-empty list)"
        if len({repr(v) for v in arg}) != len(arg):
            return f"repeated value in {arg!r} (each value once)"
        if not all(v is None or isinstance(v, (bool, int, float, str)) for v in arg):
            return f"bad value {arg!r} (choices are numbers, strings, true/false or null)"
        return None
    if not (isinstance(arg, list) and len(arg) == 2 and all(is_real_number(a) for a in arg)):
        return f"bad value {dist!r}: {kind} takes [low, high], two finite numbers"
    low, high = arg
    if low > high:
        return f"bad range {arg!r}: low {low!r} > high {high!r}"
    if kind == "int" and not all(isinstance(a, int) and abs(a) <= INT64 for a in arg):
        return f"bad range {arg!r}: int takes integers within +-2**63"
    if not math.isfinite(high - low):
        return f"bad range {arg!r}: too wide to sample (high - low overflows)"
    if (kind == "loguniform" or dist.get("log")) and low <= 0:
        return f"bad range {arg!r}: a log scale needs 0 < low"
    step, log = dist.get("step"), dist.get("log", kind == "loguniform")
    if not isinstance(log, bool):
        return f"log: bad value {log!r} (allowed: true or false)"
    if step is not None:
        if not is_real_number(step) or step <= 0 or (kind == "int" and not isinstance(step, int)):
            return f"step: bad value {step!r} (allowed: a number > 0{', an integer' if kind == 'int' else ''})"
        if log:
            return "step and a log scale cannot be combined (Optuna samples either on a grid or on a log scale)"
        if (high - low) / step > MAX_TRIALS * 100:
            return f"step {step!r} makes {int((high - low) / step)} points; use a coarser step"
    if search == "grid" and kind != "int" and step is None:
        return f"search: grid needs a finite set: give {kind} a step:, or use choice: [...]"
    if search == "grid" and kind == "int" and (high - low) // (step or 1) >= MAX_TRIALS:
        return f"search: grid over {arg!r} has too many points; give a step:"
    return None


def grid_values(dist: dict) -> list:
    """Every point of a finite distribution (``search: grid``)."""
    kind, arg = next((k, v) for k, v in dist.items() if k in DISTRIBUTIONS)
    if kind == "choice":
        return list(arg)
    step = dist.get("step") or 1
    n = int(round((arg[1] - arg[0]) / step)) + 1
    values = [arg[0] + i * step for i in range(n) if arg[0] + i * step <= arg[1] + 1e-12 * abs(step)]
    return [int(v) for v in values] if kind == "int" else [float(v) for v in values]


def _prune(value, c: _Checker) -> dict[str, dict]:
    """``prune: median`` or ``prune: {median: {n_startup_trials: 4}}`` as ``{name: params}``."""
    name, params = (value, {}) if isinstance(value, str) else (next(iter(value.items())) if isinstance(value, dict)
                                                               and len(value) == 1 else (None, None))
    if name not in PRUNERS:
        close = difflib.get_close_matches(str(name), list(PRUNERS), n=1)
        c.add(("prune",), f"unknown pruner {name if name is not None else value!r}"
                          f"{f'; did you mean {close[0]!r}?' if close else ''} (allowed: {', '.join(PRUNERS)}, "
                          "or {median: {n_startup_trials: 4}} with Optuna's parameters)")
        return {"none": {}}
    params = params if params is not None else {}
    if not isinstance(params, dict):
        c.add(("prune", name), f"bad value {params!r} (allowed: a mapping of {name} parameters)")
        return {"none": {}}
    for key, v in params.items():
        if key not in PRUNERS[name]:
            c.add(("prune", name, key), f"unknown {name} parameter (allowed: {', '.join(PRUNERS[name]) or 'none'})")
        elif not ((isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= INT64)
                  or (v == "auto" and key in ("min_resource", "max_resource"))):
            c.add(("prune", name, key), f"bad value {v!r} (allowed: an integer >= 0"
                                        f"{' or auto' if key.endswith('_resource') else ''})")
    return {name: dict(params)}


def _validates(data: dict, base: dict) -> bool:
    """Whether some trial holds out validation rows (val_fraction > 0 in the base or among the swept values)."""
    swept = []
    for section in ("grid", "random", "space"):
        entry = data.get(section, {}).get("val_fraction") if isinstance(data.get(section), dict) else None
        swept += entry if isinstance(entry, list) else list(entry.values())[0] if isinstance(entry, dict) else []
    values = [base.get("val_fraction", 0), *swept]
    return any(is_real_number(v) and v > 0 for v in values)


def is_real_number(v) -> bool:
    """A finite int or float (not a bool)."""
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


def value_label(value) -> str:
    """A swept value as it appears in a trial's directory name and table (floats to 4 significant digits)."""
    return format(value, ".4g") if isinstance(value, float) else str(value)


def trial_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """Every trial's swept values, in a fixed order (grid combinations, then ``trials`` seeded draws each)."""
    import numpy as np

    rng = np.random.default_rng(spec.seed)
    points = [dict(zip(spec.grid, combo)) for combo in itertools.product(*spec.grid.values())] or [{}]
    if not spec.random:
        return points
    return [{**p, **{k: _draw(d, rng) for k, d in spec.random.items()}} for p in points for _ in range(spec.trials)]


def probe_values(spec: SweepSpec) -> list[dict[str, Any]]:
    """For a sampled space: each key at each end of its range (or each choice), the others at their first
    value; the configs a sampler may propose are checked through these before anything runs."""
    def ends(dist):
        kind, arg = next((k, v) for k, v in dist.items() if k in DISTRIBUTIONS)
        return list(arg) if kind == "choice" else [arg[0], arg[1]] if kind == "int" else [float(a) for a in arg]
    first = {k: ends(d)[0] for k, d in spec.space.items()}
    return [{**first, k: v} for k, d in spec.space.items() for v in ends(d)] or [{}]


def _data_key(cfg: FitConfig) -> str:
    return repr((getattr(cfg, "data", "synthetic"), getattr(cfg, "target", None), getattr(cfg, "loss", None)))


def with_data_shapes(cfg: FitConfig, source: str, cache: dict) -> FitConfig:
    """``cfg`` with D_in/D_out read from its data file, as ``fit`` records them (DataError/ConfigError if the
    data cannot be used); one read per distinct data file, target and loss."""
    if getattr(cfg, "synthetic", True):
        return cfg
    from autotrain.training.train import resolve_data

    key = _data_key(cfg)
    if key not in cache:
        resolved, _ = resolve_data(cfg, source)
        cache[key] = (resolved.D_in, resolved.D_out)
    d_in, d_out = cache[key]
    return cfg.model_copy(update={"D_in": d_in, "D_out": d_out})


def expand(spec: SweepSpec) -> list[Trial]:
    """The trials of ``spec`` with their validated configs (see :func:`check_trials` for the errors)."""
    from autotrain.store.runs import sanitize_name

    out, cache = [], {}
    for i, values in enumerate(trial_values(spec)):
        cfg = with_data_shapes(FitConfig.model_validate({**spec.base, **values}), "sweep", cache)
        label = "-".join(f"{k}_{value_label(v)}" for k, v in values.items())
        out.append(Trial(i, values, cfg, sanitize_name(f"trial-{i:03d}-{label}")))
    return out


def check_trials(spec: SweepSpec, where: dict | None = None) -> None:
    """Validate every trial's config as ``fit`` would; ConfigError names the key, the value and its line."""
    if spec.total > MAX_TRIALS:  # counted before anything is enumerated
        raise ConfigError([ConfigIssue("sweep", f"{spec.total} trials; at most {MAX_TRIALS} (narrow the grid)")])
    values = trial_values(spec) if not spec.search else probe_values(spec)
    problems: dict[str, ConfigIssue] = {}
    checked: set[str] = set()
    for v in values:
        try:
            cfg = FitConfig.model_validate({**spec.base, **v})
        except Exception as exc:  # pydantic's ValidationError
            for err in getattr(exc, "errors", lambda: [])():
                p = issue_for(err, where or {})
                problems.setdefault(str(p), p)
            continue
        found = cross_check(cfg, where or {})
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
    from autotrain.training.config import parse_override, resolve

    base_cfg = resolve(config, overrides).config
    data, _ = read_config_file(config)
    base = {str(k): v for k, v in data.items()}
    for text in overrides:  # a path given on the command line is relative to here, as ``fit --set`` reads it
        k, v = parse_override(text)
        base[k] = _rebase(k, v, Path.cwd())
    grid, problems = {}, []
    for text in sweeps:
        key, sep, raw = text.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            problems.append(ConfigIssue("--sweep", f"expected key=v1,v2,..., got {text!r}"))
            continue
        vals = []
        for part in raw.split(","):
            value, _ = parse_yaml(part, f"--sweep {key}")
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


