"""RMSprop and the epoch and plateau schedules, against hand-written references and PyTorch.

Every rule is checked against an independent numpy (or plain Python)
transcription of its textbook formula, which always runs; PyTorch, when
installed, is an extra oracle for whole trajectories.  Also: each optimizer
step bumps the version counter of every parameter it updates, exactly once.
"""
import math

import numpy as np
import pytest

import tinytorch
from tinytorch import nn, optim
from tinytorch.optim.lr_scheduler import ExponentialLR, MultiStepLR, ReduceLROnPlateau

BASE_LRS = [0.3, 0.05, 1.0]


def gradients(shape, steps=8, seed=0):
    """Gradients that change sign and scale (a burst at step 2), as real ones do."""
    rng = np.random.default_rng(seed)
    scales = [1.0, 0.5, 8.0, 0.1, 2.0, 0.05, 1.0, 3.0]
    return [scales[i % 8] * rng.standard_normal(shape) for i in range(steps)]


def trajectory(optimizer_class, options, start, grads):
    param = nn.Parameter(start.copy())
    optimizer = optimizer_class([param], **options)
    history = []
    for grad in grads:
        param.grad = tinytorch.tensor(grad)
        optimizer.step()
        history.append(param.array.copy())
    return history, optimizer, param


def rmsprop_by_hand(start, grads, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0,
                    momentum=0.0, centered=False, maximize=False):
    """The textbook rule, written out independently of the code under test."""
    p = start.astype(np.float64)
    v = np.zeros_like(p)
    m = np.zeros_like(p)
    b = np.zeros_like(p)
    history = []
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            m = alpha * m + (1 - alpha) * g
            scale = np.sqrt(v - m * m) + eps
        else:
            scale = np.sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / scale
            p = p - lr * b
        else:
            p = p - lr * g / scale
        history.append(p.copy())
    return history


RMSPROP_CASES = {
    "default": dict(),
    "lr and alpha": dict(lr=0.05, alpha=0.9),
    "large eps": dict(lr=0.02, eps=0.5),
    "weight decay": dict(lr=0.01, weight_decay=0.3),
    "momentum": dict(lr=0.01, momentum=0.9),
    "centered": dict(lr=0.01, alpha=0.8, centered=True),
    "centered momentum decay maximize": dict(lr=0.005, alpha=0.7, centered=True, momentum=0.5,
                                             weight_decay=0.1, maximize=True),
}


