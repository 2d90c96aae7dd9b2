"""config.py: strict validation, friendly errors that name file/line/key/value/allowed, safe YAML only."""
import json
from pathlib import Path

import pytest
import yaml

from autotrain.training.config import (ConfigError, ConfigLoader, FitConfig, check_resources, estimate_bytes, load_config,
                              parse_override, resolve, to_yaml)
from helpers import write

SEED = Path(__file__).resolve().parents[1] / "configs" / "two_layer.yaml"


def problems(path, overrides=()):
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return info.value.problems


def test_seed_config_reproduces_the_seed():
    cfg = load_config(SEED)
    assert (cfg.N, cfg.D_in, cfg.H, cfg.D_out, cfg.lr, cfg.steps) == (64, 1000, 100, 10, 1e-6, 500)
    assert (cfg.device, cfg.mode, cfg.dtype, cfg.seed) == ("cpu", "autograd", "float32", 0)


@pytest.mark.parametrize("mode", ["manual", "autograd", "custom_relu", "static"])
def test_one_config_per_mode(mode):
    cfg = load_config(SEED.with_name(f"two_layer_{mode}.yaml"))
    assert cfg.mode == mode.replace("_", "-")
    assert cfg.model_dump(exclude={"mode", "name"}) == load_config(SEED).model_dump(exclude={"mode", "name"})


def test_all_errors_of_a_file_at_once_with_line_key_value_allowed(tmp_path):
    p = write(tmp_path, "N: 0\nD_in: -3\nlr: .nan\nmdoe: static\nmode: autgrad\ndtype: float16\n"
                        "device: cdua\nsteps: 1.5\nseed: -1\n")
    got = [str(x) for x in problems(p)]
    assert len(got) == 9
    by_key = {x.split(": ")[1]: x for x in got}
    assert by_key["N"].startswith(f"{p}:1:1: N: bad value 0") and "positive integer" in by_key["N"]
    assert by_key["D_in"].startswith(f"{p}:2:1:")
    assert "nan" in by_key["lr"] and "finite number > 0" in by_key["lr"]
    assert "unknown key; did you mean 'mode'?" in by_key["mdoe"]
    assert "did you mean 'autograd'?" in by_key["mode"] and "custom-relu" in by_key["mode"]
    assert "did you mean 'float64'?" in by_key["dtype"]
    assert "did you mean 'cuda'?" in by_key["device"] and "cuda:N" in by_key["device"]
    assert "1.5" in by_key["steps"] and "integer >= 0" in by_key["steps"]
    assert "-1" in by_key["seed"]


@pytest.mark.parametrize("text, value", [("lr: 1e-6", 1e-6), ("lr: 1.0e-6", 1e-6), ("lr: 5E-3", 5e-3),
                                          ("lr: 2", 2.0), ("lr: -1e+0", None)])
def test_floats_read_the_yaml_1_2_way(tmp_path, text, value):
    """PyYAML (YAML 1.1) would read 1e-6 as a *string*; our loader reads it as the number."""
    p = write(tmp_path, text + "\n")
    if value is None:
        assert "lr" in str(problems(p)[0])
    else:
        assert load_config(p).lr == value


def test_quoted_number_is_an_error_not_coerced(tmp_path):
    [prob] = problems(write(tmp_path, 'lr: "1e-6"\nN: "64"\n'))[:1]
    assert "'1e-6'" in str(prob) and "without quotes" in str(prob)
    assert len(problems(write(tmp_path, 'lr: "1e-6"\nN: "64"\n'))) == 2


@pytest.mark.parametrize("text, needle", [
    ("- 1\n- 2\n", "expected a mapping"), ("N: [1\n", ":2:1: YAML error"),
    ("N: 1\nH: 2\nN: 3\n", ":3:1: YAML error: duplicate key 'N' (first defined on line 1)"),
    ("N: 1\n  bad: indent\n", "YAML error"), ("N: {a: 1}\n", "bad value {'a': 1}"),
])
def test_unusable_files(tmp_path, text, needle):
    assert needle in str(problems(write(tmp_path, text))[0])


def test_missing_directory_binary_and_non_utf8(tmp_path):
    assert "not found" in str(problems(tmp_path / "nope.yaml")[0])
    assert "is a directory" in str(problems(tmp_path)[0])
    (tmp_path / "b.yaml").write_bytes(b"\x00\x01\x02garbage")
    assert "binary" in str(problems(tmp_path / "b.yaml")[0])
    (tmp_path / "l.yaml").write_bytes(b"name: \xff\xfe\n")
    assert "UTF-8" in str(problems(tmp_path / "l.yaml")[0])


