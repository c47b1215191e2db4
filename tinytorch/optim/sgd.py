"""SGD: stochastic gradient descent, with momentum, Nesterov and weight decay.

The gradient points uphill, so gradient descent steps against it:

    p <- p - lr * g

"Stochastic" because ``g`` comes from a mini-batch, a noisy estimate of the
full gradient.  Three refinements, applied in this order (PyTorch's order,
which we follow operation for operation):

1. **maximize** flips the gradient's sign first, to climb instead of descend.
2. **Weight decay** (L2 regularization) adds ``weight_decay * p`` to the
   gradient: the gradient of ``weight_decay / 2 * ||p||^2``, which pulls every
   weight towards zero a little on each step.
3. **Momentum** keeps a running velocity, the *momentum buffer*:

       b <- momentum * b + (1 - dampening) * g      (first step: b = g)
       p <- p - lr * b

   Gradients that agree from step to step add up; gradients that flip sign
   (noise, or the two walls of a narrow valley) cancel.  With momentum 0.9 a
   steady gradient ends up moving the weights ten times further per step.
   Note the first step stores ``g`` itself, with no dampening.
   **Nesterov** momentum steps along ``g + momentum * b`` instead of ``b``: it
   evaluates where the velocity is about to carry the weights, which corrects
   overshooting a little earlier.  It needs a momentum and no dampening.

The momentum buffer is the only state: ``state[p]["momentum_buffer"]``, an
array shaped like ``p``, created on the parameter's first step.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_non_negative
from tinytorch.tensor import Tensor


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), PyTorch's rule exactly."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        check_non_negative("learning rate", lr, "SGD")
        check_non_negative("momentum value", momentum, "SGD")
        check_non_negative("weight_decay value", weight_decay, "SGD")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        """Apply one SGD step to ``param.array`` in place.

        ``grad`` is the gradient array: never modify it in place (it is the
        user's ``param.grad``); make a new array when a step changes it.  Keep
        the momentum buffer in ``self.state[param]["momentum_buffer"]`` and
        update *it* in place (``*=``, ``+=``).  Hints: ``grad.copy()`` for the
        first buffer; ``param.array -= ...`` changes the weights in place.
        """
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        # BEGIN SOLUTION lab 04
        if maximize:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param.array
        if momentum != 0:
            state = self.state.setdefault(param, {})
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                # Skipping a multiply by exactly 1 saves a pass over the array.
                buffer += grad if dampening == 0 else (1 - dampening) * grad
            grad = grad + momentum * buffer if nesterov else buffer
        param.array -= lr * grad
        # END SOLUTION
