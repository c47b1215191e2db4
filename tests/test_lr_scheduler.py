"""Learning-rate schedules against their closed forms (and against PyTorch)."""
import math

import numpy as np
import pytest

import tinytorch
from tinytorch import nn, optim
from tinytorch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR

BASE_LRS = [0.3, 0.05, 1.0]


def three_group_sgd(lrs=BASE_LRS):
    return optim.SGD([{"params": [nn.Parameter(np.ones(2))], "lr": lr} for lr in lrs], lr=0.123)


def step_lr_closed_form(base_lr, epoch, step_size, gamma):
    return base_lr * gamma ** math.floor(epoch / step_size)


def cosine_closed_form(base_lr, epoch, T_max, eta_min):
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2


def current_lrs(optimizer):
    return [group["lr"] for group in optimizer.param_groups]


class TestClosedForms:
    @pytest.mark.parametrize("step_size, gamma", [(3, 0.5), (1, 0.9), (4, 0.1)])
    def test_step_lr(self, step_size, gamma):
        optimizer = three_group_sgd()
        scheduler = StepLR(optimizer, step_size=step_size, gamma=gamma)
        for epoch in range(13):
            expected = [step_lr_closed_form(lr, epoch, step_size, gamma) for lr in BASE_LRS]
            assert current_lrs(optimizer) == pytest.approx(expected, rel=1e-12, abs=0)
            assert scheduler.get_last_lr() == current_lrs(optimizer)
            assert scheduler.last_epoch == epoch
            scheduler.step()

    @pytest.mark.parametrize("T_max, eta_min", [(10, 0.0), (7, 0.02), (1, 0.01)])
    def test_cosine_annealing_including_past_t_max(self, T_max, eta_min):
        optimizer = three_group_sgd()
        scheduler = CosineAnnealingLR(optimizer, T_max=T_max, eta_min=eta_min)
        for epoch in range(3 * T_max + 2):
            expected = [cosine_closed_form(lr, epoch, T_max, eta_min) for lr in BASE_LRS]
            assert current_lrs(optimizer) == pytest.approx(expected, rel=1e-12, abs=1e-15)
            assert scheduler.get_last_lr() == current_lrs(optimizer)
            if epoch % (2 * T_max) == T_max:
                assert current_lrs(optimizer) == [eta_min] * 3  # exactly at the bottom
            scheduler.step()

    def test_cosine_reaches_the_middle_half_way(self):
        optimizer = three_group_sgd([1.0])
        scheduler = CosineAnnealingLR(optimizer, T_max=4, eta_min=0.2)
        scheduler.step()
        scheduler.step()
        assert scheduler.get_last_lr()[0] == pytest.approx(0.6, abs=1e-15)

    def test_construction_records_initial_lr_and_keeps_epoch_0_rate(self):
        optimizer = three_group_sgd()
        StepLR(optimizer, step_size=2)
        assert [g["initial_lr"] for g in optimizer.param_groups] == BASE_LRS
        assert current_lrs(optimizer) == BASE_LRS

    def test_the_schedule_drives_the_optimizer_steps(self):
        param = nn.Parameter(np.zeros(1))
        optimizer = optim.SGD([param], lr=1.0)
        scheduler = StepLR(optimizer, step_size=2, gamma=0.5)
        for _ in range(6):
            param.grad = tinytorch.tensor(np.array([-1.0]))
            optimizer.step()
            scheduler.step()
        # Two epochs each at 1.0, 0.5 and 0.25.
        np.testing.assert_allclose(param.array, [3.5])


class TestCheckpoints:
    @pytest.mark.parametrize("make", [lambda o: StepLR(o, step_size=3, gamma=0.3),
                                      lambda o: CosineAnnealingLR(o, T_max=6, eta_min=0.01)],
                             ids=["StepLR", "Cosine"])
    def test_round_trip_continues_identically(self, make, tmp_path):
        reference_optimizer = three_group_sgd()
        reference = make(reference_optimizer)
        expected = []
        for _ in range(10):
            reference.step()
            expected.append(reference.get_last_lr())

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
        assert current_lrs(resumed_optimizer) == expected[3]
        got = []
        for _ in range(6):
            resumed.step()
            got.append(resumed.get_last_lr())
        assert got == expected[4:]

    def test_state_dict_leaves_out_the_optimizer(self):
        scheduler = StepLR(three_group_sgd(), step_size=3, gamma=0.3)
        scheduler.step()
        state = scheduler.state_dict()
        assert "optimizer" not in state
        assert state["last_epoch"] == 1 and state["base_lrs"] == BASE_LRS
        assert state["step_size"] == 3 and state["gamma"] == 0.3

    def test_resuming_with_last_epoch_uses_initial_lr(self):
        optimizer = three_group_sgd([0.01])
        optimizer.param_groups[0]["initial_lr"] = 1.0
        scheduler = StepLR(optimizer, step_size=2, gamma=0.5, last_epoch=4)
        assert scheduler.last_epoch == 5
        assert scheduler.get_last_lr() == [0.25]

    def test_resuming_without_initial_lr_is_a_clear_error(self):
        with pytest.raises(KeyError, match=r"'initial_lr' is not specified in param_groups\[0\]"):
            StepLR(three_group_sgd(), step_size=2, last_epoch=3)


@pytest.mark.parametrize("make, error, message", [
    (lambda: StepLR("optimizer", step_size=2), TypeError, "str is not an Optimizer"),
    (lambda: StepLR(three_group_sgd(), step_size=0), ValueError, "step_size must be a positive integer"),
    (lambda: StepLR(three_group_sgd(), step_size=1.5), ValueError, "step_size must be a positive integer"),
    (lambda: CosineAnnealingLR(three_group_sgd(), T_max=0), ValueError, "T_max must be positive"),
    (lambda: LRScheduler(three_group_sgd()), NotImplementedError, "get_lr"),
], ids=["not an optimizer", "step_size 0", "step_size float", "T_max 0", "base class"])
def test_bad_arguments_are_clear_errors(make, error, message):
    with pytest.raises(error, match=message):
        make()


class TestAgainstPyTorch:
    @pytest.mark.parametrize("name, options", [
        ("StepLR", dict(step_size=3, gamma=0.1)),
        ("StepLR", dict(step_size=1, gamma=0.95)),
        ("CosineAnnealingLR", dict(T_max=7, eta_min=0.02)),
        ("CosineAnnealingLR", dict(T_max=10)),
    ])
    def test_rates_match_epoch_by_epoch(self, name, options):
        torch = pytest.importorskip("torch")
        ours = three_group_sgd()
        theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))], "lr": lr}
                                  for lr in BASE_LRS], lr=0.123)
        our_schedule = getattr(optim.lr_scheduler, name)(ours, **options)
        their_schedule = getattr(torch.optim.lr_scheduler, name)(theirs, **options)
        for epoch in range(25):
            assert our_schedule.get_last_lr() == pytest.approx(their_schedule.get_last_lr(),
                                                               rel=0, abs=1e-12), f"epoch {epoch}"
            assert [g["initial_lr"] for g in ours.param_groups] == \
                [g["initial_lr"] for g in theirs.param_groups]
            theirs.step()
            our_schedule.step()
            their_schedule.step()
