"""Reductions: sum, mean, var, max and min over some or all dimensions.

A reduction maps many elements to one, so its backward pass maps one gradient
back to many.  For ``sum`` every input element contributed with weight 1, so
each receives the output's gradient unchanged: we re-insert the reduced axes
(when ``keepdim=False`` removed them) and broadcast back to the input shape.
``mean`` divides by the count; ``var`` is the mean of squared deviations, with
gradient 2 (x - mean) / (n - correction); ``std`` is its square root.

``max`` and ``min`` pick one element, which alone receives the gradient.  With
a ``dim`` they return ``(values, indices)`` like PyTorch; over the whole
tensor they return one value, and the gradient is shared evenly among tied
maxima (PyTorch's rule).
"""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

import numpy as np

from tinytorch.autograd.function import Function

Dims = int | tuple[int, ...] | list[int] | None

values_indices = namedtuple("values_indices", ["values", "indices"])


def normalize_dims(dim: Dims, ndim: int, op: str) -> tuple[int, ...]:
    """Turn ``dim`` (None, an int or a sequence, negatives allowed) into sorted axes."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    axes = []
    rank = builtins.max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1, as in PyTorch
    for d in dims:
        if not -rank <= d < rank:
            raise IndexError(
                f"{op}: dimension out of range (expected to be in range of "
                f"[{-rank}, {rank - 1}], but got {d})"
            )
        if ndim:  # a 0-d tensor has no axis to reduce: dim 0 is accepted and is a no-op
            if d % ndim in axes:  # (0, -2) on a 2-d tensor names axis 0 twice
                raise RuntimeError(
                    f"{op}: dim {d % ndim} appears multiple times in the list of dims")
            axes.append(d % ndim)
    return tuple(sorted(axes))


def expand_reduced(grad: np.ndarray, axes: tuple[int, ...], keepdim: bool,
                   shape: tuple[int, ...]) -> np.ndarray:
    """Put reduced axes back into ``grad`` and broadcast it to ``shape``."""
    if not keepdim and shape:
        grad = np.expand_dims(grad, axes)
    return np.broadcast_to(grad, shape)


class Sum(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        return np.sum(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad, ctx.axes, ctx.keepdim, ctx.shape)


class Mean(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim):
        ctx.shape, ctx.axes, ctx.keepdim = x.shape, axes, keepdim
        ctx.count = int(np.prod([x.shape[a] for a in axes])) if x.shape else 1
        return np.mean(x, axis=axes, keepdims=keepdim)

    @staticmethod
    def backward(ctx, grad):
        return expand_reduced(grad / ctx.count, ctx.axes, ctx.keepdim, ctx.shape)


class Var(Function):
    @staticmethod
    def forward(ctx, x, axes, keepdim, correction):
        count = int(np.prod([x.shape[a] for a in axes])) if x.shape else 1
        deviation = x - np.mean(x, axis=axes, keepdims=True)
        ctx.save_for_backward(deviation)
        ctx.axes, ctx.keepdim = axes, keepdim
        ctx.divisor = builtins.max(count - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(deviation * deviation, axis=axes, keepdims=keepdim) / ctx.divisor

    @staticmethod
    def backward(ctx, grad):
        (deviation,) = ctx.saved_tensors
        grad = expand_reduced(grad, ctx.axes, ctx.keepdim, deviation.shape)
        # No degrees of freedom left (one element, correction 1): the variance is
        # nan, and so is its gradient, as in PyTorch (not a ZeroDivisionError).
        scale = 2 / ctx.divisor if ctx.divisor else np.nan
        return grad * deviation * scale


class Std(Function):
    """sqrt(var), one node: where the spread is 0 the gradient is 0, as in PyTorch.

    Composed as sqrt(var(x)), the chain rule would multiply sqrt's infinite
    slope at 0 by var's zero gradient, giving nan for a constant input.
    """

    @staticmethod
    def forward(ctx, x, axes, keepdim, correction):
        variance = Var.forward(ctx, x, axes, keepdim, correction)
        result = np.sqrt(variance)
        ctx.result = result
        return result

    @staticmethod
    def backward(ctx, grad):
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_variance = np.where(ctx.result == 0, 0, grad / (2 * ctx.result))
        return Var.backward(ctx, grad_variance)


class TakeAlongDim(Function):
    """The elements at ``indices`` along one axis (how max/min with a dim select)."""

    @staticmethod
    def forward(ctx, x, indices, axis, keepdim):
        ctx.indices, ctx.shape, ctx.axis, ctx.keepdim = indices, x.shape, axis, keepdim
        values = np.take_along_axis(x, indices, axis=axis)
        return values if keepdim else np.squeeze(values, axis)

    @staticmethod
    def backward(ctx, grad):
        if not ctx.keepdim:
            grad = np.expand_dims(grad, ctx.axis)
        grad_input = np.zeros(ctx.shape, dtype=grad.dtype)
        np.put_along_axis(grad_input, ctx.indices, grad, axis=ctx.axis)
        return grad_input


class ExtremeOfAll(Function):
    """Max (or min) of all elements; tied extremes share the gradient evenly."""

    @staticmethod
    def forward(ctx, x, largest):
        value = np.max(x) if largest else np.min(x)
        ctx.save_for_backward(x == value)
        return np.asarray(value)

    @staticmethod
    def backward(ctx, grad):
        (is_extreme,) = ctx.saved_tensors
        return is_extreme * (grad / is_extreme.sum())


def sum(input: Any, dim: Dims = None, keepdim: bool = False) -> Any:
    """Sum over ``dim`` (all dimensions when None)."""
    return Sum.apply(input, normalize_dims(dim, input.ndim, "sum"), keepdim)


def mean(input: Any, dim: Dims = None, keepdim: bool = False) -> Any:
    """Mean over ``dim`` (all dimensions when None)."""
    if input.dtype.kind not in "fc":
        raise RuntimeError(
            f"mean: could not infer output dtype; input dtype must be floating point, "
            f"got {input.dtype}"
        )
    return Mean.apply(input, normalize_dims(dim, input.ndim, "mean"), keepdim)


def var(input: Any, dim: Dims = None, *, correction: int = 1, keepdim: bool = False,
        unbiased: bool | None = None) -> Any:
    """Variance over ``dim``; ``correction=1`` (default) is Bessel's unbiased estimate."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return Var.apply(input, normalize_dims(dim, input.ndim, "var"), keepdim, correction)


