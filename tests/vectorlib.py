"""Shared machinery of the PyTorch/TF test vectors (issue 10's proof).

Used by ``tools/gen_vectors.py`` (which runs the corpus on real PyTorch / TF compat.v1 and stores the
results) and by ``tests/test_vectors.py`` / ``tests/test_programs.py`` (which run the same sources on
``autotrain.engine`` and compare).  Nothing here imports torch or tensorflow at module level.

* :func:`record` turns whatever a program returned (tensors, numbers, dtypes, shapes, strings, errors,
  nested tuples) into a framework-neutral record: a JSON-able dict plus numpy arrays.
* :func:`compact` keeps large arrays small on disk (a fixed sample plus sums); the comparison applies
  the same compaction to the engine's result, so nothing is lost but bulk.
* :func:`compare` lists every difference between an expected and an actual record.
* :func:`contract_rng` makes real PyTorch draw its random numbers exactly as the engine does
  (the engine's RNG rule, in the README), so random programs agree number for number.
* :func:`port` / :func:`run_source` run a tutorial program file under either framework.
"""
from __future__ import annotations

import contextlib
import io
import math
import re
import types
from pathlib import Path

import numpy as np

TESTS = Path(__file__).resolve().parent
VECTORS = TESTS / "vectors"
PROGRAMS = TESTS / "programs"

#: arrays with more entries than this are stored as a sample plus sums (see :func:`compact`)
FULL_LIMIT = 256
SAMPLE = 128

#: default relative tolerance per dtype (float64 is issue 10's 1e-9)
RTOL = {"float64": 1e-9, "float32": 1e-5, "float16": 2e-3}


# ----------------------------------------------------------------------------- records
def dtype_name(dtype) -> str:
    """'float32', 'int64', 'bool' ... for a torch dtype, a numpy dtype or a numpy scalar type."""
    text = str(dtype)
    if text.startswith("torch."):
        return text[len("torch."):]
    if text.startswith("<dtype: '"):  # tf.DType
        return text[len("<dtype: '"):-2]
    return np.dtype(dtype).name


def _is_tensor(value) -> bool:
    kind = type(value)
    return kind.__name__ in ("Tensor", "Parameter") and hasattr(value, "detach") and hasattr(value, "shape")


def _is_dtype(value) -> bool:
    """A torch.dtype, tf.DType, numpy dtype or numpy scalar type."""
    if isinstance(value, np.dtype):
        return True
    if isinstance(value, type):
        return issubclass(value, np.generic)
    return type(value).__name__ in ("dtype", "DType")


def tensor_array(value) -> np.ndarray:
    """The values of a torch or engine tensor as a (copied) numpy array."""
    value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    try:
        return np.array(value.numpy(), copy=True)
    except TypeError:  # an engine 0-d result holding a numpy scalar; corpus case zero_dim_numpy checks .numpy()
        return np.array(np.asarray(value), copy=True)


def record(value):
    """A framework-neutral description of ``value``: ``(meta, arrays)`` where meta is JSON-able."""
    arrays: dict[str, np.ndarray] = {}
    meta = _record(value, arrays, "")
    return meta, arrays


