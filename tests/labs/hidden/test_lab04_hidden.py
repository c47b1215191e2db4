"""Lab 04, graded by the autograder only: the update rules step after step, for every
option that changes the arithmetic, and the schedules and clipping on other inputs.

Probes (tinytorch.app.labs.expect): each test runs the optimizers, schedules and
clipping on fixed inputs and hands over what they produced; the hidden answer
key holds the reference's results.  The package's own tests hold the
reference to hand-computed examples, to PyTorch and to the textbook formulas.
"""
import math

import numpy as np
import pytest

import tinytorch
from tinytorch import nn, optim
from tinytorch.app.labs import expect
from tinytorch.nn.utils import clip_grad_norm_, clip_grad_value_
from tinytorch.optim.lr_scheduler import CosineAnnealingLR, StepLR


def gradient_sequence(shape, steps=7, seed=0):
    """Gradients that vary in sign and in scale (a burst at step 3), as real ones do."""
    rng = np.random.default_rng(seed)
    scales = [1.0, 0.5, 8.0, 0.1, 2.0, 0.05, 1.0, 3.0][:steps] + [1.0] * max(0, steps - 8)
    return [scale * rng.standard_normal(shape) for scale in scales]


def run_optimizer(make_optimizer, start, grads):
    """The parameter's values after each step of an optimizer fed ``grads``, stacked."""
    param = nn.Parameter(start.copy())
    optimizer = make_optimizer([param])
    history = []
    for grad in grads:
        param.grad = tinytorch.tensor(grad)
        optimizer.step()
        history.append(param.array.copy())
    return np.stack(history)


def parameters_with_gradients(gradients):
    params = []
    for g in gradients:
        param = nn.Parameter(np.zeros(np.shape(g), dtype=np.asarray(g).dtype))
        param.grad = tinytorch.tensor(np.array(g))
        params.append(param)
    return params


SGD_CASES = {
    "plain": dict(lr=0.1),
    "weight decay": dict(lr=0.1, weight_decay=0.05),
    "maximize": dict(lr=0.1, maximize=True),
    "momentum": dict(lr=0.1, momentum=0.9),
    "dampening": dict(lr=0.05, momentum=0.8, dampening=0.3),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "nesterov, decay, maximize": dict(lr=0.05, momentum=0.7, nesterov=True, weight_decay=0.1,
                                      maximize=True),
    "all but nesterov": dict(lr=0.02, momentum=0.6, dampening=0.5, weight_decay=0.2,
                             maximize=True),
}

ADAM_CASES = {
    "default": (optim.Adam, dict(lr=0.01)),
    "betas and eps": (optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-3)),
    "L2 decay": (optim.Adam, dict(lr=0.01, weight_decay=0.1)),
    "amsgrad": (optim.Adam, dict(lr=0.01, betas=(0.9, 0.8), amsgrad=True)),
    "maximize": (optim.Adam, dict(lr=0.01, maximize=True)),
    "amsgrad, decay, maximize": (optim.Adam, dict(lr=0.02, betas=(0.8, 0.7), amsgrad=True,
                                                  weight_decay=0.2, maximize=True)),
    "AdamW default decay": (optim.AdamW, dict(lr=0.01)),
    "AdamW amsgrad": (optim.AdamW, dict(lr=0.02, betas=(0.9, 0.9), weight_decay=0.3, amsgrad=True)),
    "AdamW maximize": (optim.AdamW, dict(lr=0.02, weight_decay=0.3, maximize=True)),
    "Adam decoupled flag": (optim.Adam, dict(lr=0.02, weight_decay=0.3,
                                             decoupled_weight_decay=True)),
}


