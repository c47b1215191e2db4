"""Adam and AdamW: a step size per weight, from running averages of the gradient.

SGD gives every weight the same learning rate, yet gradients differ in scale
by orders of magnitude between layers (and between the weights of one layer).
Adam keeps two exponential moving averages for each weight: of its gradient,
``m`` (the first moment: a momentum), and of its squared gradient, ``v`` (the
second moment: how large that weight's gradients usually are).  The step is
``m / sqrt(v)``: roughly the sign of the recent gradient, scaled to about
``lr`` whatever the gradient's own scale.

Both averages start at zero, so in the first steps they are biased towards
zero; after ``t`` steps dividing by ``1 - beta^t`` removes that bias exactly
(each average is then a weighted mean whose weights sum to one):

    m <- beta1 * m + (1 - beta1) * g                m_hat = m / (1 - beta1^t)
    v <- beta2 * v + (1 - beta2) * g^2              v_hat = v / (1 - beta2^t)
    p <- p - lr * m_hat / (sqrt(v_hat) + eps)

``eps`` keeps the update finite where v_hat is 0 (a weight whose gradients
have all been 0, where m_hat / sqrt(v_hat) would be 0/0 = NaN) or so close to
0 that the division would blow up.
The arithmetic below is PyTorch's, operation for operation: it folds the
first correction into the step size ``lr / (1 - beta1^t)`` and divides
``sqrt(v)`` by ``sqrt(1 - beta2^t)`` before adding ``eps``.

Options:

* **weight_decay**, two ways.  *Adam* adds ``weight_decay * p`` to the
  gradient (L2 regularization), which then goes through the ``1 / sqrt(v)``
  scaling: weights with large gradients are barely decayed.  *AdamW*
  (``decoupled_weight_decay``, Loshchilov & Hutter, 2019) shrinks the weights
  directly, ``p <- p * (1 - lr * weight_decay)``, before the Adam step, so
  every weight decays at the same rate.  That is what regularizes as intended,
  and why AdamW is the usual choice for training from scratch.  ``AdamW`` is
  simply ``Adam`` with ``decoupled_weight_decay=True`` (and a default decay of
  0.01): one update rule serves both.
* **amsgrad** divides by the largest ``v`` seen so far instead of the current
  one, so a weight's step size can never grow back after a burst of large
  gradients.
* **maximize** climbs instead of descends.

State per parameter: ``step`` (an int), ``exp_avg`` (m), ``exp_avg_sq`` (v) and,
with amsgrad, ``max_exp_avg_sq``: arrays shaped like the parameter.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_non_negative
from tinytorch.tensor import Tensor


class Adam(Optimizer):
    """Adam (and, with ``decoupled_weight_decay=True``, AdamW), PyTorch's rule exactly."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        name = type(self).__name__
        check_non_negative("learning rate", lr, name)
        check_non_negative("epsilon value", eps, name)
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name}: Invalid beta parameter at index {index}: {beta}")
        check_non_negative("weight_decay value", weight_decay, name)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        """Apply one Adam (or AdamW) step to ``param.array`` in place.

        The state arrays exist already (zeros on the first call): update them
        in place, count ``state["step"]`` up by one *before* computing the
        bias corrections, and never modify ``grad`` in place (it is the
        user's ``param.grad``).  Hint: ``np.maximum(a, b, out=a)``.
        """
        state = self.state.setdefault(param, {})
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param.array)
            state["exp_avg_sq"] = np.zeros_like(param.array)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(param.array)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, decoupled = group["weight_decay"], group["decoupled_weight_decay"]
        # BEGIN SOLUTION lab 04
        if group["maximize"]:
            grad = -grad
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0:
            if decoupled:
                param.array *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param.array
        # m <- beta1 m + (1 - beta1) g, written as PyTorch's lerp: m + (1 - beta1)(g - m)
        exp_avg += (1 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * np.square(grad)
        if group["amsgrad"]:
            second_moment = np.maximum(state["max_exp_avg_sq"], exp_avg_sq,
                                       out=state["max_exp_avg_sq"])
        else:
            second_moment = exp_avg_sq
        step_size = lr / (1 - beta1 ** step)
        denominator = np.sqrt(second_moment)
        denominator /= math.sqrt(1 - beta2 ** step)
        denominator += eps
        param.array -= step_size * (exp_avg / denominator)
        # END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p <- p * (1 - lr * weight_decay)`` before each step."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        # An AdamW stays AdamW, even when given the state of a plain Adam.
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
