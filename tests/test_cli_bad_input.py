"""Bad input: exit code 2, a few lines naming file/key/value/allowed, never a traceback.

Cases covered elsewhere are counted in this group by tests/conftest.py (test_config.py, test_runs.py,
test_cli_fit.py); this file adds the ones they do not: every field, unreadable files, more garbage and
tags, --resume of a run with an edited config or a damaged/foreign newest checkpoint, escaping run
names and --runs-dir values, and a property test over random YAML documents and overrides.
"""
import math
import os
import signal
import string

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from autotrain.training.config import ALLOWED, FIELDS, LIST_KEYS, ConfigError, FitConfig, load_config
from autotrain.store.runs import create_run
from autotrain.training.train import fit
from helpers import invoke, write

pytestmark = pytest.mark.group("bad input")

SMALL = dict(N=4, D_in=5, H=3, D_out=2, lr=1e-2, steps=30, mode="manual", dtype="float64", log_every=1,
             checkpoint_every=10, name="small")


def bad(result, *needles, max_lines=3):
    """Exit 2, every needle on stderr, at most ``max_lines`` lines, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) <= max_lines, result.stderr
    return result.stderr


def yaml_text(**kw):
    return "".join(f"{k}: {v!r}\n" if isinstance(v, float) else f"{k}: {v}\n" for k, v in {**SMALL, **kw}.items())


# ------------------------------------------------------------------ the file itself

def test_unreadable_config_file(tmp_path, monkeypatch):
    p = write(tmp_path, yaml_text())
    if os.geteuid() == 0:  # root reads anything: simulate the permission error the OS would give
        real_open = os.open

        def denied(path, *args, **kwargs):
            if str(path) == str(p):
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)
        monkeypatch.setattr(os, "open", denied)
    else:
        p.chmod(0)
    bad(invoke("fit", p, "--runs-dir", tmp_path / "runs"), f"{p}: cannot read the config file (Permission denied)")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("payload, needle", [
    (bytes(range(128, 256)), "is not UTF-8 text (byte 0)"),
    (b"N: 4\n\x07: 3\n", "unacceptable character #x0007"),
    (b"\xef\xbb\xbfN: 4\n\x1b[31m\n", "unacceptable character"),
    (np.random.default_rng(7).bytes(256).replace(b"\0", b"\1"), "c.yaml"),
])
def test_binary_garbage_without_a_nul_byte(tmp_path, payload, needle):
    bad(invoke("fit", write(tmp_path, payload), "--runs-dir", tmp_path / "runs"), "c.yaml", needle)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("text, where", [
    ("N: 4\nH:\t\"abc\n", ":2:3: YAML error"),
    ("N: 4\nname: 'open\n", ":3:1: YAML error"),
    ("N: 4\n- 3\n", ":2:1: YAML error"),
    ("N: {a: 1\nH: 2\n", ":2:2: YAML error: expected ',' or '}'"),
    ("? [a, b]\n: 3\n", ":1:3: YAML error: a key must be a plain scalar"),
])
def test_yaml_syntax_errors_give_line_and_column(tmp_path, text, where):
    p = write(tmp_path, text)
    bad(invoke("fit", p), f"{p}{where}")


@pytest.mark.parametrize("tag", ["!!python/object/new:os.system", "!!python/object/apply:os.system",
                                 "!!python/name:os.system", "!!python/module:os", "!custom"])
def test_every_kind_of_yaml_tag_is_refused_and_nothing_runs(tmp_path, tag):
    marker = tmp_path / "executed"
    p = write(tmp_path, f'N: 4\nname: {tag} ["touch {marker}"]\n')
    bad(invoke("fit", p, "--runs-dir", tmp_path / "runs"), f"{p}:2:7: YAML error: YAML tag refused")
    assert not marker.exists() and not (tmp_path / "runs").exists()


# ------------------------------------------------------------------ every field

BAD_VALUES = {  # a value of the right type that validation refuses, for every field
    "N": [0, -1], "D_in": [0], "H": [-5], "D_out": [0], "lr": [0.0, -1e-3, ".inf", "-.inf", ".nan"],
    "steps": [-1], "device": ["gpu", "cuda:x", "CPU"], "mode": ["auto", "Static"], "dtype": ["float16", "int32"],
    "seed": [-1], "name": ["''"], "log_every": [0], "checkpoint_every": [0, -10],
    "data": ["nope.txt", "''"], "target": ["y"], "activation": ["gelu"], "bias": [2], "init": ["xavier"],
    "loss": ["hinge"], "optimizer": ["lbfgs"], "momentum": [-0.5], "alpha": [1.5], "betas": ["[0.9, 1.0]"],
    "eps": [0.0, -0.5], "weight_decay": [-0.1], "epochs": [0], "val_fraction": [1.0, -0.1], "shuffle": [3],
    "standardize": [3], "keep_checkpoints": [-1], "threads": [0, 2000, "many"],
}
WRONG_TYPES = ["[1, 2]", "{a: 1}", "true", "~"]
# (key, value) pairs of WRONG_TYPES that are right for the model keys: H: [1, 2] (two hidden layers), an
# unset optional key (~), a boolean
VALID_FOR_KEY = {("H", "[1, 2]"), ("target", "~"), ("epochs", "~"), ("weight_decay", "~"), ("shuffle", "~"),
                 ("bias", "true"), ("shuffle", "true"), ("standardize", "true")}


def test_the_tables_cover_every_field():
    assert set(BAD_VALUES) == set(FIELDS) == set(ALLOWED)


@pytest.mark.parametrize("key, value", [(k, v) for k, vs in BAD_VALUES.items() for v in vs])
def test_every_field_refuses_a_bad_value_naming_file_line_key_value_allowed(tmp_path, key, value):
    lines = yaml_text().splitlines()
    lines = [line for line in lines if not line.startswith(f"{key}:")] + [f"{key}: {value}"]
    p = write(tmp_path, "\n".join(lines) + "\n")
    line_no = len(lines)
    err = bad(invoke("fit", p, "--runs-dir", tmp_path / "runs"), f"{p}:{line_no}:1: {key}: bad value",
              f"(allowed: {ALLOWED[key]})")
    parsed = yaml.safe_load(f"v: {value}")["v"]
    shown = repr(parsed) if not (isinstance(parsed, float) and math.isnan(parsed)) else "nan"
    assert shown in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("key", FIELDS)
@pytest.mark.parametrize("value", WRONG_TYPES)
def test_every_field_refuses_a_wrong_type(key, value):
    if (key, value) in VALID_FOR_KEY:
        assert load_config(None, [f"{key}={value}"], check=False)
        return
    with pytest.raises(ConfigError) as info:
        load_config(None, [f"{key}={value}"], check=False)
    text = str(info.value)
    if value.startswith("{") or (value.startswith("[") and key not in LIST_KEYS):
        assert "expected a single value" in text and key in text
    else:
        assert f"--set: {key}: bad value" in text and ALLOWED[key] in text


@pytest.mark.parametrize("key", [k for k in FIELDS if FitConfig.model_fields[k].annotation in (int, float)])
def test_quoted_numbers_are_refused_for_every_numeric_field(tmp_path, key):
    """The documented decision: strings never coerce to numbers (docs/config.md)."""
    p = write(tmp_path, f'{key}: "3"\n')
    bad(invoke("fit", p), f"{key}: bad value '3'", ALLOWED[key])


def test_set_errors_name_the_override_and_keep_the_file_problems(tmp_path):
    p = write(tmp_path, "N: 0\n")
    err = bad(invoke("fit", p, "--set", "H", "--set", "stpes=3", "--set", "lr=.nan", "--set", "name=a\0b"),
              "5 problems", f"{p}:1:1: N: bad value 0", "--set: expected key=value, got 'H'",
              "--set: stpes: unknown key; did you mean 'steps'?", "--set: lr: bad value nan",
              "--set name: YAML error: unacceptable character #x0000", max_lines=8)
    assert err.index("N: bad value 0") < err.index("expected key=value")  # file first, then --set


# ------------------------------------------------------------------ --resume

def small_run(tmp_path, stop_at=None, **kw):
    """A finished (or, with ``stop_at``, interrupted after step ``stop_at``) small run."""
    cfg = load_config(None, [f"{k}={v}" for k, v in {**SMALL, **kw}.items()])
    run = create_run(cfg, tmp_path / "runs")
    on_step = None if stop_at is None else (lambda s, _: s == stop_at and os.kill(os.getpid(), signal.SIGINT))
    fit(cfg, run, on_step=on_step)
    return cfg, run


def table(run):
    return [(s, loss) for s, loss, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")]


def test_resume_of_a_file_and_of_a_run_with_a_garbled_config(tmp_path):
    p = write(tmp_path, yaml_text())
    bad(invoke("fit", "--resume", p), "not a directory")
    _, run = small_run(tmp_path)
    run.config_path.write_text("N: [\n")
    bad(invoke("fit", "--resume", run.path), f"{run.config_path}:2:1: YAML error")


def test_resume_of_a_run_whose_config_was_edited_refuses_its_checkpoints(tmp_path):
    cfg, run = small_run(tmp_path, stop_at=14)
    before = sorted(p.name for p in run.path.rglob("*"))
    run.config_path.write_text(run.config_path.read_text().replace("lr: 0.01", "lr: 0.02"))
    bad(invoke("fit", "--resume", run.path), "no usable checkpoint",
        "step-000015.npz: was written by a run of a different config (config_hash differs)", max_lines=5)
    assert sorted(p.name for p in run.path.rglob("*")) == before  # nothing written, nothing removed


@pytest.mark.parametrize("quiet", [[], ["--quiet"], ["--json"]])
def test_truncated_newest_checkpoint_falls_back_and_says_so(tmp_path, quiet):
    cfg, run = small_run(tmp_path, stop_at=14)
    _, straight = small_run(tmp_path / "straight")
    newest = run.checkpoint_path(15)
    newest.write_bytes(newest.read_bytes()[:300])
    r = invoke("fit", "--resume", run.path, *quiet)
    assert r.exit_code == 0, r.output
    assert "step-000015.npz: truncated or corrupt" in r.stderr and "falling back" in r.stderr
    summary = run.read_summary()
    assert summary["resumed_from"] == 10 and "falling back" in summary["notes"][0]
    assert table(run) == table(straight)


def test_newest_checkpoint_with_wrong_shape_or_dtype_is_skipped(tmp_path):
    cfg, run = small_run(tmp_path, stop_at=14)
    _, straight = small_run(tmp_path / "straight")
    good = run.checkpoint_path(15)
    good.unlink()
    # Well-formed files with a valid checksum and the right config hash, but arrays of the wrong kind.
    run.save_checkpoint(13, {"w1": np.zeros((cfg.D_in, cfg.H + 1)), "w2": np.zeros((cfg.H, cfg.D_out))},
                        cfg.config_hash())
    run.save_checkpoint(14, {"w1": np.zeros((cfg.D_in, cfg.H), np.float32), "w2": np.zeros((cfg.H, cfg.D_out))},
                        cfg.config_hash())
    r = invoke("fit", "--resume", run.path)
    assert r.exit_code == 0, r.output
    assert "step-000014.npz: w1 is float32[5, 3], expected float64[5, 3]" in r.stderr
    assert "step-000013.npz: w1 is float64[5, 4], expected float64[5, 3]" in r.stderr
    assert run.read_summary()["resumed_from"] == 10 and table(run) == table(straight)


# ------------------------------------------------------------------ names and --runs-dir

@pytest.mark.parametrize("name", ["../../../escape", "/etc/passwd", "..", "~root", "a/../../b", "x" * 5000,
                                  "con:\\..\\..\\windows", "--help"])
def test_run_names_cannot_escape_through_the_cli(tmp_path, name):
    root = tmp_path / "runs"
    p = write(tmp_path, yaml_text(steps=0))
    r = invoke("fit", p, "--set", f"name={name}", "--runs-dir", root, "--quiet")
    assert r.exit_code == 0, r.output
    [run] = root.iterdir()
    assert run.resolve().parent == root.resolve() and len(run.name) < 120
    assert sorted(x.name for x in tmp_path.iterdir()) == ["c.yaml", "runs"]


@pytest.mark.parametrize("runs_dir, needle", [
    ("x" * 300, "cannot create the runs directory"),
    ("c.yaml", "is not a directory"),
    ("c.yaml/sub", "cannot create the runs directory"),
    ("a\0b", "null"),
])
def test_bad_runs_dir_is_refused_and_nothing_written(tmp_path, monkeypatch, runs_dir, needle):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, yaml_text(steps=0))
    bad(invoke("fit", "c.yaml", "--runs-dir", runs_dir), needle, max_lines=6)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["c.yaml"]


# ------------------------------------------------------------------ property test: only ConfigError escapes

_keys = st.one_of(st.sampled_from(FIELDS), st.sampled_from(["mdoe", "lrr", "Steps", "n", "<<", "", "1"]),
                  st.text(string.ascii_letters + "_", max_size=8))
_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.integers(-3, 100),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
                     st.sampled_from(["cpu", "cuda", "cuda:0", "cuda:99", "manual", "autograd", "custom-relu",
                                      "static", "float32", "float64", "1e-6", "64", "yes", "null"]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
                       max_leaves=6)
_docs = st.one_of(st.dictionaries(_keys, _values, max_size=8), _values)
_overrides = st.lists(st.one_of(
    st.builds(lambda k, v: f"{k}={v}", _keys, st.one_of(_scalars.map(str), st.text(max_size=10))),
    st.text(max_size=15)), max_size=4)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=_docs, overrides=_overrides, flow=st.booleans())
def test_random_yaml_documents_and_overrides_give_a_config_or_a_config_error(tmp_path, doc, overrides, flow):
    """Structured documents (test_config.py fuzzes raw text): a valid FitConfig or ConfigError, nothing else."""
    p = tmp_path / "doc.yaml"
    p.write_text(yaml.safe_dump(doc, default_flow_style=flow, allow_unicode=True))
    for check in (False, True):
        try:
            cfg = load_config(p, overrides, check=check)
        except ConfigError as exc:
            assert exc.problems and all(str(x).strip() for x in exc.problems)
            continue
        assert isinstance(cfg, FitConfig) and FitConfig.model_validate(cfg.model_dump()) == cfg
        assert cfg.N > 0 and cfg.lr > 0 and math.isfinite(cfg.lr) and cfg.steps >= 0
