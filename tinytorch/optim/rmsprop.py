"""RMSprop: divide each step by a running size of the gradient.

A weight whose gradients are large takes the same step as one whose
gradients are tiny if each step is divided by "how large this weight's
gradients usually are".  RMSprop (Hinton's lecture notes, 2012) measures
that size as the root of a running mean of squared gradients:

    v <- alpha * v + (1 - alpha) * g^2          (v starts at 0)
    p <- p - lr * g / (sqrt(v) + eps)

``alpha`` close to 1 averages over many steps (0.99: about the last 100).
Unlike Adam there is no bias correction: ``v`` starts at zero, so the first
steps are *large* (the first divides by ``sqrt(1 - alpha) |g|``, a step of
about ``10 lr`` with the default alpha).  Adam is, roughly, RMSprop plus a
momentum plus that correction.

Options, applied in PyTorch's order, operation for operation:

* **maximize** flips the gradient's sign first; **weight_decay** then adds
  ``weight_decay * p`` to it (L2 regularization, as in SGD).
* **centered** subtracts the square of a running mean of the gradient,
  ``m <- alpha * m + (1 - alpha) * g``, to divide by an estimate of the
  gradient's *variance* instead of its second moment:
  ``sqrt(v - m^2) + eps``.  A weight whose gradient is large but steady then
  takes larger steps than one whose gradient is large and noisy.
* **momentum** accumulates the scaled gradient instead of applying it:
  ``b <- momentum * b + g / (sqrt(v) + eps)``, ``p <- p - lr * b``.

State per parameter: ``step`` (an int), ``square_avg`` (v) and, when used,
``momentum_buffer`` (b) and ``grad_avg`` (m): arrays shaped like the
parameter, all starting at zero.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_non_negative
from tinytorch.tensor import Tensor


class RMSprop(Optimizer):
    """RMSprop (optionally centered, with momentum), PyTorch's rule exactly."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, maximize: bool = False) -> None:
        check_non_negative("learning rate", lr, "RMSprop")
        check_non_negative("epsilon value", eps, "RMSprop")
        check_non_negative("momentum value", momentum, "RMSprop")
        check_non_negative("weight_decay value", weight_decay, "RMSprop")
        check_non_negative("alpha value", alpha, "RMSprop")
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps,
                                      centered=centered, weight_decay=weight_decay,
                                      maximize=maximize))

    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        """Apply one RMSprop step to ``param.array`` in place (``grad`` is left untouched)."""
        lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
        momentum, centered = group["momentum"], group["centered"]
        state = self.state.setdefault(param, {})
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param.array)
        # Checked on every step, not only the first: a group's options may change mid-run.
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(param.array)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(param.array)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param.array
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * np.square(grad)
        if centered:
            grad_avg = state["grad_avg"]
            # m <- alpha m + (1 - alpha) g, written as PyTorch's lerp: m + (1 - alpha)(g - m)
            grad_avg += (1 - alpha) * (grad - grad_avg)
            denominator = np.sqrt(square_avg - np.square(grad_avg))
        else:
            denominator = np.sqrt(square_avg)
        denominator += eps
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += grad / denominator
            param.array -= lr * buffer
        else:
            param.array -= lr * (grad / denominator)
