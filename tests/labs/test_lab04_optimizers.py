"""Lab 04 — optimizers and the training loop: SGD, Adam and AdamW, learning-rate
schedules, gradient clipping.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 04 (the update rules, the schedules' rates, the clipping) on fixed
inputs and hands over what it produced: parameter values after each step,
state dicts, rates epoch by epoch, clipped gradients and norms.  The lab's
answer key holds what the reference solution produces; the package's own
tests (tests/test_optim.py, test_lr_scheduler.py, test_clip_grad.py) hold the
reference to worked examples and closed forms.  Nothing from later labs is
used (no DataLoader).
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


def array_dtypes(entries):
    """``(key, dtype name)`` for each array among a state's entries, sorted by key."""
    return tuple(sorted((key, str(value.dtype)) for key, value in entries.items()
                        if isinstance(value, np.ndarray)))


def parameters_with_gradients(gradients):
    params = []
    for g in gradients:
        param = nn.Parameter(np.zeros(np.shape(g), dtype=np.asarray(g).dtype))
        param.grad = tinytorch.tensor(np.array(g))
        params.append(param)
    return params


def random_gradients(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in [(3, 4), (4,), (2, 2, 2)]]


def three_group_sgd(lrs=(0.3, 0.05, 1.0)):
    return optim.SGD([{"params": [nn.Parameter(np.ones(2))], "lr": lr} for lr in lrs], lr=0.123)


def current_lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


# ----- the update rules ------------------------------------------------------------------

class TestUpdateRules:
    def test_sgd_with_momentum_on_three_small_gradients(self):
        history = run_optimizer(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), np.array([1.0]),
                                [np.array([1.0]), np.array([1.0]), np.array([-2.0])])
        expect.value(history, rtol=1e-12, atol=1e-14, what="the parameter after each step")

    def test_sgd_weight_decay_adds_to_the_gradient(self):
        history = run_optimizer(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.5),
                                np.array([2.0]), [np.array([2.0])])
        expect.value(history, rtol=1e-12, atol=1e-14, what="the parameter after one step")

    def test_sgd_maximize_climbs(self):
        history = run_optimizer(lambda p: optim.SGD(p, lr=0.1, maximize=True),
                                np.array([2.0]), [np.array([2.0])])
        expect.value(history, rtol=1e-12, atol=1e-14, what="the parameter after one step")

    def test_adam_moves_by_lr_while_the_gradient_is_constant(self):
        gradient = np.array([0.5, -20.0, 1e-3])
        history = run_optimizer(lambda p: optim.Adam(p, lr=0.1), np.zeros(3), [gradient] * 3)
        expect.value(history, rtol=1e-9, atol=1e-12, what="the parameter after each step")

    def test_adamw_shrinks_the_parameter_before_the_adam_step(self):
        history = run_optimizer(lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.5),
                                np.array([2.0]), [np.array([4.0])])
        expect.value(history, rtol=1e-12, atol=1e-14, what="the parameter after one step")

    @pytest.mark.parametrize("make", [
        pytest.param(lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
                     id="SGD with nesterov and weight decay"),
        pytest.param(lambda p: optim.Adam(p, lr=0.1, amsgrad=True, weight_decay=0.1),
                     id="Adam with amsgrad and weight decay"),
        pytest.param(lambda p: optim.AdamW(p, lr=0.1), id="AdamW"),
    ])
    def test_float32_parameters_stay_float32_in_place(self, make):
        start = np.random.default_rng(4).standard_normal(50).astype(np.float32)
        param = nn.Parameter(start.copy())
        optimizer = make([param])
        data_buffer = param.array
        for g in gradient_sequence(50, seed=5):
            param.grad = tinytorch.tensor(g.astype(np.float32))
            optimizer.step()
        expect.value(str(param.array.dtype), what="the parameter's dtype after the steps")
        expect.value(param.array is data_buffer, what="whether the steps updated the parameter's "
                                                     "array in place")
        expect.value(array_dtypes(optimizer.state[param]), what="the dtypes of the state's arrays")

    @pytest.mark.parametrize("make", [
        pytest.param(lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
                     id="SGD with nesterov and weight decay"),
        pytest.param(lambda p: optim.Adam(p, lr=0.1, amsgrad=True, weight_decay=0.1),
                     id="Adam with amsgrad and weight decay"),
        pytest.param(lambda p: optim.AdamW(p, lr=0.1), id="AdamW"),
    ])
    def test_float32_parameters_follow_the_rule(self, make):
        start = np.random.default_rng(4).standard_normal(50).astype(np.float32)
        grads = [g.astype(np.float32) for g in gradient_sequence(50, seed=5)]
        history = run_optimizer(make, start, grads)
        expect.value(history, rtol=2e-5, atol=2e-6, what="the float32 parameter after each step")

    @pytest.mark.parametrize("make", [
        pytest.param(lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1,
                                         maximize=True), id="SGD with every option"),
        pytest.param(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), id="SGD with momentum"),
        pytest.param(lambda p: optim.Adam(p, lr=0.1, weight_decay=0.1, maximize=True, amsgrad=True),
                     id="Adam with every option"),
    ])
    def test_step_leaves_the_gradient_untouched(self, make):
        param = nn.Parameter(np.ones(4))
        optimizer = make([param])
        gradients_after, params_after = [], []
        for g in gradient_sequence(4, steps=3):
            param.grad = tinytorch.tensor(g)
            optimizer.step()
            gradients_after.append(param.grad.array.copy())
            params_after.append(param.array.copy())
        expect.value(np.stack(gradients_after), what="the gradient after each step")
        expect.value(np.stack(params_after), rtol=1e-12, atol=1e-14,
                     what="the parameter after each step")


