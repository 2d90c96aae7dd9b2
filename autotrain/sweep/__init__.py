"""Sweeps: many ordinary ``fit`` runs over a search space, locally in K processes or on a Ray cluster.

Nothing here prints: :func:`run_sweep` reports progress to an optional callback and returns a
:class:`SweepResult`.  A sweep lives in ``<runs_dir>/<UTC timestamp>-sweep-<name>/``::

    sweep.yaml              the resolved sweep (base config inlined), enough to resume it anywhere
    sweep.csv               one row per trial: trial, run, the swept values, status, the metric
    study.journal           the Optuna study (when Optuna is installed): params, reported values, states
    sweep.lock              held by the one driver running the sweep
    logs/<trial>.log        what each trial's ``fit`` printed (errors, notes)
    trial-000-H_16-mode_manual/   an ordinary run directory (config.yaml, metrics.csv, checkpoints/, ...)

The modules: :mod:`.spec` (the sweep file and its validation), :mod:`.study` (Optuna samplers, pruners,
the store), :mod:`.report` (how a trial reports and learns it is pruned), :mod:`.local` (the driver and
local processes), :mod:`.ray_backend` (Ray tasks), :mod:`.results` (sweep.csv and trial outcomes).
See docs/sweeps.md for the sweep file.
"""
from autotrain import lazy_names

# Imported on first use (PEP 562): the CLI imports ``autotrain.sweep.names`` at start-up without the
# sweep machinery (and its config schema) behind these names.
_NAMES = {
    "local": (
        "BLAS_ENV", "Progress", "Scheduler", "default_workers", "fit_command", "open_sweep",
        "resume_sweep", "run_sweep", "sweep_lock", "worker_env"),
    "results": (
        "FINISHED", "SweepResult", "TrialResult", "finish_trial", "prepare_trial", "trial_state",
        "best_config", "create_sweep", "csv_columns", "metric_value", "write_csv"),
    "spec": (
        "DISTRIBUTIONS", "MAX_TRIALS", "METRICS", "PRUNERS", "REPORTED", "SEARCHES", "SweepSpec",
        "Trial", "check_trials", "expand", "load_sweep", "quick_spec", "spec_from_mapping",
        "trial_values"),
}
_HOMES = {name: module for module, names in _NAMES.items() for name in names}

__getattr__, __dir__ = lazy_names("autotrain.sweep", _HOMES)


__all__ = ["SweepSpec", "Trial", "TrialResult", "SweepResult", "Progress", "load_sweep", "quick_spec", "expand",
           "run_sweep", "resume_sweep", "open_sweep", "metric_value", "worker_env", "default_workers", "METRICS",
           "csv_columns", "trial_values", "SEARCHES", "PRUNERS", "sweep_lock", "Scheduler"]
