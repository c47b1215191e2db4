"""Learning-rate schedules: large steps early, small steps late.

A constant learning rate is a compromise: large enough to make progress,
small enough to settle into a minimum.  Schedules take both: they change each
group's ``lr`` as training proceeds.  ``scheduler.step()`` is called once per
epoch, after the optimizer's steps.

* ``StepLR``: multiply by ``gamma`` every ``step_size`` epochs,
  lr_t = lr_0 * gamma^floor(t / step_size).
* ``CosineAnnealingLR``: follow half a cosine from lr_0 down to ``eta_min``
  over ``T_max`` epochs, lr_t = eta_min + (lr_0 - eta_min)(1 + cos(pi t / T_max)) / 2.
  PyTorch computes this with a recursive update whose values equal the closed
  form up to float rounding; we use the closed form (it is the definition).

As in PyTorch, each group remembers its starting rate as ``"initial_lr"``.
"""
from __future__ import annotations

import math
from typing import Any

from tinytorch.optim.optimizer import Optimizer


class LRScheduler:
    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def get_lr(self) -> list[float]:
        """The learning rate of every group at epoch ``self.last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        # BEGIN SOLUTION lab 04
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]
        # END SOLUTION


class CosineAnnealingLR(LRScheduler):
    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_max <= 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max}")
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        # BEGIN SOLUTION lab 04
        progress = math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base - self.eta_min) * (1 + progress) / 2 for base in self.base_lrs]
        # END SOLUTION
