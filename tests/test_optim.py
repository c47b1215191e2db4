"""Optimizers: worked examples of the update rules, bookkeeping, state dicts, bad arguments.

The update rules are checked here on small examples computed by hand; the
autograder also checks every option step after step against a reference. PyTorch,
when installed, is an extra oracle for the whole trajectory.
"""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn, optim

STEPS = 7


def gradient_sequence(shape, steps=STEPS, seed=0):
    """Gradients that vary in sign and in scale (a burst at step 2), as real ones do."""
    rng = np.random.default_rng(seed)
    scales = [1.0, 0.5, 8.0, 0.1, 2.0, 0.05, 1.0, 3.0][:steps] + [1.0] * max(0, steps - 8)
    return [scale * rng.standard_normal(shape) for scale in scales]


def run_optimizer(make_optimizer, start, grads):
    """Parameter values after each step of an optimizer fed ``grads``."""
    param = nn.Parameter(start.copy())
    optimizer = make_optimizer([param])
    history = []
    for grad in grads:
        param.grad = tinytorch.tensor(grad)
        optimizer.step()
        history.append(param.array.copy())
    return history


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
    "default": (optim.Adam, dict(lr=0.01), dict()),
    "betas and eps": (optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-3),
                      dict(betas=(0.8, 0.99), eps=1e-3)),
    "L2 decay": (optim.Adam, dict(lr=0.01, weight_decay=0.1), dict(weight_decay=0.1)),
    "amsgrad": (optim.Adam, dict(lr=0.01, betas=(0.9, 0.8), amsgrad=True),
                dict(betas=(0.9, 0.8), amsgrad=True)),
    "maximize": (optim.Adam, dict(lr=0.01, maximize=True), dict(maximize=True)),
    "amsgrad, decay, maximize": (optim.Adam, dict(lr=0.02, betas=(0.8, 0.7), amsgrad=True,
                                                  weight_decay=0.2, maximize=True),
                                 dict(betas=(0.8, 0.7), amsgrad=True, weight_decay=0.2,
                                      maximize=True)),
    "AdamW default decay": (optim.AdamW, dict(lr=0.01), dict(weight_decay=0.01, decoupled=True)),
    "AdamW amsgrad": (optim.AdamW, dict(lr=0.02, betas=(0.9, 0.9), weight_decay=0.3, amsgrad=True),
                      dict(betas=(0.9, 0.9), weight_decay=0.3, decoupled=True, amsgrad=True)),
    "AdamW maximize": (optim.AdamW, dict(lr=0.02, weight_decay=0.3, maximize=True),
                       dict(weight_decay=0.3, decoupled=True, maximize=True)),
    "Adam decoupled flag": (optim.Adam, dict(lr=0.02, weight_decay=0.3,
                                             decoupled_weight_decay=True),
                            dict(weight_decay=0.3, decoupled=True)),
}