class TestRMSprop:
    def test_first_step_by_hand(self):
        # v = (1 - 0.99) * 2^2 = 0.04, sqrt(v) = 0.2: p = 1 - 0.01 * 2 / (0.2 + 1e-8).
        history, _, _ = trajectory(optim.RMSprop, {}, np.array([1.0]), [np.array([2.0])])
        assert history[0][0] == pytest.approx(1 - 0.01 * 2 / (0.2 + 1e-8), rel=1e-15)

    def test_defaults_are_pytorchs(self):
        optimizer = optim.RMSprop([nn.Parameter(np.zeros(1))])
        assert {key: optimizer.defaults[key] for key in
                ("lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize")} == \
            dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 maximize=False)

    @pytest.mark.parametrize("options", RMSPROP_CASES.values(), ids=RMSPROP_CASES.keys())
    def test_trajectory_matches_the_rule(self, options):
        start = np.array([0.5, -1.5, 2.0, 0.0])
        grads = gradients(start.shape)
        got, _, _ = trajectory(optim.RMSprop, options, start, grads)
        expected = rmsprop_by_hand(start, grads, **options)
        for step, (a, b) in enumerate(zip(got, expected)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"step {step}")

    def test_float32_stays_float32_in_place_and_grad_untouched(self):
        param = nn.Parameter(np.array([1.0, -2.0], np.float32))
        memory = param.array
        optimizer = optim.RMSprop([param], lr=0.1, momentum=0.5, centered=True)
        grad = np.array([0.5, -3.0], np.float32)
        param.grad = tinytorch.tensor(grad.copy())
        optimizer.step()
        assert param.array is memory and param.dtype == np.float32
        np.testing.assert_array_equal(param.grad.array, grad)
        expected = rmsprop_by_hand(np.array([1.0, -2.0]), [grad.astype(np.float64)], lr=0.1,
                                   momentum=0.5, centered=True)[0]
        np.testing.assert_allclose(param.array, expected, rtol=1e-6, atol=2e-7)  # float32 steps
        assert all(value.dtype == np.float32 for value in optimizer.state[param].values()
                   if isinstance(value, np.ndarray))

    def test_state_layout_and_round_trip_through_a_file(self, tmp_path):
        start, grads = np.array([0.3, -0.7]), gradients((2,), steps=6)
        options = dict(lr=0.02, momentum=0.8, centered=True)
        uninterrupted, _, _ = trajectory(optim.RMSprop, options, start, grads)
        _, first, param = trajectory(optim.RMSprop, options, start, grads[:3])
        state = first.state_dict()["state"][0]
        assert sorted(state) == ["grad_avg", "momentum_buffer", "square_avg", "step"]
        assert state["step"] == 3
        tinytorch.save({"optimizer": first.state_dict(), "weights": param.array}, tmp_path / "c")
        checkpoint = tinytorch.load(tmp_path / "c")
        resumed = nn.Parameter(checkpoint["weights"].copy())
        second = optim.RMSprop([resumed], **options)
        second.load_state_dict(checkpoint["optimizer"])
        for grad in grads[3:]:
            resumed.grad = tinytorch.tensor(grad)
            second.step()
        np.testing.assert_array_equal(resumed.array, uninterrupted[-1])

    def test_momentum_switched_on_mid_run_starts_a_buffer(self):
        param = nn.Parameter(np.array([1.0]))
        optimizer = optim.RMSprop([param], lr=0.1)
        param.grad = tinytorch.tensor(np.array([1.0]))
        optimizer.step()
        optimizer.param_groups[0]["momentum"] = 0.9
        optimizer.step()  # would be a KeyError without a fresh (zero) buffer
        np.testing.assert_allclose(optimizer.state[param]["momentum_buffer"],
                                   1.0 / (np.sqrt(1 - 0.99 ** 2) + 1e-8), rtol=1e-12)

    @pytest.mark.parametrize("option, value, message", [
        ("lr", -0.1, "Invalid learning rate: -0.1"),
        ("eps", -1.0, "Invalid epsilon value: -1.0"),
        ("momentum", -0.5, "Invalid momentum value: -0.5"),
        ("weight_decay", -1e-3, "Invalid weight_decay value: -0.001"),
        ("alpha", -0.9, "Invalid alpha value: -0.9"),
        ("lr", float("nan"), "Invalid learning rate: nan"),
    ])
    def test_bad_options_are_pytorchs_errors(self, option, value, message):
        with pytest.raises(ValueError, match=f"RMSprop: {message}"):
            optim.RMSprop([nn.Parameter(np.zeros(1))], **{option: value})

    @pytest.mark.parametrize("options", RMSPROP_CASES.values(), ids=RMSPROP_CASES.keys())
    @pytest.mark.parametrize("dtype", [np.float32, np.float64])
    def test_trajectory_matches_pytorch(self, options, dtype):
        torch = pytest.importorskip("torch")
        start = np.array([0.5, -1.5, 2.0, 0.0], dtype)
        grads = [g.astype(dtype) for g in gradients(start.shape)]
        ours, our_optimizer, _ = trajectory(optim.RMSprop, options, start, grads)
        theirs = torch.nn.Parameter(torch.tensor(start))
        their_optimizer = torch.optim.RMSprop([theirs], **options)
        tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12,
                                                                                atol=1e-14)
        for step, grad in enumerate(grads):
            theirs.grad = torch.tensor(grad)
            their_optimizer.step()
            np.testing.assert_allclose(ours[step], theirs.detach().numpy(), **tolerance,
                                       err_msg=f"step {step}")
        our_state = our_optimizer.state_dict()["state"][0]
        their_state = their_optimizer.state_dict()["state"][0]
        assert sorted(our_state) == sorted(their_state)
        for key, value in their_state.items():
            np.testing.assert_allclose(our_state[key], value.numpy(), **tolerance, err_msg=key)


class TestVersionCounters:
    @pytest.mark.parametrize("make", [
        lambda p: optim.SGD(p, lr=0.1), lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.Adam(p), lambda p: optim.AdamW(p, weight_decay=0.1),
        lambda p: optim.RMSprop(p, momentum=0.5, centered=True)],
        ids=["SGD", "SGD momentum", "Adam", "AdamW", "RMSprop"])
    def test_each_step_bumps_each_updated_parameter_once(self, make):
        used, unused = nn.Parameter(np.ones(3)), nn.Parameter(np.ones(2))
        optimizer = make([used, unused])
        used.detach()  # sharing the memory gives the parameter a counter
        unused.detach()
        memory = used.array
        for step in range(1, 4):
            used.grad = tinytorch.tensor(np.full(3, 0.5))
            optimizer.step()
            assert used._version == step and unused._version == 0  # no grad: not touched
            assert used.array is memory  # still updated in place

    def test_backward_through_a_graph_built_before_the_step_refuses(self):
        # The product saved w for its backward; the step then changed w in place, so the
        # gradient that backward would compute is not the gradient of anything.
        w = nn.Parameter(np.array([1.0, 2.0]))
        x = tinytorch.tensor(np.array([3.0, 4.0]), requires_grad=True)
        loss = (w * x).sum()
        optimizer = optim.SGD([w], lr=0.1)
        w.grad = tinytorch.tensor(np.ones(2))
        optimizer.step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()

    def test_pytorch_refuses_the_same_backward(self):
        torch = pytest.importorskip("torch")
        w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
        x = torch.tensor([3.0, 4.0], requires_grad=True)
        loss = (w * x).sum()
        optimizer = torch.optim.SGD([w], lr=0.1)
        w.grad = torch.ones(2)
        optimizer.step()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()


