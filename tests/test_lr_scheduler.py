"""optim.lr_scheduler: hand-derived schedules (always) and PyTorch's numbers and state_dict (when installed)."""
import math
import warnings

import pytest

import autotrain.engine as torch
from autotrain.engine import optim
from autotrain.engine.optim import lr_scheduler


def _optimizer(lr=0.5, groups=1):
    params = [torch.ones(1, requires_grad=True) for _ in range(groups)]
    return optim.SGD([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr)


def _run(make_scheduler, epochs=25, opt=None):
    opt = opt or _optimizer()
    scheduler = make_scheduler(opt)
    lrs = [scheduler.get_last_lr()]
    for _ in range(epochs):
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return lrs, scheduler, opt


def test_schedules_by_hand():
    lrs, _, _ = _run(lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5), epochs=7)
    assert [lr[0] for lr in lrs] == [0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]
    lrs, _, _ = _run(lambda o: lr_scheduler.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.1), epochs=6)
    assert [lr[0] for lr in lrs] == pytest.approx([0.5, 0.5, 0.05, 0.05, 0.05, 0.0005, 0.0005], rel=1e-12)
    lrs, _, _ = _run(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9), epochs=5)
    assert [lr[0] for lr in lrs] == pytest.approx([0.5 * 0.9 ** k for k in range(6)], rel=1e-12)
    lrs, _, _ = _run(lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 1 / (epoch + 1)), epochs=4)
    assert [lr[0] for lr in lrs] == pytest.approx([0.5 / (k + 1) for k in range(5)], rel=1e-15)
    lrs, _, _ = _run(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.1), epochs=30)
    closed = [0.1 + 0.4 * (1 + math.cos(math.pi * k / 10)) / 2 for k in range(31)]
    assert [lr[0] for lr in lrs] == pytest.approx(closed, rel=1e-12)   # the recursive form tracks the formula


def test_groups_state_dict_resume_and_warnings():
    lrs, scheduler, opt = _run(lambda o: lr_scheduler.StepLR(o, 2, 0.5), epochs=5, opt=_optimizer(groups=2))
    assert lrs[-1] == [0.125, 0.25] and [g["lr"] for g in opt.param_groups] == [0.125, 0.25]
    assert [g["initial_lr"] for g in opt.param_groups] == [0.5, 1.0]
    saved = scheduler.state_dict()
    assert "optimizer" not in saved and saved["last_epoch"] == 5 and saved["base_lrs"] == [0.5, 1.0]
    again = lr_scheduler.StepLR(opt, 2, 0.5, last_epoch=4)
    again.load_state_dict(saved)
    opt.step()
    again.step()
    assert again.get_last_lr() == [0.0625, 0.125]
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_optimizer(), 2, last_epoch=3)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), 2)
    fresh = lr_scheduler.ExponentialLR(_optimizer(), 0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        fresh.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lrs, _, _ = _run(lambda o: lr_scheduler.ExponentialLR(o, 0.5), epochs=2)   # the right order: no warning
    with pytest.warns(UserWarning, match="deprecated"):
        fresh.step(4)
    assert fresh.get_last_lr() == [0.5 * 0.5 ** 4]    # closed form


SCHEDULES = {
    "StepLR": lambda m, o: m.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.3),
    "MultiStepLR": lambda m, o: m.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7, 7, 12], gamma=0.5),
    "ExponentialLR": lambda m, o: m.optim.lr_scheduler.ExponentialLR(o, gamma=0.93),
    "LambdaLR": lambda m, o: m.optim.lr_scheduler.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 / (1 + e)]),
    "CosineAnnealingLR": lambda m, o: m.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
}


def _live(m, name):
    params = [m.nn.Parameter(m.ones(2)), m.nn.Parameter(m.ones(2))]
    opt = m.optim.Adam([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.3}], lr=0.1)
    scheduler = SCHEDULES[name](m, opt)
    lrs = [scheduler.get_last_lr()]
    for _ in range(30):
        for p in params:
            p.grad = m.ones(2)
        opt.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    state = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.state_dict()["param_groups"]]
    return lrs, state, groups


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedulers_match_pytorch_exactly(name):
    real = pytest.importorskip("torch")
    ours, theirs = _live(torch, name), _live(real, name)
    assert ours[0] == theirs[0]           # every learning rate, bit for bit
    assert ours[1] == theirs[1]           # state_dict: same keys, order and values
    assert ours[2] == theirs[2]           # the optimizer's groups (lr, initial_lr)
    assert list(ours[1]) == list(theirs[1])
