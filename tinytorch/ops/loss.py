"""Loss functions: cross-entropy, negative log-likelihood, binary cross-entropy, MSE.

Cross-entropy for classification is ``-log softmax(logits)[target]``, averaged
over the batch.  Written as two operations (log_softmax, then picking one
entry per row) it works, but it is one of the hottest paths of training, and
fused its gradient is remarkably simple:

    d loss_n / d logits_n = softmax(logits_n) - one_hot(target_n)

(divided by N for the mean): the prediction minus the truth.  So the common
case is one Function, on the Numba kernel in ``kernels/cross_entropy.py``.
Targets are class indices (int64), as in PyTorch; ``label_smoothing`` s mixes
the one-hot target with the uniform distribution.

The options that change which rows count, and how much, take the general
path, composed exactly as PyTorch composes it: ``log_softmax`` and then the
negative log-likelihood of the log-probabilities (``nll_loss``).  With class
weights w and rows whose target is ``ignore_index`` left out, row n costs

    loss_n = (1 - s) * w[t_n] * (-log p_n[t_n])  +  (s / C) * sum_j w[j] * (-log p_n[j])

and the mean divides the sum by the total weight of the rows kept,
``sum_n w[t_n]``, not by N: a weighted mean, so that the loss does not
depend on how many rows of a rare class a batch happens to hold.  A batch
whose every row is ignored has total weight 0: its mean is nan (0 / 0) and
its gradient is 0, as in PyTorch.

Binary cross-entropy scores one probability p against a target y in [0, 1]:
``-(y log p + (1 - y) log(1 - p))``.  Its logits version takes x with
p = sigmoid(x) and never forms p: ``log(1 + exp(-x))`` is computed as
``max(-x, 0) + log1p(exp(-|x|))``, finite for every x, and ``pos_weight``
multiplies the positive term (to rebalance rare positives).

Mean squared error is simple enough to compose from existing operations: its
gradient comes from ``sub``, ``mul`` and ``mean`` for free.

Every loss takes PyTorch's arguments, including the deprecated
``size_average`` and ``reduce`` (turned into ``reduction`` with PyTorch's
warning), so that positional calls written for PyTorch mean the same here.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinytorch.autograd import grad_mode
from tinytorch.autograd.function import Function
from tinytorch.ops.softmax import log_softmax, sum_along

REDUCTIONS = ("mean", "sum", "none")


def resolve_reduction(op: str, size_average: bool | None, reduce: bool | None,
                      reduction: str) -> str:
    """``reduction``, or what the deprecated ``size_average`` / ``reduce`` ask for."""
    if size_average is not None or reduce is not None:
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "none" if not reduce else "mean" if size_average else "sum"
        warnings.warn(f"{op}: size_average and reduce args will be deprecated, please use "
                      f"reduction='{reduction}' instead.", UserWarning, stacklevel=3)
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def reduce_losses(losses: Any, reduction: str) -> Any:
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


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


class NegativeLogLikelihood(Function):
    """Weighted, smoothed NLL of log-probabilities (N, C) at targets (N,), rows ignored.

    ``loss_n`` is the formula of the essay, 0 for ignored rows; the mean is
    divided by the total weight of the kept rows.  Its gradient with respect
    to the log-probabilities is constant in them:

        d loss_n / d log_p[n, j] = -(1 - s) * w[t_n] * [j == t_n] - (s / C) * w[j]
    """

    @staticmethod
    def forward(ctx, log_probabilities, target, weight, ignore_index, reduction, label_smoothing):
        rows, classes = log_probabilities.shape
        dtype = log_probabilities.dtype
        if weight is None:
            weight = np.ones(classes, dtype)
        kept = target != ignore_index
        safe_target = np.where(kept, target, 0)  # any valid class: the row is masked out
        target_weight = np.where(kept, weight[safe_target], 0).astype(dtype, copy=False)
        picked = log_probabilities[np.arange(rows), safe_target]
        # np.where, not a product with the mask: an ignored row may hold -inf.
        with np.errstate(invalid="ignore"):
            losses = np.where(kept, -(1 - label_smoothing) * target_weight * picked, 0)
            if label_smoothing:
                spread = -(log_probabilities @ weight) * (label_smoothing / classes)
                losses = losses + np.where(kept, spread, 0)
        losses = losses.astype(dtype, copy=False)
        ctx.save_for_backward(safe_target, kept, target_weight, weight)
        ctx.shape, ctx.dtype = log_probabilities.shape, dtype
        ctx.reduction, ctx.label_smoothing = reduction, label_smoothing
        if reduction == "none":
            return losses
        total = sum_along(losses, axis=None)
        if reduction == "sum":
            return np.asarray(total, dtype)
        ctx.total_weight = sum_along(target_weight, axis=None)
        with np.errstate(divide="ignore", invalid="ignore"):  # all rows ignored: nan
            return np.asarray(total / ctx.total_weight, dtype)

    @staticmethod
    def backward(ctx, grad):
        safe_target, kept, target_weight, weight = ctx.saved_tensors
        rows, classes = ctx.shape
        smoothing = ctx.label_smoothing
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = grad / ctx.total_weight if ctx.reduction == "mean" else grad
            # Ignored rows get exactly 0, even when the mean (and so scale) is nan.
            row_scale = np.where(kept, np.broadcast_to(scale, (rows,)), 0)
            grad_input = np.zeros(ctx.shape, ctx.dtype)
            if smoothing:
                grad_input -= np.multiply.outer(row_scale * (smoothing / classes), weight)
            grad_input[np.arange(rows), safe_target] -= (1 - smoothing) * row_scale * target_weight
        return grad_input, None, None


# ----- checks shared by the class-index losses --------------------------------------
def _as_rows(op: str, input: Any, labels: np.ndarray) -> tuple[Any, np.ndarray, tuple]:
    """Scores (N, C, d1, ...) and labels (N, d1, ...) as rows (M, C) and labels (M,).

    Also returns the shape of the unreduced loss.  (C,) with a 0-d label is
    one unbatched sample.
    """
    if labels.dtype.kind not in "iu":
        raise RuntimeError(
            f"{op}: expected class indices of an integer dtype (int64) as target, got "
            f"dtype {labels.dtype}"
        )
    if input.ndim == 2:  # the common case first
        if labels.shape != (input.shape[0],):
            raise ValueError(
                f"{op}: expected target of shape ({input.shape[0]},) for input of shape "
                f"{input.shape}, got target shape {labels.shape}"
            )
        return input, labels, labels.shape
    if input.ndim == 1:
        if labels.size != 1:
            raise ValueError(f"{op}: expected a single class index as target for unbatched "
                             f"input of shape {input.shape}, got target shape {labels.shape}")
        return input.reshape(1, -1), labels.reshape(1), ()
    if input.ndim == 0:
        raise ValueError(f"{op}: expected input of shape (N, C), (C,) or (N, C, d1, ...), "
                         f"got a 0-d input")
    expected = (input.shape[0],) + input.shape[2:]
    if labels.shape != expected:
        raise ValueError(f"{op}: expected target of shape {expected} for input of shape "
                         f"{input.shape}, got target shape {labels.shape}")
    # Move the class axis last, then every position is one row of scores.
    rows = input.permute(0, *range(2, input.ndim), 1).reshape(-1, input.shape[1])
    return rows, labels.reshape(-1), expected


def _constant_weight(op: str, name: str, weight: Any, input: Any) -> Any:
    """A loss's weight as a Tensor of the input's dtype that takes no gradient (None stays None)."""
    from tinytorch.tensor import Tensor

    if weight is None:
        return None
    if isinstance(weight, str):  # a reduction passed where the weight sits in the signature
        raise TypeError(f"{op}: {name} must be a Tensor, got the string {weight!r} (pass "
                        f"reduction={weight!r} as a keyword argument)")
    if not isinstance(weight, Tensor):
        return Tensor(weight, dtype=input.dtype)
    if weight.requires_grad and grad_mode.is_grad_enabled():
        raise RuntimeError(f"{op}: the loss is not differentiable with respect to {name!r}, "
                           f"so it cannot have requires_grad=True (pass {name}.detach())")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"{op}: {name} has dtype {weight.dtype} but the input has dtype "
                           f"{input.dtype}; expected the same dtype")
    return weight


def _class_weight(op: str, weight: Any, input: Any, classes: int) -> Any:
    weight = _constant_weight(op, "weight", weight, input)
    if weight is not None and weight.shape != (classes,):
        raise RuntimeError(f"{op}: weight tensor should be defined either for all {classes} "
                           f"classes or no classes but got weight tensor of shape {weight.shape}")
    return weight


def _any_ignored(op: str, labels: np.ndarray, classes: int, ignore_index: int) -> bool:
    """True when some label is ``ignore_index``; IndexError for any other label out of range."""
    ignored = labels == ignore_index
    bad = ((labels < 0) | (labels >= classes)) & ~ignored
    if bad.any():
        raise IndexError(f"{op}: target {labels[bad][0]} is out of bounds for {classes} classes")
    return bool(ignored.any())


def _saved_target(target: Any, labels: np.ndarray) -> Any:
    # The target Tensor itself when its array is used as is, so that the
    # version check notices an in-place change to it before backward.
    return target if getattr(target, "array", None) is labels else labels


def cross_entropy(input: Any, target: Any, weight: Any = None, size_average: bool | None = None,
                  ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Any:
    """Cross-entropy between logits (N, C), (C,) or (N, C, d1, ...) and class indices."""
    from tinytorch.tensor import Tensor

    if size_average is not None or reduce is not None or reduction not in REDUCTIONS:
        reduction = resolve_reduction("cross_entropy", size_average, reduce, reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, "
                           f"got {label_smoothing}")
    labels = target.array if isinstance(target, Tensor) else np.asarray(target)
    if input.ndim != 2 or labels.shape != (input.shape[0],) or labels.dtype.kind not in "iu":
        # Not the common case: other layouts, or an error that _as_rows explains.
        rows, row_labels, loss_shape = _as_rows("cross_entropy", input, labels)
        loss = cross_entropy(rows, row_labels, weight, None, ignore_index, None, reduction,
                             label_smoothing)
        return loss.reshape(loss_shape) if reduction == "none" else loss
    classes = input.shape[1]
    # Negative labels wrap around to huge unsigned values: one max checks both ends.
    outside = bool(labels.size) and np.maximum.reduce(labels.astype(np.uint64), axis=None) >= classes
    ignored = False
    if outside or 0 <= ignore_index < classes:  # rare: look at every label
        ignored = _any_ignored("cross_entropy", labels, classes, ignore_index)
    labels = labels.astype(np.int64, copy=False)
    if weight is None and not ignored:  # the fused kernel: the training hot path
        return CrossEntropy.apply(input, _saved_target(target, labels), reduction,
                                  float(label_smoothing))
    weight = _class_weight("cross_entropy", weight, input, classes)
    return NegativeLogLikelihood.apply(log_softmax(input, 1), labels, weight, ignore_index,
                                       reduction, float(label_smoothing))


def nll_loss(input: Any, target: Any, weight: Any = None, size_average: bool | None = None,
             ignore_index: int = -100, reduce: bool | None = None,
             reduction: str = "mean") -> Any:
    """Negative log-likelihood of log-probabilities (N, C), (C,) or (N, C, d1, ...)."""
    from tinytorch.tensor import Tensor

    reduction = resolve_reduction("nll_loss", size_average, reduce, reduction)
    labels = target.array if isinstance(target, Tensor) else np.asarray(target)
    rows, row_labels, loss_shape = _as_rows("nll_loss", input, labels)
    classes = rows.shape[1]
    _any_ignored("nll_loss", row_labels, classes, ignore_index)
    weight = _class_weight("nll_loss", weight, input, classes)
    loss = NegativeLogLikelihood.apply(rows, row_labels.astype(np.int64, copy=False), weight,
                                       ignore_index, reduction, 0.0)
    return loss.reshape(loss_shape) if reduction == "none" else loss


# ----- binary cross-entropy -----------------------------------------------------------
class BinaryCrossEntropy(Function):
    """-(y log p + (1 - y) log(1 - p)) elementwise, each log clamped at -100 as PyTorch.

    Without the clamp, p = 0 with y = 0 would give 0 * log 0 = nan.  The
    gradients are PyTorch's: (p - y) / max(p (1 - p), 1e-12) for p, and
    log(1 - p) - log p for y.
    """

    @staticmethod
    def forward(ctx, probabilities, target):
        ctx.save_for_backward(probabilities, target)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(probabilities), -100)
            log_not_p = np.maximum(np.log1p(-probabilities), -100)
        return -(target * log_p + (1 - target) * log_not_p)

    @staticmethod
    def backward(ctx, grad):
        p, y = ctx.saved_tensors
        needs_p, needs_y = ctx.needs_input_grad
        grad_p = grad_y = None
        if needs_p:
            grad_p = grad * (p - y) / np.maximum(p * (1 - p), 1e-12)
        if needs_y:
            with np.errstate(divide="ignore"):
                grad_y = grad * (np.log1p(-p) - np.log(p))
        return grad_p, grad_y


class BinaryCrossEntropyWithLogits(Function):
    """(1 - y) x + (1 + (pos_weight - 1) y) log(1 + exp(-x)) elementwise, stably.

    (That is -[pos_weight y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))].)
    Gradients: (1 - y) - (1 + (pos_weight - 1) y) sigmoid(-x) for x, and
    -x + (pos_weight - 1) log(1 + exp(-x)) for y.
    """

    @staticmethod
    def forward(ctx, logits, target, pos_weight):
        ctx.save_for_backward(logits, target, pos_weight)
        softplus_of_negative = np.maximum(-logits, 0) + np.log1p(np.exp(-np.abs(logits)))
        if pos_weight is None:
            return (1 - target) * logits + softplus_of_negative
        return (1 - target) * logits + (1 + (pos_weight - 1) * target) * softplus_of_negative

    @staticmethod
    def backward(ctx, grad):
        x, y, pos_weight = ctx.saved_tensors
        needs_x, needs_y = ctx.needs_input_grad[:2]
        small = np.exp(-np.abs(x))
        extra_positive = 0 if pos_weight is None else pos_weight - 1
        grad_x = grad_y = None
        if needs_x:
            sigmoid_of_negative = np.where(x >= 0, small / (1 + small), 1 / (1 + small))
            grad_x = grad * ((1 - y) - (1 + extra_positive * y) * sigmoid_of_negative)
        if needs_y:
            softplus_of_negative = np.maximum(-x, 0) + np.log1p(small)
            grad_y = grad * (extra_positive * softplus_of_negative - x)
        return grad_x, grad_y, None


def _check_binary(op: str, input: Any, target: Any) -> Any:
    """The target as a Tensor of the input's shape and float dtype, or a clear error."""
    from tinytorch.tensor import Tensor

    target = target if isinstance(target, Tensor) else Tensor(target, dtype=input.dtype)
    if target.shape != input.shape:
        raise ValueError(f"{op}: using a target of shape {target.shape} that differs from the "
                         f"input shape {input.shape}; please ensure they have the same shape")
    if input.dtype.kind != "f" or target.dtype != input.dtype:
        raise RuntimeError(f"{op}: expected input and target of the same float dtype, got "
                           f"input {input.dtype} and target {target.dtype}")
    return target


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _elementwise_weight(op: str, name: str, weight: Any, input: Any) -> Any:
    weight = _constant_weight(op, name, weight, input)
    if weight is not None and not _broadcasts_to(weight.shape, input.shape):
        raise RuntimeError(f"{op}: {name} of shape {weight.shape} does not broadcast to the "
                           f"input shape {input.shape}")
    return weight


