"""Loss functions: cross-entropy and mean squared error.

Cross-entropy for classification is ``-log softmax(logits)[target]``, averaged
over the batch.  Written as two operations (log_softmax, then picking one
entry per row) it works, but it is one of the hottest paths of training, and
fused its gradient is remarkably simple:

    d loss_n / d logits_n = softmax(logits_n) - one_hot(target_n)

(divided by N for the mean): the prediction minus the truth.  So we compute it
as one Function.  Targets are class indices (int64), as in PyTorch;
``label_smoothing`` mixes the one-hot target with the uniform distribution.

Mean squared error is simple enough to compose from existing operations: its
gradient comes from ``sub``, ``mul`` and ``mean`` for free.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.ops.softmax import log_softmax_array, sum_along

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over logits (N, C), targets (N,)."""

    @staticmethod
    def forward(ctx, logits, target, reduction, label_smoothing):
        n, classes = logits.shape
        log_probabilities = log_softmax_array(logits, axis=1)
        picked = log_probabilities[np.arange(n), target]
        losses = -picked
        if label_smoothing:
            smooth = -sum_along(log_probabilities, axis=1) / classes
            losses = (1 - label_smoothing) * losses + label_smoothing * smooth
        ctx.save_for_backward(log_probabilities, target)
        ctx.reduction, ctx.label_smoothing = reduction, label_smoothing
        if reduction == "none":
            return losses
        total = sum_along(losses, axis=None)
        return np.asarray(total / n if reduction == "mean" else total, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        log_probabilities, target = ctx.saved_tensors
        n, classes = log_probabilities.shape
        grad_logits = np.exp(log_probabilities)  # softmax ...
        grad_logits[np.arange(n), target] -= 1 - ctx.label_smoothing  # ... minus the truth
        if ctx.label_smoothing:
            grad_logits -= ctx.label_smoothing / classes
        if ctx.reduction == "mean":
            grad_logits *= grad / n
        elif ctx.reduction == "sum":
            grad_logits *= grad
        else:
            grad_logits *= grad[:, np.newaxis]
        return grad_logits, None


def cross_entropy(input: Any, target: Any, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Any:
    """Cross-entropy between logits (N, C) or (C,) and class indices (N,) or ()."""
    from tinytorch.tensor import Tensor

    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    labels = target.data if isinstance(target, Tensor) else np.asarray(target)
    if input.ndim == 1:  # one unbatched sample
        loss = cross_entropy(input.reshape(1, -1), labels.reshape(1), reduction, label_smoothing)
        return loss.reshape(()) if reduction == "none" else loss
    if input.ndim != 2:
        raise ValueError(
            f"cross_entropy: expected logits of shape (N, C) or (C,), got {input.shape}"
        )
    if labels.dtype.kind not in "iu":
        raise RuntimeError(
            f"cross_entropy: expected class indices of an integer dtype (int64) as "
            f"target, got dtype {labels.dtype}"
        )
    if labels.shape != (input.shape[0],):
        raise ValueError(
            f"cross_entropy: expected target of shape ({input.shape[0]},) for logits of "
            f"shape {input.shape}, got target shape {labels.shape}"
        )
    classes = input.shape[1]
    # Negative labels wrap around to huge unsigned values: one max checks both ends.
    if labels.size and np.maximum.reduce(labels.astype(np.uint64), axis=None) >= classes:
        bad = labels[(labels < 0) | (labels >= classes)][0]
        raise IndexError(f"cross_entropy: target {bad} is out of bounds for {classes} classes")
    return CrossEntropy.apply(input, labels, reduction, float(label_smoothing))


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error: mean((input - target) ** 2)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if input.shape != getattr(target, "shape", input.shape):
        raise ValueError(
            f"mse_loss: input shape {input.shape} and target shape {target.shape} differ "
            f"(broadcasting in a loss is almost always a bug)"
        )
    squared = (input - target) ** 2
    if reduction == "mean":
        return squared.mean()
    if reduction == "sum":
        return squared.sum()
    return squared
