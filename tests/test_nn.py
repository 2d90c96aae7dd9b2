"""engine.nn: Module registration and state, containers, layers, losses, functional, init.

Oracles: finite differences (gradcheck, float64) for every layer and loss, hand-derived values, the
RNG contract replayed in numpy, and (when installed) real PyTorch with the same weights copied in.
"""
import math

import numpy as np
import pytest

import autotrain.engine as torch
import autotrain.engine.nn.functional as F
from autotrain.engine import nn
from autotrain.engine.autograd import gradcheck


def t64(array, requires_grad=False):
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)


def rand64(*shape, seed=0, requires_grad=True):
    return t64(np.random.default_rng(seed).standard_normal(shape), requires_grad)


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(torch.ones(2))
        self.register_buffer("running", torch.zeros(2))
        self.register_buffer("scratch", torch.zeros(1), persistent=False)
        self.plain = 5

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale


# --------------------------------------------------------------------- Module registration and walks
def test_attribute_assignment_registers_parameters_modules_and_buffers():
    m = TwoLayer()
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert len(list(m.parameters())) == 4 and len(list(m.parameters(recurse=False))) == 1
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(m.modules())[0] is m and list(m.children())[0] is m.fc1
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch"]
    assert m.fc2.bias is None and "plain" in m.__dict__
    assert isinstance(m.fc1.weight, nn.Parameter) and not isinstance(torch.ones(2), nn.Parameter)


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]


def test_reassignment_and_misuse_errors():
    m = TwoLayer()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        m.scale = torch.ones(2)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'fc1'"):
        m.fc1 = 3
    m.fc1 = None
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc2.weight"]
    with pytest.raises(AttributeError, match="'TwoLayer' object has no attribute 'nope'"):
        m.nope
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", None)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(torch.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(1)


def test_train_eval_apply_and_zero_grad():
    m = TwoLayer()
    assert m.eval() is m and not m.fc1.training and not m.training
    m.train()
    assert all(sub.training for sub in m.modules())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "ReLU", "Linear", "TwoLayer"]   # children first, as PyTorch
    m(torch.ones(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_to_double_keeps_parameter_identity():
    m = TwoLayer()
    weight = m.fc1.weight
    assert m.double() is m and m.fc1.weight is weight and weight.dtype == np.float64
    assert m.running.dtype == np.float64 and isinstance(m.fc1.weight, nn.Parameter)
    assert m(torch.ones(1, 3, dtype=torch.float64)).dtype == np.float64
    m.float()
    assert weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        m.to(torch.int64)


# --------------------------------------------------------------------- state_dict
def test_state_dict_keys_values_and_round_trip():
    m = TwoLayer()
    sd = m.state_dict()
    assert list(sd) == ["scale", "running", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert not sd["fc1.weight"].requires_grad
    assert np.shares_memory(sd["fc1.weight"].numpy(), m.fc1.weight.detach().numpy())
    other = TwoLayer()
    result = other.load_state_dict({k: v.clone() for k, v in sd.items()})
    assert repr(result) == "<All keys matched successfully>"
    for (name, a), (_, b) in zip(m.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy(), err_msg=name)
    assert other.fc1.weight.is_leaf and other.fc1.weight.requires_grad


def test_load_state_dict_errors_name_every_problem_and_change_nothing():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1)))
    before = m[0].weight.detach().numpy().copy()
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict({"0.weight": torch.zeros(3, 2), "x": torch.zeros(1)})
    assert str(err.value) == ('Error(s) in loading state_dict for Sequential:\n\tMissing key(s) in state_dict: '
                              '"0.bias", "2.0.weight", "2.0.bias". \n\tUnexpected key(s) in state_dict: "x". ')
    good = {k: v.clone() for k, v in m.state_dict().items()}
    good["0.weight"] = torch.zeros(3, 3)
    with pytest.raises(RuntimeError, match=r"size mismatch for 0.weight: copying a param with shape "
                                           r"torch.Size\(\[3, 3\]\) from checkpoint, the shape in current model is "
                                           r"torch.Size\(\[3, 2\]\)."):
        m.load_state_dict(good)
    np.testing.assert_array_equal(m[0].weight.detach().numpy(), before)
    result = m.load_state_dict({"0.weight": torch.ones(3, 2), "extra": torch.ones(1)}, strict=False)
    assert result.missing_keys == ["0.bias", "2.0.weight", "2.0.bias"] and result.unexpected_keys == ["extra"]
    assert (m[0].weight.detach().numpy() == 1).all()


