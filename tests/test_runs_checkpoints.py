"""Checkpoint forgery and damage: every unreadable or inconsistent checkpoint is skipped with a note.

The loader reads each ``.npy`` header first and compares it with the shapes and dtypes the caller
expects (``runs.checkpoint_spec(cfg)`` or an explicit spec), so a forged header never makes it
allocate; then the checksum, the config hash, the inner step against the file name, finite weights.
"""
import io
import random
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest

from autotrain.store import runs
from autotrain.training.config import load_config
from autotrain.store.runs import CheckpointError, checksum, create_run, load_checkpoint

pytestmark = pytest.mark.group("checkpoint forgery")


def cfg(**kw):
    base = dict(N=4, D_in=3, H=2, D_out=1, dtype="float64", steps=10, mode="manual")
    return load_config(None, [f"{k}={v}" for k, v in {**base, **kw}.items()], check=False)


def state(c, fill=1.0):
    return {"w1": np.full((c.D_in, c.H), fill), "w2": np.full((c.H, c.D_out), fill)}


def forge(path, arrays, *, fix_checksum=True):
    """Write ``arrays`` as a checkpoint with a valid checksum (what a careful forger would do)."""
    arrays = dict(arrays)
    if fix_checksum:
        arrays.pop("checksum", None)
        arrays["checksum"] = np.array(checksum(arrays))
    np.savez(path, **arrays)
    return path


def good_arrays(c, at=5, **changes):
    arrays = {"state.w1": np.ones((c.D_in, c.H)), "state.w2": np.ones((c.H, c.D_out)),
              "step": np.array(at, np.int64), "elapsed_s": np.array(1.0), "config_hash": np.array(c.config_hash()),
              "rng_state": np.array("{}")}
    arrays.update(changes)
    return arrays


@pytest.fixture
def run(tmp_path):
    c = cfg()
    r = create_run(c, tmp_path)
    r.save_checkpoint(0, state(c), c.config_hash())
    return c, r


@pytest.mark.parametrize("change, needle", [
    (dict(step=np.array(7, np.int64)), "holds step 7 but its name says 5"),
    (dict(step=np.array([5, 5, 5], np.int64)), "step is int64[3], expected int64[]"),
    (dict(step=np.array(5.0)), "step is float64[], expected int64[]"),
    (dict(step=np.array(-1, np.int64)), "holds step -1 but its name says 5"),
    (dict(elapsed_s=np.array(np.nan)), "elapsed_s is nan"),
    (dict(config_hash=np.array(b"abc")), "config_hash is |S3[], expected a string[]"),
    (dict(config_hash=np.array("0" * 64)), "different config"),
    (dict(rng_state=np.array([1, 2])), "rng_state is int64[2], expected a string[]"),
    ({"state.w1": np.full((3, 2), np.nan)}, "w1 holds NaN or inf: a damaged checkpoint"),
    ({"state.w2": np.array([[np.inf], [0.0]])}, "w2 holds NaN or inf"),
    ({"state.w1": np.ones((3, 2), np.float32)}, "w1 is float32[3, 2], expected float64[3, 2]"),
    ({"state.w1": np.ones((2, 3))}, "w1 is float64[2, 3], expected float64[3, 2]"),
    ({"state.w1": np.ones((3, 2), ">f8")}, "w1 is >f8[3, 2], expected float64[3, 2]"),
    ({"state.extra": np.ones(3)}, "holds unexpected arrays state.extra"),
])
def test_a_forged_checkpoint_with_a_valid_checksum_is_refused_field_by_field(run, change, needle):
    c, r = run
    path = forge(r.checkpoint_path(5), good_arrays(c, **change))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, c)
    assert needle in str(info.value)
    assert r.latest_checkpoint(c).step == 0 and needle in r.notes[0] and "falling back" in r.notes[0]


def test_missing_fields_and_the_step_range(run):
    c, r = run
    arrays = good_arrays(c)
    del arrays["rng_state"]
    with pytest.raises(CheckpointError, match="is missing rng_state"):
        load_checkpoint(forge(r.checkpoint_path(5), arrays), c)
    with pytest.raises(CheckpointError, match=r"step 11 is outside 0..10"):
        load_checkpoint(forge(r.checkpoint_path(11), good_arrays(c, at=11)), c)