# ----- schedules -----------------------------------------------------------------------
def three_group_sgd(lrs=BASE_LRS):
    return optim.SGD([{"params": [nn.Parameter(np.ones(2))], "lr": lr} for lr in lrs], lr=0.123)


def current_lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


def multistep_closed_form(base_lr, epoch, milestones, gamma):
    return base_lr * gamma ** sum(1 for m in milestones if m <= epoch)


class TestEpochSchedules:
    @pytest.mark.parametrize("gamma", [0.9, 0.5, 1.0])
    def test_exponential(self, gamma):
        optimizer = three_group_sgd()
        scheduler = ExponentialLR(optimizer, gamma=gamma)
        for epoch in range(30):
            expected = [lr * gamma ** epoch for lr in BASE_LRS]
            assert current_lrs(optimizer) == pytest.approx(expected, rel=1e-12, abs=0)
            assert scheduler.get_last_lr() == current_lrs(optimizer)
            scheduler.step()

    @pytest.mark.parametrize("milestones, gamma", [([2, 5, 9], 0.1), ([6, 1, 3], 0.5),
                                                   ([4, 4, 7], 0.3), ([], 0.1), ([0], 0.5)],
                             ids=["sorted", "unsorted", "repeated", "none", "at epoch 0"])
    def test_multistep(self, milestones, gamma):
        optimizer = three_group_sgd()
        scheduler = MultiStepLR(optimizer, milestones=milestones, gamma=gamma)
        for epoch in range(12):
            expected = [multistep_closed_form(lr, epoch, milestones, gamma) for lr in BASE_LRS]
            assert current_lrs(optimizer) == pytest.approx(expected, rel=1e-12, abs=0)
            scheduler.step()

    def test_multistep_by_hand(self):
        optimizer = three_group_sgd([1.0])
        scheduler = MultiStepLR(optimizer, milestones=[2, 4])
        rates = [scheduler.get_last_lr()[0]]
        for _ in range(5):
            scheduler.step()
            rates.append(scheduler.get_last_lr()[0])
        assert rates == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01, 0.01], rel=1e-12)

    def test_gamma_default_and_resume_with_last_epoch(self):
        optimizer = three_group_sgd([0.01])
        optimizer.param_groups[0]["initial_lr"] = 1.0
        assert MultiStepLR(optimizer, [3], last_epoch=4).get_last_lr() == pytest.approx([0.1])
        optimizer.param_groups[0]["initial_lr"] = 1.0
        assert ExponentialLR(optimizer, 0.5, last_epoch=2).get_last_lr() == [0.125]

    @pytest.mark.parametrize("make", [lambda o: ExponentialLR(o, gamma=0.7),
                                      lambda o: MultiStepLR(o, milestones=[5, 2, 5], gamma=0.3)],
                             ids=["ExponentialLR", "MultiStepLR"])
    def test_round_trip_through_a_file_continues_identically(self, make, tmp_path):
        reference = make(three_group_sgd())
        expected = []
        for _ in range(10):
            reference.step()
            expected.append(reference.get_last_lr())
        optimizer = three_group_sgd()
        scheduler = make(optimizer)
        for _ in range(3):
            scheduler.step()
        tinytorch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                       tmp_path / "ckpt")
        checkpoint = tinytorch.load(tmp_path / "ckpt")
        resumed_optimizer = three_group_sgd()
        resumed = make(resumed_optimizer)
        resumed_optimizer.load_state_dict(checkpoint["optimizer"])
        resumed.load_state_dict(checkpoint["scheduler"])
        got = []
        for _ in range(7):
            resumed.step()
            got.append(resumed.get_last_lr())
        assert got == expected[3:]

    def test_milestones_must_be_integers(self):
        with pytest.raises(TypeError, match=r"MultiStepLR: milestones must be integers"):
            MultiStepLR(three_group_sgd(), milestones=[2.5])

    @pytest.mark.parametrize("name, options", [
        ("ExponentialLR", dict(gamma=0.9)),
        ("ExponentialLR", dict(gamma=0.5)),
        ("MultiStepLR", dict(milestones=[3, 7, 7, 12])),
        ("MultiStepLR", dict(milestones=[10, 2], gamma=0.5)),
    ])
    def test_rates_match_pytorch_epoch_by_epoch(self, name, options):
        torch = pytest.importorskip("torch")
        ours = three_group_sgd()
        theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))], "lr": lr}
                                  for lr in BASE_LRS], lr=0.123)
        our_schedule = getattr(optim.lr_scheduler, name)(ours, **options)
        their_schedule = getattr(torch.optim.lr_scheduler, name)(theirs, **options)
        for epoch in range(25):
            assert our_schedule.get_last_lr() == pytest.approx(their_schedule.get_last_lr(),
                                                               rel=1e-12, abs=0), f"epoch {epoch}"
            theirs.step()
            our_schedule.step()
            their_schedule.step()


