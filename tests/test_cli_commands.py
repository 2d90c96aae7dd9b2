"""Memory checks per command, compare-modes divergence, gradcheck's arguments, and a new user's frictions."""
import json
import resource
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import autotrain
import autotrain.training.config as config
import autotrain.training.resources as resources
from autotrain.cli import app
from autotrain.training.config import estimate_bytes, load_config
from autotrain.store.runs import create_run, open_run
from autotrain.training.train import fit
from helpers import invoke, write

ROOT = Path(__file__).resolve().parents[1]
TINY = "N: 4\nD_in: 5\nH: 3\nD_out: 2\nlr: 0.01\nsteps: 30\nmode: manual\ndtype: float64\ncheckpoint_every: 10\n" \
       "name: t\n"


def table(run):
    return [(s, x) for s, x, _ in run.read_metrics().tuples("step", "loss", "elapsed_s")]


# ------------------------------------------------------------------ memory

@pytest.mark.group("memory")
def test_each_command_has_its_own_estimate_and_refuses_accordingly(tmp_path, monkeypatch):
    p = write(tmp_path, "N: 64\nD_in: 1000\nH: 100\nD_out: 10\nsteps: 2\nmode: manual\n")
    cfg = load_config(p, check=False)
    fit_need, compare_need = estimate_bytes(cfg), estimate_bytes(cfg, "compare-modes", runners=4)
    assert compare_need > 2.6 * fit_need  # compare-modes peaked at 2.6x fit's estimate before it had its own
    monkeypatch.setattr(resources, "available_bytes", lambda: (fit_need + compare_need) // 2)
    assert invoke("fit", p, "--runs-dir", tmp_path / "runs", "--quiet").exit_code == 0
    r = invoke("compare-modes", p, "--runs-dir", tmp_path / "cmp")
    assert r.exit_code == 2 and "for compare-modes (5 modes)" in r.stderr and not (tmp_path / "cmp").exists()
    r = invoke("compare-modes", p, "--modes", "manual", "--runs-dir", tmp_path / "cmp")  # one mode fits
    assert r.exit_code == 0, r.output
    r = invoke("gradcheck", p, "--only", "loss:manual")
    assert r.exit_code == 2 and "for gradcheck" in r.stderr


@pytest.mark.group("memory")
def test_the_process_limits_are_honoured(monkeypatch):
    real = resource.getrlimit
    vm = resources.vm_bytes("VmSize")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (vm + (100 << 20), resource.RLIM_INFINITY)
                        if which == resource.RLIMIT_AS else real(which))
    room = resources.available_bytes()
    assert room is not None and room <= (100 << 20)
    big = load_config(None, ["N=2000", "D_in=2000", "H=2000", "dtype=float64"], check=False)
    with pytest.raises(config.ConfigError, match="need about .* only .* is available"):
        config.check_resources(big)