class TestUpdateRules:
    @pytest.mark.parametrize("options", SGD_CASES.values(), ids=SGD_CASES.keys())
    def test_sgd_follows_the_update_rule(self, options):
        start = np.random.default_rng(1).standard_normal((3, 4))
        history = run_optimizer(lambda p: optim.SGD(p, **options), start,
                                gradient_sequence((3, 4)))
        expect.value(history, rtol=1e-10, atol=1e-12, what="the parameter after each step")

    @pytest.mark.parametrize("cls, options", ADAM_CASES.values(), ids=ADAM_CASES.keys())
    def test_adam_family_follows_the_update_rule(self, cls, options):
        start = np.random.default_rng(2).standard_normal(6)
        history = run_optimizer(lambda p: cls(p, **options), start, gradient_sequence(6, seed=3))
        expect.value(history, rtol=1e-10, atol=1e-12, what="the parameter after each step")

    def test_sgd_stores_the_first_gradient_undamped(self):
        param = nn.Parameter(np.zeros(3))
        optimizer = optim.SGD([param], lr=0.1, momentum=0.5, dampening=0.5)
        buffers = []
        for g in gradient_sequence(3, steps=2, seed=4):
            param.grad = tinytorch.tensor(g)
            optimizer.step()
            buffers.append(optimizer.state[param]["momentum_buffer"].copy())
        expect.value(np.stack(buffers), rtol=1e-12, atol=1e-15,
                     what="the momentum buffer after each step")

    def test_adam_state_counts_steps_and_keeps_both_averages(self):
        param = nn.Parameter(np.random.default_rng(5).standard_normal(4))
        optimizer = optim.Adam([param], lr=0.05, betas=(0.7, 0.8), amsgrad=True)
        for g in gradient_sequence(4, steps=4, seed=6):
            param.grad = tinytorch.tensor(g)
            optimizer.step()
        state = optimizer.state[param]
        expect.value(state["step"], what="the step count after four steps")
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            expect.value(state[key], rtol=1e-12, atol=1e-15, what=f"{key} after four steps")

    def test_adamw_decays_a_weight_whose_gradient_is_zero(self):
        history = run_optimizer(lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.5),
                                np.array([2.0, -1.0, 3.0]), [np.array([0.0, 1.0, 0.0])] * 3)
        expect.value(history, rtol=1e-12, atol=1e-15, what="the parameter after each step")

    def test_one_dimensional_and_matrix_parameters_keep_their_shapes(self):
        weights = nn.Parameter(np.random.default_rng(7).standard_normal((2, 3, 2)))
        optimizer = optim.Adam([weights], lr=0.01, weight_decay=0.01)
        weights.grad = tinytorch.tensor(np.random.default_rng(8).standard_normal((2, 3, 2)))
        optimizer.step()
        expect.value(weights.array.shape, what="the parameter's shape after a step")
        expect.value(optimizer.state[weights]["exp_avg_sq"].shape, what="exp_avg_sq's shape")
        expect.value(weights.array, rtol=1e-12, atol=1e-15, what="the parameter after a step")


class TestParamGroups:
    def test_each_group_follows_the_sgd_rule_with_its_own_options(self):
        start_a, start_b = np.random.default_rng(6).standard_normal((2, 3))
        a, b = nn.Parameter(start_a.copy()), nn.Parameter(start_b.copy())
        optimizer = optim.SGD([{"params": [a]},
                               {"params": [b], "lr": 0.5, "momentum": 0.5, "weight_decay": 0.1,
                                "nesterov": True, "maximize": True}],
                              lr=0.1, momentum=0.9, dampening=0.2)
        for g, h in zip(gradient_sequence(3, seed=7), gradient_sequence(3, seed=8)):
            a.grad, b.grad = tinytorch.tensor(g), tinytorch.tensor(h)
            optimizer.step()
        expect.value(a.array, rtol=1e-12, atol=1e-15, what="the first group's parameter")
        expect.value(b.array, rtol=1e-12, atol=1e-15, what="the second group's parameter")
        expect.value([(g["lr"], g["dampening"], g["weight_decay"], g["nesterov"])
                      for g in optimizer.param_groups],
                     what="each group's lr, dampening, weight_decay and nesterov")

    def test_adam_groups_with_their_own_betas(self):
        a, b = nn.Parameter(np.ones(3)), nn.Parameter(-np.ones(3))
        optimizer = optim.Adam([{"params": [a]}, {"params": [b], "betas": (0.5, 0.5), "eps": 0.1}],
                               lr=0.1)
        for g, h in zip(gradient_sequence(3, steps=4, seed=9),
                        gradient_sequence(3, steps=4, seed=10)):
            a.grad, b.grad = tinytorch.tensor(g), tinytorch.tensor(h)
            optimizer.step()
        expect.value(a.array, rtol=1e-12, atol=1e-15, what="the parameter with the default betas")
        expect.value(b.array, rtol=1e-12, atol=1e-15,
                     what="the parameter with its own betas and eps")