class TestUpdateRules:
    def test_sgd_with_momentum_by_hand(self):
        # p = 1, gradients 1, 1, -2, lr 0.1, momentum 0.9: the velocity is 1, then
        # 0.9 * 1 + 1 = 1.9, then 0.9 * 1.9 - 2 = -0.29; p moves by -lr * velocity.
        history = run_optimizer(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), np.array([1.0]),
                                [np.array([1.0]), np.array([1.0]), np.array([-2.0])])
        np.testing.assert_allclose(np.concatenate(history), [0.9, 0.71, 0.739], rtol=1e-12)

    def test_sgd_weight_decay_and_maximize_by_hand(self):
        # weight decay adds 0.5 * p = 1 to the gradient 2: p = 2 - 0.1 * 3 = 1.7;
        # maximize climbs instead: p = 2 + 0.1 * 2 = 2.2.
        decayed = run_optimizer(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.5),
                                np.array([2.0]), [np.array([2.0])])
        climbed = run_optimizer(lambda p: optim.SGD(p, lr=0.1, maximize=True),
                                np.array([2.0]), [np.array([2.0])])
        np.testing.assert_allclose([decayed[0][0], climbed[0][0]], [1.7, 2.2], rtol=1e-12)

    def test_adam_moves_by_lr_while_the_gradient_is_constant(self):
        # With a constant gradient g, the bias-corrected averages are exactly g and g^2,
        # so every step moves each coordinate by lr * g / (|g| + eps): about lr, whatever
        # the gradient's scale.
        gradient = np.array([0.5, -20.0, 1e-3])
        history = run_optimizer(lambda p: optim.Adam(p, lr=0.1), np.zeros(3), [gradient] * 3)
        for step, values in enumerate(history, start=1):
            np.testing.assert_allclose(values, -0.1 * step * gradient / (np.abs(gradient) + 1e-8),
                                       rtol=1e-9)

    def test_adamw_shrinks_the_parameter_before_the_adam_step(self):
        # Decoupled weight decay: p = 2 * (1 - 0.1 * 0.5) = 1.9, then the Adam step of lr.
        history = run_optimizer(lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.5),
                                np.array([2.0]), [np.array([4.0])])
        np.testing.assert_allclose(history[0], [1.9 - 0.1 * 4 / (4 + 1e-8)], rtol=1e-12)

    @pytest.mark.parametrize("make", [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        lambda p: optim.Adam(p, lr=0.1, amsgrad=True, weight_decay=0.1),
        lambda p: optim.AdamW(p, lr=0.1),
    ], ids=["SGD", "Adam", "AdamW"])
    def test_float32_parameters_stay_float32_and_follow_the_rule(self, make):
        start = np.random.default_rng(4).standard_normal(50).astype(np.float32)
        grads = [g.astype(np.float32) for g in gradient_sequence(50, seed=5)]
        param = nn.Parameter(start.copy())
        optimizer = make([param])
        data_buffer = param.array
        for g in grads:
            param.grad = tinytorch.tensor(g)
            optimizer.step()
        assert param.array.dtype == np.float32
        assert param.array is data_buffer, "the step must update the parameter in place"
        for key, value in optimizer.state[param].items():
            if isinstance(value, np.ndarray):
                assert value.dtype == np.float32, key
        start64 = start.astype(np.float64)
        grads64 = [g.astype(np.float64) for g in grads]
        expected = run_optimizer(make, start64, grads64)[-1]
        np.testing.assert_allclose(param.array, expected, rtol=2e-5, atol=2e-6)

    @pytest.mark.parametrize("make", [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.Adam(p, lr=0.1, weight_decay=0.1, maximize=True, amsgrad=True),
    ], ids=["SGD all options", "SGD momentum", "Adam"])
    def test_step_leaves_the_gradient_untouched(self, make):
        param = nn.Parameter(np.ones(4))
        optimizer = make([param])
        for g in gradient_sequence(4, steps=3):
            param.grad = tinytorch.tensor(g)
            optimizer.step()
            np.testing.assert_array_equal(param.grad.array, g)


class TestBookkeeping:
    def test_param_groups_use_their_own_options(self):
        # Each group must move exactly as an optimizer of its own, with its own options.
        start_a, start_b = np.random.default_rng(6).standard_normal((2, 3))
        a, b = nn.Parameter(start_a.copy()), nn.Parameter(start_b.copy())
        optimizer = optim.SGD([{"params": [a]},
                               {"params": [b], "lr": 0.5, "momentum": 0.5, "weight_decay": 0.1}],
                              lr=0.1, momentum=0.9)
        grads_a, grads_b = gradient_sequence(3, seed=7), gradient_sequence(3, seed=8)
        for g, h in zip(grads_a, grads_b):
            a.grad, b.grad = tinytorch.tensor(g), tinytorch.tensor(h)
            optimizer.step()
        alone_a = run_optimizer(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), start_a, grads_a)
        alone_b = run_optimizer(lambda p: optim.SGD(p, lr=0.5, momentum=0.5, weight_decay=0.1),
                                start_b, grads_b)
        np.testing.assert_array_equal(a.array, alone_a[-1])
        np.testing.assert_array_equal(b.array, alone_b[-1])
        with_the_defaults = run_optimizer(lambda p: optim.SGD(p, lr=0.1, momentum=0.9), start_b,
                                          grads_b)
        assert np.abs(b.array - with_the_defaults[-1]).max() > 1e-3  # b's own options matter
        assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.5]
        assert optimizer.param_groups[0]["weight_decay"] == 0.0  # filled from the defaults

    def test_add_param_group_fills_in_the_defaults(self):
        a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
        optimizer = optim.Adam([a], lr=0.1, betas=(0.5, 0.6))
        optimizer.add_param_group({"params": b, "lr": 0.2})
        assert len(optimizer.param_groups[1]["params"]) == 1
        assert optimizer.param_groups[1]["params"][0] is b
        assert optimizer.param_groups[1]["lr"] == 0.2
        assert optimizer.param_groups[1]["betas"] == (0.5, 0.6)
        b.grad = tinytorch.tensor(np.array([1.0, -1.0]))
        optimizer.step()
        # Adam's first step moves each weight by almost exactly lr against its gradient's sign.
        np.testing.assert_allclose(b.array, [0.8, 1.2], rtol=1e-6)
        np.testing.assert_array_equal(a.array, [1.0, 1.0])

    def test_parameters_without_gradient_are_left_alone(self):
        a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
        for optimizer in (optim.SGD([a, b], lr=1.0, momentum=0.9, weight_decay=0.5),
                          optim.Adam([a, b], lr=1.0, weight_decay=0.5)):
            a.grad, b.grad = tinytorch.tensor(np.array([1.0, 2.0])), None
            optimizer.step()
            np.testing.assert_array_equal(b.array, [1.0, 1.0])
            assert b not in optimizer.state
            assert not np.array_equal(a.array, [1.0, 1.0])

    def test_zero_grad_clears_or_zeroes(self):
        a = nn.Parameter(np.ones(3))
        optimizer = optim.SGD([a], lr=0.1)
        a.grad = tinytorch.tensor(np.array([1.0, 2.0, 3.0]))
        kept = a.grad
        optimizer.zero_grad(set_to_none=False)
        assert a.grad is kept
        np.testing.assert_array_equal(a.grad.array, [0.0, 0.0, 0.0])
        optimizer.zero_grad()
        assert a.grad is None
        optimizer.zero_grad(set_to_none=False)  # nothing to zero: no error
        assert a.grad is None

    def test_step_returns_the_closure_loss(self):
        a = nn.Parameter(np.ones(1))
        optimizer = optim.SGD([a], lr=0.5)
        a.grad = tinytorch.tensor(np.array([2.0]))
        assert optimizer.step(lambda: 42.0) == 42.0
        np.testing.assert_allclose(a.array, [0.0])

    def test_repr_lists_each_group(self):
        text = repr(optim.SGD([nn.Parameter(np.ones(1))], lr=0.25, momentum=0.5))
        assert text.startswith("SGD (") and "Parameter Group 0" in text
        assert "lr: 0.25" in text and "momentum: 0.5" in text


