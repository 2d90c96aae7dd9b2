"""The seed's PyTorch programs run on our engine with only their import line changed."""
import contextlib
import hashlib
import io

import pytest

from seed import LOCAL_SEED, ported, seed_programs


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


# sha256 of the seed contract (shared/seed/learning-pytorch-autograd.md) when it was copied into tests/data:
# tests read only the repository, so the copy is pinned by its digest.
SEED_SHA256 = "1fd062e4537e5f92a0de2110cb683faead0a254ae4a0aafc11de72e390760f0e"


def test_seed_copy_is_the_contract_unchanged():
    assert hashlib.sha256(LOCAL_SEED.read_bytes()).hexdigest() == SEED_SHA256
