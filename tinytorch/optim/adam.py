"""Adam and AdamW: per-parameter step sizes from running gradient moments.

Adam keeps two exponential moving averages per parameter: of the gradient
(``m``, the first moment, like momentum) and of its square (``v``, the second
moment).  Each step moves by ``m / (sqrt(v) + eps)``: a parameter whose
gradient is consistently large gets no larger step than one with small
gradients, because the division normalizes the scale away.

Both averages start at zero, so early on they are biased towards zero; after
t steps dividing by ``1 - beta^t`` removes that bias exactly:

    m <- beta1 m + (1 - beta1) g           m_hat = m / (1 - beta1^t)
    v <- beta2 v + (1 - beta2) g^2         v_hat = v / (1 - beta2^t)
    p <- p - lr * m_hat / (sqrt(v_hat) + eps)

Weight decay differs between the two: **Adam** adds ``weight_decay * p`` to the
gradient (so the decay too is normalized by sqrt(v)), **AdamW** shrinks the
weights directly, ``p <- p (1 - lr * weight_decay)``, decoupled from the
adaptive step (Loshchilov & Hutter, 2019), which regularizes as intended.
``amsgrad`` divides by the largest v_hat seen so far instead.  The arithmetic
follows PyTorch's implementation operation for operation.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_positive


class Adam(Optimizer):
    decoupled_weight_decay = False

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False) -> None:
        name = type(self).__name__
        check_positive("learning rate", lr, name)
        check_positive("epsilon value", eps, name)
        check_positive("weight_decay value", weight_decay, name)
        for number, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: Invalid beta parameter at index {number}: {beta}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))

    def update(self, param: Any, grad: np.ndarray, group: dict[str, Any]) -> None:
        """Apply one Adam (or AdamW) step to ``param.data`` in place."""
        state = self.state.setdefault(param, {})
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.data)
            state["exp_avg_sq"] = np.zeros_like(param.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param.data)
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        decay = group["weight_decay"]
        # BEGIN SOLUTION lab 04
        if group["maximize"]:
            grad = -grad
        if decay and self.decoupled_weight_decay:
            param.data *= 1 - lr * decay
        elif decay:
            grad = grad + decay * param.data
        state["step"] += 1
        step = state["step"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1 - beta1) * (grad - exp_avg)  # = beta1 m + (1 - beta1) g
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            second_moment = state["max_exp_avg_sq"]
        else:
            second_moment = exp_avg_sq
        denominator = np.sqrt(second_moment) / bias_correction2_sqrt + eps
        param.data -= (lr / bias_correction1) * exp_avg / denominator
        # END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01)."""

    decoupled_weight_decay = True

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