def test_python_tag_is_refused_and_nothing_constructed(tmp_path):
    marker = tmp_path / "pwned"
    p = write(tmp_path, f'N: !!python/object/apply:os.system ["touch {marker}"]\n'
                        f'H: !!python/object/apply:builtins.open ["{marker}", "w"]\n')
    [prob] = problems(p)
    assert "tag refused" in str(prob) and ":1:4:" in str(prob)
    assert not marker.exists()


def test_overrides_parse_like_the_file_and_win(tmp_path):
    assert parse_override("lr=1e-5") == ("lr", 1e-5)
    assert parse_override(" mode = custom-relu") == ("mode", "custom-relu")
    res = resolve(SEED, ["lr=1e-5", "mode=static", "name=42"])
    assert (res.config.lr, res.config.mode, res.config.name) == (1e-5, "static", "42")
    assert res.sources["lr"] == "--set" and res.sources["N"] == "file"
    assert resolve(write(tmp_path, "N: 3\n")).sources["H"] == "default"


@pytest.mark.parametrize("override, needle", [
    ("lr", "expected key=value, got 'lr'"), ("=3", "expected key=value"),
    ("lrr=1", "lrr: unknown key; did you mean 'lr'?"), ("steps=-1", "--set: steps: bad value -1"),
    ("lr=", "lr: bad value None"), ("N=[1, 2]", "expected a single value"),
    ("mode=Static", "did you mean 'static'?"), ("N=true", "N: bad value True"),
])
def test_bad_overrides(override, needle):
    msgs = " | ".join(str(p) for p in problems(SEED, [override]))
    assert needle in msgs


def test_file_and_override_problems_reported_together(tmp_path):
    got = problems(write(tmp_path, "N: 0\n"), ["H=0", "oops"])
    assert [p.source for p in got] == [str(tmp_path / "c.yaml"), "--set", "--set"]


def test_memory_estimate_refuses_up_front(tmp_path):
    p = write(tmp_path, "N: 1000000000\nD_in: 1000000\n")
    [prob] = problems(p)
    assert "need about" in str(prob) and "PiB" in str(prob) and "available" in str(prob)
    assert estimate_bytes(FitConfig()) < 10 * 2**20  # the seed needs a few MiB
    load_config(p, check=False)  # the sizes themselves are valid


def test_cuda_without_a_gpu_is_a_config_error(tmp_path):
    pytest.importorskip("autotrain.engine.backend")
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed")
    except ImportError:
        pass
    cfg = load_config(SEED, ["device=cuda:1"], check=False)
    with pytest.raises(ConfigError, match=r"device: 'cuda:1': .*pip install 'autotrain\[cuda\]'"):
        check_resources(cfg)


def test_yaml_round_trip_and_hash():
    cfg = load_config(SEED, ["lr=1.234567890123e-7"])
    again = FitConfig.model_validate(yaml.load(to_yaml(cfg), Loader=ConfigLoader))
    assert again == cfg and again.config_hash() == cfg.config_hash()
    assert cfg.config_hash() != load_config(SEED).config_hash()


def test_steps_zero_is_valid_and_schema_is_json():
    assert load_config(SEED, ["steps=0"]).steps == 0
    schema = FitConfig.model_json_schema()
    assert schema["additionalProperties"] is False and "custom-relu" in json.dumps(schema)


# A property test: whatever the text, the loader returns a config or raises ConfigError.
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_yaml_ish = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(["N", "lr", "mode", "name", "steps", ":", " ", "\n", "-", "[", "]", "{", "}",
                              "!!python/object", "&a", "*a", "<<", "1e-6", "0", "-1", ".nan", "'", '"', "\t",
                              "autograd", "~", "?", "|", ">", "#", ",", "1", "3.5", "yes"]), max_size=30).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_yaml_ish, override=st.text(max_size=20))
def test_fuzz_only_config_errors_escape(tmp_path, text, override):
    p = tmp_path / "fuzz.yaml"
    p.write_bytes(text.encode("utf-8", "replace"))
    for overrides in ([], [override]):
        try:
            assert load_config(p, overrides, check=False).N > 0
        except ConfigError as exc:
            assert exc.problems and all(str(x) for x in exc.problems)
