"""Hardening case groups: ``@pytest.mark.group("bad input")`` and one summary line with every group's count.

The hardening files (``test_cli_bad_input.py``, ``test_config_hostile_inputs.py``, ``test_fit_faults.py``,
``test_runs_checkpoints.py``, ``test_runs_lock.py``, ``test_runs_paths.py``, ``test_cli_signals.py``,
``test_cli_commands.py``, ``test_engine_misuse.py``, ``test_static_misuse.py``) mark their own tests.
Cases that other test files already cover are mapped to a group here, by file and test function, so
those files stay untouched; a mapped name that no longer exists is reported in the summary instead of
silently shrinking a group.

It also pins BLAS to one thread for the whole test run (below, before numpy is imported).
"""
from __future__ import annotations

import os
import sys

# One BLAS thread for the test run, set before anything imports numpy (a value the user set wins), and
# inherited by the processes the tests start.  The arrays here are tiny: OpenBLAS's worker threads only
# spin, and on a busy 2-core machine they made tests ~15x slower (the seed-program tests: 125 s with the
# default threads, 8 s with one; the seed config's 500 steps: 4.2 s of CPU instead of 0.2 s).  No expected
# value depends on it: float32 bits are compared with references computed in the same process
# (test_fit_models.py's seed table), stored values with tolerances.
_USER_SET_BLAS_THREADS = "OPENBLAS_NUM_THREADS" in os.environ
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
if "numpy" in sys.modules and not _USER_SET_BLAS_THREADS:  # a plugin imported numpy first: too late for it
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # this process keeps the default threads (slower, never different results)
        pass
    else:
        threadpool_limits(1, user_api="blas")

import gc
from collections import defaultdict

import pytest

GROUPS = ("bad input", "faults", "engine misuse", "static misuse", "one writer", "checkpoint forgery", "paths",
          "hangs and crashes", "signals", "memory", "frictions")

# Tests of other files that are hardening cases: {file: {group: test functions}}.
EXISTING = {
    "test_config.py": {"bad input": [
        "test_all_errors_of_a_file_at_once_with_line_key_value_allowed", "test_floats_read_the_yaml_1_2_way",
        "test_quoted_number_is_an_error_not_coerced", "test_unusable_files", "test_missing_directory_binary_and_non_utf8",
        "test_python_tag_is_refused_and_nothing_constructed", "test_bad_overrides",
        "test_file_and_override_problems_reported_together", "test_memory_estimate_refuses_up_front",
        "test_cuda_without_a_gpu_is_a_config_error", "test_steps_zero_is_valid_and_schema_is_json",
        "test_fuzz_only_config_errors_escape"]},
    "test_runs.py": {
        "bad input": ["test_names_cannot_escape_the_root", "test_runs_dir_errors", "test_open_run_refuses_non_runs",
                      "test_damaged_newest_checkpoint_falls_back_with_a_note", "test_edited_checkpoint_fails_its_checksum",
                      "test_wrong_shape_dtype_or_config_is_refused", "test_pickled_object_is_refused_without_executing_it"],
        "faults": ["test_same_name_same_second_gives_distinct_dirs",
                   "test_failing_write_leaves_no_partial_file_and_keeps_the_old_one", "test_stale_temp_files_are_cleaned",
                   "test_metrics_truncated_to_the_checkpoint_and_torn_line_dropped"]},
    "test_fit.py": {"faults": [
        "test_divergence_stops_and_keeps_the_last_finite_checkpoint", "test_signal_checkpoints_and_resume_is_identical",
        "test_resume_after_a_crash_truncates_metrics_and_matches"]},
    "test_cli_fit.py": {
        "bad input": ["test_bad_config_files", "test_missing_directory_and_binary_config",
                      "test_yaml_tag_refused_nothing_executed", "test_bad_overrides",
                      "test_sizes_that_do_not_fit_are_refused_up_front", "test_cuda_without_cupy_or_gpu",
                      "test_static_mode_is_cpu_only", "test_resume_of_something_that_is_not_a_run",
                      "test_resume_with_another_config_is_refused", "test_resume_with_only_damaged_checkpoints",
                      "test_resume_refuses_a_pickled_checkpoint_without_executing_it",
                      "test_bad_config_in_a_real_process_has_no_traceback"],
        "faults": ["test_divergence_exit_3_with_hint", "test_resume_after_sigkill_matches_a_straight_run_bit_for_bit",
                   "test_sigint_exit_130_interrupted_and_resumable"]},
    "test_engine_api.py": {"engine misuse": [
        "test_backward_errors", "test_inplace_on_leaf_requiring_grad_needs_no_grad",
        "test_modifying_a_saved_tensor_is_detected", "test_shape_and_dtype_mismatch_messages_name_both_shapes",
        "test_custom_function_backward_mistakes_are_reported",
        "test_custom_function_saved_tensors_are_freed_and_version_checked"]},
    "test_static_graph.py": {"static misuse": [
        "test_incompatible_matmul_fails_at_build_naming_both_nodes", "test_missing_feed_says_which_placeholder_and_its_shape",
        "test_wrong_feed_shape_names_placeholder_and_both_shapes", "test_wrong_feed_dtype_names_placeholder_and_both_shapes",
        "test_uninitialised_variable_is_reported", "test_unknown_fetch_and_feed_keys_are_errors",
        "test_fetching_a_node_of_another_graph_is_an_error", "test_graph_growth_inside_the_loop_warns_and_finalize_refuses",
        "test_closed_session_refuses_to_run"]},
}