# ----- parameter groups and the step -----------------------------------------------------

class TestBookkeeping:
    def test_param_groups_use_their_own_options(self):
        start_a, start_b = np.random.default_rng(6).standard_normal((2, 3))
        a, b = nn.Parameter(start_a.copy()), nn.Parameter(start_b.copy())
        optimizer = optim.SGD([{"params": [a]},
                               {"params": [b], "lr": 0.5, "momentum": 0.5, "weight_decay": 0.1}],
                              lr=0.1, momentum=0.9)
        for g, h in zip(gradient_sequence(3, seed=7), gradient_sequence(3, seed=8)):
            a.grad, b.grad = tinytorch.tensor(g), tinytorch.tensor(h)
            optimizer.step()
        expect.value(a.array, rtol=1e-12, atol=1e-14,
                     what="the first group's parameter (the defaults)")
        expect.value(b.array, rtol=1e-12, atol=1e-14,
                     what="the second group's parameter (its own options)")
        expect.value([(g["lr"], g["momentum"], g["weight_decay"]) for g in optimizer.param_groups],
                     what="each group's lr, momentum and weight_decay")

    def test_add_param_group_fills_in_the_defaults(self):
        a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
        optimizer = optim.Adam([a], lr=0.1, betas=(0.5, 0.6))
        optimizer.add_param_group({"params": b, "lr": 0.2})
        group = optimizer.param_groups[1]
        expect.value(len(group["params"]), what="the number of parameters in the new group")
        expect.value(group["params"][0] is b, what="whether the new group holds b itself")
        expect.value((group["lr"], group["betas"]), what="the new group's lr and betas")
        b.grad = tinytorch.tensor(np.array([1.0, -1.0]))
        optimizer.step()
        expect.value(b.array, rtol=1e-12, atol=1e-14,
                     what="b after a step with the new group's options")
        expect.value(a.array, what="a, which has no gradient, after the step")

    @pytest.mark.parametrize("make", [
        pytest.param(lambda params: optim.SGD(params, lr=1.0, momentum=0.9, weight_decay=0.5),
                     id="SGD"),
        pytest.param(lambda params: optim.Adam(params, lr=1.0, weight_decay=0.5), id="Adam"),
    ])
    def test_parameters_without_gradient_are_left_alone(self, make):
        a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
        optimizer = make([a, b])
        a.grad, b.grad = tinytorch.tensor(np.array([1.0, 2.0])), None
        optimizer.step()
        expect.value(b.array, what="the parameter without a gradient after the step")
        expect.value(b in optimizer.state, what="whether it got optimizer state")
        expect.value(a.array, rtol=1e-12, atol=1e-14,
                     what="the parameter with a gradient after the step")

    def test_step_returns_the_closure_loss(self):
        a = nn.Parameter(np.ones(1))
        optimizer = optim.SGD([a], lr=0.5)
        a.grad = tinytorch.tensor(np.array([2.0]))
        expect.value(optimizer.step(lambda: 42.0), what="what step(closure) returned")
        expect.value(a.array, rtol=1e-12, atol=1e-14, what="the parameter after the step")


# ----- state dicts -------------------------------------------------------------------------

