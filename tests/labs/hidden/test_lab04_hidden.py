"""Lab 04, graded by the autograder only: SGD and the Adam family against their update rules.

Each reference below is the textbook formula in plain float64 numpy, written
independently of tinytorch/optim; the optimizers must follow it step after
step, for every option that changes the arithmetic.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch import nn, optim

# The option tables and the helpers are the visible tests'; this file ships beside them.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from test_optim import ADAM_CASES, SGD_CASES, gradient_sequence, run_optimizer  # noqa: E402

def reference_sgd(start, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                  nesterov=False, maximize=False):
    p, velocity, history = start.astype(np.float64), None, []
    for g in grads:
        direction = (-1.0 if maximize else 1.0) * g + weight_decay * p
        if momentum != 0:
            if velocity is None:
                velocity = direction  # the first step stores the gradient, undamped
            else:
                velocity = momentum * velocity + (1.0 - dampening) * direction
            direction = direction + momentum * velocity if nesterov else velocity
        p = p - lr * direction
        history.append(p)
    return history


def reference_adam(start, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                   amsgrad=False, maximize=False, decoupled=False):
    beta1, beta2 = betas
    p = start.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    v_max = np.zeros_like(p)
    history = []
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if decoupled:
            p = p - lr * weight_decay * p
        else:
            g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        v_max = np.maximum(v_max, v)
        m_hat = m / (1 - beta1 ** t)
        v_hat = (v_max if amsgrad else v) / (1 - beta2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        history.append(p)
    return history


def assert_histories_equal(got, expected, rtol=1e-12, atol=1e-14):
    assert len(got) == len(expected)
    for step, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"after step {step + 1}")


class TestUpdateRules:
    @pytest.mark.parametrize("options", SGD_CASES.values(), ids=SGD_CASES.keys())
    def test_sgd_follows_the_update_rule(self, options):
        start = np.random.default_rng(1).standard_normal((3, 4))
        grads = gradient_sequence((3, 4))
        got = run_optimizer(lambda p: optim.SGD(p, **options), start, grads)
        expected = reference_sgd(start, grads, **options)
        assert_histories_equal(got, expected)
        for option in set(options) - {"lr"}:  # each option must matter on this data
            without = {k: v for k, v in options.items() if k != option}
            if without.get("nesterov") and option == "momentum":
                continue  # nesterov needs momentum
            other = reference_sgd(start, grads, **without)
            assert np.abs(expected[-1] - other[-1]).max() > 1e-3, f"{option} makes no difference"

    @pytest.mark.parametrize("cls, options, reference_options", ADAM_CASES.values(),
                             ids=ADAM_CASES.keys())
    def test_adam_family_follows_the_update_rule(self, cls, options, reference_options):
        start = np.random.default_rng(2).standard_normal(6)
        grads = gradient_sequence(6, seed=3)
        got = run_optimizer(lambda p: cls(p, **options), start, grads)
        expected = reference_adam(start, grads, options["lr"], **reference_options)
        assert_histories_equal(got, expected, rtol=1e-10, atol=1e-12)
        for option in reference_options:  # each option must matter on this data
            without = {k: v for k, v in reference_options.items() if k != option}
            other = reference_adam(start, grads, options["lr"], **without)
            assert np.abs(expected[-1] - other[-1]).max() > 1e-4, f"{option} makes no difference"


class TestParamGroups:
    def test_each_group_follows_the_sgd_rule_with_its_own_options(self):
        start_a, start_b = np.random.default_rng(6).standard_normal((2, 3))
        a, b = nn.Parameter(start_a.copy()), nn.Parameter(start_b.copy())
        optimizer = optim.SGD([{"params": [a]},
                               {"params": [b], "lr": 0.5, "momentum": 0.5, "weight_decay": 0.1}],
                              lr=0.1, momentum=0.9)
        grads_a, grads_b = gradient_sequence(3, seed=7), gradient_sequence(3, seed=8)
        for g, h in zip(grads_a, grads_b):
            a.grad, b.grad = tinytorch.tensor(g), tinytorch.tensor(h)
            optimizer.step()
        np.testing.assert_allclose(a.data, reference_sgd(start_a, grads_a, lr=0.1, momentum=0.9)[-1],
                                   rtol=1e-12)
        np.testing.assert_allclose(b.data, reference_sgd(start_b, grads_b, lr=0.5, momentum=0.5,
                                                         weight_decay=0.1)[-1], rtol=1e-12)
        assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]
        assert optimizer.param_groups[0]["weight_decay"] == 0.0  # filled from the defaults