class TestStateDict:
    def test_layout_is_pytorchs(self):
        a, b, c = (nn.Parameter(np.ones(n)) for n in (2, 3, 4))
        optimizer = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1,
                               amsgrad=True)
        a.grad, c.grad = tinytorch.tensor(np.ones(2)), tinytorch.tensor(np.ones(4))
        optimizer.step()
        state = optimizer.state_dict()
        assert set(state) == {"state", "param_groups"}
        assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2]]
        assert [g["lr"] for g in state["param_groups"]] == [0.1, 0.5]
        assert state["param_groups"][0]["betas"] == (0.9, 0.999)
        assert sorted(state["state"]) == [0, 2]  # b never had a gradient: no state
        assert set(state["state"][2]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
        assert state["state"][2]["step"] == 1
        np.testing.assert_allclose(state["state"][2]["exp_avg"], 0.1 * np.ones(4))

    def test_sgd_state_is_the_momentum_buffer(self):
        a = nn.Parameter(np.ones(2))
        optimizer = optim.SGD([a], lr=0.1, momentum=0.9)
        a.grad = tinytorch.tensor(np.array([1.0, 2.0]))
        optimizer.step()
        optimizer.step()
        entries = optimizer.state_dict()["state"][0]
        assert set(entries) == {"momentum_buffer"}
        np.testing.assert_allclose(entries["momentum_buffer"], [1.9, 3.8])
        assert optim.SGD([a], lr=0.1).state_dict()["state"] == {}

    def test_state_dict_is_a_snapshot(self):
        a = nn.Parameter(np.ones(2))
        optimizer = optim.SGD([a], lr=0.1, momentum=0.9)
        a.grad = tinytorch.tensor(np.array([1.0, 2.0]))
        optimizer.step()
        snapshot = optimizer.state_dict()
        optimizer.step()
        np.testing.assert_array_equal(snapshot["state"][0]["momentum_buffer"], [1.0, 2.0])

    @pytest.mark.parametrize("make", [
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.5),
        lambda p: optim.Adam(p, lr=0.05, amsgrad=True, weight_decay=0.1),
        lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.2),
    ], ids=["SGD nesterov", "SGD dampening", "Adam amsgrad", "AdamW"])
    def test_round_trip_continues_identically(self, make):
        start, grads = np.random.default_rng(9).standard_normal(5), gradient_sequence(5, seed=10)
        uninterrupted = run_optimizer(make, start, grads)
        param = nn.Parameter(start.copy())
        first = make([param])
        for g in grads[:3]:
            param.grad = tinytorch.tensor(g)
            first.step()
        saved = first.state_dict()
        resumed_param = nn.Parameter(param.array.copy())
        second = make([resumed_param])
        second.load_state_dict(saved)
        for g in grads[3:]:
            resumed_param.grad = tinytorch.tensor(g)
            second.step()
        np.testing.assert_array_equal(resumed_param.array, uninterrupted[-1])

    def test_round_trip_through_a_checkpoint_file(self, tmp_path):
        start, grads = np.random.default_rng(11).standard_normal((2, 3)), gradient_sequence((2, 3), seed=12)

        def make(p):
            return optim.Adam(p, lr=0.05, amsgrad=True)

        uninterrupted = run_optimizer(make, start, grads)
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
        np.testing.assert_array_equal(resumed_param.array, uninterrupted[-1])

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
        assert optimizer.param_groups[0]["lr"] == 0.01
        assert optimizer.param_groups[0]["momentum"] == 0.9
        assert optimizer.param_groups[0]["params"][0] is target
        buffer = optimizer.state[target]["momentum_buffer"]
        assert buffer.dtype == np.float32
        saved["state"][0]["momentum_buffer"][:] = 100.0  # the optimizer must not share it
        np.testing.assert_array_equal(buffer, [1.0, 2.0, 3.0])

    def test_adamw_stays_decoupled_after_loading_adam_state(self):
        a = nn.Parameter(np.ones(2))
        adam_state = optim.Adam([a], lr=0.1, weight_decay=0.1).state_dict()
        adamw = optim.AdamW([nn.Parameter(np.ones(2))], lr=0.1)
        adamw.load_state_dict(adam_state)
        assert adamw.param_groups[0]["decoupled_weight_decay"] is True

    def _two_param_sgd(self):
        return optim.SGD([nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))], lr=0.1, momentum=0.9)

    def test_different_group_count_is_refused(self):
        a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
        two_groups = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1)
        with pytest.raises(ValueError, match="different number of parameter groups: 2 in the state dict, 1"):
            self._two_param_sgd().load_state_dict(two_groups.state_dict())

    def test_different_group_size_is_refused(self):
        one = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1)
        with pytest.raises(ValueError, match="group 0 has 2 parameters in the state dict but 1"):
            one.load_state_dict(self._two_param_sgd().state_dict())

    def test_shape_mismatch_is_refused_and_nothing_changes(self):
        source = optim.SGD([nn.Parameter(np.ones(5))], lr=0.3, momentum=0.9)
        source.param_groups[0]["params"][0].grad = tinytorch.tensor(np.ones(5))
        source.step()
        target_param = nn.Parameter(np.ones(2))
        target = optim.SGD([target_param], lr=0.1, momentum=0.9)
        with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(5,\), "
                                             r"but the parameter has shape \(2,\)"):
            target.load_state_dict(source.state_dict())
        assert target.param_groups[0]["lr"] == 0.1 and target.state == {}

    def test_state_for_an_unknown_parameter_is_refused(self):
        saved = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1).state_dict()
        saved["state"][7] = {"momentum_buffer": np.ones(2)}
        with pytest.raises(ValueError, match="state for parameter 7"):
            optim.SGD([nn.Parameter(np.ones(2))], lr=0.1).load_state_dict(saved)

    def test_state_of_another_optimizer_is_refused(self):
        saved = optim.SGD([nn.Parameter(np.ones(2))], lr=0.1).state_dict()
        with pytest.raises(ValueError, match="no 'betas'.*different optimizer"):
            optim.Adam([nn.Parameter(np.ones(2))]).load_state_dict(saved)