def _record(value, arrays, path):
    if value is None:
        return {"kind": "none"}
    if _is_tensor(value):
        array = tensor_array(value)
        arrays[path] = array
        return {"kind": "tensor", "dtype": dtype_name(value.dtype), "shape": list(array.shape),
                "requires_grad": bool(value.requires_grad)}
    if isinstance(value, np.ndarray):
        arrays[path] = np.array(value, copy=True)
        return {"kind": "ndarray", "dtype": value.dtype.name, "shape": list(value.shape)}
    if _is_dtype(value):
        return {"kind": "dtype", "value": dtype_name(value)}
    if isinstance(value, (bool, int, float, np.generic)):
        item = value.item() if isinstance(value, np.generic) else value
        if isinstance(item, float) and not math.isfinite(item):
            item = repr(item)
        return {"kind": "number", "type": type(value).__name__, "value": item}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    if isinstance(value, (tuple, list)):
        return {"kind": "seq", "items": [_record(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]}
    raise TypeError(f"cannot record a {type(value).__name__} ({value!r}) as a test-vector output")


def raises(call, phrase: str) -> str:
    """``'<Error class>: <phrase>'`` when ``call()`` raises with ``phrase`` in its message.

    The class is the nearest built-in one (an engine subclass of RuntimeError still reads
    'RuntimeError'); a message without the phrase is returned as is, so a comparison shows it.
    """
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - recording which error a framework raises is the point
        cls = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        message = str(exc)
        said = phrase if phrase.lower() in message.lower() else message[:160]
        return f"{cls.__name__}: {said}"
    return "no error"


# ----------------------------------------------------------------------------- compaction
def _sample_index(size: int) -> np.ndarray:
    return np.unique(np.linspace(0, size - 1, SAMPLE).astype(np.int64))


def compact(array: np.ndarray) -> dict[str, np.ndarray]:
    """``{"": array}`` when small; else a fixed sample of its entries and its sums (as float64)."""
    if array.size <= FULL_LIMIT:
        return {"": array}
    flat = array.reshape(-1)
    out = {"#sample": flat[_sample_index(flat.size)]}
    if array.dtype.kind in "fiub":
        wide = flat.astype(np.float64)
        out["#sum"] = np.array(wide.sum())
        out["#abssum"] = np.array(np.abs(wide).sum())
        if array.ndim >= 2:
            out["#sum0"] = array.astype(np.float64).sum(axis=0).reshape(-1)[:SAMPLE]
    return out


# ----------------------------------------------------------------------------- comparison
def _close(expected: np.ndarray, actual: np.ndarray, rtol: float, atol: float = 0.0) -> str | None:
    """None when close: |a - e| <= rtol * (|e| + max|e|) + atol, NaN/inf in the same places."""
    e, a = np.asarray(expected, dtype=np.float64), np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape:
        return f"shape {a.shape} != expected {e.shape}"
    bad_nan = np.isnan(e) != np.isnan(a)
    finite = np.isfinite(e) & np.isfinite(a)
    bad_inf = ~finite & ~np.isnan(e) & (e != a)
    scale = np.max(np.abs(e[finite])) if finite.any() else 0.0
    err = np.abs(a - e)
    tol = rtol * (np.abs(e) + scale) + atol
    bad = bad_nan | bad_inf | (finite & (err > tol))
    if not bad.any():
        return None
    i = int(np.flatnonzero(bad.reshape(-1))[0])
    rel = np.max(np.where(finite, err / np.maximum(np.abs(e) + scale, 1e-300), 0))
    return (f"{int(bad.sum())} of {e.size} entries differ (first at flat index {i}: "
            f"{a.reshape(-1)[i]!r} vs expected {e.reshape(-1)[i]!r}; worst relative error {rel:.3g} > {rtol:g})")


#: below these magnitudes a float is rounding noise of O(1) quantities (e.g. the Legendre program's
#: a and c, exactly 0 in exact arithmetic, end near 1e-17 in any float64 run)
ATOL_FLOOR = {"float64": 1e-14, "float32": 1e-6, "float16": 1e-3}


def rtol_for(dtype: str, rtol: float | None) -> float:
    """The tolerance for one array: 0 (exact) for ints and bools; a case may loosen a float dtype's."""
    base = RTOL.get(dtype, 0.0)
    if base == 0.0 or rtol is None:
        return base
    return rtol if dtype == "float64" else max(rtol, base)


def compare(expected_meta, expected_arrays, actual_meta, actual_arrays, rtol=None, path="") -> list[str]:
    """Every difference between two records (``[]`` when they agree)."""
    where = path or "value"
    e, a = expected_meta, actual_meta
    if e["kind"] != a["kind"] and {e["kind"], a["kind"]} != {"tensor", "ndarray"}:
        return [f"{where}: {_describe(a)} where PyTorch gives {_describe(e)}"]
    if e["kind"] == "seq":
        if len(e["items"]) != len(a["items"]):
            return [f"{where}: {len(a['items'])} items, expected {len(e['items'])}"]
        out = []
        for i, (ei, ai) in enumerate(zip(e["items"], a["items"])):
            out += compare(ei, expected_arrays, ai, actual_arrays, rtol, f"{path}[{i}]")
        return out
    if e["kind"] in ("tensor", "ndarray"):
        problems = []
        for key in ("kind", "dtype", "shape", "requires_grad"):
            if e.get(key) != a.get(key):
                problems.append(f"{where}: {key} {a.get(key)} != expected {e.get(key)}")
        if any(p.split(": ")[1].startswith("shape") for p in problems):
            return problems
        got = compact(actual_arrays[path])
        tol = rtol_for(e["dtype"], rtol)
        for suffix, want in _stored(expected_arrays, path).items():
            if suffix not in got:
                problems.append(f"{where}{suffix}: missing")
                continue
            if tol == 0.0 and suffix in ("", "#sample"):
                if not np.array_equal(np.asarray(want), np.asarray(got[suffix])):
                    problems.append(f"{where}{suffix}: {np.asarray(got[suffix]).tolist()!s:.200} "
                                    f"!= expected {np.asarray(want).tolist()!s:.200}")
                continue
            floor = ATOL_FLOOR.get(e["dtype"], 0.0)
            if suffix in ("#sum", "#sum0"):
                # a sum can cancel to ~0: its tolerance is relative to the sum of magnitudes
                floor += (tol or 1e-12) * float(np.asarray(_stored(expected_arrays, path).get("#abssum", 0.0)))
            msg = _close(want, got[suffix], tol if tol else 1e-12, floor)
            if msg:
                problems.append(f"{where}{suffix}: {msg}")
        return problems
    if e["kind"] == "number":
        if e["type"] != a["type"]:
            return [f"{where}: Python {a['type']} {a['value']!r}, expected {e['type']} {e['value']!r}"]
        ev, av = e["value"], a["value"]
        if isinstance(ev, str) or isinstance(av, str) or e["type"] in ("int", "bool"):
            return [] if ev == av else [f"{where}: {av!r} != expected {ev!r}"]
        msg = _close(np.array(ev), np.array(av), rtol if rtol is not None else RTOL["float64"], ATOL_FLOOR["float64"])
        return [f"{where}: {msg}"] if msg else []
    if e.get("value") != a.get("value"):
        return [f"{where}: {a.get('value')!r} != expected {e.get('value')!r}"]
    return []


def _describe(meta) -> str:
    if meta["kind"] in ("tensor", "ndarray"):
        return f"a {meta['kind']} {meta['dtype']}{tuple(meta['shape'])}"
    if meta["kind"] in ("number", "str", "dtype"):
        return f"{meta['kind']} {meta['value']!r}"
    return meta["kind"]


def _stored(arrays: dict, path: str) -> dict:
    """The stored parts of one array: {suffix: array} ('' when stored whole)."""
    return {k[len(path):]: v for k, v in arrays.items()
            if k == path or (k.startswith(path + "#") and "[" not in k[len(path):])}


def compact_record(meta, arrays) -> dict[str, np.ndarray]:
    """The arrays of a record, compacted for storage."""
    out = {}
    for path, array in arrays.items():
        for suffix, part in compact(array).items():
            out[path + suffix] = part
    return out


def compare_outputs(expected: dict, stored: dict, actual: dict, rtol=None) -> list[str]:
    """Compare a program's named outputs: ``expected`` {name: meta}, ``stored`` {key: array}."""
    problems = []
    if "error" in actual and "error" not in expected:
        return [f"the program raised {actual['error'][0]['value']}"]
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        problems.append(f"outputs missing: {missing}")
    if extra:
        problems.append(f"unexpected outputs: {extra}")
    for name in sorted(set(expected) & set(actual)):
        e_meta = expected[name]
        a_meta, a_arrays = actual[name]
        prefix = f"{name}"
        e_arrays = {k[len(prefix) + 1:]: v for k, v in stored.items() if k.startswith(prefix + "/")}
        # re-key so paths inside the output start at ""
        problems += [f"{name}: {p}" for p in compare(e_meta, e_arrays, a_meta, a_arrays, rtol)]
    return problems


def record_outputs(outputs: dict) -> dict[str, tuple]:
    """{name: (meta, arrays)} for a program's returned dict."""
    if not isinstance(outputs, dict):
        raise TypeError(f"a corpus program returns a dict of named outputs, not {type(outputs).__name__}")
    return {str(name): record(value) for name, value in outputs.items()}


def run_recorded(program, module) -> dict[str, tuple]:
    """Run ``program(module)``; an exception escaping it is recorded as the single output 'error'."""
    try:
        outputs = program(module)
    except Exception as exc:  # noqa: BLE001 - an engine crash is a result to compare, not a harness failure
        cls = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        return {"error": record(f"{cls.__name__}: {str(exc)[:200]}")}
    return record_outputs(outputs)


# ----------------------------------------------------------------------------- RNG contract for torch
def _size(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)) or len(size) == 1 and type(size[0]).__name__ == "Size":
        return tuple(size[0])
    return tuple(size)


