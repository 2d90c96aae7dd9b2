"""Inputs that used to hang, exhaust memory or crash: now each is exit 2 with a short message, at once.

Alias bombs, special files, oversized files, exceptions raised while YAML builds a value, numbers too
long for Python, trailing newlines in names, YAML 1.1 number forms -- in a config file, in ``--set``,
in ``--resume --set``, and in ``gradcheck`` and ``compare-modes``.
"""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from autotrain.training.config import MAX_CONFIG_BYTES, ConfigError, load_config
from autotrain.store.runs import create_run
from autotrain.training.train import fit
from helpers import invoke, write

pytestmark = pytest.mark.group("hangs and crashes")
ROOT = Path(__file__).resolve().parents[1]
TINY = "N: 2\nD_in: 3\nH: 2\nD_out: 1\nsteps: 3\nmode: manual\ndtype: float64\n"


def refused(result, *needles, max_lines=3, max_chars=600):
    """Exit 2, no traceback, a short message (never the expanded value) containing every needle."""
    assert result.exit_code == 2, (result.exit_code, result.output[-2000:])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    err = result.stderr
    assert len(err.strip().splitlines()) <= max_lines and len(err) <= max_chars, err[:3000]
    for needle in needles:
        assert needle in err, err
    return err


BOMB = "".join(f"{k}: &{k} [{', '.join([f'*{p}'] * 9) if p else ', '.join(['lol'] * 9)}]\n"
               for p, k in zip([None, "a", "b", "c", "d", "e", "f", "g"], "abcdefgh"))


@pytest.mark.parametrize("doc", [
    BOMB + "name: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n",  # the classic: 9^9 leaves from 450 bytes
    BOMB.replace("\n", "\n", 1) + "N: *h\n",  # on a known key
    "base: &b {N: 1, H: 2}\n" + "".join(f"m{i}: &m{i} {{<<: *{'b' if i == 0 else f'm{i - 1}'}, D_in: 3}}\n"
                                        for i in range(3)) + "<<: *m2\n",  # merge keys: fine and small
])
def test_alias_bombs_are_refused_while_composing(tmp_path, doc):
    p = write(tmp_path, doc)
    r = invoke("fit", p, "--runs-dir", tmp_path / "runs")
    if "<<: *m2" in doc:  # a legitimate use of anchors and merges still works
        assert r.exit_code == 2 and "unknown key" in r.stderr and len(r.stderr) < 2000
        return
    refused(r, "the document is too large", "alias bomb")
    assert not (tmp_path / "runs").exists()


def test_alias_bomb_in_set_and_a_recursive_alias(tmp_path):
    flow = "[&a [1,2,3,4,5,6,7,8,9], &b [*a,*a,*a,*a,*a,*a,*a,*a,*a], &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], " \
           "&d [*c,*c,*c,*c,*c,*c,*c,*c,*c], &e [*d,*d,*d,*d,*d,*d,*d,*d,*d], [*e,*e,*e,*e,*e,*e,*e,*e,*e]]"
    refused(invoke("fit", write(tmp_path, TINY), "--set", f"name={flow}"), "alias bomb")
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, "name: &a [*a, *a]\n", "r.yaml"), check=False)