class TestSchedules:
    def test_step_lr_over_two_groups(self):
        optimizer = optim.SGD([{"params": [nn.Parameter(np.ones(1))], "lr": 0.8},
                               {"params": [nn.Parameter(np.ones(1))]}], lr=0.02)
        scheduler = StepLR(optimizer, step_size=5, gamma=0.7)
        rates = []
        for _ in range(17):
            rates.append(scheduler.get_last_lr())
            scheduler.step()
        expect.value(rates, rtol=1e-12, atol=1e-14, what="both groups' rates, epoch by epoch")

    def test_cosine_with_a_short_period_over_several_cycles(self):
        optimizer = optim.SGD([nn.Parameter(np.ones(1))], lr=0.4)
        scheduler = CosineAnnealingLR(optimizer, T_max=3, eta_min=0.05)
        rates = []
        for _ in range(13):
            rates.append(scheduler.get_last_lr()[0])
            scheduler.step()
        expect.value(rates, rtol=1e-12, atol=1e-15, what="the rate, epoch by epoch")

    def test_cosine_resumed_with_last_epoch(self):
        optimizer = optim.SGD([nn.Parameter(np.ones(1))], lr=0.001)
        optimizer.param_groups[0]["initial_lr"] = 0.5
        scheduler = CosineAnnealingLR(optimizer, T_max=8, eta_min=0.1, last_epoch=2)
        rates = [scheduler.get_last_lr()[0]]
        for _ in range(3):
            scheduler.step()
            rates.append(scheduler.get_last_lr()[0])
        expect.value(scheduler.last_epoch, what="last_epoch after three more steps")
        expect.value(rates, rtol=1e-12, atol=1e-15, what="the rates from the resumed epoch on")

    def test_the_scheduled_rate_reaches_adams_step(self):
        param = nn.Parameter(np.zeros(2))
        optimizer = optim.Adam([param], lr=0.1)
        scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
        history = []
        for _ in range(6):
            param.grad = tinytorch.tensor(np.array([1.0, -3.0]))
            optimizer.step()
            scheduler.step()
            history.append(param.array.copy())
        expect.value(np.stack(history), rtol=1e-10, atol=1e-12,
                     what="the parameter after each epoch")


class TestClipping:
    def test_a_norm_of_order_one_half(self):
        params = parameters_with_gradients([np.array([1.0, -4.0]), np.array([[0.25, 9.0]])])
        expect.value(clip_grad_norm_(params, max_norm=2.0, norm_type=0.5), rtol=1e-12, atol=1e-14,
                     what="the returned norm")
        for number, param in enumerate(params):
            expect.value(param.grad.array, rtol=1e-12, atol=1e-14,
                         what=f"gradient {number} after clipping")

    def test_the_largest_magnitude_may_be_negative(self):
        params = parameters_with_gradients([np.array([0.5, -7.0], dtype=np.float32),
                                            np.array([3.0], dtype=np.float32)])
        norm = clip_grad_norm_(params, max_norm=1.0, norm_type=math.inf)
        expect.value(norm, rtol=1e-6, what="the returned norm")
        expect.value(str(norm.dtype), what="its dtype")
        for number, param in enumerate(params):
            expect.value(param.grad.array, rtol=1e-6, what=f"gradient {number} after clipping")

    @pytest.mark.parametrize("first, second", [
        pytest.param([1e20, -3e20], [4e20], id="squares beyond float32's largest number"),
        pytest.param([3e-30, -4e-30], [1.2e-29], id="squares below float32's smallest number"),
    ])
    def test_float32_gradients_whose_squares_leave_float32s_range(self, first, second):
        params = parameters_with_gradients([np.array(first, dtype=np.float32),
                                            np.array(second, dtype=np.float32)])
        norm = clip_grad_norm_(params, max_norm=1.0)
        expect.value(norm, rtol=1e-6, what="the returned norm")
        for number, param in enumerate(params):
            expect.value(param.grad.array, rtol=1e-6, what=f"gradient {number} after the call")

    def test_max_norm_zero_zeroes_every_gradient(self):
        params = parameters_with_gradients([np.array([1.0, -2.0]), np.array([3.0])])
        expect.value(clip_grad_norm_(params, max_norm=0.0), rtol=1e-12, atol=1e-14,
                     what="the returned norm")
        expect.value([p.grad.array for p in params], what="the gradients after clipping")

    def test_zero_gradients_are_left_alone(self):
        params = parameters_with_gradients([np.zeros(3), np.zeros((2, 2))])
        expect.value(clip_grad_norm_(params, max_norm=1.0, norm_type=3), what="the returned norm")
        expect.value([p.grad.array for p in params], what="the gradients after the call")

    def test_clip_value_zero_and_a_value_float32_cannot_hold(self):
        zeroed = parameters_with_gradients([np.array([-1.5, 0.0, 2.0])])
        clip_grad_value_(zeroed, 0.0)
        expect.value(zeroed[0].grad.array, what="the gradient clamped to zero")
        single = parameters_with_gradients([np.array([0.3, -0.05, -0.2], dtype=np.float32)])[0]
        clip_grad_value_(single, 0.1)
        expect.value(single.grad.array, what="the float32 gradient clamped to 0.1")
        expect.value(str(single.grad.array.dtype), what="its dtype")