# --------------------------------------------------------------------- containers and repr
def test_sequential_indexing_slicing_and_append():
    layers = [nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2] and list(seq) == layers
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == layers[1:] and list(tail._modules) == ["1", "2"]
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and [n for n, _ in seq.named_children()][-1] == "3"
    with pytest.raises(IndexError):
        seq[4]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"]
    replacement = nn.Linear(2, 3)
    seq[0] = replacement     # keeps its place (assignment does not move a child to the end)
    assert seq[0] is replacement and list(seq._modules) == ["0", "1", "2"]
    seq[0] = layers[0]
    x = rand64(5, 2, requires_grad=False)
    seq.double()
    np.testing.assert_allclose(seq(x).detach().numpy(), seq[2](seq[1](seq[0](x))).detach().numpy())


def test_module_list_registers_and_indexes():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml += [nn.Tanh()]
    assert len(ml) == 5 and isinstance(ml[-1], nn.Tanh) and isinstance(ml[1:3], nn.ModuleList)
    assert [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]


def test_repr_matches_pytorch_layout():
    m = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Sequential(nn.Linear(3, 1, bias=False)),
                      nn.Flatten(), nn.Softmax(dim=1), nn.CrossEntropyLoss())
    assert repr(m) == ("Sequential(\n"
                       "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
                       "  (1): ReLU(inplace=True)\n"
                       "  (2): Sequential(\n"
                       "    (0): Linear(in_features=3, out_features=1, bias=False)\n"
                       "  )\n"
                       "  (3): Flatten(start_dim=1, end_dim=-1)\n"
                       "  (4): Softmax(dim=1)\n"
                       "  (5): CrossEntropyLoss()\n"
                       ")")


# --------------------------------------------------------------------- the RNG contract and init
def test_linear_draws_weight_then_bias_from_the_contract():
    torch.manual_seed(7)
    layer = nn.Linear(3, 2)
    rng = np.random.default_rng(7)
    k = 1 / math.sqrt(3)
    expected_w = rng.uniform(-k, k, (2, 3)).astype(np.float32)
    expected_b = rng.uniform(-k, k, (2,)).astype(np.float32)
    np.testing.assert_array_equal(layer.weight.detach().numpy(), expected_w)
    np.testing.assert_array_equal(layer.bias.detach().numpy(), expected_b)
    assert layer.weight.dtype == np.float32 and layer.weight.is_leaf and layer.weight.requires_grad
    assert nn.Linear(3, 2, dtype=torch.float64).weight.dtype == np.float64


def test_init_functions_follow_the_formulas_and_the_rng_contract():
    w = torch.zeros(4, 6, dtype=torch.float64)
    fan_in, fan_out = 6, 4
    cases = [
        (lambda: nn.init.uniform_(w, -0.5, 2.0), lambda r: r.uniform(-0.5, 2.0, (4, 6))),
        (lambda: nn.init.normal_(w, 1.0, 0.1), lambda r: r.normal(1.0, 0.1, (4, 6))),
        (lambda: nn.init.xavier_uniform_(w, gain=2.0),
         lambda r: r.uniform(-2.0 * math.sqrt(6 / (fan_in + fan_out)), 2.0 * math.sqrt(6 / (fan_in + fan_out)),
                             (4, 6))),
        (lambda: nn.init.xavier_normal_(w), lambda r: r.normal(0.0, math.sqrt(2 / (fan_in + fan_out)), (4, 6))),
        (lambda: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
         lambda r: r.uniform(-math.sqrt(6 / fan_in), math.sqrt(6 / fan_in), (4, 6))),
        (lambda: nn.init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
         lambda r: r.normal(0.0, math.sqrt(2 / fan_out), (4, 6))),
    ]
    for i, (fill, draw) in enumerate(cases):
        torch.manual_seed(i)
        assert fill() is w
        np.testing.assert_allclose(w.numpy(), draw(np.random.default_rng(i)), rtol=1e-15, err_msg=str(i))
    assert (nn.init.ones_(w).numpy() == 1).all() and (nn.init.zeros_(w).numpy() == 0).all()
    assert (nn.init.constant_(w, 0.25).numpy() == 0.25).all()
    assert nn.init.calculate_gain("tanh") == 5 / 3 and nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / 1.04)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(torch.zeros(3))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        nn.init.calculate_gain("swish")


