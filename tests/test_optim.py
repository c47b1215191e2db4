"""Optimizers, schedules and gradient clipping against hand-written formulas (and PyTorch)."""
import math

import numpy as np
import pytest

import tinytorch
from tinytorch import nn, optim
from tinytorch.nn.utils import clip_grad_norm_, clip_grad_value_

STEPS = 6


def gradient_sequence(shape, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(steps)]


def run_optimizer(make_optimizer, start, grads):
    param = nn.Parameter(start.copy())
    optimizer = make_optimizer([param])
    history = []
    for grad in grads:
        param.grad = tinytorch.tensor(grad)
        optimizer.step()
        history.append(param.data.copy())
    return history


def reference_sgd(start, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    p, buf, history = start.copy(), None, []
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        history.append(p.copy())
    return history


def reference_adam(start, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                   decoupled=False, amsgrad=False, maximize=False):
    p, m, v, v_max, history = start.copy(), 0.0, 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - beta1 ** t)
        v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(p.copy())
    return history


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.8, dampening=0.3),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.5, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9, maximize=True),
]


@pytest.mark.parametrize("options", SGD_CASES)
def test_sgd_matches_the_update_rule(options):
    start = np.random.default_rng(1).standard_normal((3, 4))
    grads = gradient_sequence((3, 4))
    got = run_optimizer(lambda p: optim.SGD(p, **options), start, grads)
    for step, (a, b) in enumerate(zip(got, reference_sgd(start, grads, **options))):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {step}")


ADAM_CASES = [
    (optim.Adam, dict(lr=0.01), dict()),
    (optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1), dict(beta1=0.8, beta2=0.99, weight_decay=0.1)),
    (optim.Adam, dict(lr=0.01, amsgrad=True), dict(amsgrad=True)),
    (optim.Adam, dict(lr=0.01, maximize=True), dict(maximize=True)),
    (optim.AdamW, dict(lr=0.01), dict(weight_decay=0.01, decoupled=True)),
    (optim.AdamW, dict(lr=0.02, weight_decay=0.3, amsgrad=True), dict(weight_decay=0.3, decoupled=True, amsgrad=True)),
]


@pytest.mark.parametrize("cls, options, reference_options", ADAM_CASES)
def test_adam_family_matches_the_update_rule(cls, options, reference_options):
    start = np.random.default_rng(2).standard_normal(5)
    grads = gradient_sequence(5, seed=3)
    got = run_optimizer(lambda p: cls(p, **options), start, grads)
    expected = reference_adam(start, grads, options["lr"], **reference_options)
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=f"step {step}")


def test_param_groups_use_their_own_learning_rate():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    a.grad, b.grad = tinytorch.ones(2, dtype=tinytorch.float64), tinytorch.ones(2, dtype=tinytorch.float64)
    optimizer.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_allclose(b.data, 0.5)


def test_parameters_without_gradient_are_left_alone_and_zero_grad_clears():
    a = nn.Parameter(np.ones(2))
    optimizer = optim.SGD([a], lr=1.0, momentum=0.9)
    optimizer.step()
    np.testing.assert_array_equal(a.data, 1.0)
    a.grad = tinytorch.ones(2, dtype=tinytorch.float64)
    optimizer.zero_grad()
    assert a.grad is None


def test_state_dict_round_trip_continues_identically(tmp_path):
    start, grads = np.random.default_rng(4).standard_normal(4), gradient_sequence(4, steps=8, seed=5)

    def make(p):
        return optim.Adam(p, lr=0.05, amsgrad=True)

    uninterrupted = run_optimizer(make, start, grads)
    param = nn.Parameter(start.copy())
    first = make([param])
    for g in grads[:4]:
        param.grad = tinytorch.tensor(g)
        first.step()
    tinytorch.save({"optimizer": first.state_dict()}, tmp_path / "opt.npz")
    second = make([param])
    second.load_state_dict(tinytorch.load(tmp_path / "opt.npz")["optimizer"])
    for g in grads[4:]:
        param.grad = tinytorch.tensor(g)
        second.step()
    np.testing.assert_array_equal(param.data, uninterrupted[-1])


