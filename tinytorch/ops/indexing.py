"""Selecting and overwriting elements by position: gather and masked_fill.

``gather(input, dim, index)`` reads, for every position of ``index``, the
element of ``input`` found by replacing the coordinate along ``dim`` with
the index stored there.  For a 2-D input and ``dim=1``:

    out[i][j] = input[i][index[i][j]]

which is how a classifier picks each row's score for its label:
``scores.gather(1, labels.unsqueeze(1))``.  ``index`` has as many
dimensions as ``input``, and along every other dimension it may be shorter
(it reads a corner of ``input``), never longer.  Its backward pass sends
each output's gradient to the element it was read from, adding when one
element was read several times (``np.add.at``, as in indexing).

``masked_fill(input, mask, value)`` is ``where(mask, value, input)`` for a
boolean ``mask`` and a single ``value``: it hides padding or future tokens
(``scores.masked_fill(~allowed, float("-inf"))`` before a softmax).  The
filled positions no longer depend on ``input``, so they pass it no
gradient; a ``value`` tensor that requires grad receives the sum of the
gradient at the filled positions.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.ops.arithmetic import broadcast_shape, unbroadcast
from tinytorch.ops.matmul import C_TYPE_NAMES


def _coordinates(positions: np.ndarray, axis: int) -> tuple:
    """One coordinate array per dimension, broadcasting (no copies): the running
    position everywhere, the stored index along ``axis``."""
    coordinates = list(np.indices(positions.shape, sparse=True))
    coordinates[axis] = positions
    return tuple(coordinates)


class Gather(Function):
    @staticmethod
    def forward(ctx, x, positions, axis):
        ctx.save_for_backward(positions)  # an in-place change to index is caught
        ctx.shape, ctx.axis = x.shape, axis
        return x[_coordinates(positions.reshape(positions.shape or (1,)), axis)]

    @staticmethod
    def backward(ctx, grad):
        (positions,) = ctx.saved_tensors
        positions = positions.reshape(positions.shape or (1,))
        grad_input = np.zeros(ctx.shape, dtype=grad.dtype)
        np.add.at(grad_input, _coordinates(positions, ctx.axis), grad.reshape(positions.shape))
        return grad_input


def gather(input: Any, dim: int, index: Any) -> Any:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1`` (likewise for any rank and dim)."""
    from tinytorch.tensor import Tensor

    if not isinstance(index, Tensor):
        raise TypeError(f"gather(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"gather(): Expected dtype int32/int64 for index, got {index.dtype}")
    rank = max(input.ndim, 1)
    if not -rank <= dim < rank:
        raise IndexError(
            f"gather: Dimension out of range (expected to be in range of [{-rank}, {rank - 1}], "
            f"but got {dim})"
        )
    # PyTorch treats a 0-d tensor as a 1-d tensor of one element here.
    source, positions = input.reshape(-1) if input.ndim == 0 else input, index.array
    if index.ndim == 0:
        positions = positions.reshape(1)
    axis = dim % rank
    if positions.ndim != source.ndim:
        raise RuntimeError(
            f"gather: Index tensor must have the same number of dimensions as input tensor "
            f"(index shape {tuple(index.shape)}, input shape {tuple(input.shape)})"
        )
    for d in range(source.ndim):
        if d != axis and positions.shape[d] > source.shape[d]:
            raise RuntimeError(
                f"gather: Size does not match at dimension {d} expected index "
                f"{list(index.shape)} to be no larger than self {list(input.shape)} apart "
                f"from dimension {axis}"
            )
    size = source.shape[axis]
    outside = (positions < 0) | (positions >= size)
    if outside.any():
        raise RuntimeError(
            f"gather: index {positions[outside].flat[0]} is out of bounds for dimension "
            f"{axis} with size {size}"
        )
    result = Gather.apply(source, index, axis)
    return result.reshape(()) if index.ndim == 0 else result


class MaskedFill(Function):
    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)  # kept by the backward pass: an in-place change is caught
        ctx.shapes = (x.shape, np.shape(value))
        # The value takes the input's dtype (2.5 into an int64 tensor is 2), as in PyTorch.
        return np.where(mask, np.asarray(value).astype(x.dtype), x)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        x_shape, value_shape = ctx.shapes
        needs_x, _, needs_value = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad.dtype)
        grad_x = unbroadcast(np.where(mask, zero, grad), x_shape) if needs_x else None
        grad_value = None
        if needs_value:
            grad_value = np.add.reduce(np.where(mask, grad, zero), axis=None).reshape(value_shape)
        return grad_x, None, grad_value


def check_mask(mask: Any, op: str = "masked_fill_") -> np.ndarray:
    """A boolean mask's array, or PyTorch's error for any other dtype."""
    from tinytorch.tensor import Tensor

    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask.dtype != np.bool_:
        raise RuntimeError(
            f"{op} only supports boolean masks, but got mask with dtype "
            f"{C_TYPE_NAMES.get(mask.dtype.name, mask.dtype.name)} (use mask.bool() or a "
            "comparison such as x > 0)"
        )
    return mask.array


def masked_fill(input: Any, mask: Any, value: Any) -> Any:
    """A copy of ``input`` with ``value`` wherever the boolean ``mask`` is True (broadcast)."""
    from tinytorch.tensor import Tensor

    mask_array = check_mask(mask, "masked_fill")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
            f"{value.ndim} dimension(s)."
        )
    broadcast_shape(input.shape, mask_array.shape)
    return MaskedFill.apply(input, mask, value)