def test_init_on_a_parameter_is_not_recorded():
    layer = nn.Linear(2, 2)
    nn.init.normal_(layer.weight)
    assert layer.weight.is_leaf and layer.weight.grad_fn is None


# --------------------------------------------------------------------- gradients: finite differences
LABELS = np.array([2, 0, 1, 2])


def _labels(values=LABELS):
    return torch.tensor(values, dtype=torch.int64)


GRAD_CASES = {
    "linear": (lambda x, w, b: F.linear(x, w, b), ((4, 3), (5, 3), (5,))),
    "linear 3-D input": (lambda x, w, b: F.linear(x, w, b), ((2, 4, 3), (5, 3), (5,))),
    "linear no bias": (lambda x, w: F.linear(x, w), ((4, 3), (5, 3))),
    "relu": (lambda x: nn.ReLU()(x), ((3, 4),)),
    "tanh": (lambda x: nn.Tanh()(x), ((3, 4),)),
    "sigmoid": (lambda x: nn.Sigmoid()(x), ((3, 4),)),
    "softmax": (lambda x: nn.Softmax(dim=1)(x), ((3, 4),)),
    "softmax dim 0": (lambda x: F.softmax(x, dim=0), ((3, 4),)),
    "log_softmax": (lambda x: nn.LogSoftmax(dim=1)(x), ((3, 4),)),
    "flatten": (lambda x: nn.Flatten()(x), ((2, 3, 2),)),
    "mse mean": (lambda x, y: nn.MSELoss()(x, y), ((3, 4), (3, 4))),
    "mse sum": (lambda x, y: nn.MSELoss(reduction="sum")(x, y), ((3, 4), (3, 4))),
    "mse none": (lambda x, y: nn.MSELoss(reduction="none")(x, y), ((3, 4), (3, 4))),
    "l1 mean": (lambda x, y: nn.L1Loss()(x, y), ((3, 4), (3, 4))),
    "l1 none": (lambda x, y: nn.L1Loss(reduction="none")(x, y), ((3, 4), (3, 4))),
    "cross_entropy mean": (lambda x: nn.CrossEntropyLoss()(x, _labels()), ((4, 3),)),
    "cross_entropy sum": (lambda x: nn.CrossEntropyLoss(reduction="sum")(x, _labels()), ((4, 3),)),
    "cross_entropy none": (lambda x: nn.CrossEntropyLoss(reduction="none")(x, _labels()), ((4, 3),)),
    "cross_entropy weight ignore smoothing": (
        lambda x: F.cross_entropy(x, _labels([2, -100, 1, 0]), weight=t64([0.2, 1.0, 3.0]), label_smoothing=0.1),
        ((4, 3),)),
    "cross_entropy probabilities": (lambda x, p: F.cross_entropy(x, F.softmax(p, dim=1)), ((4, 3), (4, 3))),
    "cross_entropy probabilities weighted smoothed": (
        lambda x, p: F.cross_entropy(x, F.softmax(p, dim=1), weight=t64([0.2, 1.0, 3.0]), label_smoothing=0.3,
                                     reduction="sum"), ((4, 3), (4, 3))),
    "cross_entropy 3-D": (lambda x: F.cross_entropy(x, torch.tensor([[0, 2], [1, 1]])), ((2, 3, 2),)),
    "cross_entropy 1-D": (lambda x: F.cross_entropy(x, torch.tensor(1)), ((3,),)),
    "nll mean weighted": (lambda x: nn.NLLLoss(weight=t64([1.0, 2.0, 0.5]))(F.log_softmax(x, 1), _labels()),
                          ((4, 3),)),
    "nll none": (lambda x: F.nll_loss(x, _labels(), reduction="none"), ((4, 3),)),
    "leaky_relu": (lambda x: nn.LeakyReLU(0.2)(x), ((3, 4),)),
    "dropout (replayed mask)": (lambda x: (torch.manual_seed(5), nn.Dropout(0.3)(x))[1], ((3, 4),)),
    "bce": (lambda p, y: F.binary_cross_entropy(p.sigmoid(), y.sigmoid(), weight=t64([0.5, 2.0, 1.0, 1.5])),
            ((3, 4), (3, 4))),
    "bce with logits": (lambda x, y: nn.BCEWithLogitsLoss(pos_weight=t64([1.0, 2.0, 0.5, 3.0]))(x, y.sigmoid()),
                        ((3, 4), (3, 4))),
    "bce with logits weight none": (
        lambda x: F.binary_cross_entropy_with_logits(x, t64([[0.0, 1.0, 1.0], [1.0, 0.0, 0.25]]),
                                                     weight=t64([1.0, 0.5, 2.0]), reduction="none"), ((2, 3),)),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_layer_and_loss_gradients_match_finite_differences(name):
    fn, shapes = GRAD_CASES[name]
    rng = np.random.default_rng(3)
    # away from relu/abs kinks: |value| >= 0.1
    inputs = [t64(np.sign(a) * (np.abs(a) + 0.1), True) for a in (rng.standard_normal(s) for s in shapes)]
    assert gradcheck(fn, inputs)


# --------------------------------------------------------------------- hand-derived values
def test_cross_entropy_of_uniform_logits_is_log_c_and_its_gradient_softmax_minus_onehot():
    x = torch.zeros(2, 4, dtype=torch.float64, requires_grad=True)
    loss = nn.CrossEntropyLoss()(x, torch.tensor([1, 3]))
    assert loss.item() == pytest.approx(math.log(4), rel=1e-15)
    loss.backward()
    expected = np.full((2, 4), 0.25 / 2)
    expected[0, 1] -= 0.5
    expected[1, 3] -= 0.5
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-15)


