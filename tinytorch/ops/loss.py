"""Loss functions: cross-entropy and mean squared error.

Cross-entropy for classification is ``-log softmax(logits)[target]``, averaged
over the batch.  Written as two operations (log_softmax, then picking one
entry per row) it works, but it is one of the hottest paths of training, and
fused its gradient is remarkably simple:

    d loss_n / d logits_n = softmax(logits_n) - one_hot(target_n)

(divided by N for the mean): the prediction minus the truth.  So we compute it
as one Function, on the Numba kernel in ``kernels/cross_entropy.py``.  Targets
are class indices (int64), as in PyTorch; ``label_smoothing`` mixes the
one-hot target with the uniform distribution.

Mean squared error is simple enough to compose from existing operations: its
gradient comes from ``sub``, ``mul`` and ``mean`` for free.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.ops.softmax import sum_along

REDUCTIONS = ("mean", "sum", "none")


class CrossEntropy(Function):
    """Fused log-softmax + negative log-likelihood over logits (N, C), targets (N,).

    The arithmetic is the Numba kernel in ``kernels/cross_entropy.py`` (one
    pass per row); this Function adds the reduction over the batch.
    """

    @staticmethod
    def forward(ctx, logits, target, reduction, label_smoothing):
        from tinytorch.kernels.cross_entropy import cross_entropy_forward

        losses, log_sum_exp = cross_entropy_forward(logits, target, label_smoothing)
        ctx.save_for_backward(logits, target, log_sum_exp)
        ctx.reduction, ctx.label_smoothing = reduction, label_smoothing
        if reduction == "none":
            return losses
        total = sum_along(losses, axis=None)
        return np.asarray(total / len(losses) if reduction == "mean" else total, dtype=logits.dtype)

    @staticmethod
    def backward(ctx, grad):
        from tinytorch.kernels.cross_entropy import cross_entropy_backward

        logits, target, log_sum_exp = ctx.saved_tensors
        rows = logits.shape[0]
        # How much each row's loss counts in the output: 1/N of it for the mean.
        if ctx.reduction == "none":
            row_weights = np.ascontiguousarray(grad, dtype=logits.dtype)
        else:
            scale = grad / rows if ctx.reduction == "mean" else grad
            row_weights = np.full(rows, scale, dtype=logits.dtype)
        return cross_entropy_backward(logits, target, log_sum_exp, row_weights,
                                      ctx.label_smoothing), None


def cross_entropy(input: Any, target: Any, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Any:
    """Cross-entropy between logits (N, C) or (C,) and class indices (N,) or ()."""
    from tinytorch.tensor import Tensor

    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    labels = target.array if isinstance(target, Tensor) else np.asarray(target)
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
    return CrossEntropy.apply(input, labels.astype(np.int64, copy=False), reduction,
                              float(label_smoothing))


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error: mean((input - target) ** 2)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if input.shape != getattr(target, "shape", input.shape):
        raise ValueError(
            f"mse_loss: input shape {input.shape} and target shape {target.shape} differ "
            f"(broadcasting in a loss is almost always a bug)"
        )
    # TODO: the squared differences, reduced as `reduction` says (mean, sum or none)
    # BEGIN SOLUTION lab 03
    squared = (input - target) ** 2
    if reduction == "mean":
        return squared.mean()
    if reduction == "sum":
        return squared.sum()
    return squared
    # END SOLUTION
