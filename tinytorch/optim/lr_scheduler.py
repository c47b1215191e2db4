"""Learning-rate schedules: large steps early, small steps late.

A constant learning rate is a compromise: large enough to make progress from a
random start, yet small enough to settle into a minimum instead of bouncing
around it.  A schedule gets both by changing each parameter group's ``lr``
as training goes on.  The usual loop calls ``scheduler.step()`` once per
epoch, *after* that epoch's optimizer steps:

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train_epoch(model, loader, loss_function, optimizer)
        scheduler.step()

A scheduler counts epochs in ``last_epoch`` (0 right after construction) and
sets each group's rate from the group's starting rate, which it stores in the
group as ``"initial_lr"`` (as PyTorch does, so a resumed run finds it):

* ``StepLR`` multiplies by ``gamma`` every ``step_size`` epochs:

      lr_t = lr_0 * gamma ^ floor(t / step_size)

* ``CosineAnnealingLR`` follows half a cosine from ``lr_0`` down to
  ``eta_min`` over ``T_max`` epochs (and, past ``T_max``, back up again, as
  PyTorch's does):

      lr_t = eta_min + (lr_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2

* ``MultiStepLR`` multiplies by ``gamma`` at each of the given
  ``milestones`` (a milestone listed twice decays twice):

      lr_t = lr_0 * gamma ^ (number of milestones <= t)

* ``ExponentialLR`` multiplies by ``gamma`` every epoch:

      lr_t = lr_0 * gamma ^ t

All four are computed here in this closed form, from ``t`` alone.  PyTorch
computes each epoch's rate from the previous one instead (StepLR multiplies
the current rate by ``gamma``; CosineAnnealingLR scales the distance to
``eta_min`` by a ratio of two cosines).  On a fresh run the two give the same
rates up to float rounding: the recursion accumulates a little error, so they
agree to about 1e-13 relative over hundreds of epochs (the tests compare with
PyTorch to 1e-12).  They differ only if something else changes
``group["lr"]`` between epochs: PyTorch's recursion builds on the changed
value, the closed form ignores it.  (Also unlike PyTorch, constructing a
scheduler with ``last_epoch=k`` sets the rate of epoch ``k + 1`` at once;
PyTorch leaves the optimizer's rate as it finds it until the next ``step()``.)

``ReduceLROnPlateau`` is different in kind: it follows a measured quantity,
not the calendar.  ``scheduler.step(val_loss)`` once per epoch; when the
metric has not improved (by more than ``threshold``) for more than
``patience`` epochs, every group's rate is multiplied by ``factor`` (never
below ``min_lr``), then ``cooldown`` epochs pass before bad epochs count
again.  No closed form exists, since the rate depends on the whole history of
the metric; the rule below is PyTorch's, step for step.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter
from typing import Any, Iterable, SupportsFloat

from tinytorch.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: keeps ``last_epoch`` and writes ``get_lr()`` into the optimizer's groups."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: {type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        for number, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                # Resuming at a later epoch needs the rates the schedule started from.
                raise KeyError(f"{type(self).__name__}: param 'initial_lr' is not specified in "
                               f"param_groups[{number}] when resuming scheduler with "
                               f"last_epoch={last_epoch}; load the optimizer's state dict first")
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = []
        self.step()  # moves to epoch last_epoch + 1 (0 for a new schedule) and sets its rates

    def get_lr(self) -> list[float]:
        """The learning rate of every group at epoch ``self.last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} must implement get_lr()")

    def step(self) -> None:
        """Advance one epoch and write the new rates into the optimizer."""
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The rates set by the latest ``step()``, one per parameter group."""
        return self._last_lr

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (which has its own state dict)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by ``state_dict``; the next ``step()`` continues from there."""
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply each group's rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size <= 0:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``base_lr * gamma ** (number of completed step_size periods)`` for each group."""
        # BEGIN SOLUTION lab 04
        decays = self.last_epoch // self.step_size
        return [base_lr * self.gamma ** decays for base_lr in self.base_lrs]
        # END SOLUTION


class CosineAnnealingLR(LRScheduler):
    """Anneal each group's rate from its initial value to ``eta_min`` along half a cosine."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if not T_max > 0:
            raise ValueError(f"CosineAnnealingLR: T_max must be positive, got {T_max!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2`` for each group."""
        # BEGIN SOLUTION lab 04
        cosine = math.cos(math.pi * self.last_epoch / self.T_max)
        return [self.eta_min + (base_lr - self.eta_min) * (1 + cosine) / 2
                for base_lr in self.base_lrs]
        # END SOLUTION


class MultiStepLR(LRScheduler):
    """Multiply each group's rate by ``gamma`` at every milestone epoch."""

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        if any(isinstance(m, bool) or not isinstance(m, int) for m in milestones):
            raise TypeError(f"MultiStepLR: milestones must be integers (epochs), got {milestones!r}")
        # A Counter, as PyTorch keeps it: a milestone given twice decays twice.
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``base_lr * gamma ** (number of milestones reached by last_epoch)`` for each group."""
        # Counter() again: a state dict that went through tinytorch.save comes back a plain dict.
        reached = bisect_right(sorted(Counter(self.milestones).elements()), self.last_epoch)
        return [base_lr * self.gamma ** reached for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply each group's rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """``base_lr * gamma ** last_epoch`` for each group."""
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rates by ``factor`` when a metric stops improving for ``patience`` epochs."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float | list[float] = 0, eps: float = 1e-8) -> None:
        # Not LRScheduler.__init__: there are no base rates and no step() at construction.
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau: {type(optimizer).__name__} is not an Optimizer")
        if not factor < 1.0:
            raise ValueError(f"ReduceLROnPlateau: factor should be < 1.0, got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode {mode!r} is unknown (use 'min' or 'max')")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold mode {threshold_mode!r} is unknown "
                             "(use 'rel' or 'abs')")
        groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != groups:
                raise ValueError(f"ReduceLROnPlateau: expected {groups} min_lrs (one per parameter "
                                 f"group), got {len(min_lr)}")
            self.default_min_lr, self.min_lrs = None, list(min_lr)
        else:
            self.default_min_lr, self.min_lrs = min_lr, [min_lr] * groups
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, factor, patience
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.eps = cooldown, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, value: float, best: float) -> bool:
        """Whether ``value`` improves on ``best`` by more than the threshold (PyTorch's test)."""
        if self.mode == "min":
            return value < (best * (1 - self.threshold) if self.threshold_mode == "rel"
                            else best - self.threshold)
        return value > (best * (1 + self.threshold) if self.threshold_mode == "rel"
                        else best + self.threshold)

    def step(self, metrics: SupportsFloat) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce the rates after too many epochs without improvement."""
        current = float(metrics)  # a number or a one-element Tensor
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1  # NaN is never better: it counts as a bad epoch
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs right after a reduction do not count
        if self.num_bad_epochs > self.patience:
            self._check_group_count()
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:  # ignore reductions too small to matter
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _check_group_count(self) -> None:
        groups = len(self.optimizer.param_groups)
        if groups == len(self.min_lrs):
            return
        if self.default_min_lr is None:  # one min_lr per group was given: which would a new one get?
            raise RuntimeError(f"ReduceLROnPlateau: the optimizer has {groups} parameter groups "
                               f"but min_lr lists {len(self.min_lrs)} (was a group added with "
                               "add_param_group?); set scheduler.min_lrs to one value per group")
        self.min_lrs = [self.default_min_lr] * groups
