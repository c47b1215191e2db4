"""Loss modules: the objective a training loop minimizes.

``CrossEntropyLoss`` takes raw scores (logits, shape (N, C)) and class indices
(int64, shape (N,)) and applies log-softmax itself: do not put a softmax layer
before it.  ``MSELoss`` is the mean squared error for regression.  Both wrap
the functional forms, which hold the math.
"""
from __future__ import annotations

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor


class CrossEntropyLoss(Module):
    def __init__(self, reduction: str = "mean", label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.reduction, self.label_smoothing = reduction, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(input, target, self.reduction, self.label_smoothing)


class MSELoss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return F.mse_loss(input, target, self.reduction)