def test_cross_entropy_weight_ignore_and_smoothing_by_hand():
    logits = t64([[1.0, 2.0, 0.0], [0.5, -1.0, 2.0], [3.0, 0.0, 0.0]])
    logp = np.log(np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(1, keepdims=True))
    w = np.array([0.5, 2.0, 1.0])
    labels = [1, -100, 0]
    loss = F.cross_entropy(logits, torch.tensor(labels), weight=t64(w))
    expected = (w[1] * -logp[0, 1] + w[0] * -logp[2, 0]) / (w[1] + w[0])
    assert loss.item() == pytest.approx(expected, rel=1e-14)
    eps = 0.2
    smooth = F.cross_entropy(logits, torch.tensor([1, 2, 0]), label_smoothing=eps, reduction="none")
    expected_rows = [(1 - eps) * -logp[i, y] + eps / 3 * -logp[i].sum() for i, y in enumerate([1, 2, 0])]
    np.testing.assert_allclose(smooth.numpy(), expected_rows, rtol=1e-14)
    everything_ignored = F.cross_entropy(logits, torch.tensor([-100, -100, -100]))
    assert math.isnan(everything_ignored.item())


def test_l1_gradient_is_zero_where_input_equals_target_and_mse_by_hand():
    x = t64([1.0, 2.0, 3.0], requires_grad=True)
    y = t64([1.0, 0.0, 5.0])
    F.l1_loss(x, y, reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, -1.0])
    x.grad = None
    loss = F.mse_loss(x, y)
    assert loss.item() == pytest.approx((0 + 4 + 4) / 3)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 4 / 3, -4 / 3])


def test_softmax_is_stable_for_large_logits():
    x = t64([[1000.0, 1000.0], [-1000.0, 0.0]])
    np.testing.assert_allclose(F.softmax(x, dim=1).numpy(), [[0.5, 0.5], [0.0, 1.0]])
    np.testing.assert_allclose(F.log_softmax(x, dim=1).numpy(), [[-math.log(2), -math.log(2)], [-1000.0, 0.0]])
    assert F.cross_entropy(x, torch.tensor([0, 0])).item() == pytest.approx((math.log(2) + 1000) / 2)