@contextlib.contextmanager
def contract_rng(torch):
    """Real PyTorch drawing its random numbers the engine's way (README: "Proof against PyTorch and TF").

    ``manual_seed(s)`` rebinds a ``numpy.random.default_rng(s)``; ``randn``/``rand``/``randint``,
    ``Tensor.uniform_``/``normal_`` (hence ``nn.init``) and ``nn.Linear``'s initialisation draw from it
    in float64 and cast.  Everything is restored on exit.
    """
    state = {"rng": np.random.default_rng()}
    nn = torch.nn
    saved = {"manual_seed": torch.manual_seed, "randn": torch.randn, "rand": torch.rand, "randint": torch.randint}
    saved_methods = {"uniform_": torch.Tensor.uniform_, "normal_": torch.Tensor.normal_}
    saved_reset = nn.Linear.reset_parameters

    def manual_seed(seed):
        state["rng"] = np.random.default_rng(int(seed))
        return saved["manual_seed"](seed)

    def _make(array, dtype, requires_grad, default):
        t = torch.tensor(np.asarray(array), dtype=dtype or default)
        return t.requires_grad_(True) if requires_grad else t

    def randn(*size, dtype=None, device=None, requires_grad=False, **_):
        return _make(state["rng"].standard_normal(_size(size)), dtype, requires_grad, torch.get_default_dtype())

    def rand(*size, dtype=None, device=None, requires_grad=False, **_):
        return _make(state["rng"].random(_size(size)), dtype, requires_grad, torch.get_default_dtype())

    def randint(*args, size=None, dtype=None, device=None, requires_grad=False, **_):
        args = list(args)
        if size is None:
            size = args.pop()
        low, high = (0, args[0]) if len(args) == 1 else (args[0], args[1])
        return _make(state["rng"].integers(low, high, tuple(size)), dtype, requires_grad, torch.int64)

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        with torch.no_grad():
            return self.copy_(torch.from_numpy(state["rng"].uniform(a, b, tuple(self.shape))))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        with torch.no_grad():
            return self.copy_(torch.from_numpy(state["rng"].normal(mean, std, tuple(self.shape))))

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in_features)
        with torch.no_grad():
            self.weight.copy_(torch.from_numpy(state["rng"].uniform(-bound, bound, tuple(self.weight.shape))))
            if self.bias is not None:
                self.bias.copy_(torch.from_numpy(state["rng"].uniform(-bound, bound, tuple(self.bias.shape))))

    patched = {"manual_seed": manual_seed, "randn": randn, "rand": rand, "randint": randint}
    try:
        for name, fn in patched.items():
            setattr(torch, name, fn)
        torch.Tensor.uniform_, torch.Tensor.normal_ = uniform_, normal_
        nn.Linear.reset_parameters = reset_parameters
        yield state
    finally:
        for name, fn in saved.items():
            setattr(torch, name, fn)
        for name, fn in saved_methods.items():
            setattr(torch.Tensor, name, fn)
        nn.Linear.reset_parameters = saved_reset