def binary_cross_entropy(input: Any, target: Any, weight: Any = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Any:
    """Binary cross-entropy of probabilities ``input`` in [0, 1] against ``target``."""
    op = "binary_cross_entropy"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    target = _check_binary(op, input, target)
    for name, values in (("input", input.array), ("target", target.array)):
        inside = (values >= 0) & (values <= 1)  # false for nan too
        if not inside.all():
            raise RuntimeError(f"{op}: all elements of {name} should be between 0 and 1, "
                               f"got {values[~inside][0]}")
    weight = _elementwise_weight(op, "weight", weight, input)
    losses = BinaryCrossEntropy.apply(input, target)
    return reduce_losses(losses if weight is None else losses * weight, reduction)


def binary_cross_entropy_with_logits(input: Any, target: Any, weight: Any = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Any:
    """Binary cross-entropy of sigmoid(``input``) against ``target``, computed from logits."""
    op = "binary_cross_entropy_with_logits"
    reduction = resolve_reduction(op, size_average, reduce, reduction)
    target = _check_binary(op, input, target)
    weight = _elementwise_weight(op, "weight", weight, input)
    pos_weight = _elementwise_weight(op, "pos_weight", pos_weight, input)
    losses = BinaryCrossEntropyWithLogits.apply(input, target, pos_weight)
    return reduce_losses(losses if weight is None else losses * weight, reduction)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Any:
    """Mean squared error: mean((input - target) ** 2)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"mse_loss: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if input.shape != getattr(target, "shape", input.shape):
        raise ValueError(
            f"mse_loss: input shape {input.shape} and target shape {target.shape} differ "
            f"(broadcasting in a loss is almost always a bug)"
        )
    # the squared differences, reduced as `reduction` says (mean, sum or none)
    # BEGIN SOLUTION lab 03
    squared = (input - target) ** 2
    if reduction == "mean":
        return squared.mean()
    if reduction == "sum":
        return squared.sum()
    return squared
    # END SOLUTION