# --------------------------------------------------------------------- loss input errors
def test_loss_input_errors_match_pytorch():
    x = rand64(3, 4)
    with pytest.raises(IndexError, match="Target 5 is out of bounds."):
        F.cross_entropy(x, torch.tensor([0, 1, 5]))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)."):
        F.cross_entropy(x, torch.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="expected target dtype to be Long or Byte, but got Double"):
        F.cross_entropy(x, t64([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="avg is not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, rand64(4))
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied"):
        nn.Linear(5, 2)(torch.ones(3, 4))


def test_train_a_small_classifier_end_to_end():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    x = torch.randn(64, 2)
    y = (x.numpy()[:, 0] * x.numpy()[:, 1] > 0).astype(np.int64)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), torch.tensor(y))
        loss.backward()
        opt.step()
    accuracy = (model(x).detach().numpy().argmax(1) == y).mean()
    assert loss.item() < 0.3 and accuracy > 0.9


# --------------------------------------------------------------------- live comparison with real PyTorch
def _ints(values):
    return lambda m: m.tensor(values, dtype=m.int64)


def _floats(shape, seed):
    return lambda m: m.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=m.float64)


# name: (build(nn) -> module, input shape, extra call arguments as functions of the framework module)
LIVE = {
    "Linear": (lambda n: n.Linear(3, 4), (5, 3), ()),
    "Linear no bias": (lambda n: n.Linear(3, 4, bias=False), (2, 5, 3), ()),
    "ReLU": (lambda n: n.ReLU(), (3, 4), ()),
    "Tanh": (lambda n: n.Tanh(), (3, 4), ()),
    "Sigmoid": (lambda n: n.Sigmoid(), (3, 4), ()),
    "Identity": (lambda n: n.Identity(), (3, 4), ()),
    "Flatten": (lambda n: n.Flatten(), (2, 3, 2), ()),
    "Flatten 0..1": (lambda n: n.Flatten(0, 1), (2, 3, 2), ()),
    "Softmax": (lambda n: n.Softmax(dim=1), (3, 4), ()),
    "Softmax dim 0": (lambda n: n.Softmax(dim=0), (3, 4), ()),
    "LogSoftmax": (lambda n: n.LogSoftmax(dim=-1), (3, 4), ()),
    "Sequential": (lambda n: n.Sequential(n.Linear(3, 5), n.ReLU(), n.Linear(5, 2), n.Tanh()), (4, 3), ()),
}
for reduction in ("mean", "sum", "none"):
    LIVE[f"MSELoss {reduction}"] = (lambda n, r=reduction: n.MSELoss(reduction=r), (3, 4), (_floats((3, 4), 9),))
    LIVE[f"L1Loss {reduction}"] = (lambda n, r=reduction: n.L1Loss(reduction=r), (3, 4), (_floats((3, 4), 9),))
    LIVE[f"CrossEntropyLoss {reduction}"] = (lambda n, r=reduction: n.CrossEntropyLoss(reduction=r), (4, 3),
                                             (_ints([2, 0, 1, 2]),))
    LIVE[f"NLLLoss {reduction}"] = (lambda n, r=reduction: n.NLLLoss(reduction=r), (4, 3), (_ints([2, 0, 1, 2]),))
    LIVE[f"CrossEntropyLoss weight ignore smoothing {reduction}"] = (
        lambda n, r=reduction: n.CrossEntropyLoss(weight=_weights(n), ignore_index=1, label_smoothing=0.15,
                                                  reduction=r),
        (5, 3), (_ints([2, 1, 0, 1, 2]),))
    LIVE[f"CrossEntropyLoss probabilities {reduction}"] = (
        lambda n, r=reduction: n.CrossEntropyLoss(weight=_weights(n), label_smoothing=0.1, reduction=r), (4, 3),
        (lambda m: m.tensor(np.full((4, 3), 1 / 3), dtype=m.float64),))
    LIVE[f"BCELoss {reduction}"] = (lambda n, r=reduction: _bce_on_sigmoid(n, r), (3, 4),
                                    (lambda m: m.tensor(np.random.default_rng(8).random((3, 4)), dtype=m.float64),))
    LIVE[f"BCEWithLogitsLoss {reduction}"] = (
        lambda n, r=reduction: n.BCEWithLogitsLoss(reduction=r, pos_weight=_pos_weight(n)), (3, 4),
        (lambda m: m.tensor(np.random.default_rng(8).random((3, 4)), dtype=m.float64),))