_group_of: dict[str, str] = {}  # nodeid -> group
_outcome: dict[str, str] = {}  # nodeid -> passed | failed | skipped | xfailed | xpassed
_stale: list[str] = []  # mapped names that were not collected although their file was


def pytest_configure(config):
    config.addinivalue_line("markers", "group(name): the hardening case group (one of conftest.GROUPS); "
                                       "counted in the summary line")


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so the stale-name check sees every test
def pytest_collection_modifyitems(session, config, items):
    seen: dict[str, set[str]] = defaultdict(set)
    for item in items:
        file = item.path.name
        name = getattr(item, "originalname", item.name)
        seen[file].add(name)
        for group, names in EXISTING.get(file, {}).items():
            if name in names:
                item.add_marker(pytest.mark.group(group))
        marker = item.get_closest_marker("group")
        if marker is not None:
            group = marker.args[0]
            if group not in GROUPS:
                raise pytest.UsageError(f"{item.nodeid}: unknown group {group!r}; use one of {GROUPS}")
            _group_of[item.nodeid] = group
    narrowed = any("::" in a for a in config.args) or config.option.keyword or config.option.markexpr
    for file, groups in EXISTING.items():
        if file in seen and not narrowed:
            _stale.extend(f"{file}::{n}" for names in groups.values() for n in names if n not in seen[file])


def pytest_runtest_logreport(report):
    if report.nodeid not in _group_of:
        return
    if report.skipped and hasattr(report, "wasxfail"):
        _outcome[report.nodeid] = "xfailed"
    elif report.when == "call" and report.passed and hasattr(report, "wasxfail"):
        _outcome[report.nodeid] = "xpassed"
    elif report.failed:
        _outcome[report.nodeid] = "failed"
    elif report.skipped:
        _outcome[report.nodeid] = "skipped"
    elif report.when == "call":
        _outcome.setdefault(report.nodeid, "passed")


def pytest_terminal_summary(terminalreporter):
    """One line: how many hardening cases ran in each group (groups with none are left out)."""
    if not _outcome:
        return
    per_group: dict[str, dict[str, int]] = {g: defaultdict(int) for g in GROUPS}
    for nodeid, outcome in _outcome.items():
        per_group[_group_of[nodeid]][outcome] += 1
    parts = []
    for group, counts in per_group.items():
        tried = counts["passed"] + counts["failed"] + counts["xfailed"] + counts["xpassed"]
        if not tried and not counts["skipped"]:
            continue
        extra = "".join(f", {counts[k]} {k}" for k in ("failed", "xfailed", "xpassed", "skipped") if counts[k])
        parts.append(f"{group} {counts['passed']}/{tried}{extra}")
    total = sum(c["passed"] for c in per_group.values())
    terminalreporter.write_line(f"hardening cases passed: {total} ({'; '.join(parts)})")
    for name in _stale:
        terminalreporter.write_line(f"warning: {name} is mapped to a group in conftest.py but was not collected")


@pytest.fixture(scope="module")
def frozen_heap():
    """Freeze every object alive before the module's tests (``gc.freeze``), so their ``gc.collect()`` calls
    look only at the objects they make, as in a fresh process.

    A collection's cost grows with everything alive: with torch and TensorFlow imported by earlier tests one
    took ~0.4 s on a busy 2-core machine, and the benchmark smoke tests collect before every round.  The
    frozen objects are older than the module, so no garbage the tests make or measure is among them.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