def plateau_by_hand(metrics, lr, mode="min", factor=0.1, patience=10, threshold=1e-4,
                    threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
    """The rule as documented, for one group: the rate after each epoch's metric."""
    best = math.inf if mode == "min" else -math.inf
    bad = cooling = 0
    rates = []
    for value in metrics:
        if threshold_mode == "rel":
            bar = best * (1 - threshold) if mode == "min" else best * (1 + threshold)
        else:
            bar = best - threshold if mode == "min" else best + threshold
        improved = value < bar if mode == "min" else value > bar
        if improved:
            best, bad = value, 0
        else:
            bad += 1
        if cooling:
            cooling, bad = cooling - 1, 0
        if bad > patience:
            new = max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cooling, bad = cooldown, 0
        rates.append(lr)
    return rates


PLATEAU_METRICS = [5.0, 4.0, 4.0, 4.2, 3.9996, 3.5, 3.6, 3.7, 3.8, 3.9, 3.2, 3.3, 3.3, 3.3,
                   3.3, 3.3, float("nan"), 3.3, 3.0, 3.1, 3.1, 3.1, 3.1, 3.1, 3.1]

PLATEAU_CASES = {
    "patience 2": dict(patience=2, factor=0.5),
    "patience 0": dict(patience=0, factor=0.5),
    "cooldown": dict(patience=1, factor=0.5, cooldown=2),
    "abs threshold": dict(patience=1, factor=0.5, threshold=0.3, threshold_mode="abs"),
    "min_lr": dict(patience=0, factor=0.2, min_lr=0.01),
    "max mode": dict(mode="max", patience=1, factor=0.5),
    "max abs": dict(mode="max", patience=1, factor=0.5, threshold=0.2, threshold_mode="abs"),
    "large eps": dict(patience=0, factor=0.9, eps=0.05),
}


class TestReduceLROnPlateau:
    def test_by_hand(self):
        # patience 1: two epochs in a row without improvement halve the rate.
        optimizer = three_group_sgd([1.0])
        scheduler = ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
        rates = []
        for loss in [1.0, 0.5, 0.6, 0.7, 0.4, 0.45, 0.45]:
            scheduler.step(loss)
            rates.append(scheduler.get_last_lr()[0])
        assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]

    def test_defaults_are_pytorchs(self):
        scheduler = ReduceLROnPlateau(three_group_sgd())
        assert (scheduler.mode, scheduler.factor, scheduler.patience, scheduler.threshold,
                scheduler.threshold_mode, scheduler.cooldown, scheduler.min_lrs,
                scheduler.eps) == ("min", 0.1, 10, 1e-4, "rel", 0, [0, 0, 0], 1e-8)
        assert scheduler.get_last_lr() == BASE_LRS and scheduler.last_epoch == 0

    @pytest.mark.parametrize("options", PLATEAU_CASES.values(), ids=PLATEAU_CASES.keys())
    def test_matches_the_rule(self, options):
        metrics = PLATEAU_METRICS if options.get("mode") != "max" else [-m for m in
                                                                        PLATEAU_METRICS]
        optimizer = three_group_sgd()
        scheduler = ReduceLROnPlateau(optimizer, **options)
        expected = [plateau_by_hand(metrics, lr, **options) for lr in BASE_LRS]
        for epoch, value in enumerate(metrics):
            scheduler.step(value)
            assert current_lrs(optimizer) == [rates[epoch] for rates in expected], epoch
            assert scheduler.get_last_lr() == current_lrs(optimizer)

    def test_a_min_lr_per_group_and_a_tensor_metric(self):
        optimizer = three_group_sgd()
        scheduler = ReduceLROnPlateau(optimizer, patience=0, factor=0.1, min_lr=[0.1, 0.0, 0.5])
        scheduler.step(tinytorch.tensor(1.0))
        scheduler.step(tinytorch.tensor(2.0))
        assert current_lrs(optimizer) == pytest.approx([0.1, 0.005, 0.5], rel=1e-15)

    def test_a_group_added_later_gets_the_scalar_min_lr(self):
        optimizer = three_group_sgd([1.0])
        scheduler = ReduceLROnPlateau(optimizer, patience=0, factor=0.5, min_lr=0.3)
        optimizer.add_param_group({"params": [nn.Parameter(np.ones(1))], "lr": 0.4})
        scheduler.step(1.0)
        scheduler.step(1.0)
        assert current_lrs(optimizer) == [0.5, 0.3]

    def test_a_group_added_after_a_min_lr_list_is_a_clear_error(self):
        optimizer = three_group_sgd([1.0])
        scheduler = ReduceLROnPlateau(optimizer, patience=0, min_lr=[0.1])
        optimizer.add_param_group({"params": [nn.Parameter(np.ones(1))]})
        scheduler.step(1.0)
        with pytest.raises(RuntimeError, match="2 parameter groups but min_lr lists 1"):
            scheduler.step(1.0)

    def test_round_trip_through_a_file_continues_identically(self, tmp_path):
        options = dict(patience=1, factor=0.5, cooldown=1)
        reference_optimizer = three_group_sgd()
        reference = ReduceLROnPlateau(reference_optimizer, **options)
        expected = []
        for value in PLATEAU_METRICS:
            reference.step(value)
            expected.append(current_lrs(reference_optimizer))
        optimizer = three_group_sgd()
        scheduler = ReduceLROnPlateau(optimizer, **options)
        for value in PLATEAU_METRICS[:9]:
            scheduler.step(value)
        tinytorch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()},
                       tmp_path / "ckpt")
        checkpoint = tinytorch.load(tmp_path / "ckpt")
        resumed_optimizer = three_group_sgd()
        resumed = ReduceLROnPlateau(resumed_optimizer, **options)
        resumed_optimizer.load_state_dict(checkpoint["optimizer"])
        resumed.load_state_dict(checkpoint["scheduler"])
        got = []
        for value in PLATEAU_METRICS[9:]:
            resumed.step(value)
            got.append(current_lrs(resumed_optimizer))
        assert got == expected[9:]

    @pytest.mark.parametrize("options, error, message", [
        (dict(factor=1.0), ValueError, "factor should be < 1.0, got 1.0"),
        (dict(mode="lowest"), ValueError, "mode 'lowest' is unknown"),
        (dict(threshold_mode="relative"), ValueError, "threshold mode 'relative' is unknown"),
        (dict(min_lr=[0.1, 0.2]), ValueError, "expected 3 min_lrs"),
    ])
    def test_bad_arguments(self, options, error, message):
        with pytest.raises(error, match=message):
            ReduceLROnPlateau(three_group_sgd(), **options)

    def test_not_an_optimizer(self):
        with pytest.raises(TypeError, match="ReduceLROnPlateau: str is not an Optimizer"):
            ReduceLROnPlateau("optimizer")

    def test_a_metric_with_many_values_is_refused(self):
        scheduler = ReduceLROnPlateau(three_group_sgd())
        with pytest.raises((TypeError, ValueError, RuntimeError)):
            scheduler.step(tinytorch.tensor([1.0, 2.0]))

    @pytest.mark.parametrize("options", PLATEAU_CASES.values(), ids=PLATEAU_CASES.keys())
    def test_matches_pytorch(self, options):
        torch = pytest.importorskip("torch")
        metrics = PLATEAU_METRICS if options.get("mode") != "max" else [-m for m in
                                                                        PLATEAU_METRICS]
        ours = three_group_sgd()
        theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))], "lr": lr}
                                  for lr in BASE_LRS], lr=0.123)
        our_schedule = ReduceLROnPlateau(ours, **options)
        their_schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options)
        for epoch, value in enumerate(metrics):
            our_schedule.step(value)
            their_schedule.step(value)
            assert our_schedule.get_last_lr() == their_schedule.get_last_lr(), epoch
            assert (our_schedule.best, our_schedule.num_bad_epochs,
                    our_schedule.cooldown_counter) == (their_schedule.best,
                                                       their_schedule.num_bad_epochs,
                                                       their_schedule.cooldown_counter), epoch