class TestStateDict:
    def test_layout_is_pytorchs(self):
        a, b, c = (nn.Parameter(np.ones(n)) for n in (2, 3, 4))
        optimizer = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1,
                               amsgrad=True)
        a.grad, c.grad = tinytorch.tensor(np.ones(2)), tinytorch.tensor(np.ones(4))
        optimizer.step()
        state = optimizer.state_dict()
        expect.value(tuple(sorted(state)), what="the state dict's keys")
        expect.value([g["params"] for g in state["param_groups"]], what="each group's params")
        expect.value([(g["lr"], g["betas"]) for g in state["param_groups"]],
                     what="each group's lr and betas")
        expect.value(tuple(sorted(state["state"])), what="the parameters that have state")
        expect.value(tuple(sorted(state["state"][2])), what="the entries of parameter 2's state")
        expect.value(state["state"][2]["step"], what="parameter 2's step count")
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            expect.value(state["state"][2][key], rtol=1e-12, atol=1e-14,
                         what=f"parameter 2's {key}")

    def test_sgd_state_is_the_momentum_buffer(self):
        a = nn.Parameter(np.ones(2))
        optimizer = optim.SGD([a], lr=0.1, momentum=0.9)
        a.grad = tinytorch.tensor(np.array([1.0, 2.0]))
        optimizer.step()
        optimizer.step()
        entries = optimizer.state_dict()["state"][0]
        expect.value(tuple(sorted(entries)), what="the entries of the parameter's state")
        expect.value(entries["momentum_buffer"], rtol=1e-12, atol=1e-14, what="the momentum buffer")
        without_momentum = optim.SGD([a], lr=0.1)
        without_momentum.step()
        expect.value(tuple(sorted(without_momentum.state_dict()["state"])),
                     what="the parameters with state when SGD has no momentum")

    def test_state_dict_is_a_snapshot(self):
        a = nn.Parameter(np.ones(2))
        optimizer = optim.SGD([a], lr=0.1, momentum=0.9)
        a.grad = tinytorch.tensor(np.array([1.0, 2.0]))
        optimizer.step()
        snapshot = optimizer.state_dict()
        optimizer.step()
        expect.value(snapshot["state"][0]["momentum_buffer"], rtol=1e-12, atol=1e-14,
                     what="the snapshot's momentum buffer after another step")
        expect.value(optimizer.state_dict()["state"][0]["momentum_buffer"], rtol=1e-12, atol=1e-14,
                     what="the momentum buffer now")

    @pytest.mark.parametrize("make", [
        pytest.param(lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
                     id="SGD with nesterov"),
        pytest.param(lambda p: optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.5),
                     id="SGD with dampening"),
        pytest.param(lambda p: optim.Adam(p, lr=0.05, amsgrad=True, weight_decay=0.1),
                     id="Adam with amsgrad"),
        pytest.param(lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.2), id="AdamW"),
    ])
    def test_round_trip_continues_identically(self, make):
        start, grads = np.random.default_rng(9).standard_normal(5), gradient_sequence(5, seed=10)
        uninterrupted = run_optimizer(make, start, grads)
        param = nn.Parameter(start.copy())
        first = make([param])
        for g in grads[:3]:
            param.grad = tinytorch.tensor(g)
            first.step()
        resumed_param = nn.Parameter(param.array.copy())
        second = make([resumed_param])
        second.load_state_dict(first.state_dict())
        for g in grads[3:]:
            resumed_param.grad = tinytorch.tensor(g)
            second.step()
        expect.value(uninterrupted[-1], rtol=1e-12, atol=1e-14,
                     what="the parameter after every step in one run")
        expect.value(resumed_param.array, rtol=1e-12, atol=1e-14,
                     what="the parameter after three steps, a state dict round trip and the rest")

    def test_round_trip_through_a_checkpoint_file(self, tmp_path):
        start = np.random.default_rng(11).standard_normal((2, 3))
        grads = gradient_sequence((2, 3), seed=12)

        def make(p):
            return optim.Adam(p, lr=0.05, amsgrad=True)

        param = nn.Parameter(start.copy())
        first = make([param])
        for g in grads[:4]:
            param.grad = tinytorch.tensor(g)
            first.step()
        tinytorch.save({"optimizer": first.state_dict(), "weights": param.array}, tmp_path / "ckpt")
        checkpoint = tinytorch.load(tmp_path / "ckpt")
        resumed_param = nn.Parameter(checkpoint["weights"])
        second = make([resumed_param])
        second.load_state_dict(checkpoint["optimizer"])
        for g in grads[4:]:
            resumed_param.grad = tinytorch.tensor(g)
            second.step()
        expect.value(resumed_param.array, rtol=1e-12, atol=1e-14,
                     what="the parameter after resuming from the checkpoint file")

    def test_load_restores_options_and_copies_in_the_parameter_dtype(self):
        source = nn.Parameter(np.ones(3))
        saved_optimizer = optim.SGD([source], lr=0.1, momentum=0.9)
        source.grad = tinytorch.tensor(np.array([1.0, 2.0, 3.0]))
        saved_optimizer.step()
        saved = saved_optimizer.state_dict()
        saved["param_groups"][0]["lr"] = 0.01
        target = nn.Parameter(np.ones(3, dtype=np.float32))
        optimizer = optim.SGD([target], lr=0.5, momentum=0.1)
        optimizer.load_state_dict(saved)
        group = optimizer.param_groups[0]
        expect.value((group["lr"], group["momentum"]), what="the loaded lr and momentum")
        expect.value(group["params"][0] is target, what="whether the group still holds the target")
        buffer = optimizer.state[target]["momentum_buffer"]
        expect.value(str(buffer.dtype), what="the loaded momentum buffer's dtype")
        saved["state"][0]["momentum_buffer"][:] = 100.0  # the optimizer must not share it
        expect.value(buffer, rtol=1e-7,
                     what="the loaded momentum buffer after the saved one changed")

    def test_shape_mismatch_is_refused_and_nothing_changes(self):
        source = optim.SGD([nn.Parameter(np.ones(5))], lr=0.3, momentum=0.9)
        source.param_groups[0]["params"][0].grad = tinytorch.tensor(np.ones(5))
        source.step()
        saved = source.state_dict()
        expect.value(saved["state"][0]["momentum_buffer"], rtol=1e-12, atol=1e-14,
                     what="the momentum buffer of the five-element parameter")
        target_param = nn.Parameter(np.ones(2))
        target = optim.SGD([target_param], lr=0.1, momentum=0.9)
        with expect.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(5,\), "
                                             r"but the parameter has shape \(2,\)",
                           what="the error for a buffer of the wrong shape"):
            target.load_state_dict(saved)
        expect.value((target.param_groups[0]["lr"], len(target.state)),
                     what="the target's lr and number of states after the refused load")