@contextlib.contextmanager
def default_dtype(torch, dtype_name_: str):
    """``torch.set_default_dtype`` for the duration (engine or torch), restored after."""
    before = torch.get_default_dtype() if hasattr(torch, "get_default_dtype") else None
    torch.set_default_dtype(getattr(torch, dtype_name_))
    try:
        yield
    finally:
        if before is not None:
            torch.set_default_dtype(before)


# ----------------------------------------------------------------------------- tutorial programs
SEED = 0
_STEPS = re.compile(r"^(\s*for \w+ in range\()(\d+)(\):)", re.M)
TORCH_IMPORT = "import torch\n"
TF_IMPORT = "import tensorflow as tf\n"


def port(source: str, framework: str, steps: int | None) -> str:
    """The program text the harness runs (documented in tests/programs/README.md).

    Changes, and nothing else: the framework import line (engine runs only; TF reference runs import
    ``tensorflow.compat.v1``); seeding (``random.seed(0)``, ``np.random.seed(0)``) right after the
    framework import (importing TensorFlow draws from numpy's global generator), or at the top of a
    numpy program; ``torch.set_default_dtype(torch.float64); torch.manual_seed(0)`` after the torch
    import; ``torch.float`` → ``torch.float64`` and ``tf.float32`` → ``tf.float64`` (float64
    comparisons); the training loop's ``range(N)`` → ``range(min(N, steps))``.
    """
    text = source
    prelude = "import random as _r\nimport numpy as _np\n"
    seeding = f"_r.seed({SEED}); _np.random.seed({SEED})"
    if TORCH_IMPORT in text:
        line = "import autotrain.engine as torch\n" if framework == "engine" else TORCH_IMPORT
        text = text.replace(TORCH_IMPORT, line + f"torch.set_default_dtype(torch.float64); "
                                                 f"torch.manual_seed({SEED}); {seeding}\n", 1)
        text = re.sub(r"\btorch\.float\b(?!\d)", "torch.float64", text)
    elif TF_IMPORT in text:
        line = ("import autotrain.engine.static as tf\n" if framework == "engine"
                else "import tensorflow.compat.v1 as tf; tf.disable_eager_execution()\n")
        text = text.replace(TF_IMPORT, line + f"tf.reset_default_graph(); _tf_harness(tf); {seeding}\n", 1)
        text = text.replace("tf.float32", "tf.float64")
    else:
        prelude += seeding + "\n"
    if steps is not None:
        text = _STEPS.sub(lambda m: f"{m[1]}{min(int(m[2]), steps)}{m[3]}", text)
    return prelude + text