BAD_ARGUMENTS = {
    "SGD lr": (lambda p: optim.SGD(p, lr=-1), ValueError, "Invalid learning rate: -1"),
    "SGD lr nan": (lambda p: optim.SGD(p, lr=float("nan")), ValueError, "Invalid learning rate: nan"),
    "SGD momentum": (lambda p: optim.SGD(p, momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    "SGD decay": (lambda p: optim.SGD(p, weight_decay=-1e-4), ValueError,
                  "Invalid weight_decay value: -0.0001"),
    "nesterov without momentum": (lambda p: optim.SGD(p, nesterov=True), ValueError,
                                  "Nesterov momentum requires a momentum and zero dampening"),
    "nesterov with dampening": (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True),
                                ValueError, "Nesterov momentum requires"),
    "Adam lr": (lambda p: optim.Adam(p, lr=-1), ValueError, "Invalid learning rate: -1"),
    "Adam eps": (lambda p: optim.Adam(p, eps=-1e-8), ValueError, "Invalid epsilon value"),
    "Adam beta1": (lambda p: optim.Adam(p, betas=(1.0, 0.9)), ValueError,
                   "Invalid beta parameter at index 0: 1.0"),
    "Adam beta2": (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ValueError,
                   "Invalid beta parameter at index 1: -0.1"),
    "AdamW decay": (lambda p: optim.AdamW(p, weight_decay=-0.1), ValueError,
                    "AdamW: Invalid weight_decay value: -0.1"),
    "empty": (lambda p: optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
    "a bare tensor": (lambda p: optim.SGD(p[0], lr=0.1), TypeError,
                      "iterable of Tensors or dicts, but got Parameter"),
    "a set": (lambda p: optim.SGD(set(p), lr=0.1), TypeError, "ordered collections"),
    "not a tensor": (lambda p: optim.SGD([np.ones(2)], lr=0.1), TypeError,
                     "can only optimize Tensors, but one of the params is ndarray"),
    "non-leaf": (lambda p: optim.SGD([p[0] * 2], lr=0.1), ValueError, "non-leaf"),
    "twice in one group": (lambda p: optim.SGD([p[0], p[0]], lr=0.1), ValueError,
                           "appears twice"),
    "in two groups": (lambda p: optim.SGD([{"params": p}, {"params": p}], lr=0.1), ValueError,
                      "more than one parameter group"),
    "group without params": (lambda p: optim.SGD([{"lr": 0.1}]), TypeError, "'params' entry"),
}


@pytest.mark.parametrize("make, error, message", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_are_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make([nn.Parameter(np.ones(2))])


# ----- PyTorch as an extra oracle ----------------------------------------------------
TORCH_CASES = [("SGD", options) for options in SGD_CASES.values()] + [
    (cls.__name__, options) for cls, options, _ in ADAM_CASES.values()]


class TestAgainstPyTorch:
    @pytest.mark.parametrize("name, options", TORCH_CASES,
                             ids=[f"{n}-{i}" for i, (n, _) in enumerate(TORCH_CASES)])
    def test_trajectory_matches(self, name, options):
        torch = pytest.importorskip("torch")
        start, grads = np.random.default_rng(13).standard_normal((2, 3)), gradient_sequence((2, 3), seed=14)
        got = run_optimizer(lambda p: getattr(optim, name)(p, **options), start, grads)
        theirs = torch.nn.Parameter(torch.tensor(start))
        torch_optimizer = getattr(torch.optim, name)([theirs], **options)
        for step, g in enumerate(grads):
            theirs.grad = torch.tensor(g)
            torch_optimizer.step()
            np.testing.assert_allclose(got[step], theirs.detach().numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"after step {step + 1}")

    @pytest.mark.parametrize("name, options", [
        ("SGD", dict(lr=0.1, momentum=0.9, weight_decay=1e-4)),
        ("Adam", dict(lr=1e-3, amsgrad=True)),
        ("AdamW", dict(lr=1e-3)),
    ])
    def test_float32_groups_and_state_dict_layout_match(self, name, options):
        torch = pytest.importorskip("torch")
        rng = np.random.default_rng(15)
        starts = [rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (4,), (2, 4)]]
        ours = [nn.Parameter(s.copy()) for s in starts]
        theirs = [torch.nn.Parameter(torch.tensor(s)) for s in starts]
        our_optimizer = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.05}],
                                             **options)
        their_optimizer = getattr(torch.optim, name)(
            [{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.05}], **options)
        for _ in range(6):
            for p, q in zip(ours, theirs):
                g = rng.standard_normal(p.shape).astype(np.float32)
                p.grad, q.grad = tinytorch.tensor(g), torch.tensor(g)
            our_optimizer.step()
            their_optimizer.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.array, q.detach().numpy(), rtol=1e-5, atol=1e-6)
        our_state, their_state = our_optimizer.state_dict(), their_optimizer.state_dict()
        assert sorted(our_state["state"]) == sorted(their_state["state"])
        for index, entries in our_state["state"].items():
            assert set(entries) == set(their_state["state"][index])
            for key, value in entries.items():
                np.testing.assert_allclose(value, np.asarray(their_state["state"][index][key]),
                                           rtol=1e-5, atol=1e-6, err_msg=key)
        for our_group, their_group in zip(our_state["param_groups"], their_state["param_groups"]):
            for key, value in our_group.items():
                assert their_group[key] == value, key
