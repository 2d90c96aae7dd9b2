"""Small CLI defects, each a class: refused filter values, a killed run's step, run names, the best-step line,
--print-config as YAML, and config comments that state what the files hold."""
import json
import re
from pathlib import Path

import yaml
from typer.testing import CliRunner

from autotrain.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def fit(*args):
    return runner.invoke(app, ["fit", *args, "--no-tensorboard"])


def test_runs_refuses_an_unknown_status(tmp_path):
    for bogus in ("bogus", "Completed", ""):
        r = runner.invoke(app, ["runs", "--runs-dir", str(tmp_path), "--status", bogus])
        assert r.exit_code == 2 and "--status" in r.stderr and "completed" in r.stderr, r.output
    assert runner.invoke(app, ["runs", "--runs-dir", str(tmp_path), "--status", "killed"]).exit_code == 0


def test_a_killed_run_shows_its_newest_checkpoint_step(tmp_path):
    r = fit(str(ROOT / "configs" / "two_layer.yaml"), "--set", "steps=200", "--runs-dir", str(tmp_path), "-q")
    assert r.exit_code == 0, r.output
    run = next(tmp_path.iterdir())
    summary = json.loads((run / "summary.json").read_text())
    # what summary.json holds while a run is training from scratch, left behind by a SIGKILL
    summary.update(status="running", step=0, final_loss=None)
    (run / "summary.json").write_text(json.dumps(summary))
    r = runner.invoke(app, ["runs", "--runs-dir", str(tmp_path), "--json"])
    [entry] = json.loads(r.stdout)["runs"]
    assert entry["status"] == "killed" and entry["step"] == 200


def test_a_config_without_a_name_names_its_runs_after_the_file(tmp_path):
    cfg = tmp_path / "my_data.yaml"
    cfg.write_text("steps: 2\nN: 4\nD_in: 3\nH: 2\nD_out: 1\n")
    assert fit(str(cfg), "--runs-dir", str(tmp_path / "runs"), "-q").exit_code == 0
    [run] = (tmp_path / "runs").iterdir()
    assert "-my_data-" in run.name
    assert yaml.safe_load((run / "config.yaml").read_text())["name"] == "my_data"
    named = tmp_path / "other.yaml"
    named.write_text("steps: 2\nN: 4\nD_in: 3\nH: 2\nD_out: 1\nname: kept\n")
    assert fit(str(named), "--runs-dir", str(tmp_path / "named"), "-q").exit_code == 0
    assert "-kept-" in next((tmp_path / "named").iterdir()).name


def test_the_best_line_names_the_step_the_table_shows(tmp_path):
    r = fit(str(ROOT / "configs" / "iris.yaml"), "--set", "epochs=3", "--runs-dir", str(tmp_path))
    assert r.exit_code == 0, r.output
    m = re.search(r"best: val loss (\S+?),? .*at step (\d+) \(its weights: checkpoints/step-(\d+)\.npz\)", r.stdout)
    assert m, r.stdout
    loss, row, ckpt = m.group(1), int(m.group(2)), int(m.group(3))
    assert ckpt == row + 1
    table_row = next(line for line in r.stdout.splitlines() if re.match(rf"\W*{row}\b", line.strip("│ ")))
    assert format(float(loss), ".10g") in table_row


def test_print_config_prints_yaml_values(tmp_path):
    r = fit(str(ROOT / "configs" / "iris.yaml"), "--print-config")
    assert r.exit_code == 0, r.output
    assert "None" not in r.stdout and "False" not in r.stdout and "True" not in r.stdout
    assert re.search(r"weight_decay\s+null", r.stdout) and re.search(r"standardize\s+true", r.stdout)
    assert re.search(r"lr\s+0\.05\s", r.stdout), r.stdout
    seed = fit(str(ROOT / "configs" / "two_layer.yaml"), "--print-config")
    assert re.search(r"lr\s+1\.0e-06\s", seed.stdout) and re.search(r"bias\s+false", seed.stdout)


def test_each_config_says_how_to_run_itself():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        for line in path.read_text().splitlines():
            m = re.search(r"Run it:\s+autotrain (?:fit|sweep) (\S+)", line)
            if m:
                assert m.group(1) == f"configs/{path.name}", (path.name, line)


def test_config_comments_state_the_row_counts_of_the_data():
    from autotrain.training import train
    from autotrain.training.config import load_config

    for name in ("digits", "iris", "diabetes"):
        path = ROOT / "configs" / f"{name}.yaml"
        text = path.read_text()
        cfg, data = train.resolve_data(load_config(path), str(path))
        csv_rows = len((ROOT / "datasets" / f"{name}.csv").read_text().strip().splitlines()) - 1
        for n in re.findall(r"(\d+) rows(?!\s+held)", text.splitlines()[0]):
            assert int(n) == csv_rows, (name, n)
        for n in re.findall(r"(\d+) rows held out", text):
            assert int(n) == len(data.x_val), (name, n)
        for n in re.findall(r"minibatches of \d+ in (\d+) rows", text):
            assert int(n) == len(data.x_train), (name, n)