def tf_harness(tf):
    """TF programs under the harness: float64 defaults and contract-drawn ``random_normal``.

    TF has no ``set_default_dtype``: ``zeros``/``ones`` default to float64, and ``random_normal``
    becomes a constant drawn from ``numpy.random.default_rng(0)`` (float64 standard normal, scaled,
    shifted, cast), identical for TF and the engine.  The originals come back after the run.
    """
    rng = np.random.default_rng(SEED)
    originals = {name: getattr(tf, name) for name in ("zeros", "ones", "random_normal")}

    def zeros(shape, dtype=tf.float64, name=None):
        return originals["zeros"](shape, dtype=dtype, name=name)

    def ones(shape, dtype=tf.float64, name=None):
        return originals["ones"](shape, dtype=dtype, name=name)

    def random_normal(shape, mean=0.0, stddev=1.0, dtype=tf.float64, seed=None, name=None):
        values = rng.standard_normal(tuple(shape)) * stddev + mean
        return tf.constant(values.astype(dtype_name(dtype)), dtype=dtype)

    tf.zeros, tf.ones, tf.random_normal = zeros, ones, random_normal
    return originals


def run_source(text: str, module=None, tf_module=None) -> dict:
    """Execute a ported program; return its global namespace (stdout swallowed)."""
    patched = {}

    def harness(tf):
        patched["tf"] = tf
        patched["originals"] = tf_harness(tf)

    namespace = {"__name__": "__main__", "_tf_harness": harness}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(text, "<tutorial program>", "exec"), namespace)  # noqa: S102 - our own test programs
    finally:
        if "tf" in patched:
            for name, fn in patched["originals"].items():
                setattr(patched["tf"], name, fn)
        if "torch" in namespace and hasattr(namespace["torch"], "set_default_dtype"):
            torch = namespace["torch"]
            torch.set_default_dtype(torch.float32)
    return namespace