def test_load_state_dict_with_a_different_group_size_is_refused():
    optimizer = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1)
    other = optim.SGD([nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))], lr=0.1)
    with pytest.raises(ValueError, match="2 parameters in the state dict but 1"):
        optimizer.load_state_dict(other.state_dict())


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-1), "Invalid learning rate: -1"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.9)), "beta parameter at index 0"),
    (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
])
def test_bad_arguments_are_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make([nn.Parameter(np.ones(1))] if "empty" not in message else [])


def test_step_lr_and_cosine_follow_their_closed_forms():
    param = nn.Parameter(np.ones(1))
    step_optimizer = optim.SGD([param], lr=1.0)
    step = optim.lr_scheduler.StepLR(step_optimizer, step_size=3, gamma=0.5)
    cosine_optimizer = optim.SGD([nn.Parameter(np.ones(1))], lr=0.2)
    cosine = optim.lr_scheduler.CosineAnnealingLR(cosine_optimizer, T_max=10, eta_min=0.01)
    for epoch in range(12):
        assert step.get_last_lr() == [0.5 ** (epoch // 3)]
        expected = 0.01 + (0.2 - 0.01) * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert cosine_optimizer.param_groups[0]["lr"] == pytest.approx(expected, abs=1e-15)
        step.step()
        cosine.step()


def test_clip_grad_norm_scales_to_the_limit_and_returns_the_norm():
    a, b = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(1))
    a.grad = tinytorch.tensor(np.array([3.0, 0.0]))
    b.grad = tinytorch.tensor(np.array([4.0]))
    norm = clip_grad_norm_([a, b], max_norm=1.0)
    assert norm.item() == pytest.approx(5.0)
    joint = np.concatenate([a.grad.data, b.grad.data])
    assert np.linalg.norm(joint) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(joint / np.linalg.norm(joint), [0.6, 0.0, 0.8])
    untouched = clip_grad_norm_([a, b], max_norm=10.0)
    assert untouched.item() == pytest.approx(1.0, rel=1e-5)
    assert np.linalg.norm(np.concatenate([a.grad.data, b.grad.data])) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_inf_and_nonfinite_and_value():
    a = nn.Parameter(np.zeros(3))
    a.grad = tinytorch.tensor(np.array([-4.0, 1.0, 2.0]))
    assert clip_grad_norm_(a, max_norm=2.0, norm_type=float("inf")).item() == pytest.approx(4.0)
    np.testing.assert_allclose(a.grad.data, np.array([-4.0, 1.0, 2.0]) * 2 / (4 + 1e-6))
    a.grad = tinytorch.tensor(np.array([np.inf, 1.0, 2.0]))
    with pytest.raises(RuntimeError, match="inf"):
        clip_grad_norm_(a, 1.0, error_if_nonfinite=True)
    a.grad = tinytorch.tensor(np.array([-4.0, 0.5, 2.0]))
    clip_grad_value_(a, 1.0)
    np.testing.assert_array_equal(a.grad.data, [-1.0, 0.5, 1.0])


# ----- PyTorch as an extra oracle --------------------------------------------------
TORCH_CASES = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.7, dampening=0.2)),
    ("Adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, options", TORCH_CASES)
def test_optimizers_match_pytorch(name, options):
    torch = pytest.importorskip("torch")
    start, grads = np.random.default_rng(6).standard_normal((2, 3)), gradient_sequence((2, 3), seed=7)
    got = run_optimizer(lambda p: getattr(optim, name)(p, **options), start, grads)
    theirs = torch.nn.Parameter(torch.tensor(start))
    torch_optimizer = getattr(torch.optim, name)([theirs], **options)
    for step, g in enumerate(grads):
        theirs.grad = torch.tensor(g)
        torch_optimizer.step()
        np.testing.assert_allclose(got[step], theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_schedulers_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = optim.SGD([nn.Parameter(np.ones(1))], lr=0.3)
    theirs = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.3)
    ours_schedule = optim.lr_scheduler.CosineAnnealingLR(ours, T_max=7, eta_min=0.02)
    theirs_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=7, eta_min=0.02)
    for _ in range(15):
        assert ours_schedule.get_last_lr()[0] == pytest.approx(theirs_schedule.get_last_lr()[0], abs=1e-12)
        theirs.step()
        ours_schedule.step()
        theirs_schedule.step()
