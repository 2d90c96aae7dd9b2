"""Generate the PyTorch / TensorFlow test vectors in tests/vectors/ (the proof against PyTorch and TF).

    python tools/gen_vectors.py            # everything: corpus (torch + TF compat.v1) and tutorial programs
    python tools/gen_vectors.py --check    # regenerate in memory and compare with the stored files

Runs every case of ``tests/corpus.py`` on real PyTorch (under ``vectorlib.contract_rng``, so random draws
are the engine's) and every ``static`` case on ``tensorflow.compat.v1`` in graph mode, plus every
tutorial program of ``tests/programs/`` under the harness of ``vectorlib.port``.  Needs torch and
tensorflow installed (they are oracles here, never dependencies of autotrain).  Writes
``tests/vectors/<area>.npz`` (compressed, no pickles), ``index.json`` (what each output is: kind,
dtype, shape, numbers, strings, error records) and ``manifest.json`` (versions, date, corpus hash).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import corpus  # noqa: E402
import vectorlib  # noqa: E402


def _need(module: str, package: str):
    try:
        return __import__(module)
    except ImportError:
        raise SystemExit(f"gen_vectors: {module} is not installed; the vectors come from the real framework: "
                         f"pip install {package}") from None


def load_torch():
    torch = _need("torch", "torch")
    torch.set_num_threads(1)  # one summation order, run after run
    return torch


def load_tf():
    tf = _need("tensorflow", "tensorflow-cpu")
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    return tf, tf1


def _check_clean(name: str, outputs: dict) -> None:
    """A reference run must not crash: an escaping exception is a corpus bug, not a vector."""
    if set(outputs) == {"error"}:
        raise SystemExit(f"reference run of {name!r} raised: {outputs['error'][0]['value']}")


def generate(areas: set[str] | None = None) -> tuple[dict, dict]:
    """{case: (area, outputs)} from the references, and the versions used."""
    torch = load_torch()
    tf, tf1 = load_tf()
    results = {}
    for case in corpus.CASES.values():
        if areas and case.area not in areas:
            continue
        if case.area == "static":
            outputs = vectorlib.run_recorded(case.fn, tf1)
        else:
            outputs = vectorlib.run_case(case, torch, torch_reference=True)
        _check_clean(case.name, outputs)
        results[case.name] = (case.area, outputs)
        print(f"  {case.area:9s} {case.name}: {len(outputs)} outputs", file=sys.stderr)
    if not areas or "programs" in areas:
        for name in vectorlib.program_names():
            outputs = vectorlib.run_program(name, "reference", torch=torch)
            results[name] = ("programs", outputs)
            print(f"  programs  {name}: {len(outputs)} outputs", file=sys.stderr)
    versions = {"torch": torch.__version__, "tensorflow": tf.__version__, "numpy": np.__version__,
                "python": platform.python_version(), "generator": "tools/gen_vectors.py"}
    return results, versions


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare a fresh run with the stored vectors")
    args = parser.parse_args(argv)
    results, versions = generate()
    if args.check:
        problems = []
        for name, (_, outputs) in results.items():
            problems += [f"{name}: {p}" for p in vectorlib.check_against_stored(name, outputs, rtol=1e-12)]
        print("\n".join(problems) or "stored vectors match a fresh run")
        return 1 if problems else 0
    manifest = vectorlib.save_vectors(results, versions)
    size = sum(p.stat().st_size for p in vectorlib.VECTORS.iterdir() if p.is_file())
    print(f"wrote {sum(manifest['cases'].values())} cases ({size / 1024:.0f} KiB) to {vectorlib.VECTORS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
