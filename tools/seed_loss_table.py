"""The seed config's loss table in float64 from real PyTorch: tests/data/seed_loss_tables.json.

    python tools/seed_loss_table.py            # writes tests/data/seed_loss_tables.json
    python tools/seed_loss_table.py --check    # reruns and compares with the stored table (exit 1 on a difference)

Runs the tutorial's autograd program (``x.mm(w1).clamp(min=0).mm(w2)``, ``(y_pred - y).pow(2).sum()``,
``backward``, ``w -= lr * w.grad``) on real PyTorch in float64 with the config's sizes, lr and steps, from
the arrays autotrain draws for it (``np.random.default_rng(seed).standard_normal`` for x, y, w1, w2 in
that order), and stores the losses of the steps ``metrics.csv`` logs.

Why float64 and a tolerance: float32 losses depend on the BLAS kernel and its thread count (the seed's
step 0 is 31519526.0 with two OpenBLAS threads, 31519524.0 with one), so a stored float32 table is true
of one machine only.  The bit-for-bit claim is tested against a reference computed in the test's own
process (tests/test_fit_models.py); this table anchors that reference to PyTorch.  In float64 the
summation order moves the loss by ~5e-10 relative at step 499 (measured: one vs two threads, and another
OpenBLAS kernel), hence ``rtol`` 1e-7.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from autotrain.training.config import load_config  # noqa: E402
from autotrain.training.train import is_logged  # noqa: E402

CONFIG = ROOT / "configs" / "two_layer.yaml"
TABLE = ROOT / "tests" / "data" / "seed_loss_tables.json"
RTOL = 1e-7


def torch_losses(torch, cfg) -> list[float]:
    """Every step's loss of the tutorial's autograd program on real PyTorch, float64."""
    rng = np.random.default_rng(cfg.seed)
    x, y, w1, w2 = (torch.from_numpy(rng.standard_normal(shape))
                    for shape in ((cfg.N, cfg.D_in), (cfg.N, cfg.D_out), (cfg.D_in, cfg.H), (cfg.H, cfg.D_out)))
    w1.requires_grad_(True)
    w2.requires_grad_(True)
    losses = []
    for _ in range(cfg.steps):
        y_pred = x.mm(w1).clamp(min=0).mm(w2)
        loss = (y_pred - y).pow(2).sum()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= cfg.lr * w1.grad
            w2 -= cfg.lr * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
    return losses


def table() -> dict:
    try:
        import torch
    except ImportError:
        raise SystemExit("seed_loss_table: torch is not installed; the table comes from real PyTorch: "
                         "pip install torch") from None
    torch.set_num_threads(1)
    cfg = load_config(CONFIG, ["dtype=float64"])
    losses = torch_losses(torch, cfg)
    return {
        "source": f"tools/seed_loss_table.py: {CONFIG.relative_to(ROOT)} in float64, the tutorial's autograd "
                  f"program on PyTorch {torch.__version__} (numpy {np.__version__}); the steps metrics.csv logs",
        "dtype": "float64",
        "rtol": RTOL,
        "why": "float64 with a tolerance, so the table is true on any machine: the summation order (BLAS kernel, "
               "threads) moves the loss ~5e-10 relative by step 499; float32 bits are checked against a "
               "reference computed in the test's own process (tests/test_fit_models.py)",
        "losses": [[t, loss] for t, loss in enumerate(losses) if is_logged(t, cfg.steps, cfg.log_every)],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the stored table instead of writing")
    args = parser.parse_args()
    new = table()
    if not args.check:
        rows = ",\n  ".join(json.dumps(row) for row in new["losses"])  # one row a line
        head = json.dumps({k: v for k, v in new.items() if k != "losses"}, indent=1)[:-2]
        TABLE.write_text(f'{head},\n "losses": [\n  {rows}\n ]\n}}\n')
        print(f"wrote {TABLE.relative_to(ROOT)} ({len(new['losses'])} rows)")
        return 0
    old = json.loads(TABLE.read_text())["losses"]
    bad = [(a, b) for a, b in zip(old, new["losses"]) if a[0] != b[0] or not math.isclose(a[1], b[1], rel_tol=RTOL)]
    if bad or len(old) != len(new["losses"]):
        print(f"differs from {TABLE.relative_to(ROOT)}: {bad[:3] or 'row count'}")
        return 1
    print(f"{TABLE.relative_to(ROOT)} agrees to {RTOL:g} relative")
    return 0


if __name__ == "__main__":
    sys.exit(main())
