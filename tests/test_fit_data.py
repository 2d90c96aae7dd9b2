"""Data files (CSV, .npz, .npy pair), their errors, the new config keys and their cross-checks."""
from pathlib import Path

import numpy as np
import pytest

from autotrain.training.config import ConfigError, load_config, to_yaml
from autotrain.training.data import DataError, load_dataset, make_problem, prepare_fit_data, read_csv
from autotrain.training.train import resolve_data
from helpers import invoke

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


CSV = "a,b,label\n1,2,cat\n3,4.5,dog\n-1,0,cat\n2,2,bird\n"


# ------------------------------------------------------------------ reading data
def test_csv_default_target_is_the_last_column_and_string_labels_become_sorted_classes(tmp_path):
    ds = read_csv(write(tmp_path, "d.csv", CSV), classify=True)
    assert ds.feature_names == ["a", "b"] and ds.target_names == ["label"]
    assert ds.classes == ["bird", "cat", "dog"] and ds.y.tolist() == [1, 2, 1, 0]
    assert ds.x.tolist() == [[1, 2], [3, 4.5], [-1, 0], [2, 2]]


def test_csv_integer_labels_sort_numerically_and_targets_by_name(tmp_path):
    ds = read_csv(write(tmp_path, "d.csv", "y,x1,x2\n10,1,2\n2,3,4\n10.0,5,6\n"), target="y", classify=True)
    assert ds.classes == ["2", "10"] and ds.y.tolist() == [1, 0, 1] and ds.feature_names == ["x1", "x2"]
    reg = read_csv(write(tmp_path, "r.csv", "t1,x,t2\n1,2,3\n4,5,6\n"), target=["t1", "t2"])
    assert reg.y.tolist() == [[1, 3], [4, 6]] and reg.x.tolist() == [[2], [5]]


def test_npz_and_npy_pair(tmp_path):
    x, y = np.arange(12.0).reshape(4, 3), np.array([0, 1, 1, 0])
    np.savez(tmp_path / "d.npz", x=x, y=y)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y.astype(float))
    a = load_dataset(str(tmp_path / "d.npz"), classify=True)
    assert a.classes == ["0", "1"] and np.array_equal(a.x, x)
    b = load_dataset([str(tmp_path / "x.npy"), str(tmp_path / "y.npy")])
    assert b.y.shape == (4, 1)


@pytest.mark.parametrize("text, needle", [
    ("a,b,y\n1,x,2\n", "d.csv:2:2: 'x' in column 'b' is not a number"),
    ("a,b,y\n1,,2\n", "d.csv:2:2: missing value in column 'b'"),
    ("a,b,y\n1,2,3\n4,5\n", "d.csv:3: 2 fields, expected 3"),
    ("", "the file is empty"),
    ("\n\n", "the file is empty"),
    ("a,b,y\n", "a header but no data rows"),
    ("a,b,y\n1,nan,3\n", "d.csv:2:2: 'nan' in column 'b', expected a finite number"),
    ("a,a,y\n1,2,3\n", "d.csv:1: the column name 'a' appears twice"),
    ("y\n1\n", "the header has 1 column"),
])
def test_bad_csv_names_file_position_and_expectation(tmp_path, text, needle):
    p = write(tmp_path, "d.csv", text)
    with pytest.raises(DataError, match=None) as info:
        read_csv(p)
    assert needle in str(info.value) and str(p) in str(info.value)


def test_unknown_target_and_bad_label_column(tmp_path):
    p = write(tmp_path, "d.csv", CSV)
    with pytest.raises(DataError, match=r"d.csv:1: target column 'species' is not in the header \(columns: a, b"):
        read_csv(p, target="species")
    with pytest.raises(DataError, match="d.csv:2:3: 'cat' in column 'label' is not a number"):
        read_csv(p)  # a regression target must be numeric


def test_pickled_npy_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.zeros(1))
    with pytest.raises(DataError, match="pickle"):
        load_dataset([str(tmp_path / "x.npy"), str(tmp_path / "y.npy")])


def test_npz_without_y_and_mismatched_rows(tmp_path):
    np.savez(tmp_path / "a.npz", x=np.zeros((3, 2)))
    with pytest.raises(DataError, match=r"no array 'y' \(found: x\)"):
        load_dataset(str(tmp_path / "a.npz"))
    np.savez(tmp_path / "b.npz", x=np.zeros((3, 2)), y=np.zeros(4))
    with pytest.raises(DataError, match=r"shape \(4,\), expected \(3,\)"):
        load_dataset(str(tmp_path / "b.npz"))


# ------------------------------------------------------------------ the config keys
def test_data_path_is_relative_to_the_config_file_and_dims_are_inferred(tmp_path):
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub", "d.csv", CSV)
    cfg = load_config(write(tmp_path, "c.yaml", "data: sub/d.csv\nloss: cross_entropy\nH: [5, 4]\n"))
    assert cfg.data == str((tmp_path / "sub" / "d.csv").resolve())
    cfg, data = resolve_data(cfg)
    assert (cfg.D_in, cfg.D_out, data.classes) == (2, 3, ["bird", "cat", "dog"])
    assert [a.shape for a in data.params.values()] == [(2, 5), (5, 4), (4, 3)]
    assert load_config(None, [f"data={tmp_path / 'sub' / 'd.csv'}", "loss=cross_entropy"]).data == cfg.data