LIVE["LeakyReLU"] = (lambda n: n.LeakyReLU(0.3), (3, 4), ())
LIVE["Dropout in eval"] = (lambda n: n.Dropout(0.4).eval(), (3, 4), ())
LIVE["CrossEntropyLoss 3-D"] = (lambda n: n.CrossEntropyLoss(), (2, 3, 2), (_ints([[0, 2], [1, 1]]),))
LIVE["NLLLoss weighted ignore"] = (lambda n: n.NLLLoss(weight=_weights(n), ignore_index=0), (4, 3),
                                   (_ints([2, 0, 1, 2]),))


def _bce_on_sigmoid(n, reduction):
    """BCELoss (with per-column weights) of sigmoid(x): its input must be probabilities."""
    m = _framework(n)

    class BceOnSigmoid(n.Module):
        def __init__(self):
            super().__init__()
            self.loss = n.BCELoss(weight=m.tensor([[0.5, 1.0, 2.0, 4.0]], dtype=m.float64), reduction=reduction)

        def forward(self, x, y):
            return self.loss(x.sigmoid(), y)
    return BceOnSigmoid()


def _pos_weight(n):
    m = _framework(n)
    return m.tensor([0.5, 1.0, 2.0, 4.0], dtype=m.float64)


def _weights(n):
    m = _framework(n)
    return m.tensor([0.3, 1.0, 2.5], dtype=m.float64)


def _framework(n):
    return torch if n is nn else __import__("torch")


def _run_live(framework, name):
    n = framework.nn
    build, shape, extra = LIVE[name]
    framework.manual_seed(0)
    module = build(n).double()
    state = {k: np.random.default_rng(i).standard_normal(tuple(v.shape)) for i, (k, v) in
             enumerate(module.state_dict().items())}
    module.load_state_dict({k: framework.tensor(v, dtype=framework.float64) for k, v in state.items()})
    x = framework.tensor(np.random.default_rng(1).standard_normal(shape), dtype=framework.float64,
                         requires_grad=True)
    out = module(x, *(make(framework) for make in extra))
    out.backward(framework.tensor(np.random.default_rng(2).standard_normal(tuple(out.shape)),
                                  dtype=framework.float64))
    grads = {k: p.grad.detach().numpy() for k, p in module.named_parameters()}
    return out.detach().numpy(), x.grad.detach().numpy(), grads, list(state)


@pytest.mark.parametrize("name", list(LIVE))
def test_modules_and_losses_match_pytorch(name):
    pytest.importorskip("torch")
    ours, theirs = _run_live(torch, name), _run_live(__import__("torch"), name)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10, atol=1e-13)
    assert ours[3] == theirs[3]   # state_dict keys
    for key in theirs[2]:
        np.testing.assert_allclose(ours[2][key], theirs[2][key], rtol=1e-10, atol=1e-13, err_msg=key)


def test_repr_and_state_dict_keys_match_pytorch():
    real = pytest.importorskip("torch")

    def build(n):
        return n.Sequential(n.Linear(4, 8), n.ReLU(), n.Sequential(n.Linear(8, 8, bias=False), n.Tanh()),
                            n.Flatten(), n.LogSoftmax(dim=1))
    ours, theirs = build(nn), build(real.nn)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(torch.tensor(x)).detach().numpy(),
                               theirs(real.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_parameter_is_a_leaf_tensor_subclass_sharing_storage():
    data = torch.zeros(3)
    p = nn.Parameter(data)
    assert isinstance(p, nn.Parameter) and isinstance(p, torch.Tensor) and p.is_leaf and p.requires_grad
    assert repr(p) == "Parameter containing:\ntensor([0., 0., 0.], requires_grad=True)"
    with torch.no_grad():
        p += 1
    assert data.numpy().tolist() == [1.0, 1.0, 1.0]          # the same storage, as PyTorch
    assert type(p * 2) is torch.Tensor                        # results of operations are plain tensors
    assert not nn.Parameter(torch.ones(2), requires_grad=False).requires_grad


def test_deepcopy_and_pickle_keep_parameters():
    import copy
    import pickle
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight is not model[0].weight
        np.testing.assert_array_equal(clone[0].weight.detach().numpy(), model[0].weight.detach().numpy())
        with torch.no_grad():
            clone[0].weight.zero_()
        assert model[0].weight.detach().numpy().any()


def test_dropout_follows_the_rng_rule_in_training_only():
    x = torch.ones(4, 50, dtype=torch.float64)
    layer = nn.Dropout(0.25)
    torch.manual_seed(3)
    out = layer(x).numpy()
    keep = np.random.default_rng(3).random((4, 50)) < 0.75
    np.testing.assert_array_equal(out, np.where(keep, 1 / 0.75, 0.0))
    assert layer.eval()(x) is x
    assert (F.dropout(x, 1.0).numpy() == 0).all() and F.dropout(x, 0.0) is x
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_leaky_relu_gradient_at_zero_is_the_slope_and_bce_input_checks():
    x = t64([-1.0, 0.0, 2.0], requires_grad=True)
    F.leaky_relu(x, 0.1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.1, 0.1, 1.0])
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(t64([0.5, 1.5]), t64([0.0, 1.0]))
    with pytest.raises(ValueError, match="must be the same as input size"):
        F.binary_cross_entropy_with_logits(t64([[0.5], [1.5]]), t64([0.0, 1.0]))
    # log(0) is clamped to -100, as PyTorch: a confident wrong answer costs 100, not inf
    assert F.binary_cross_entropy(t64([0.0]), t64([1.0])).item() == 100.0