# ----- learning-rate schedules --------------------------------------------------------------

class TestSchedules:
    @pytest.mark.parametrize("step_size, gamma", [
        pytest.param(3, 0.5, id="halving every three epochs"),
        pytest.param(1, 0.9, id="a decay every epoch"),
        pytest.param(4, 0.1, id="a tenth every four epochs"),
    ])
    def test_step_lr(self, step_size, gamma):
        optimizer = three_group_sgd()
        scheduler = StepLR(optimizer, step_size=step_size, gamma=gamma)
        rates, last_rates, epochs = [], [], []
        for _ in range(13):
            rates.append(current_lrs(optimizer))
            last_rates.append(scheduler.get_last_lr())
            epochs.append(scheduler.last_epoch)
            scheduler.step()
        expect.value(rates, rtol=1e-12, atol=1e-14, what="each group's rate, epoch by epoch")
        expect.value(last_rates, rtol=1e-12, atol=1e-14, what="get_last_lr(), epoch by epoch")
        expect.value(epochs, what="last_epoch, epoch by epoch")

    @pytest.mark.parametrize("T_max, eta_min", [
        pytest.param(10, 0.0, id="ten epochs down to zero"),
        pytest.param(7, 0.02, id="seven epochs down to a floor"),
        pytest.param(1, 0.01, id="one epoch down to a floor"),
    ])
    def test_cosine_annealing_including_past_t_max(self, T_max, eta_min):
        optimizer = three_group_sgd()
        scheduler = CosineAnnealingLR(optimizer, T_max=T_max, eta_min=eta_min)
        rates, last_rates, bottoms = [], [], []
        for epoch in range(3 * T_max + 2):
            rates.append(current_lrs(optimizer))
            last_rates.append(scheduler.get_last_lr())
            if epoch % (2 * T_max) == T_max:
                bottoms.append(current_lrs(optimizer))
            scheduler.step()
        expect.value(rates, rtol=1e-12, atol=1e-15, what="each group's rate, epoch by epoch")
        expect.value(last_rates, rtol=1e-12, atol=1e-15, what="get_last_lr(), epoch by epoch")
        expect.value(bottoms, what="the rates at the bottom of each cycle (exactly)")

    def test_cosine_reaches_the_middle_half_way(self):
        optimizer = three_group_sgd([1.0])
        scheduler = CosineAnnealingLR(optimizer, T_max=4, eta_min=0.2)
        scheduler.step()
        scheduler.step()
        expect.value(scheduler.get_last_lr(), rtol=1e-12, atol=1e-15, what="the rate at epoch 2")

    def test_construction_records_initial_lr_and_keeps_epoch_0_rate(self):
        optimizer = three_group_sgd()
        StepLR(optimizer, step_size=2)
        expect.value([g["initial_lr"] for g in optimizer.param_groups],
                     what="each group's initial_lr")
        expect.value(current_lrs(optimizer), what="each group's rate at epoch 0")

    def test_the_schedule_drives_the_optimizer_steps(self):
        param = nn.Parameter(np.zeros(1))
        optimizer = optim.SGD([param], lr=1.0)
        scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
        for _ in range(6):
            param.grad = tinytorch.tensor(np.array([-1.0]))
            optimizer.step()
            scheduler.step()
        expect.value(param.array, rtol=1e-12, atol=1e-14,
                     what="the parameter after six scheduled steps")

    @pytest.mark.parametrize("make", [
        pytest.param(lambda o: StepLR(o, step_size=3, gamma=0.3), id="StepLR"),
        pytest.param(lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.01), id="CosineAnnealingLR"),
    ])
    def test_round_trip_continues_identically(self, make, tmp_path):
        optimizer = three_group_sgd()
        scheduler = make(optimizer)
        for _ in range(4):
            scheduler.step()
        tinytorch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                       tmp_path / "ckpt")
        checkpoint = tinytorch.load(tmp_path / "ckpt")
        resumed_optimizer = three_group_sgd()
        resumed = make(resumed_optimizer)
        resumed_optimizer.load_state_dict(checkpoint["optimizer"])
        resumed.load_state_dict(checkpoint["scheduler"])
        expect.value(current_lrs(resumed_optimizer), rtol=1e-12, atol=1e-15,
                     what="the rates right after loading")
        got = []
        for _ in range(6):
            resumed.step()
            got.append(resumed.get_last_lr())
        expect.value(got, rtol=1e-12, atol=1e-15, what="the rates of the six epochs after loading")

    def test_state_dict_leaves_out_the_optimizer(self):
        scheduler = StepLR(three_group_sgd(), step_size=3, gamma=0.3)
        scheduler.step()
        state = scheduler.state_dict()
        expect.value("optimizer" in state, what="whether the optimizer is in the state dict")
        expect.value((state["last_epoch"], state["base_lrs"], state["step_size"], state["gamma"]),
                     what="last_epoch, base_lrs, step_size and gamma")
        expect.value(state["_last_lr"], rtol=1e-12, atol=1e-14, what="the saved last rates")

    def test_resuming_with_last_epoch_uses_initial_lr(self):
        optimizer = three_group_sgd([0.01])
        optimizer.param_groups[0]["initial_lr"] = 1.0
        scheduler = StepLR(optimizer, step_size=2, gamma=0.5, last_epoch=4)
        expect.value(scheduler.last_epoch, what="last_epoch after resuming at epoch 4")
        expect.value(scheduler.get_last_lr(), rtol=1e-12, atol=1e-14,
                     what="the rate at the resumed epoch")