def program_outputs(namespace: dict) -> dict:
    """A finished program's state: its tensors, arrays and numbers, and each module's state_dict."""
    out = {}
    for name, value in namespace.items():
        if name.startswith("__") or isinstance(value, (type, types.ModuleType, bool)):
            continue
        if _is_tensor(value) or isinstance(value, (np.ndarray, float, int, np.generic)):
            out[name] = value
        elif hasattr(value, "state_dict") and hasattr(value, "parameters"):   # an nn.Module
            for key, tensor in value.state_dict().items():
                out[f"{name}.{key}"] = tensor
    return out


# ----------------------------------------------------------------------------- running cases and programs
#: the tutorial programs' reduced step counts (the harness's only change to their loops)
PROGRAM_STEPS = {"old": 20, "poly": 300}


def program_names() -> list[str]:
    return sorted(p.stem for p in PROGRAMS.glob("*.py"))


def program_kind(text: str) -> str:
    return "tf" if TF_IMPORT in text else "torch" if TORCH_IMPORT in text else "numpy"


def program_steps(name: str) -> int:
    return PROGRAM_STEPS[name.split("_")[0]]


def run_program(name: str, framework: str, torch=None) -> dict:
    """Run tests/programs/<name>.py under the harness on ``framework`` ('engine' or 'reference').

    The reference run of a torch program needs ``torch`` (real PyTorch); it runs under
    :func:`contract_rng`.  Returns {output: (meta, arrays)}.
    """
    text = (PROGRAMS / f"{name}.py").read_text(encoding="utf-8")
    ported = port(text, framework, program_steps(name))
    try:
        if framework != "engine" and program_kind(text) == "torch":
            with contract_rng(torch):
                namespace = run_source(ported)
        else:
            namespace = run_source(ported)
    except Exception as exc:  # noqa: BLE001 - a crash on the engine is the result under test
        if framework != "engine":
            raise
        cls = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        return {"error": record(f"{cls.__name__}: {str(exc)[:300]}")}
    outputs = program_outputs(namespace)
    # numpy scalars (TF's fetched losses, numpy programs) compare as 0-d arrays
    outputs = {k: np.asarray(v) if isinstance(v, np.generic) else v for k, v in outputs.items()}
    return record_outputs(outputs)