def test_nan_weights_are_a_damaged_checkpoint_not_a_divergence(tmp_path):
    """Resume skips the forged NaN checkpoint and continues from the good one: no "diverged ... lower lr"."""
    from typer.testing import CliRunner

    from autotrain.cli import app
    from autotrain.training.train import fit

    c = cfg(steps=20, checkpoint_every=5, lr=0.01)
    r = create_run(c, tmp_path / "a")
    fit(c, r)
    straight = [(s, x) for s, x, _ in r.read_metrics().tuples("step", "loss", "elapsed_s")]
    r.checkpoint_path(20).unlink()
    forge(r.checkpoint_path(15), good_arrays(c, at=15, **{"state.w1": np.full((3, 2), np.nan)}))
    r.write_summary({"status": "interrupted"})
    res = CliRunner().invoke(app, ["fit", "--resume", str(r.path), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "step-000015.npz: w1 holds NaN or inf" in res.stderr and "lower lr" not in res.stderr
    assert r.read_summary()["resumed_from"] == 10 and [
        (s, x) for s, x, _ in r.read_metrics().tuples("step", "loss", "elapsed_s")] == straight


def _npy_header(shape, descr="<f8"):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (63 - (len(header) + 10) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header


def test_a_small_file_whose_header_claims_745_gib_is_refused_without_allocating(run):
    c, r = run
    path = r.checkpoint_path(5)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, a in good_arrays(c).items():
            if name == "state.w1":
                z.writestr("state.w1.npy", _npy_header((100_000, 1_000_000)) + b"\0" * 64)  # 745 GiB claimed
            else:
                z.writestr(name + ".npy", _npy_bytes(a))
        z.writestr("checksum.npy", _npy_bytes(np.array("0" * 64)))
    path.write_bytes(buf.getvalue())
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=r"w1 is float64\[100000, 1000000\], expected float64\[3, 2\]"):
            load_checkpoint(path, c)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    with pytest.raises(CheckpointError):  # without a spec the file's own size still bounds what is believed
        load_checkpoint(path)


def _npy_bytes(a):
    f = io.BytesIO()
    np.save(f, a, allow_pickle=False)
    return f.getvalue()


def test_a_file_bigger_than_its_arrays_can_be_is_refused_before_reading(run):
    c, r = run
    path = r.checkpoint_path(5)
    path.write_bytes(b"PK" + b"\0" * (3 << 20))
    with pytest.raises(CheckpointError, match="more than the .* its arrays can take"):
        load_checkpoint(path, c)


@pytest.mark.parametrize("payload, needle", [
    (lambda c: _npy_bytes(np.ones((3, 2))), "not an .npz archive (a bare .npy array)"),
    (lambda c: b"", "is not an .npz archive"),
    (lambda c: b"PK\x05\x06" + b"\0" * 18, "is missing checksum, config_hash"),
    (lambda c: _zip_with_method(c, 99), "truncated or corrupt"),
    (lambda c: _zip_with_method(c, zipfile.ZIP_DEFLATED, version=250), "truncated or corrupt"),
])
def test_damaged_structure_is_skipped_with_a_note(run, payload, needle):
    c, r = run
    r.checkpoint_path(5).write_bytes(payload(c))
    assert r.latest_checkpoint(c).step == 0
    assert needle in r.notes[0]


def _zip_with_method(c, method, version=None):
    arrays = good_arrays(c)
    arrays["checksum"] = np.array(checksum(arrays))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, a in arrays.items():
            z.writestr(name + ".npy", _npy_bytes(a))
    data = bytearray(buf.getvalue())
    for sig, off in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):  # rewrite every compression-method field
        i = data.find(sig)
        while i >= 0:
            if version is not None:
                struct.pack_into("<H", data, i + off - 4, version)
            else:
                struct.pack_into("<H", data, i + off, method)
            i = data.find(sig, i + 1)
    return bytes(data)


def test_a_caller_spec_decides_which_arrays_a_checkpoint_holds(run):
    """fit-data's checkpoints hold more than w1, w2: the caller passes the spec, and only it is accepted."""
    c, r = run
    spec = {**runs.checkpoint_spec(c), "opt.m1": ((3, 2), "float64"), "data_rng": ((4,), "uint64")}
    extra = {"opt.m1": np.zeros((3, 2)), "data_rng": np.arange(4, dtype=np.uint64)}
    path = r.save_checkpoint(5, {**state(c), **extra}, c.config_hash())
    ck = load_checkpoint(path, c, spec)
    assert set(ck.state) == {"w1", "w2", "opt.m1", "data_rng"} and ck.state["data_rng"].dtype == np.uint64
    with pytest.raises(CheckpointError, match="unexpected arrays state.data_rng, state.opt.m1"):
        load_checkpoint(path, c)  # the default spec knows only w1 and w2
    with pytest.raises(CheckpointError, match=r"data_rng is uint64\[4\], expected uint64\[5\]"):
        load_checkpoint(path, c, {**spec, "data_rng": ((5,), "uint64")})
    assert r.latest_checkpoint(c, spec).step == 5


def fuzz(run, n, seed):
    c, r = run
    path = r.save_checkpoint(5, state(c, 0.5), c.config_hash())
    good = path.read_bytes()
    rng = random.Random(seed)
    escaped, outcomes = [], {"refused": 0, "loaded": 0}
    for _ in range(n):
        data = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path.write_bytes(bytes(data))
        try:
            ck = load_checkpoint(path, c)
        except CheckpointError:
            outcomes["refused"] += 1
            continue
        except BaseException as exc:  # noqa: BLE001 - the point of the test
            escaped.append(f"{type(exc).__name__}: {exc}")
            continue
        # a byte that only touched zip metadata (a timestamp, a name length that still parses...)
        assert ck.step == 5 and all(np.array_equal(ck.state[k], v) for k, v in state(c, 0.5).items())
        outcomes["loaded"] += 1
    assert escaped == [], escaped[:5]
    assert outcomes["refused"] > n * 0.5, outcomes


def test_random_byte_corruptions_never_escape(run):
    """Random 1-4 byte changes anywhere (zip headers, central directory, .npy headers, data)."""
    fuzz(run, 400, seed=7)


@pytest.mark.slow
def test_random_byte_corruptions_never_escape_many(run):
    fuzz(run, 5000, seed=11)