# ----- gradient clipping ---------------------------------------------------------------------

class TestClipGradNorm:
    @pytest.mark.parametrize("norm_type", [
        pytest.param(2.0, id="the 2-norm"),
        pytest.param(1.0, id="the 1-norm"),
        pytest.param(3.0, id="the 3-norm"),
        pytest.param(math.inf, id="the largest magnitude"),
    ])
    def test_scales_everything_by_one_factor_and_returns_the_norm(self, norm_type):
        params = parameters_with_gradients(random_gradients())
        returned = clip_grad_norm_(params, max_norm=0.5, norm_type=norm_type)
        expect.value((type(returned).__name__, returned.shape), what="the returned type and shape")
        expect.value(returned, rtol=1e-12, atol=1e-14, what="the norm before clipping")
        for number, param in enumerate(params):
            expect.value(param.grad.array, rtol=1e-12, atol=1e-15,
                         what=f"gradient {number} after clipping")

    def test_the_textbook_example(self):
        params = parameters_with_gradients([np.array([3.0, 0.0]), np.array([4.0])])
        expect.value(clip_grad_norm_(params, max_norm=1.0), rtol=1e-12, atol=1e-14,
                     what="the returned norm")
        expect.value(params[0].grad.array, rtol=1e-12, atol=1e-14,
                     what="the first gradient after clipping")
        expect.value(params[1].grad.array, rtol=1e-12, atol=1e-14,
                     what="the second gradient after clipping")

    def test_gradients_under_the_limit_are_untouched(self):
        params = parameters_with_gradients(random_gradients(seed=1))  # 2-norm about 3.07
        arrays = [p.grad.array for p in params]
        expect.value(clip_grad_norm_(params, max_norm=3.1), rtol=1e-12, atol=1e-14,
                     what="the returned norm")
        expect.value([p.grad.array is array for p, array in zip(params, arrays)],
                     what="whether each gradient is still the same array")
        for number, array in enumerate(arrays):
            expect.value(array, what=f"gradient {number} after the call")

    def test_float32_gradients_give_a_float32_norm_and_stay_float32(self):
        params = parameters_with_gradients(random_gradients(seed=2, dtype=np.float32))
        norm = clip_grad_norm_(params, max_norm=0.5)
        expect.value(str(norm.dtype), what="the returned norm's dtype")
        expect.value(norm, rtol=1e-6, what="the returned norm")
        expect.value([str(p.grad.array.dtype) for p in params], what="the gradients' dtypes")
        for number, param in enumerate(params):
            expect.value(param.grad.array, rtol=1e-5, atol=1e-7,
                         what=f"gradient {number} after clipping")

    def test_accepts_a_single_tensor_a_generator_and_missing_gradients(self):
        single = parameters_with_gradients([np.array([6.0, 8.0])])[0]
        expect.value(clip_grad_norm_(single, 5.0), rtol=1e-12, atol=1e-14,
                     what="the norm of a single tensor")
        expect.value(single.grad.array, rtol=1e-12, atol=1e-14, what="its gradient after clipping")
        params = parameters_with_gradients([np.array([6.0, 8.0])]) + [nn.Parameter(np.ones(3))]
        expect.value(clip_grad_norm_((p for p in params), 5.0), rtol=1e-12, atol=1e-14,
                     what="the norm of a generator of parameters, one without a gradient")
        expect.value(params[0].grad.array, rtol=1e-12, atol=1e-14,
                     what="the gradient after clipping")
        expect.value(params[1].grad is None, what="whether the missing gradient is still missing")
        expect.value(clip_grad_norm_([nn.Parameter(np.ones(2))], 1.0),
                     what="the norm when no parameter has a gradient")

    @pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
    @pytest.mark.parametrize("bad", [pytest.param(math.inf, id="infinite"),
                                     pytest.param(math.nan, id="not a number")])
    def test_nonfinite_norm(self, bad):
        params = parameters_with_gradients([np.array([bad, 1.0]), np.array([2.0])])
        with expect.raises(RuntimeError, match="non-finite",
                           what="the error with error_if_nonfinite=True"):
            clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
        expect.value(params[1].grad.array, what="the finite gradient after the refused clip")
        norm = clip_grad_norm_(params, 1.0)
        expect.value(norm, what="the norm without the check")
        expect.value(params[0].grad.array, what="the first gradient, scaled by the non-finite norm")
        expect.value(params[1].grad.array, what="the second gradient, scaled by the non-finite norm")


class TestClipGradValue:
    def test_clamps_each_element_in_place(self):
        params = parameters_with_gradients([np.array([-4.0, 0.5, 2.0]), np.array([[1.5, -0.25]])])
        arrays = [p.grad.array for p in params]
        expect.value(clip_grad_value_(params, 1.0), what="what clip_grad_value_ returned")
        expect.value(params[0].grad.array, what="the first gradient after clamping")
        expect.value(params[1].grad.array, what="the second gradient after clamping")
        expect.value([p.grad.array is a for p, a in zip(params, arrays)],
                     what="whether each gradient is still the same array")

    def test_single_tensor_and_missing_gradients(self):
        single = parameters_with_gradients([np.array([3.0, -3.0, 1.0], dtype=np.float32)])[0]
        clip_grad_value_(single, 2)
        expect.value(single.grad.array, what="the single tensor's gradient after clamping")
        expect.value(str(single.grad.array.dtype), what="its dtype")
        without = nn.Parameter(np.ones(2))
        clip_grad_value_([without], 1.0)
        expect.value(without.grad is None, what="whether the missing gradient is still missing")