@pytest.mark.group("memory")
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to see the process's size")
def test_a_real_ulimit_v_is_honoured_up_front(tmp_path):
    """A child under RLIMIT_AS: a config that fits the machine but not the limit is refused before it starts."""
    p = write(tmp_path, "N: 6000\nD_in: 6000\nH: 6000\nD_out: 10\ndtype: float64\nsteps: 2\n")
    need = estimate_bytes(load_config(p, check=False))
    if (resources.machine_available() or 0) < 2 * need:
        pytest.skip("this machine has too little memory for the comparison")

    def limit():
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB, less than the estimate + Python

    r = subprocess.run([sys.executable, "-m", "autotrain", "fit", str(p), "--runs-dir", str(tmp_path / "runs")],
                       cwd=ROOT, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    assert r.returncode == 2 and "need about" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.group("memory")
def test_a_late_memory_error_marks_the_run_and_exits_2(tmp_path, monkeypatch):
    import autotrain.modes as modes

    p = write(tmp_path, TINY)
    cfg = load_config(p, check=False)
    straight = create_run(cfg, tmp_path / "straight")
    fit(cfg, straight)
    real = modes.build_mode  # what fit builds its mode with

    def failing(*args, **kwargs):
        mode = real(*args, **kwargs)
        step, count = mode.step, [0]

        def step_then_fail(x, y):
            count[0] += 1
            if count[0] == 15:
                raise MemoryError("Unable to allocate 7.45 GiB for an array with shape (1000, 1000000)")
            return step(x, y)

        mode.step = step_then_fail
        return mode

    monkeypatch.setattr(modes, "build_mode", failing)
    r = invoke("fit", p, "--runs-dir", tmp_path / "runs", "--quiet")
    assert r.exit_code == 2 and "Traceback" not in r.output
    run = open_run(next((tmp_path / "runs").iterdir()))
    assert "out of memory" in r.stderr and "the newest complete checkpoint (step 10) is kept" in r.stderr
    assert f"autotrain fit --resume {run.path}" in r.stderr
    s = run.read_summary()
    assert s["status"] == "failed" and s["step"] == 10 and "out of memory" in s["error"]  # not left at "running"
    monkeypatch.undo()
    assert invoke("fit", "--resume", run.path, "--quiet").exit_code == 0
    assert table(run) == table(straight)


# ------------------------------------------------------------------ compare-modes divergence

@pytest.mark.group("faults")
@pytest.mark.parametrize("as_json", [False, True])
def test_compare_modes_with_a_diverging_lr_says_so_and_exits_3(tmp_path, as_json):
    p = write(tmp_path, TINY)
    args = ["compare-modes", p, "--set", "lr=5", "--set", "steps=200", "--runs-dir", tmp_path / "runs"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked numpy RuntimeWarning fails the test
        r = invoke(*args, *(["--json"] if as_json else []))
    assert r.exit_code == 3, r.output
    assert "RuntimeWarning" not in r.output and "DISAGREE" not in r.output
    steps = {json.loads(r.stdout)["diverged_at"]} if as_json else None
    line = next(x for x in (r.stdout + r.stderr).splitlines() if x.startswith("diverged at"))
    assert line.endswith("in every mode: lower lr (try --set lr=0.5)"), line
    if as_json:
        data = json.loads(r.stdout)
        assert data["diverged"] and not data["agree"] and all(row["diverged_at"] is not None for row in data["rows"])
        assert steps == {int(line.split()[3])} or "steps" in line
    rows = open(next((tmp_path / "runs").iterdir()) / "comparison.csv").read()
    assert "diverged_at" in rows.splitlines()[0]


@pytest.mark.group("faults")
def test_fit_divergence_hint_gives_a_value_to_try(tmp_path):
    r = invoke("fit", write(tmp_path, TINY), "--set", "lr=5", "--set", "steps=300", "--runs-dir", tmp_path / "r", "-q")
    assert r.exit_code == 3 and "(try --set lr=0.5)" in r.stderr and "lr=..." not in r.stderr


# ------------------------------------------------------------------ gradcheck arguments

@pytest.mark.group("bad input")
@pytest.mark.parametrize("args, needle", [
    (["--eps", "0"], "--eps 0.0: expected a finite step > 0"), (["--eps", "nan"], "--eps nan"),
    (["--eps", "inf"], "--eps inf"), (["--eps", "-1"], "--eps -1.0"), (["--eps", "-1e-6"], "--eps -1e-06"),
    (["--atol", "-1"], "--atol -1.0: expected a finite tolerance >= 0"), (["--atol", "nan"], "--atol nan"),
    (["--rtol", "-0.1"], "--rtol -0.1"), (["--rtol", "nan"], "--rtol nan"), (["--rtol", "inf"], "--rtol inf"),
    (["--only", "nothing-like-this"], "matches no check"), (["--only", "op:zz*"], "matches no check"),
    (["--dtype", "float32", "--eps", "0"], "--eps 0.0"),
])
def test_gradcheck_bad_arguments_are_exit_2_not_failures(args, needle):
    r = invoke("gradcheck", *args)
    assert r.exit_code == 2 and needle in r.stderr and "FAIL" not in r.output, r.output


@pytest.mark.group("bad input")
def test_gradcheck_float32_defaults_are_meaningful():
    r = invoke("gradcheck", "--dtype", "float32")
    assert r.exit_code == 0, r.output[-3000:]
    assert "eps=0.001, atol=0.01, rtol=0.01" in r.stdout and "all passed" in r.stdout
    r64 = invoke("gradcheck", "--only", "loss:*")
    assert "eps=1e-06, atol=1e-05, rtol=0.001" in r64.stdout


@pytest.mark.group("bad input")
def test_gradcheck_float32_still_catches_a_wrong_gradient(monkeypatch):
    import autotrain.modes.manual as manual

    real = manual.ManualMode.step

    def wrong(self, x, y):  # 1% too large a step: the recovered gradient is 1% off
        before = {k: v.copy() for k, v in self.state().items()}
        loss = real(self, x, y)
        after = self.state()
        self.load_state({k: before[k] - 1.05 * (before[k] - after[k]) for k in before})
        return loss

    monkeypatch.setattr(manual.ManualMode, "step", wrong)
    r = invoke("gradcheck", "--dtype", "float32", "--only", "loss:manual")
    assert r.exit_code == 1 and "FAIL" in r.stdout


# ------------------------------------------------------------------ frictions

@pytest.mark.group("frictions")
@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_an_empty_config_file_means_all_defaults(tmp_path, text):
    p = write(tmp_path, text)
    assert load_config(p, check=False) == config.FitConfig()
    r = invoke("fit", p, "--print-config", "--json")
    data = json.loads(r.stdout)
    assert data["config"] == config.FitConfig().model_dump() and set(data["sources"].values()) == {"default"}


@pytest.mark.group("frictions")
def test_print_config_json(tmp_path):
    p = write(tmp_path, "N: 8\n")
    r = invoke("fit", p, "--set", "lr=1e-5", "--print-config", "--json", "--runs-dir", tmp_path / "runs")
    data = json.loads(r.stdout)
    assert data["config"]["N"] == 8 and data["config"]["lr"] == 1e-5 and data["path"] == str(p)
    assert (data["sources"]["N"], data["sources"]["lr"], data["sources"]["H"]) == ("file", "--set", "default")
    assert not (tmp_path / "runs").exists()


@pytest.mark.group("frictions")
def test_compare_modes_json(tmp_path):
    r = invoke("compare-modes", write(tmp_path, TINY), "--json", "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["agree"] and [row["mode"] for row in data["rows"]] == ["manual", "autograd", "custom-relu", "static", "compiled"]
    assert data["rows"][0]["bit_identical"] and data["run_dir"].startswith(str(tmp_path / "runs"))


@pytest.mark.group("frictions")
@pytest.mark.parametrize("args", [["--version"], ["-h"], ["fit", "-h"], ["gradcheck", "-h"], ["compare-modes", "-h"],
                                  ["config", "-h"]])
def test_version_and_short_help(args):
    r = invoke(*args)
    assert r.exit_code == 0, r.output
    if args == ["--version"]:
        assert r.stdout.strip() == f"autotrain {autotrain.__version__}"
    else:
        assert "Usage:" in r.stdout and "-h, --help" in r.stdout


@pytest.mark.group("frictions")
@pytest.mark.parametrize("value, suggestion", [("gpu", "cuda"), ("GPU", "cuda"), ("nvidia", "cuda"),
                                               ("cuda0", "cuda:0"), ("CPU", "cpu"), ("cpus", "cpu"), ("cdua", "cuda")])
def test_device_did_you_mean(tmp_path, value, suggestion):
    r = invoke("fit", write(tmp_path, f"device: {value}\n"))
    assert r.exit_code == 2 and f"did you mean '{suggestion}'?" in r.stderr, r.stderr


@pytest.mark.group("frictions")
def test_the_console_script_entry_point_handles_sigterm_like_ctrl_c(tmp_path):
    """`python -m autotrain` (the console script's main) turns SIGTERM into exit 130 with a message."""
    code = ("import os, signal, sys; import autotrain.training.checks as c; real = c._safe\n"
            "c._safe = lambda n, r, s: (os.kill(os.getpid(), signal.SIGTERM), real(n, r, s))[1]\n"
            "from autotrain.cli import main; sys.argv = ['autotrain', 'gradcheck', '--only', 'op:add']; main()")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                       preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
    assert r.returncode == 130 and "interrupted" in r.stderr, (r.returncode, r.stderr)
