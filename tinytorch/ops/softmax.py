"""Softmax and log-softmax, computed without overflow.

softmax(x)_i = e^{x_i} / sum_j e^{x_j} turns scores into probabilities.  Taken
literally it overflows: e^{100} is inf in float32.  Because softmax does not
change when the same constant is subtracted from every x_i, we subtract the
largest one first; then every exponent is <= 0 and every e^{...} lies in
[0, 1] (the largest is exactly 1, so the sum is at least 1; a term far below
the maximum underflows to 0, harmlessly).  Log-softmax uses the same trick and
never exponentiates back:

    log_softmax(x)_i = (x_i - m) - log(sum_j e^{x_j - m}),  m = max_j x_j

which stays accurate for probabilities far too small for float32.

Gradients (y = softmax(x), g = incoming gradient):

    softmax:      dx = y * (g - sum(g * y))
    log_softmax:  dx = g - softmax(x) * sum(g)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function


# The ufuncs' own ``reduce`` methods do what np.max / np.sum do, minus a layer
# of Python dispatch that costs several microseconds on the small arrays of a
# training step (about as much as the arithmetic itself).
max_along = np.maximum.reduce
sum_along = np.add.reduce


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    """Numerically stable log-softmax of a numpy array."""
    # BEGIN SOLUTION lab 03
    shifted = x - max_along(x, axis=axis, keepdims=True)
    return shifted - np.log(sum_along(np.exp(shifted), axis=axis, keepdims=True))
    # END SOLUTION


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        shifted = np.exp(x - max_along(x, axis=axis, keepdims=True))
        result = shifted / sum_along(shifted, axis=axis, keepdims=True)
        ctx.save_for_backward(result)
        ctx.axis = axis
        return result

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return y * (grad - sum_along(grad * y, axis=ctx.axis, keepdims=True))


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, axis):
        result = log_softmax_array(x, axis)
        ctx.save_for_backward(result)
        ctx.axis = axis
        return result

    @staticmethod
    def backward(ctx, grad):
        (log_y,) = ctx.saved_tensors
        return grad - np.exp(log_y) * sum_along(grad, axis=ctx.axis, keepdims=True)


def _axis(input: Any, dim: int | None, op: str) -> int:
    if dim is None:
        # PyTorch's legacy implicit-dim rule: dim 0 for 0-, 1- and 3-D input
        # (a 3-D input was read as one unbatched C x H x W image), dim 1 otherwise.
        dim = 0 if input.ndim in (0, 1, 3) else 1
    ndim = max(input.ndim, 1)
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{-ndim}, "
            f"{ndim - 1}], but got {dim})"
        )
    return dim % ndim


def softmax(input: Any, dim: int | None = None) -> Any:
    """Probabilities along ``dim`` that are positive and sum to 1."""
    return Softmax.apply(input, _axis(input, dim, "softmax"))


def log_softmax(input: Any, dim: int | None = None) -> Any:
    """log(softmax(input)) along ``dim``, computed stably."""
    return LogSoftmax.apply(input, _axis(input, dim, "log_softmax"))
