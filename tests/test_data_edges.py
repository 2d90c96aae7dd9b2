"""Data edges: one exact label mapping per run, files read by column name, CSV read as Python's csv reads it,
predictions written by csv.writer, and no row silently dropped."""
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from autotrain.training.config import load_config
from autotrain.training.data import DataError, class_indices, encode_labels, integer_label, read_csv, read_table
from autotrain.store.runs import create_run
from autotrain.training.train import fit, resolve_data
from helpers import invoke

BIG = 2**53  # 2**53 + 1 is the first integer a float64 cannot hold


def write(path: Path, text: str, encoding="utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def train(tmp_path, csv_path, **kw):
    base = dict(data=str(csv_path), loss="cross_entropy", N=8, steps=3, H="[4]", bias="true", init="default",
                lr=0.05, val_fraction=0, dtype="float64", mode="manual", name="edges")
    base.update(kw)
    cfg = resolve_data(load_config(None, [f"{k}={v}" for k, v in base.items()]))[0]
    run = create_run(cfg, tmp_path / "runs")
    fit(cfg, run)
    return run


# ------------------------------------------------------------------ labels: exact, one mapping per run
def test_integer_labels_above_2_to_the_53_stay_distinct():
    y, classes = encode_labels([str(BIG + 1), str(BIG), str(BIG + 1), "1"], "t")
    assert classes == ["1", str(BIG), str(BIG + 1)] and y.tolist() == [2, 1, 2, 0]
    assert float(BIG + 1) == float(BIG)  # the reason: through float they would be one class


@pytest.mark.parametrize("text, value", [("7", 7), ("+7", 7), ("7.0", 7), ("7e0", 7), ("-0", 0), (" 3 ", 3),
                                         (str(10**30), 10**30), ("1.5", None), ("nan", None), ("inf", None),
                                         ("1_000", None), ("0x10", None), ("1e9999", None), ("", None)])
def test_integer_label_is_exact_decimal(text, value):
    assert integer_label(text) == value


def test_integer_labels_are_sorted_numerically_and_merge_spellings():
    assert encode_labels(["10", "9", "1.0", "1"], "t") == (pytest.approx([2, 1, 0, 0]), ["1", "9", "10"])
    assert encode_labels(["b", "10", "9"], "t")[1] == ["10", "9", "b"]  # mixed: text order, exact text


def test_the_class_limit_holds_for_integer_labels_too():
    with pytest.raises(DataError, match="over the limit"):
        encode_labels([str(i) for i in range(10_001)], "t")


def test_a_later_file_maps_to_the_run_classes_whatever_labels_it_holds():
    classes = ["1", "2", "10", str(BIG + 1)]
    assert class_indices(classes, ["10", "2.0", str(BIG + 1)], "f").tolist() == [2, 1, 3]
    assert class_indices(classes, ["10"], "f").tolist() == [2]  # a file holding one label: the same index
    with pytest.raises(DataError, match=f"label '{BIG}' is not one of the run's classes"):
        class_indices(classes, [str(BIG)], "f")
    assert class_indices(["a", "b"], ["b"], "f").tolist() == [1]
    with pytest.raises(DataError, match="label '1' is not"):
        class_indices(["1.0x", "b"], ["1"], "f")


def big_label_csv(tmp_path):
    rows = ["a,b,label"] + [f"{i % 3},{(i * 7) % 5},{BIG + i % 2}" for i in range(12)]
    return write(tmp_path / "big.csv", "\n".join(rows) + "\n")


def test_a_run_keeps_big_integer_classes_apart_end_to_end(tmp_path):
    run = train(tmp_path, big_label_csv(tmp_path))
    meta = np.load(run.data_path)
    assert meta["classes"].tolist() == [str(BIG), str(BIG + 1)]
    one = write(tmp_path / "one.csv", f"b,label,a\n1,{BIG + 1},2\n")  # other column order, one label only
    r = json.loads(invoke("evaluate", run.path, "--data", one, "--json").stdout)
    assert r["rows"] == 1
    out = tmp_path / "p.npy"
    assert invoke("predict", run.path, "--input", one, "--output", out).exit_code == 0
    assert np.load(out).dtype == np.int64 and int(np.load(out)[0]) in (BIG, BIG + 1)


def test_evaluate_reads_features_by_name_like_predict(tmp_path):
    src = tmp_path / "t.csv"
    rng = np.random.default_rng(1)
    x = rng.standard_normal((20, 3))
    lab = np.where(x[:, 0] > 0, "pos", "neg")
    write(src, "f1,f2,f3,kind\n" + "".join(f"{a!r},{b!r},{c!r},{k}\n" for (a, b, c), k in zip(x.tolist(), lab)))
    run = train(tmp_path, src)
    r = invoke("evaluate", run.path, "--data", src, "--json")
    assert r.exit_code == 0, r.output
    same = json.loads(r.stdout)
    shuffled = write(tmp_path / "s.csv", "kind,f3,extra,f1,f2\n" + "".join(
        f"{k},{c!r},9,{a!r},{b!r}\n" for (a, b, c), k in zip(x.tolist(), lab)))
    r = invoke("evaluate", run.path, "--data", shuffled, "--json")
    assert r.exit_code == 0, r.output
    moved = json.loads(r.stdout)
    assert (moved["loss"], moved["accuracy"]) == (same["loss"], same["accuracy"])
    # a file with one class only: mapped to the run's index for it, so the loss is the rows' own loss
    pos = [i for i, k in enumerate(lab) if k == "pos"]
    only = write(tmp_path / "pos.csv", "f1,f2,f3,kind\n" + "".join(f"{a!r},{b!r},{c!r},pos\n"
                                                                    for a, b, c in x[pos].tolist()))
    pos_eval = json.loads(invoke("evaluate", run.path, "--data", only, "--json").stdout)
    preds = tmp_path / "pos_pred.csv"
    assert invoke("predict", run.path, "--input", only, "--output", preds).exit_code == 0
    got = [row["kind"] for row in csv.DictReader(preds.open())]
    assert pos_eval["accuracy"] == pytest.approx(np.mean([g == "pos" for g in got]))
    r = invoke("evaluate", run.path, "--data", write(tmp_path / "m.csv", "f1,f2,kind\n1,2,pos\n"))
    assert r.exit_code == 2 and "lacks the column 'f3'" in r.stderr


# ------------------------------------------------------------------ CSV read as csv reads it
CORPUS = {
    "quoted.csv": ('a,"b, c",y\n1,"2",3\n4,5,"6"\n', ["a", "b, c", "y"], [[1, 2, 3], [4, 5, 6]]),
    "bom.csv": ("\ufeffa,b,y\n1,2,3\n", ["a", "b", "y"], [[1, 2, 3]]),
    "crlf.csv": ("a,b,y\r\n1,2,3\r\n4,5,6\r\n", ["a", "b", "y"], [[1, 2, 3], [4, 5, 6]]),
    "cr_in_quotes.csv": ('a,"b\r\nx",y\r\n1,2,3\r\n', ["a", "b\r\nx", "y"], [[1, 2, 3]]),
    "padded.csv": (" a , b ,y\n 1 , 2 ,3\n", ["a", "b", "y"], [[1, 2, 3]]),
    "trailing_blank.csv": ("a,b,y\n1,2,3\n\n\n", ["a", "b", "y"], [[1, 2, 3]]),
    "leading_blank.csv": ("\n\na,b,y\n1,2,3\n", ["a", "b", "y"], [[1, 2, 3]]),
    "no_final_newline.csv": ("a,b,y\n1,2,3", ["a", "b", "y"], [[1, 2, 3]]),
    "escaped_quote.csv": ('"a""q",b,y\n1,2,3\n', ['a"q', "b", "y"], [[1, 2, 3]]),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_csv_corpus_reads_as_the_csv_module(tmp_path, name):
    text, header, values = CORPUS[name]
    ds = read_csv(write(tmp_path / name, text))
    assert ds.feature_names + ds.target_names == header
    assert np.hstack([ds.x, ds.y]).tolist() == values
    expected = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")) if any(c.strip() for c in r)]
    assert [c.strip() for c in expected[0]] == header and len(expected) - 1 == len(values)


@pytest.mark.parametrize("text, needle", [
    ("a,a,y\n1,2,3\n", ":1: the column name 'a' appears twice"),
    ("a, a ,y\n1,2,3\n", "the column name 'a' appears twice"),
    ("a,,y\n1,2,3\n", ":1:2: column 2 has no name"),
    ("a,b,y\n1,2,3\n\n4,5,6\n", ":3: an empty row between data rows"),
    ("a,b,y\n1,2,3\n,,\n4,5,6\n", ":3: an empty row between data rows"),
    ("a,b,y\n1,2,3\n4,5\n", ":3: 2 fields, expected 3"),
    ('a,b,y\n1,"2,3\n', ":2: 2 fields, expected 3"),  # an unclosed quote runs to the end, as in csv
])
def test_bad_csv_files_name_file_and_line(tmp_path, text, needle):
    with pytest.raises(DataError, match=None) as err:
        read_csv(write(tmp_path / "bad.csv", text))
    assert needle in str(err.value) and "bad.csv" in str(err.value)


def test_duplicate_column_check_is_linear(tmp_path):
    import time
    header = ",".join(f"c{i}" for i in range(60_000))
    path = write(tmp_path / "wide.csv", header + "\n" + ",".join("1" for _ in range(60_000)) + "\n")
    t = time.process_time()
    table = read_table(path)
    assert len(table.header) == 60_000 and time.process_time() - t < 30  # quadratic: ~30 min


def test_predict_quotes_labels_and_never_drops_a_row(tmp_path):
    rows = "a,b,kind\n" + "".join(f"{i % 4},{i % 3},\"x, {i % 2}\"\n" for i in range(16))
    run = train(tmp_path, write(tmp_path / "comma.csv", rows))
    out = tmp_path / "p.csv"
    assert invoke("predict", run.path, "--input", tmp_path / "comma.csv", "--output", out).exit_code == 0
    got = list(csv.reader(out.open(newline="")))
    assert got[0] == ["kind", "p_x, 0", "p_x, 1"] and len(got) == 17
    assert all(len(r) == 3 and r[0] in ("x, 0", "x, 1") for r in got[1:])
    gap = write(tmp_path / "gap.csv", "a,b\n1,2\n\n3,4\n")
    r = invoke("predict", run.path, "--input", gap, "--output", tmp_path / "g.csv")
    assert r.exit_code == 2 and "gap.csv:3: an empty row between data rows" in r.stderr
    assert not (tmp_path / "g.csv").exists()


# ------------------------------------------------------------------ resume: refused writes nothing; times add up
def small_run(tmp_path, steps=3, on_step=None):
    src = big_label_csv(tmp_path)
    cfg = resolve_data(load_config(None, [f"data={src}", "loss=cross_entropy", "N=4", f"steps={steps}", "H=[4]",
                                          "val_fraction=0", "dtype=float64", "mode=manual"]))[0]
    run = create_run(cfg, tmp_path / "runs")
    return run, fit(cfg, run, on_step=on_step)


def test_a_refused_resume_while_the_run_is_in_use_writes_nothing(tmp_path):
    run, _ = small_run(tmp_path)
    before = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    with run.lock():
        r = invoke("fit", "--resume", run.path, "--set", "steps=6")
        assert r.exit_code != 0 and "in use" in r.output.lower() or "lock" in r.output.lower(), r.output
    after = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    assert after == before
    r = invoke("fit", "--resume", run.path, "--set", "steps=6", "-q")  # free again: the extension is made
    assert r.exit_code == 0, r.output
    assert "steps: 6" in (run.path / "config.yaml").read_text()


def test_an_extended_run_counts_the_time_of_every_segment(tmp_path):
    import time as _time
    from autotrain.training.train import resume_config
    run, first = small_run(tmp_path, on_step=lambda t, loss: _time.sleep(0.05))
    assert first.wall_time_s >= 0.15
    extended = fit(resume_config(run, None, ["steps=6"]), run)
    assert extended.status == "completed" and extended.step == 6
    assert extended.wall_time_s >= 0.15  # the first segment slept 0.15 s; the second alone takes a few ms
    assert extended.steps_per_s == pytest.approx(6 / extended.wall_time_s)


# ------------------------------------------------------------------ numpy files: no traceback, limits first
def npy_bytes(array) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)
    return buf.getvalue()


def forged_npy(shape, dtype="<f8") -> bytes:
    """A valid .npy header declaring ``shape`` with only 8 bytes of data behind it."""
    header = repr({"descr": dtype, "fortran_order": False, "shape": shape}).encode()
    header += b" " * (-(10 + len(header) + 1) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + b"\0" * 8


def npz(path, **members) -> Path:
    import zipfile
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)
    return path


GOOD_X, GOOD_Y = npy_bytes(np.ones((4, 2))), npy_bytes(np.arange(4.0))


@pytest.mark.parametrize("members, needle", [
    (dict(x=npy_bytes(np.array([{"a": 1}] * 4, dtype=object)), y=GOOD_Y), "Python objects"),
    (dict(x=npy_bytes(np.zeros(4, dtype=[("a", "f8"), ("b", "f8")])), y=GOOD_Y), "structured"),
    (dict(x=forged_npy((10**6, 10**6)), y=GOOD_Y), "more than the file holds"),
    (dict(x=forged_npy((2**62, 8)), y=GOOD_Y), "more than the file holds"),
    (dict(x=b"\x93NUMPY\x01\x00\x04\x00{}\n\n", y=GOOD_Y), "not a readable numpy array"),
    (dict(x=b"not numpy at all", y=GOOD_Y), "not a readable numpy array"),
    (dict(x=npy_bytes(np.ones((4, 2), complex)), y=GOOD_Y), "expected finite numbers"),
    (dict(x=npy_bytes(np.array([["a", "b"]] * 4)), y=GOOD_Y), "expected finite numbers"),
    (dict(x=GOOD_X), "no array 'y'"),
])
def test_bad_npz_members_are_refused_cleanly(tmp_path, members, needle):
    from autotrain.training.data import read_arrays
    with pytest.raises(DataError) as err:
        read_arrays(npz(tmp_path / "d.npz", **members))
    assert needle in str(err.value)


def test_truncated_and_foreign_archives_are_refused(tmp_path):
    from autotrain.training.data import load_npy, read_arrays
    whole = npz(tmp_path / "d.npz", x=GOOD_X, y=GOOD_Y).read_bytes()
    for cut in (10, len(whole) // 2, len(whole) - 5):
        (tmp_path / "t.npz").write_bytes(whole[:cut])
        with pytest.raises(DataError, match="t.npz"):
            read_arrays(tmp_path / "t.npz")
    (tmp_path / "f.npy").write_bytes(forged_npy((10**9,)))
    with pytest.raises(DataError, match="more than the file holds"):
        load_npy(tmp_path / "f.npy")
    (tmp_path / "o.npy").write_bytes(npy_bytes(np.array([None, 1], dtype=object)))
    with pytest.raises(DataError, match="Python objects"):
        load_npy(tmp_path / "o.npy")


def test_a_damaged_run_data_npz_or_deep_summary_gives_a_clean_error(tmp_path):
    run, _ = small_run(tmp_path)
    (run.path / "summary.json").write_text("[" * 100_000 + "]" * 100_000)
    r = invoke("evaluate", run.path, "--checkpoint", "best")
    assert r.exit_code == 2 and "Traceback" not in r.output
    npz(run.data_path, x=npy_bytes(np.array([1, None], dtype=object)), y=GOOD_Y)
    for args in (("evaluate", run.path), ("fit", "--resume", run.path, "--set", "steps=9")):
        r = invoke(*args)
        assert r.exit_code == 2 and "Python objects" in r.output and "Traceback" not in r.output, r.output
    npz(run.data_path, x=GOOD_X, y=GOOD_Y, feature_names=npy_bytes(np.array(["a"])))
    r = invoke("evaluate", run.path)
    assert r.exit_code == 2 and "feature_names" in r.output


def test_deep_json_is_a_value_error():
    from autotrain.training.data import loads_json
    with pytest.raises(ValueError, match="nested deeper"):
        loads_json("[" * 10_000 + "]" * 10_000)
    assert loads_json('{"a": [[1]]}') == {"a": [[1]]}


# ------------------------------------------------------------------ one path rule
def test_one_path_rule_for_every_way_a_data_path_is_given(tmp_path, monkeypatch):
    from autotrain.training.data import resolve_data_path
    conf, work = tmp_path / "conf", tmp_path / "work"
    conf.mkdir(), work.mkdir()
    big_label_csv(conf), big_label_csv(work)
    (conf / "c.yaml").write_text("data: big.csv\nloss: cross_entropy\nsteps: 1\nH: [3]\nval_fraction: 0\nN: 4\n")
    monkeypatch.chdir(work)
    assert load_config(conf / "c.yaml").data == str(conf / "big.csv")  # from the file: the file's folder
    assert load_config(conf / "c.yaml", ["data=big.csv"]).data == str(work / "big.csv")  # --set: the cwd
    assert resolve_data_path("big.csv", conf) == str(conf / "big.csv")
    assert resolve_data_path("big.csv", None) == str(work / "big.csv")
    assert resolve_data_path(["a.npy", "b.npy"], None) == [str(work / "a.npy"), str(work / "b.npy")]
    assert resolve_data_path("synthetic", conf) == "synthetic"
    assert resolve_data_path(str(conf / "big.csv"), work) == str(conf / "big.csv")
    # fit --resume --set data=FILE names the cwd's file (and is refused: another data file is another run)
    r = invoke("fit", conf / "c.yaml", "--runs-dir", work / "runs", "-q")
    assert r.exit_code == 0, r.output
    [run] = list((work / "runs").iterdir())
    assert f'data: "{conf / "big.csv"}"' in (run / "config.yaml").read_text()
    r = invoke("fit", "--resume", run, "--set", "data=big.csv")
    assert r.exit_code == 2 and str(work / "big.csv") in r.output.replace("\n", "")


# ------------------------------------------------------------------ extended / interrupted == uninterrupted
def val_run(tmp_path, root, steps, name="ext", **kw):
    src = tmp_path / "v.csv"
    if not src.exists():
        rng = np.random.default_rng(3)
        x = rng.standard_normal((40, 3))
        lab = np.where(x[:, 0] + 0.3 * x[:, 1] > 0, "a", "b")
        write(src, "f1,f2,f3,k\n" + "".join(f"{p!r},{q!r},{r!r},{k}\n" for (p, q, r), k in zip(x.tolist(), lab)))
    base = dict(data=str(src), loss="cross_entropy", steps=steps, H="[5]", lr=0.5, optimizer="adam", bias="true",
                init="default", val_fraction=0.25, dtype="float64", mode="manual", log_every=5,
                checkpoint_every=10, keep_checkpoints=3, name=name, N="null")
    base.update(kw)
    cfg = resolve_data(load_config(None, [f"{k}={v}" for k, v in base.items()]))[0]
    return cfg, create_run(cfg, tmp_path / root)


def files_of(run):
    """Every file a run writes, as an uninterrupted run would: metrics without times, checkpoints' weights."""
    ckpts = {}
    for step, path in run.checkpoints():
        with np.load(path) as z:
            ckpts[step] = {k: z[k].tolist() for k in z.files if k.startswith("state")}
    metrics = [{k: v for k, v in r.items() if k != "elapsed_s"} for r in run.read_metrics().rows()]
    summary = {k: v for k, v in json.loads(run.summary_path.read_text()).items()
               if k not in ("run_dir", "wall_time_s", "steps_per_s", "resumed_from", "notes")}
    return metrics, ckpts, summary


@pytest.mark.parametrize("short", [13, 17, 20])
def test_an_extended_run_equals_an_uninterrupted_one(tmp_path, short):
    from autotrain.training.train import resume_config
    cfg, run = val_run(tmp_path, "ext", short)
    fit(cfg, run)
    for longer in (26, 41):
        extended = fit(resume_config(run, None, [f"steps={longer}"]), run)
        cfg2, straight = val_run(tmp_path, f"straight{longer}", longer)
        fit(cfg2, straight)
        assert extended.status == "completed"
        assert files_of(run) == files_of(straight)


def test_extension_replays_from_before_a_best_the_short_run_never_saved(tmp_path):
    from autotrain.training.train import resume_config
    cfg, run = val_run(tmp_path, "ext", 13, lr=0.05)
    fit(cfg, run)
    rows = run.read_metrics().rows()
    assert rows[-1]["step"] == 12 and min(r["val_loss"] for r in rows) == rows[-1]["val_loss"]  # best: the last
    extended = fit(resume_config(run, None, ["steps=30"]), run)
    cfg2, straight = val_run(tmp_path, "straight", 30, lr=0.05)
    fit(cfg2, straight)
    assert extended.resumed_from == 10  # the best of the longer plan's rows (step 11) needs a replay from 10
    assert files_of(run) == files_of(straight)


def test_an_interrupted_then_resumed_run_equals_an_uninterrupted_one(tmp_path):
    import os
    import signal

    cfg, run = val_run(tmp_path, "int", 37)
    sent = []

    def interrupt(t, loss):
        if t == 16 and not sent:
            sent.append(t)
            os.kill(os.getpid(), signal.SIGINT)

    first = fit(cfg, run, on_step=interrupt)
    assert first.status == "interrupted" and first.step == 17 and run.checkpoint_path(17).is_file()
    done = fit(run.read_config(), run)
    cfg2, straight = val_run(tmp_path, "straight", 37)
    fit(cfg2, straight)
    assert done.status == "completed" and done.resumed_from == 17
    assert files_of(run) == files_of(straight)  # the signal's checkpoint 17 is gone once the run passed it