def test_given_dims_that_differ_from_the_file_exit_2_with_both(tmp_path):
    write(tmp_path, "d.csv", CSV)
    p = write(tmp_path, "c.yaml", "data: d.csv\nloss: cross_entropy\nD_in: 5\nD_out: 3\n")
    r = invoke("fit", p, "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 2 and "D_in: the config says 5, but" in r.stderr and "has 2 feature columns" in r.stderr
    assert "D_out" not in r.stderr and not (tmp_path / "runs").exists()


def test_bad_data_file_through_the_cli_is_exit_2_and_writes_nothing(tmp_path):
    write(tmp_path, "d.csv", "a,b,y\n1,2,3\n4,five,6\n")
    r = invoke("fit", write(tmp_path, "c.yaml", "data: d.csv\nloss: mse\n"), "--runs-dir", tmp_path / "runs")
    assert r.exit_code == 2 and "d.csv:3:2: 'five' in column 'b' is not a number" in r.stderr
    assert "Traceback" not in r.output and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("overrides, needle", [
    (["mode=custom-relu", "activation=tanh"], "activation: bad value 'tanh' with mode 'custom-relu' (allowed: relu;"),
    (["N=~"], "N: bad value None with data: synthetic"),
    (["loss=cross_entropy"], "cross_entropy needs class labels from a data file"),
    (["epochs=3", "steps=10"], "give steps or epochs, not both"),
    (["betas=[0.9, 0.99]"], "betas: does not apply to optimizer 'sgd' (it is used by adam, adamw)"),
    (["optimizer=adam", "momentum=0.5"], "momentum: does not apply to optimizer 'adam'"),
    (["H=[0, 3]"], "H: bad value [0, 3]"), (["H=[]"], "H: bad value []"),
    (["betas=[0.9]", "optimizer=adam"], "betas: bad value [0.9]"),
    (["val_fraction=1.0"], "val_fraction: bad value 1.0"), (["activation=gelu"], "activation: bad value 'gelu'"),
    (["optimizer=adamm"], "did you mean 'adam'?"), (["data=x.npy"], "give [x.npy, y.npy]"),
    (["target=y"], "target: bad value 'y' with data: synthetic"),
])
def test_cross_key_problems_are_one_line_each(overrides, needle):
    with pytest.raises(ConfigError) as info:
        load_config(None, overrides)
    assert any(needle in str(p) for p in info.value.problems), str(info.value)


def test_new_keys_round_trip_and_leave_seed_hash_alone():
    seed = load_config(ROOT / "configs" / "two_layer.yaml")
    explicit = load_config(ROOT / "configs" / "two_layer.yaml", ["activation=relu", "bias=false", "optimizer=sgd",
                                                                  "keep_checkpoints=5", "steps=900"])
    assert explicit.config_hash() == seed.config_hash()  # defaults and the run length are not part of it
    cfg = load_config(None, ["H=[7, 5]", "optimizer=adamw", "betas=[0.8, 0.9]", "epochs=4", "bias=true"])
    from autotrain.training.config import ConfigLoader, FitConfig
    import yaml
    again = FitConfig.model_validate(yaml.load(to_yaml(cfg), Loader=ConfigLoader))
    assert again == cfg and "steps" not in to_yaml(cfg) and "momentum" not in to_yaml(cfg)
    assert cfg.resolved_weight_decay == 0.01 and cfg.hidden == [7, 5]


def test_synthetic_data_is_the_seed_problem():
    cfg = load_config(ROOT / "configs" / "two_layer.yaml", ["N=6", "D_in=5", "H=4", "D_out=3"])
    data, problem = prepare_fit_data(cfg), make_problem(6, 5, 4, 3, "float32", 0)
    assert np.array_equal(data.x_train, problem.x) and np.array_equal(data.params["w2"], problem.w2)


def test_split_and_standardize_use_the_training_split_only(tmp_path):
    rows = "\n".join(f"{i},{i * i % 7},{i % 2}" for i in range(20))
    p = write(tmp_path, "d.csv", "a,b,y\n" + rows + "\n")
    cfg = load_config(None, [f"data={p}", "loss=cross_entropy", "val_fraction=0.25", "standardize=true",
                             "dtype=float64"])
    data = prepare_fit_data(cfg)
    assert len(data.x_train) == 15 and len(data.x_val) == 5
    assert sorted(data.train_index.tolist() + data.val_index.tolist()) == list(range(20))
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(data.x_train.std(axis=0), 1, atol=1e-12)
    raw = load_dataset(str(p), classify=True).x
    np.testing.assert_allclose(data.x_val, (raw[data.val_index] - data.mean) / data.std)
    assert prepare_fit_data(cfg).val_index.tolist() == data.val_index.tolist()  # seeded


def test_a_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    import autotrain.training.data as data
    p = write(tmp_path, "d.csv", CSV)
    monkeypatch.setattr(data, "MAX_DATA_BYTES", 10)
    with pytest.raises(DataError, match=r"d.csv: \d+ bytes is over the limit of 10 bytes"):
        read_csv(p)
    (tmp_path / "fifo").mkdir()
    with pytest.raises(DataError, match="not a regular file"):
        read_csv(tmp_path / "fifo")


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_csv_ish = st.lists(st.sampled_from(["a", "b", "y", ",", "\n", "1", "2.5", "-", "nan", "inf", '"', "x y", "",
                                     "\r\n", "1e400", "\ufeff", "\x00", " ", ";", "cat"]), max_size=40).map("".join)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_csv_ish, classify=st.booleans(), target=st.sampled_from([None, "y", "b", ["a", "y"]]))
def test_fuzz_a_csv_gives_a_dataset_or_a_data_error(tmp_path, text, classify, target):
    p = tmp_path / "f.csv"
    p.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        ds = read_csv(p, target, classify)
    except DataError as exc:
        assert str(p) in str(exc)
        return
    assert ds.x.dtype == np.float64 and np.isfinite(ds.x).all() and len(ds.x) == len(ds.y) > 0
