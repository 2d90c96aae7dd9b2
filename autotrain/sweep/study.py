"""The sweep's Optuna study: samplers, pruners and the store in the sweep directory (``study.journal``).

The store is Optuna's journal file (``JournalStorage(JournalFileBackend(...))``), not SQLite: it is an
append-only log that a SIGKILL leaves readable, it needs no server and no SQLAlchemy import, and its lock is
an atomic file creation, which NFS honours where SQLite's byte-range locks are not safe.  Only the sweep
driver writes it (trials send their reports to the driver, see :mod:`autotrain.sweep.report`), so workers on
other machines need neither the file nor Optuna.  Open it with::

    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    study = optuna.load_study(study_name="sweep", storage=JournalStorage(JournalFileBackend("DIR/study.journal")))

or :func:`load_study`.  ``optuna-dashboard DIR/study.journal`` shows it.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from autotrain.sweep.spec import DISTRIBUTIONS, SweepSpec, grid_values

STUDY_FILE = "study.journal"
STUDY_NAME = "sweep"
OPTUNA_HINT = "this sweep needs Optuna (search: or prune:): pip install 'autotrain[sweep]' (or: pip install optuna)"


def available() -> bool:
    """Whether Optuna can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("optuna") is not None


def storage(sweep_dir: str | os.PathLike):
    """The Optuna storage object of a sweep directory."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(Path(sweep_dir) / STUDY_FILE)))


def load_study(sweep_dir: str | os.PathLike):
    """``optuna.load_study`` of a sweep directory's study."""
    import optuna

    return optuna.load_study(study_name=STUDY_NAME, storage=storage(sweep_dir))


def open_study(spec: SweepSpec, sweep_dir: str | os.PathLike):
    """The sweep's study, created on first use (resuming is loading it again)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna.create_study(study_name=STUDY_NAME, storage=storage(sweep_dir), load_if_exists=True,
                               direction="maximize" if spec.goal == "max" else "minimize",
                               sampler=sampler(spec, 0), pruner=pruner(spec))


def sampler(spec: SweepSpec, number: int):
    """The sampler that proposes trial ``number``.

    Seeded from (seed, trial number), so the proposal depends only on the trials told so far: a resumed
    sweep proposes what an uninterrupted one would have.  Fixed points (grid:/random: files) are enqueued
    trials, which every sampler takes as they are.
    """
    import optuna

    seed = spec.seed * 1_000_003 + number
    if spec.search == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(spec.trials // 4, 2)))
    if spec.search == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if spec.search == "grid":
        return optuna.samplers.GridSampler({k: grid_values(d) for k, d in spec.space.items()}, seed=spec.seed)
    return optuna.samplers.RandomSampler(seed=seed)


def pruner(spec: SweepSpec):
    """The Optuna pruner of ``prune:`` (NopPruner for none)."""
    import optuna

    name, params = spec.pruner
    kinds = {"median": optuna.pruners.MedianPruner, "halving": optuna.pruners.SuccessiveHalvingPruner,
             "hyperband": optuna.pruners.HyperbandPruner, "none": optuna.pruners.NopPruner}
    return kinds[name](**params)


def distribution(dist: dict):
    """One ``space:`` entry as an Optuna distribution."""
    import optuna.distributions as od

    kind, arg = next((k, v) for k, v in dist.items() if k in DISTRIBUTIONS)
    if kind == "choice":
        return od.CategoricalDistribution(arg)
    log = bool(dist.get("log", kind == "loguniform"))
    if kind == "int":
        return od.IntDistribution(arg[0], arg[1], log=log, step=dist.get("step") or 1)
    return od.FloatDistribution(float(arg[0]), float(arg[1]), log=log, step=dist.get("step"))


def fixed_distributions(spec: SweepSpec, values: dict) -> dict:
    """Distributions recording a fixed point's values as parameters (grid lists as categorical choices,
    random: ranges as themselves); values Optuna cannot hold as a parameter stay in the ``values`` attribute."""
    out = {}
    for key, value in values.items():
        if key in spec.random and "choice" not in spec.random[key]:
            out[key] = distribution(spec.random[key])
        else:
            choices = spec.grid.get(key) or spec.random.get(key, {}).get("choice") or [value]
            if all(c is None or isinstance(c, (bool, int, float, str)) for c in choices):
                out[key] = distribution({"choice": choices})
    return out


def space_distributions(spec: SweepSpec) -> dict:
    """The ``space:`` of a sampled sweep as Optuna distributions."""
    return {k: distribution(d) for k, d in spec.space.items()}


__all__ = ["load_study", "open_study", "storage", "sampler", "pruner", "available", "OPTUNA_HINT", "STUDY_FILE"]