def run_case(case, module, torch_reference: bool = False) -> dict:
    """Run one corpus case on ``module``: seeded, under its default dtype; errors become records."""
    def body():
        if hasattr(module, "manual_seed"):
            module.manual_seed(case.seed)
        if case.default_dtype:
            with default_dtype(module, case.default_dtype):
                return run_recorded(case.fn, module)
        return run_recorded(case.fn, module)

    try:
        if torch_reference:
            with contract_rng(module):
                return body()
        return body()
    except Exception as exc:  # noqa: BLE001 - e.g. the engine lacks set_default_dtype
        if torch_reference:
            raise
        cls = next(c for c in type(exc).__mro__ if c.__module__ == "builtins")
        return {"error": record(f"{cls.__name__}: {str(exc)[:200]}")}


# ----------------------------------------------------------------------------- storage
INDEX = VECTORS / "index.json"
MANIFEST = VECTORS / "manifest.json"
SOURCES = ("corpus.py", "vectorlib.py")


def corpus_hash() -> str:
    """sha256 of everything that decides the vectors: corpus, harness and program files."""
    import hashlib
    digest = hashlib.sha256()
    files = [TESTS / s for s in SOURCES] + sorted(PROGRAMS.glob("*.py"))
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def save_vectors(results: dict[str, tuple[str, dict]], versions: dict) -> dict:
    """Write {case: (area, outputs)} as tests/vectors/<area>.npz + index.json + manifest.json."""
    import datetime
    import json
    VECTORS.mkdir(exist_ok=True)
    index, per_area = {}, {}
    for case_name, (area, outputs) in sorted(results.items()):
        index[case_name] = {"area": area, "outputs": {k: meta for k, (meta, _) in outputs.items()}}
        bucket = per_area.setdefault(area, {})
        for out_name, (meta, arrays) in outputs.items():
            for path, part in compact_record(meta, arrays).items():
                bucket[f"{case_name}::{out_name}/{path}"] = part
    for old in VECTORS.glob("*.npz"):
        old.unlink()
    for area, arrays in per_area.items():
        np.savez_compressed(VECTORS / f"{area}.npz", **arrays)
    INDEX.write_text(json.dumps(index, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    manifest = dict(versions, date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    corpus_sha256=corpus_hash(), cases={a: sum(1 for v in index.values() if v["area"] == a)
                                                        for a in sorted(per_area)})
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


_LOADED: dict = {}


def load_vectors() -> tuple[dict, dict[str, dict]]:
    """(index, {case: {output/path: array}}) from tests/vectors (cached)."""
    if not _LOADED:
        import json
        index = json.loads(INDEX.read_text(encoding="utf-8"))
        arrays: dict[str, dict] = {name: {} for name in index}
        for npz in sorted(VECTORS.glob("*.npz")):
            with np.load(npz, allow_pickle=False) as data:
                for key in data.files:
                    case_name, _, rest = key.partition("::")
                    arrays.setdefault(case_name, {})[rest] = data[key]
        _LOADED.update(index=index, arrays=arrays)
    return _LOADED["index"], _LOADED["arrays"]


def check_against_stored(case_name: str, actual: dict, rtol=None) -> list[str]:
    """Differences between ``actual`` outputs and the stored vectors of ``case_name``."""
    index, arrays = load_vectors()
    if case_name not in index:
        return [f"no stored vectors for {case_name!r}: run tools/gen_vectors.py"]
    expected = index[case_name]["outputs"]
    return compare_outputs(expected, arrays.get(case_name, {}), actual, rtol)


def compare_live(reference: dict, actual: dict, rtol=None) -> list[str]:
    """Differences between two freshly recorded output dicts (e.g. live PyTorch vs the engine)."""
    expected = {k: meta for k, (meta, _) in reference.items()}
    stored = {f"{k}/{path}": part for k, (meta, arrays) in reference.items()
              for path, part in compact_record(meta, arrays).items()}
    return compare_outputs(expected, stored, actual, rtol)


def single_blas_thread():
    """One BLAS thread while the tutorial-sized matmuls run (2 shared cores: threads only contend).

    Uses threadpoolctl when it is installed (it is not a dependency); otherwise changes nothing.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