def test_set_default_dtype_reaches_linear_and_the_optimizer_step_counter():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        layer = nn.Linear(2, 1)
        assert layer.weight.dtype == np.float64
        opt = torch.optim.Adam(layer.parameters())
        layer(torch.ones(1, 2)).sum().backward()
        opt.step()
        assert opt.state[layer.weight]["step"].dtype == np.float64   # PyTorch's _get_scalar_dtype()
    finally:
        torch.set_default_dtype(previous)
    assert nn.Linear(2, 1).weight.dtype == np.float32


def test_module_dict_registers_in_order():
    md = nn.ModuleDict({"enc": nn.Linear(2, 3), "act": nn.ReLU()})
    md["dec"] = nn.Linear(3, 1)
    assert list(md) == ["enc", "act", "dec"] and "act" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    assert isinstance(md.pop("act"), nn.ReLU) and list(md.keys()) == ["enc", "dec"]


def test_forward_hooks_see_and_may_replace_inputs_and_outputs():
    layer = nn.Linear(2, 2)
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out.shape)))
    doubled = layer.register_forward_pre_hook(lambda m, args: args[0] * 2)
    x = torch.ones(3, 2)
    out = layer(x)
    assert seen == [(layer, (3, 2), (3, 2))]
    np.testing.assert_allclose(out.detach().numpy(), F.linear(x * 2, layer.weight, layer.bias).detach().numpy())
    handle.remove()
    doubled.remove()
    layer(x)
    assert len(seen) == 1
    with layer.register_forward_hook(lambda m, args, out: out * 0):
        assert not layer(x).detach().numpy().any()
    assert layer(x).detach().numpy().any()


def test_changing_the_bias_in_place_after_forward_is_fine_but_the_weight_is_not():
    layer = nn.Linear(2, 2)
    x = torch.ones(3, 2, requires_grad=True)
    out = layer(x).sum()
    with torch.no_grad():
        layer.bias += 1          # linear's backward never reads b (PyTorch's addmm neither)
    out.backward()
    out = layer(x).sum()
    with torch.no_grad():
        layer.weight.mul_(2)     # but it reads w for x's gradient
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_init_gains_and_fans_match_pytorch():
    real = pytest.importorskip("torch")
    for name, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                        ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)]:
        assert nn.init.calculate_gain(name, param) == real.nn.init.calculate_gain(name, param)
    for shape in [(4, 6), (5, 3, 2), (2, 3, 4, 5)]:
        ours = nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))
        theirs = real.nn.init._calculate_fan_in_and_fan_out(real.zeros(*shape))
        assert ours == theirs
        # the distribution's bound: every draw lies within PyTorch's kaiming_uniform_ bound
        t = nn.init.kaiming_uniform_(torch.zeros(*shape, dtype=torch.float64), a=math.sqrt(5))
        bound = math.sqrt(6 / ((1 + 5) * ours[0]))
        assert np.abs(t.numpy()).max() <= bound
