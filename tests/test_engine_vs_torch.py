"""Optional oracle: the same expressions in real PyTorch (skipped when torch is not installed)."""
import numpy as np
import pytest

import autotrain.engine as engine

torch = pytest.importorskip("torch")

# each program uses w1 and w2 and returns a scalar; m is the framework module
PROGRAMS = {
    "seed loss": lambda m, x, w1, w2, y: (x.mm(w1).clamp(min=0).mm(w2) - y).pow(2).sum(),
    "broadcast arithmetic": lambda m, x, w1, w2, y: ((x[:, :3] * w1[0, :3] - 1.5) / (2 + w2[0] ** 2) + 1 / (
        3 - w1[1, :3])).sum(),
    "smooth functions": lambda m, x, w1, w2, y: (m.tanh(x.mm(w1)).sigmoid().mean(dim=0)
                                                 * m.exp(w2[:, 0] * 0.1)).sum(),
    "reductions and shapes": lambda m, x, w1, w2, y: ((w1.reshape(-1, 4).t().sum(dim=1, keepdim=True)
                                                       * w2.transpose(0, 1)[0, :3].sum()) ** 2).mean(),
    "max, relu and masks": lambda m, x, w1, w2, y: (m.maximum(x.mm(w1), w1[0]).relu().mm(w2) * y)[y > 0].sum(),
}


def _run(module, name):
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal(s) for s in ((6, 8), (8, 4), (4, 3), (6, 3))]
    x, w1, w2, y = (module.tensor(a, dtype=module.float64, requires_grad=i in (1, 2)) for i, a in enumerate(arrays))
    out = PROGRAMS[name](module, x, w1, w2, y)
    out.backward()
    return out.item(), w1.grad.numpy(), w2.grad.numpy()


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_engine_matches_pytorch(name):
    ours, theirs = _run(engine, name), _run(torch, name)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dim,keepdim", [(1, False), (0, True), ((0, 1), False), (-1, True)])
def test_logsumexp_values_and_gradient_match_torch_at_infinities(dim, keepdim):
    """Rows of all -inf (-inf, gradient nan), with +inf (inf), mixed and large values, in float32 and float64."""
    inf = float("inf")
    rows = [[-inf, -inf, -inf], [1.0, 2.0, inf], [1.0, 2.0, 3.0], [-inf, 0.5, -2.0], [1e30, 1e30, -1e30]]
    for dtype in (np.float32, np.float64):
        a = np.array(rows, dtype=dtype)
        mine = engine.tensor(a, requires_grad=True)
        theirs = torch.tensor(a, requires_grad=True)
        out, want = engine.logsumexp(mine, dim, keepdim), torch.logsumexp(theirs, dim, keepdim)
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-6)
        weights = np.arange(1, want.numel() + 1, dtype=dtype).reshape(tuple(want.shape))
        out.backward(engine.tensor(weights))
        want.backward(torch.tensor(weights))
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_logsumexp_of_integers_empty_and_0d_match_torch():
    for build in (lambda t: t.logsumexp(t.tensor([1, 2, 3]), 0), lambda t: t.logsumexp(t.ones(2, 0), 1),
                  lambda t: t.tensor(3.0).logsumexp(0), lambda t: t.ones(2, 3).logsumexp((0, 1))):
        mine, want = build(engine), build(torch)
        assert mine.dtype == np.dtype(str(want.dtype).replace("torch.", ""))
        np.testing.assert_allclose(mine.numpy(), want.numpy(), rtol=1e-6)
    with pytest.raises(TypeError):
        engine.logsumexp(engine.ones(2, 3))   # dim is required, as torch


@pytest.mark.parametrize("p,dim,keepdim", [(2, None, False), ("fro", 1, False), (2, (0, 1), True), (1, 0, True),
                                           (1, None, False)])
def test_norm_values_and_gradient_match_torch_including_zero_norms(p, dim, keepdim):
    """A zero row and zero entries: PyTorch's gradient there is 0 (p=2: a / norm masked; p=1: sign(a))."""
    for dtype in (np.float32, np.float64):
        a = np.array([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [1e-3, 2.5, -1.5]], dtype=dtype)
        mine, theirs = engine.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        out, want = engine.norm(mine, p, dim, keepdim), torch.norm(theirs, p, dim, keepdim)
        np.testing.assert_allclose(out.detach().numpy(), want.detach().numpy(), rtol=1e-6)
        weights = np.arange(1, want.numel() + 1, dtype=dtype).reshape(tuple(want.shape))
        out.backward(engine.tensor(weights))
        want.backward(torch.tensor(weights))
        np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)
    zero = engine.zeros(3, requires_grad=True)
    zero.norm().backward()
    assert zero.grad.numpy().tolist() == [0.0, 0.0, 0.0]


def test_norm_refuses_what_it_does_not_cover_in_words():
    with pytest.raises(RuntimeError, match="Expected a floating point"):
        engine.norm(engine.tensor([3, 4]))
    with pytest.raises(NotImplementedError, match="p=3"):
        engine.norm(engine.ones(3), p=3)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_unbind_values_gradient_and_in_place_refusal_match_torch(dim):
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    results = []
    for lib in (engine, torch):
        x = lib.tensor(a, requires_grad=True)
        pieces = lib.unbind(x * 1, dim)
        loss = sum((i + 1) * (p * p).sum() for i, p in enumerate(pieces))
        loss.backward()
        with pytest.raises(RuntimeError, match="Output 0 of Unbind is a view"):
            pieces[0].mul_(2)
        results.append(([p.detach().numpy() for p in pieces], x.grad.numpy(), x.unbind(dim)[-1].detach().numpy()))
    (mine, mine_grad, mine_last), (want, want_grad, want_last) = results
    assert len(mine) == len(want)
    for m, w in zip(mine, want):
        np.testing.assert_array_equal(m, w)
    np.testing.assert_allclose(mine_grad, want_grad, rtol=1e-6)
    np.testing.assert_array_equal(mine_last, want_last)
    with pytest.raises(IndexError, match="no dimensions"):
        engine.ones(()).unbind(0)
