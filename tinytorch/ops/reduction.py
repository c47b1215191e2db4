"""Reductions: sum, mean, var, max and min over some or all dimensions.

A reduction maps many elements to one, so its backward pass maps one gradient
back to many.  For ``sum`` every input element contributed with weight 1, so
each receives the output's gradient unchanged: we re-insert the reduced axes
(when ``keepdim=False`` removed them) and broadcast back to the input shape.
``mean`` divides by the count n.  ``var`` divides the sum of squared
deviations by n - correction (``correction=1``, the default, is Bessel's
unbiased estimate; 0 gives the plain mean), so its gradient is
2 (x - mean) / (n - correction); ``std`` is its square root.

``max`` and ``min`` pick one element, which alone receives the gradient.  With
a ``dim`` they return ``(values, indices)`` like PyTorch; over the whole
tensor they return one value, and the gradient is shared evenly among tied
maxima (PyTorch's rule).

``norm`` is the vector p-norm ||x||_p = (sum |x_i|^p)^(1/p) over ``dim``
(the Euclidean length for p = 2, the default; the largest magnitude for
p = inf).  Its gradient, sign(x) |x|^(p-1) / ||x||^(p-1), divides by zero
at the zero vector; there, and at zero elements when p < 1, PyTorch takes
the subgradient 0, and so do we.
"""
from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.ops.arithmetic import scalar_type_name
from tinytorch.ops.pointwise import maximum, minimum

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


def _elementwise_other(op: str, dim: Any, keepdim: Any, other: Any) -> Any:
    """The tensor of ``max(a, b)``/``min(a, b)`` (PyTorch's elementwise overload), or None."""
    from tinytorch.tensor import Tensor

    if other is None and isinstance(dim, Tensor):
        other, dim = dim, None
    if other is None:
        return None
    if dim is not None or keepdim is not False or not isinstance(other, Tensor):
        raise TypeError(
            f"{op}() received an invalid combination of arguments: {op}(input, other) takes "
            f"two tensors and nothing else (use tinytorch.{'maximum' if op == 'max' else 'minimum'}"
            " for a tensor and a number)"
        )
    return other


def max(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """Largest element; with ``dim``, ``(values, indices)`` along that dimension.

    ``max(a, b)`` with two tensors is the elementwise maximum, as in PyTorch.
    """
    other = _elementwise_other("max", dim, keepdim, other)
    if other is not None:
        return maximum(input, other)
    return _extreme(input, dim, keepdim, largest=True)


def min(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
    """Smallest element; with ``dim``, ``(values, indices)`` along that dimension.

    ``min(a, b)`` with two tensors is the elementwise minimum, as in PyTorch.
    """
    other = _elementwise_other("min", dim, keepdim, other)
    if other is not None:
        return minimum(input, other)
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


class Norm(Function):
    """The vector p-norm over ``axes``, for p a number, inf or -inf."""

    @staticmethod
    def forward(ctx, x, p, axes, keepdim):
        magnitude = np.abs(x)
        if p == 2:
            result = np.sqrt(np.sum(x * x, axis=axes, keepdims=keepdim))
        elif p == np.inf:
            result = np.max(magnitude, axis=axes, keepdims=keepdim)
        elif p == -np.inf:
            result = np.min(magnitude, axis=axes, keepdims=keepdim)
        elif p == 0:  # how many elements are not zero (constant almost everywhere)
            result = np.sum(magnitude != 0, axis=axes, keepdims=keepdim).astype(x.dtype)
        elif p == 1:
            result = np.sum(magnitude, axis=axes, keepdims=keepdim)
        else:
            with np.errstate(divide="ignore"):  # 0 ** negative p: inf, whose 1/p-th power is 0
                result = np.sum(magnitude ** p, axis=axes, keepdims=keepdim) ** (1 / p)
        ctx.p, ctx.axes, ctx.keepdim = p, axes, keepdim
        ctx.save_for_backward(x, result)
        return np.asarray(result, dtype=x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, result = ctx.saved_tensors
        p = ctx.p
        if not ctx.keepdim:  # line the norm and its gradient up with x's axes
            grad, result = np.expand_dims(grad, ctx.axes), np.expand_dims(result, ctx.axes)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                slope = x / result
            elif p in (np.inf, -np.inf):  # the extreme elements share the gradient evenly
                is_extreme = np.abs(x) == result
                slope = np.sign(x) * is_extreme / np.sum(is_extreme, axis=ctx.axes, keepdims=True)
            elif p == 0:
                slope = np.zeros_like(x)
            elif p == 1:
                slope = np.sign(x)
            else:
                slope = np.sign(x) * (np.abs(x) / result) ** (p - 1)
            # Subgradient 0 where the formula divides by zero: the zero vector, and
            # zero elements (|x|^(p-1) is infinite there when p < 1).
            slope = np.where((result == 0) | (x == 0), 0, slope)
        return (grad * slope).astype(x.dtype, copy=False)


def norm(input: Any, p: Any = "fro", dim: Dims = None, keepdim: bool = False,
         dtype: Any = None) -> Any:
    """The p-norm over ``dim`` (all elements when None); ``'fro'``, the default, is p = 2."""
    if dtype is not None:
        input = input.to(dtype)
    if input.dtype.kind != "f":
        raise RuntimeError(
            f"norm: expected a floating point tensor as input, got "
            f"{scalar_type_name(input.dtype)} (dtype {input.dtype})"
        )
    if dim == ():
        dim = None  # PyTorch: an empty list of dims means all of them
    if isinstance(p, str):
        if p == "nuc":
            raise RuntimeError(
                "norm: p='nuc' (the nuclear norm, a sum of singular values) is not supported "
                "by TinyTorch; vector norms (p a number, inf, -inf) and 'fro' are"
            )
        if p != "fro":
            raise RuntimeError(f"norm: order {p!r} not supported (expected 'fro', 'nuc' or a number)")
        if dim is not None and not isinstance(dim, (int, np.integer)) and len(dim) > 2:
            raise RuntimeError(f"norm: p='fro' needs dim to be one dimension or a 2-tuple, got {tuple(dim)}")
        p = 2
    axes = normalize_dims(dim, input.ndim, "norm")
    if builtins.abs(p) == np.inf and input.array.size == 0:
        raise RuntimeError(
            f"norm: cannot compute the {p} norm of an empty tensor (shape {input.shape}) "
            "because the operation does not have an identity"
        )
    return Norm.apply(input, builtins.float(p), axes, keepdim)