@pytest.mark.parametrize("special", ["/dev/zero", "/dev/null", "/dev/urandom", "fifo", "link-to-zero"])
def test_special_files_are_refused_without_reading_or_blocking(tmp_path, special):
    if special == "fifo":
        path = tmp_path / "fifo.yaml"
        os.mkfifo(path)
    elif special == "link-to-zero":
        path = tmp_path / "z.yaml"
        os.symlink("/dev/zero", path)
    else:
        path = Path(special)
        if not path.exists():
            pytest.skip(f"no {special} here")
    # A real process with a timeout: a blocking open of a FIFO would otherwise hang the test run.
    r = subprocess.run([sys.executable, "-m", "autotrain", "fit", str(path), "--runs-dir", str(tmp_path / "runs")],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2 and "not a regular file" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert ("FIFO" if special == "fifo" else "character device") in r.stderr
    assert not (tmp_path / "runs").exists()


def test_oversized_files_and_a_million_keys_are_refused_up_front(tmp_path):
    big = write(tmp_path, "# padding\n" * (MAX_CONFIG_BYTES // 10 + 1), "big.yaml")
    refused(invoke("fit", big), f"a config file may have at most {MAX_CONFIG_BYTES} bytes")
    many = write(tmp_path, "".join(f"k{i}: {i}\n" for i in range(60_000)), "many.yaml")  # under the size cap
    refused(invoke("fit", many), "the document is too large: more than 10000 values")
    keys = write(tmp_path, "".join(f"key{i}: 1\n" for i in range(3000)), "keys.yaml")  # 3000 unknown keys
    err = refused(invoke("fit", keys), "3000 problems", "... and 2980 more", max_lines=23, max_chars=20000)
    assert err.count("unknown key") == 20


CONSTRUCTION = [("N", "!!int abc", "'abc' is not an integer"), ("lr", "!!float abc", "'abc' is not a number"),
                ("name", "!!timestamp 2020-13-45", "cannot build a value"), ("N", "7" * 5000, "4300 digits"),
                ("N", "[" * 1000, "nested more than 32 levels deep"), ("name", "!!binary '@@@'", "name: bad value b''"),
                ("N", "!!int 1_000", "is not an integer"), ("lr", "!!float 1_0.5", "is not a number"),
                ("seed", "!!int 0b101", "is not an integer"), ("N", "!!int ''", "is not an integer")]


@pytest.mark.parametrize("key, value, needle", CONSTRUCTION)
@pytest.mark.parametrize("where", ["file", "--set", "--resume --set", "gradcheck", "compare-modes",
                                   "compare-modes --set"])
def test_exceptions_while_yaml_builds_a_value_are_config_errors_everywhere(tmp_path, key, value, needle, where):
    if where == "file":
        r = invoke("fit", write(tmp_path, f"{key}: {value}\n"), "--runs-dir", tmp_path / "runs")
    elif where == "--set":
        r = invoke("fit", write(tmp_path, TINY), "--set", f"{key}={value}", "--runs-dir", tmp_path / "runs")
    elif where == "--resume --set":
        cfg = load_config(write(tmp_path, TINY), check=False)
        run = create_run(cfg, tmp_path / "made")
        fit(cfg, run)
        r = invoke("fit", "--resume", run.path, "--set", f"{key}={value}")
    elif where == "gradcheck":
        r = invoke("gradcheck", write(tmp_path, f"{key}: {value}\n"))
    elif where == "compare-modes":
        r = invoke("compare-modes", write(tmp_path, f"{key}: {value}\n"), "--runs-dir", tmp_path / "runs")
    else:
        r = invoke("compare-modes", write(tmp_path, TINY), "--set", f"{key}={value}", "--runs-dir", tmp_path / "runs")
    refused(r, needle)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("key", ["N", "D_in", "H", "D_out", "steps", "seed"])
def test_a_4000_digit_size_gives_a_short_message(tmp_path, key):
    r = invoke("fit", write(tmp_path, TINY), "--set", f"{key}={'9' * 4000}", "--runs-dir", tmp_path / "runs")
    refused(r, f"{key}: bad value 9999", "too large: at most 9223372036854775807")
    assert "9" * 100 not in r.stderr and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("value", ['"cpu\\n"', '"cuda\\n"', '"cuda:0\\n"', '" cpu"', '"cpu "', '"cpu\\t"',
                                   '"cuda:0:1"', '"cuda:99999"', '"\\ncpu"'])
def test_device_names_match_exactly(tmp_path, value):
    p = write(tmp_path, TINY + f"device: {value}\n")
    refused(invoke("fit", p, "--runs-dir", tmp_path / "runs"), "device: bad value")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("text, expected", [
    ("N: 017", 17), ("N: 0o17", 15), ("N: 0x1F", 31), ("N: +12", 12), ("lr: 1e-3", 1e-3), ("lr: .5", 0.5),
    ("lr: 5.", 5.0), ("name: yes", "yes"), ("name: on", "on"), ("name: 2020-01-01", "2020-01-01"),
    ("name: 1:30", "1:30"), ("name: 0b11", "0b11"), ("name: 017", "17"), ("seed: 0", 0),
])
def test_numbers_and_booleans_are_read_the_yaml_1_2_way(tmp_path, text, expected):
    cfg = load_config(write(tmp_path, text + "\n"), check=False)
    key = text.split(":")[0]
    assert getattr(cfg, key) == expected and type(getattr(cfg, key)) is type(expected)


@pytest.mark.parametrize("text", ["N: 1:30", "N: 0b1", "N: 1_000", "lr: 1_0.5", "lr: 1:30.5", "N: 0o8",
                                  "seed: 0x", "N: yes"])
def test_yaml_1_1_only_number_forms_are_refused_not_misread(tmp_path, text):
    key, value = (s.strip() for s in text.split(":", 1))
    refused(invoke("fit", write(tmp_path, text + "\n")), f"{key}: bad value '{value}'")


def test_error_messages_bound_the_values_they_print(tmp_path):
    long = "x" * 100_000
    err = refused(invoke("fit", write(tmp_path, f"mode: {long}\n")), "mode: bad value 'xxxx")
    assert len(err) < 400
    err = refused(invoke("fit", write(tmp_path, f"{long}: 1\n")), "YAML error")  # keys > 1024 chars: not YAML
    assert len(err) < 800
    err = refused(invoke("fit", write(tmp_path, TINY), "--set", long), "expected key=value")
    assert len(err) < 400
    nested = "name: " + "[" * 30 + "1" + "]" * 30 + "\n"
    refused(invoke("fit", write(tmp_path, nested)), "name: bad value")


def test_sigint_while_the_config_is_read_ends_with_a_true_message(tmp_path, monkeypatch):
    import autotrain.training.config as config

    real = config.resolve

    def interrupted(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # the handler is already installed: this sets the stop flag
        return real(*args, **kwargs)

    monkeypatch.setattr(config, "resolve", interrupted)
    r = invoke("fit", write(tmp_path, TINY), "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 130 and "interrupted before anything was written" in r.stderr
    assert not (tmp_path / "runs").exists()
