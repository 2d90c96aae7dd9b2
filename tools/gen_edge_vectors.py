"""Store PyTorch's answers to the engine's edge cases (tests/edge_search.py) as test vectors.

Writes tests/vectors/edges.npz (arrays: each case's value and gradients, no pickles) and
tests/vectors/edges.json (the cases, PyTorch's dtypes, shapes and which side raised, the torch
version and the sha256 of tests/edge_search.py, so an edited search without regenerated vectors
is caught).  The cases are the FOUND list (where the engine disagreed with PyTorch, each fixed)
and a fixed seeded draw of ops x edge values.  Needs torch:
``pip install torch && python tools/gen_edge_vectors.py``.
"""
from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import edge_search  # noqa: E402

VECTORS = ROOT / "tests" / "vectors"


def search_sha256() -> str:
    return hashlib.sha256((ROOT / "tests" / "edge_search.py").read_bytes()).hexdigest()


def split_record(record: dict, index: int, arrays: dict) -> dict:
    """The JSON part of a record; its arrays go into ``arrays`` under ``<index>/<key>``."""
    meta = {}
    for key, value in record.items():
        if isinstance(value, np.ndarray):
            arrays[f"{index}/{key}"] = value
            meta[key] = "array"
        else:
            meta[key] = value
    return meta


def main() -> int:
    try:
        import torch
    except ImportError:
        raise SystemExit("gen_edge_vectors needs PyTorch: pip install torch") from None
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    cases = edge_search.stored_cases()
    arrays, records = {}, []
    with np.errstate(all="ignore"):
        for i, case in enumerate(cases):
            records.append(split_record(edge_search.run(torch, case), i, arrays))
    np.savez_compressed(VECTORS / "edges.npz", **arrays)
    meta = {"torch": torch.__version__, "numpy": np.__version__, "search_sha256": search_sha256(),
            "cases": cases, "records": records}
    (VECTORS / "edges.json").write_text(json.dumps(meta, indent=0) + "\n")
    print(f"wrote {len(cases)} cases ({len(arrays)} arrays) to {VECTORS / 'edges.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
