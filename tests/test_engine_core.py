"""The engine's shape (no import cycles, the op table drives the API) and its surface beyond the seed:
creation functions, grad-mode decorators, misuse errors and names it does not cover."""
import ast
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import autotrain.engine as torch
from autotrain.engine.ops import OPS

ENGINE = pathlib.Path(torch.__file__).parent
MISUSE = pytest.mark.group("engine misuse")  # counted in the hardening summary


# ----------------------------------------------------------------- architecture
def _engine_imports() -> dict[str, set[str]]:
    """{module: engine modules it imports at module level}, for the engine's top-level modules."""
    graph = {}
    for path in ENGINE.glob("*.py"):
        name = path.stem
        deps = set()
        for node in ast.parse(path.read_text()).body:  # module level only: what runs on import
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autotrain.engine."):
                deps.add(node.module.split(".")[2])
        graph[name] = {d for d in deps if (ENGINE / f"{d}.py").exists() and d != name}
    return graph


def test_engine_modules_import_each_other_without_a_cycle():
    graph, done, path = _engine_imports(), set(), []

    def visit(module):
        assert module not in path, f"import cycle: {' -> '.join(path + [module])}"
        if module in done:
            return
        path.append(module)
        for dep in graph[module]:
            visit(dep)
        path.pop()
        done.add(module)

    for module in graph:
        visit(module)
    assert "autograd" not in graph["tensor"] and "tensor" not in graph["backprop"]


FRESH_IMPORTS = """
import importlib, sys
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.startswith("autotrain")]:
        del sys.modules[loaded]
    importlib.import_module("autotrain.engine." + name)  # each module first, as a fresh interpreter would
"""


def test_each_engine_module_can_be_imported_first():
    modules = sorted(p.stem for p in ENGINE.glob("*.py") if p.stem != "__init__")
    done = subprocess.run([sys.executable, "-c", FRESH_IMPORTS, *modules], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_every_api_name_is_a_method_and_a_function_from_the_table():
    for op in OPS.values():
        for api in op.api:
            if api.method:
                assert callable(getattr(torch.Tensor, api.name)), api.name
            if api.function:
                assert callable(getattr(torch, api.name)), api.name
            if api.inplace:
                assert callable(getattr(torch.Tensor, api.name + "_")), api.name


def test_in_place_methods_go_through_the_op_table():
    x = torch.tensor([0.25, 4.0], dtype=torch.float64)
    x.sqrt_()
    x.mul_(2)
    x.clamp_(max=3.0)
    assert x.tolist() == [1.0, 3.0] and x._version == 3


# ----------------------------------------------------------------- creation and modes
def test_creation_functions_and_their_dtypes():
    assert torch.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert torch.arange(3).dtype == torch.int64 and torch.arange(0, 1, 0.25).tolist() == [0.0, 0.25, 0.5, 0.75]
    assert torch.arange(1, 2, 0.5).dtype == torch.float32
    assert torch.full((2,), 7).dtype == torch.int64 and torch.full((2,), True).dtype == torch.bool
    assert torch.full((2, 1), 1.5).tolist() == [[1.5], [1.5]] and torch.full((2,), 1.5).dtype == torch.float32
    assert torch.eye(2, 3).tolist() == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert torch.empty(2, 3).shape == (2, 3) and torch.empty((4,), dtype=torch.float64).dtype == torch.float64
    torch.manual_seed(3)
    r = torch.randint(2, 5, (100,))
    assert r.dtype == torch.int64 and r.min().item() >= 2 and r.max().item() <= 4
    torch.manual_seed(3)
    assert torch.randint(2, 5, (100,)).tolist() == r.tolist()
    assert torch.randint(3, (2, 2)).shape == (2, 2)
    assert torch.tensor([1, 2]).dtype == torch.int64 and torch.tensor([True]).dtype == torch.bool
    assert torch.tensor(np.ones(2)).dtype == torch.float64  # numpy data keeps its dtype


def test_random_draws_follow_the_shared_rng_contract():
    torch.manual_seed(5)
    ours = (torch.randn(2, 3), torch.rand(4), torch.randint(0, 10, (3,)))
    rng = np.random.default_rng(5)
    assert np.array_equal(ours[0].numpy(), rng.standard_normal((2, 3)).astype(np.float32))
    assert np.array_equal(ours[1].numpy(), rng.random(4).astype(np.float32))
    assert np.array_equal(ours[2].numpy(), rng.integers(0, 10, (3,)))


def test_no_grad_works_as_bare_decorator_with_parentheses_and_as_context():
    w = torch.ones(2, requires_grad=True)

    @torch.no_grad
    def bare(t):
        return t * 2

    @torch.no_grad()
    def called(t):
        return t * 2

    @torch.enable_grad
    def inside(t):
        return t * 2

    assert not bare(w).requires_grad and not called(w).requires_grad and bare.__name__ == "bare"
    with torch.no_grad():
        assert inside(w).requires_grad
    assert torch.is_grad_enabled()


def test_cuda_is_available_answers_without_raising():
    assert torch.cuda.is_available() in (True, False)
    assert torch.cuda.device_count() >= 0


def test_max_min_have_pytorchs_three_forms():
    x = torch.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 5.0]])
    assert x.max().item() == 5.0 and torch.min(x).item() == 0.0
    values, indices = torch.max(x, 1)
    assert values.tolist() == [3.0, 5.0] and indices.tolist() == [1, 2] and indices.dtype == torch.int64
    r = x.min(dim=0, keepdim=True)
    assert r.values.tolist() == [[1.0, 0.0, 3.0]] and r.indices.tolist() == [[0, 1, 0]]
    assert torch.max(x, torch.ones(3) * 2).tolist() == [[2.0, 3.0, 3.0], [2.0, 2.0, 5.0]]


