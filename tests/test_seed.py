"""The seed's PyTorch programs run on our engine with only their import line changed."""
import contextlib
import io

import pytest

from seed import LOCAL_SEED, SHARED_SEED, ported, seed_programs


def run_program(source: str) -> list[str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<seed>", "exec"), {"__name__": "__main__"})
    return out.getvalue().splitlines()


@pytest.mark.parametrize("index", [0, 1], ids=["autograd", "custom-function"])
def test_seed_pytorch_program_trains_on_engine(index):
    program = seed_programs()[index]
    lines = run_program(ported(program, "import torch\n", "import autotrain.engine as torch\n"))
    assert len(lines) == 500
    steps, losses = zip(*((int(a), float(b)) for a, b in (line.split() for line in lines)))
    assert steps == tuple(range(500))  # same "t loss" lines as the tutorial prints
    assert losses[-1] < losses[0] * 1e-6  # falls by orders of magnitude


def test_seed_copy_matches_shared_contract():
    if not SHARED_SEED.exists():
        pytest.skip("shared/seed not beside this checkout")
    assert LOCAL_SEED.read_text(encoding="utf-8") == SHARED_SEED.read_text(encoding="utf-8")
