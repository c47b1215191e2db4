"""SGD: stochastic gradient descent, with momentum, Nesterov and weight decay.

Plain gradient descent steps against the gradient: p <- p - lr * g.
Refinements, in the order PyTorch applies them (and so do we, exactly):

1. **Weight decay** (L2 regularization) adds ``weight_decay * p`` to the
   gradient, pulling weights towards zero.
2. **Momentum** keeps a running velocity ``b <- momentum * b + (1 -
   dampening) * g`` (on the first step simply ``b = g``) and steps along it,
   which smooths noisy mini-batch gradients and speeds travel along shallow
   valleys.
3. **Nesterov** momentum looks ahead: it steps along ``g + momentum * b``.
4. **maximize** climbs instead of descends (the gradient's sign flips first).
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_positive


class SGD(Optimizer):
    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 maximize: bool = False) -> None:
        check_positive("learning rate", lr, "SGD")
        check_positive("momentum value", momentum, "SGD")
        check_positive("weight_decay value", weight_decay, "SGD")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def update(self, param: Any, grad: np.ndarray, group: dict[str, Any]) -> None:
        """Apply one SGD step to ``param.data`` in place."""
        lr, momentum = group["lr"], group["momentum"]
        # BEGIN SOLUTION lab 04
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param.data
        if momentum:
            state = self.state.setdefault(param, {})
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * grad if group["dampening"] else grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param.data -= lr * grad
        # END SOLUTION