def test_long_float_double_and_T():
    x = torch.tensor([[1.7, -2.2]])
    assert x.long().tolist() == [[1, -2]] and x.long().dtype == torch.int64
    assert x.double().dtype == torch.float64 and x.float() is x and x.int().dtype == torch.int32
    assert x.T.shape == (2, 1) and x.bool().tolist() == [[True, True]]


# ----------------------------------------------------------------- misuse: PyTorch's error, never a raw Python one
@MISUSE
@pytest.mark.parametrize("call, error, text", [
    (lambda x: x.transpose(0, 5), IndexError, r"Dimension out of range \(expected to be in range of \[-2, 1\], "
                                              r"but got 5\)"),
    (lambda x: x.sum(3), IndexError, "Dimension out of range"),
    (lambda x: x.softmax(-3), IndexError, "Dimension out of range"),
    (lambda x: x.squeeze(2), IndexError, "Dimension out of range"),
    (lambda x: x.unsqueeze(4), IndexError, r"\[-3, 2\]"),
    (lambda x: x.max(2), IndexError, "Dimension out of range"),
    (lambda x: x.argmin(-3), IndexError, "Dimension out of range"),
    (lambda x: x.mean((0, 0)), RuntimeError, "dim 0 appears multiple times"),
    (lambda x: x.sum("a"), TypeError, "dim must be an int"),
    (lambda x: torch.cat([x, x], 2), IndexError, "Dimension out of range"),
    (lambda x: torch.cat([x, torch.ones(3, 3)], 1), RuntimeError, "Sizes of tensors must match except in dimension"),
    (lambda x: torch.stack([x, torch.ones(3)]), RuntimeError, "stack expects each tensor to be equal size"),
    (lambda x: torch.cat([]), ValueError, "non-empty list"),   # PyTorch: ValueError
    (lambda x: x.reshape(4, 2), RuntimeError, r"shape '\[4, 2\]' is invalid for input of size 6"),
    (lambda x: x.view(-1, -1), RuntimeError, "only one dimension can be inferred"),
    (lambda x: x.view(2.5, 2), TypeError, "sizes must be integers"),
    (lambda x: x.flatten(1, 0), RuntimeError, "start_dim cannot come after end_dim"),
    (lambda x: x.permute(0), RuntimeError, "does not match the length of the desired ordering"),
    (lambda x: x.permute(0, 0), RuntimeError, "duplicate dims"),
    (lambda x: x[torch.tensor([0.5])], IndexError, "tensors used as indices must be long, int, byte or bool"),
    (lambda x: x + "a", TypeError, "unsupported operand type"),
    (lambda x: torch.tensor([1]).mean(), RuntimeError, "mean\\(\\): could not infer output dtype"),
    (lambda x: torch.tensor([1]) // 0, RuntimeError, "ZeroDivisionError"),
    (lambda x: torch.zeros(0).max(), RuntimeError, "Expected reduction dim to be specified"),
    (lambda x: torch.where(torch.ones(3), torch.ones(3), 0.0), RuntimeError, "boolean tensor"),
    (lambda x: torch.randn(-1), RuntimeError, "negative dimension"),
    (lambda x: torch.zeros(2.5), TypeError, "size must be a tuple of ints"),
    (lambda x: torch.arange(0, 5, 0), RuntimeError, "step must be nonzero"),
    (lambda x: torch.full((2,), "a"), TypeError, "fill_value"),
    (lambda x: torch.zeros(2, dtype="complex64"), TypeError, "unknown dtype"),
    (lambda x: torch.no_grad(5), TypeError, "argument"),
    (lambda x: x.clamp(), RuntimeError, "At least one of 'min' or 'max'"),
])
def test_misuse_raises_pytorchs_error(call, error, text):
    with pytest.raises(error, match=text):
        call(torch.ones(2, 3))


@MISUSE
def test_autograd_grad_names_the_argument_that_is_not_a_tensor():
    x = torch.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match=r"inputs\[0\] must be a Tensor, got int 5"):
        torch.autograd.grad((x * 2).sum(), [5])
    with pytest.raises(TypeError, match=r"outputs\[0\] must be a Tensor"):
        torch.autograd.grad(5, [x])