def std(input: Any, dim: Dims = None, *, correction: int = 1, keepdim: bool = False,
        unbiased: bool | None = None) -> Any:
    """Standard deviation over ``dim``: the square root of ``var`` with the same arguments."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    return Std.apply(input, normalize_dims(dim, input.ndim, "std"), keepdim, correction)


def _extreme(input: Any, dim: int | None, keepdim: bool, largest: bool) -> Any:
    from tinytorch.tensor import Tensor

    op = "max" if largest else "min"
    if input.array.size == 0:
        raise RuntimeError(f"{op}: expected a non-empty tensor, got shape {input.shape}")
    if dim is None:
        return ExtremeOfAll.apply(input, largest)
    if input.ndim == 0:  # PyTorch: the value itself and index 0, both 0-d
        normalize_dims(dim, 0, op)
        return _extreme(input.reshape(1), 0, False, largest)
    (axis,) = normalize_dims(dim, input.ndim, op)
    pick = np.argmax if largest else np.argmin
    indices = np.expand_dims(pick(input.array, axis=axis), axis)
    values = TakeAlongDim.apply(input, indices, axis, keepdim)
    return values_indices(values, Tensor._wrap(indices if keepdim else np.squeeze(indices, axis), False))


def max(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    """Largest element; with ``dim``, ``(values, indices)`` along that dimension."""
    return _extreme(input, dim, keepdim, largest=True)


def min(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    """Smallest element; with ``dim``, ``(values, indices)`` along that dimension."""
    return _extreme(input, dim, keepdim, largest=False)


def argmax(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    """Index of the largest element (flattened when ``dim`` is None)."""
    from tinytorch.tensor import Tensor

    if dim is None:
        return Tensor._wrap(np.asarray(np.argmax(input.array)), False)
    return max(input, dim, keepdim).indices


def argmin(input: Any, dim: int | None = None, keepdim: bool = False) -> Any:
    """Index of the smallest element (flattened when ``dim`` is None)."""
    from tinytorch.tensor import Tensor

    if dim is None:
        return Tensor._wrap(np.asarray(np.argmin(input.array)), False)
    return min(input, dim, keepdim).indices
