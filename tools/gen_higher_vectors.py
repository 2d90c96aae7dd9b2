"""Store PyTorch's first and second derivatives of the cases in tests/higher_cases.py.

Writes tests/vectors/higher_order.npz (no pickles) and tests/vectors/higher_order.json (the torch
version and the sha256 of tests/higher_cases.py, so a stale file is caught).  Needs torch:
``pip install torch && python tools/gen_higher_vectors.py``.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import higher_cases  # noqa: E402

VECTORS = ROOT / "tests" / "vectors"


def cases_sha256() -> str:
    return hashlib.sha256((ROOT / "tests" / "higher_cases.py").read_bytes()).hexdigest()


def main() -> int:
    try:
        import torch
    except ImportError:
        raise SystemExit("gen_higher_vectors needs PyTorch: pip install torch") from None
    arrays = {}
    for name in higher_cases.CASES:
        arrays.update(higher_cases.second_order(torch, name))
    np.savez_compressed(VECTORS / "higher_order.npz", **arrays)
    meta = {"torch": torch.__version__, "numpy": np.__version__, "cases_sha256": cases_sha256(),
            "cases": sorted(higher_cases.CASES)}
    (VECTORS / "higher_order.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(arrays)} arrays for {len(higher_cases.CASES)} cases to {VECTORS / 'higher_order.npz'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