@MISUSE
@pytest.mark.parametrize("data", [["a", "b"], [object()], np.array(["x"]), [[1, 2], [3]]], ids=str)
def test_string_object_and_ragged_data_are_refused_at_creation(data):
    ragged = isinstance(data, list) and isinstance(data[0], list)   # PyTorch: ValueError for a ragged list
    with pytest.raises(ValueError if ragged else TypeError, match="can't"):
        torch.tensor(data)
    if isinstance(data, np.ndarray):
        with pytest.raises(TypeError, match="can't convert np.ndarray"):
            torch.from_numpy(data)


@MISUSE
def test_empty_reductions_are_nan_without_numpy_warnings():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(torch.zeros(0).mean().item()) and np.isnan(torch.ones(1).var().item())
        assert np.isnan(torch.zeros(0).std().item()) and torch.tensor([1000.0]).exp().item() == float("inf")
        assert np.isnan(torch.tensor([-1.0]).log().item())
        assert (torch.ones(1) / 0).item() == float("inf")


@MISUSE
@pytest.mark.parametrize("lookup, name", [
    (lambda: torch.foo, "foo"), (lambda: torch.autograd.foo_bar, "foo_bar"), (lambda: torch.ones(2).repeat, "repeat"),
])
def test_a_name_outside_the_engine_is_one_sentence_pointing_to_the_readme(lookup, name):
    with pytest.raises(AttributeError) as err:
        lookup()
    message = str(err.value)
    assert f"'{name}'" in message and "What the engine covers" in message and message.count(". ") == 0


@MISUSE
@pytest.mark.parametrize("call, text", [
    (lambda x: x.sum(dtype=torch.float64), r"^sum\(\): got an unexpected keyword argument 'dtype'"),
    (lambda x: x.clamp_(mn=0), r"^clamp_\(\): got an unexpected keyword argument 'mn'"),
    (lambda x: x.softmax(), r"^softmax\(\): missing 1 required positional argument: 'dim'"),
    (lambda x: x.exp(5), r"^exp\(\) takes 0 argument"),
    (lambda x: torch.cat(), r"^cat\(\): missing"),
])
def test_a_wrong_call_is_named_by_its_pytorch_name(call, text):
    with pytest.raises(TypeError, match=text):
        call(torch.ones(2, 3))
