"""Pointwise functions: exp, log, sqrt, abs, clamp, maximum, where, activations.

A pointwise function f applied to every element has a diagonal Jacobian, so
its backward pass is just ``grad * f'(x)``, elementwise.  Where f' is easiest
to write in terms of the output (exp: f' = f; sigmoid: f' = f (1 - f);
tanh: f' = 1 - f^2; sqrt: f' = 1 / (2 f)), we save the output instead of
the input.

Functions that are not differentiable everywhere take PyTorch's conventions so
that gradients match it exactly: relu'(0) = 0, abs'(0) = 0, clamp passes the
gradient where min <= x <= max, and maximum/minimum split a tie evenly between
both inputs.  Comparisons (``<``, ``==``, ...) return boolean tensors and carry
no gradient at all.  Integer inputs give float32 results (``exp`` of an int64
tensor), PyTorch's default float rather than numpy's float64; see
``default_float`` in ``arithmetic.py``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.ops.arithmetic import default_float, unbroadcast


def pass_where(mask: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """The gradient where ``mask`` holds, exactly 0 elsewhere.

    Multiplying by the 0/1 mask is the fast way (a masked select is several
    times slower in numpy), but inf * 0 = nan: an infinite incoming gradient
    (sqrt or log just after a relu, at 0) must give 0 where the mask is off,
    as in PyTorch.  That rare case is repaired after the fact.
    """
    passed = grad * mask
    if np.isnan(np.add.reduce(passed, axis=None)):  # one cheap pass finds any nan
        passed[~np.broadcast_to(mask, passed.shape)] = 0
    return passed


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        result = default_float(np.exp(x), x)  # float32 for integer input, as PyTorch
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        # d exp(x)/dx = exp(x), which forward saved
        # BEGIN SOLUTION lab 02
        return grad * result
        # END SOLUTION


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return default_float(np.log(x), x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        # d log(x)/dx = 1/x
        # BEGIN SOLUTION lab 02
        return grad / x
        # END SOLUTION


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        result = default_float(np.sqrt(x), x)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad / (2 * result)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.sign(x)


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, min=None, max=None):
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        return default_float(np.clip(x, min, max), x, min, max)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        inside = np.ones(x.shape, dtype=bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        return pass_where(inside, grad)


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return default_float(np.maximum(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share_of_a = (a > b) + 0.5 * (a == b)
        return _split_between(ctx, grad, share_of_a, a, b)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return default_float(np.minimum(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        share_of_a = (a < b) + 0.5 * (a == b)
        return _split_between(ctx, grad, share_of_a, a, b)


def _split_between(ctx, grad, share_of_a, a, b):
    """Send ``share_of_a`` of the gradient to a, the rest to b (both unbroadcast)."""
    share_of_a = share_of_a.astype(grad.dtype)
    needs_a, needs_b = ctx.needs_input_grad
    return (unbroadcast(grad * share_of_a, np.shape(a)) if needs_a else None,
            unbroadcast(grad * (1 - share_of_a), np.shape(b)) if needs_b else None)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, a, b):
        ctx.condition = condition
        ctx.shapes = (np.shape(a), np.shape(b))
        return default_float(np.where(condition, a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        _, needs_a, needs_b = ctx.needs_input_grad
        zero = np.zeros((), dtype=grad.dtype)
        return (None,
                unbroadcast(np.where(ctx.condition, grad, zero), a_shape) if needs_a else None,
                unbroadcast(np.where(ctx.condition, zero, grad), b_shape) if needs_b else None)


class ReLU(Function):
    @staticmethod
    def forward(ctx, x):
        # max(x, 0), elementwise
        # BEGIN SOLUTION lab 03
        result = np.maximum(x, 0)
        # END SOLUTION
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return pass_where(result > 0, grad)


class ReLU6(Function):
    """min(max(x, 0), 6): the bounded ReLU of mobile networks (and of int8 clamps)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.clip(x, 0, 6)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return pass_where((x > 0) & (x < 6), grad)  # zero at both kinks, as PyTorch's hardtanh


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        # exp of a negative number never overflows: use e = exp(-|x|) on both sides.
        e = np.exp(-np.abs(x))
        result = default_float(np.where(x >= 0, 1 / (1 + e), e / (1 + e)), x)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * result * (1 - result)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        result = default_float(np.tanh(x), x)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad):
        (result,) = ctx.saved_tensors
        return grad * (1 - result * result)


def exp(input: Any) -> Any:
    """Elementwise e^x."""
    return Exp.apply(input)


def log(input: Any) -> Any:
    """Elementwise natural logarithm."""
    return Log.apply(input)


def sqrt(input: Any) -> Any:
    """Elementwise square root."""
    return Sqrt.apply(input)


def abs(input: Any) -> Any:
    """Elementwise absolute value."""
    return Abs.apply(input)


def clamp(input: Any, min: float | None = None, max: float | None = None) -> Any:
    """Limit every element to [min, max]; either bound may be None."""
    from tinytorch.tensor import Tensor

    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' and 'max' must not be None")
    if any(isinstance(bound, Tensor) and bound.requires_grad for bound in (min, max)):
        # Bounds that need a gradient: two selections give PyTorch's rule (each
        # element's gradient goes to whichever of x, min, max it was taken from).
        result = input
        if min is not None:
            result = where(result < min, min, result)
        if max is not None:
            result = where(result > max, max, result)
        return result
    # Constant tensor bounds are plain arrays to Clamp, like numbers.
    min, max = (bound.array if isinstance(bound, Tensor) else bound for bound in (min, max))
    return Clamp.apply(input, min=min, max=max)


clip = clamp


def maximum(input: Any, other: Any) -> Any:
    """Elementwise maximum of two tensors (broadcast)."""
    return Maximum.apply(input, other)


def minimum(input: Any, other: Any) -> Any:
    """Elementwise minimum of two tensors (broadcast)."""
    return Minimum.apply(input, other)


def where(condition: Any, input: Any, other: Any) -> Any:
    """Elements of ``input`` where ``condition`` holds, else of ``other``."""
    from tinytorch.tensor import Tensor

    mask = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
    return Where.apply(mask.astype(bool, copy=False), input, other)


def relu(input: Any) -> Any:
    """max(x, 0), elementwise."""
    return ReLU.apply(input)


def relu6(input: Any) -> Any:
    """min(max(x, 0), 6), elementwise."""
    return ReLU6.apply(input)


def sigmoid(input: Any) -> Any:
    """1 / (1 + e^-x), elementwise, without overflow for large |x|."""
    return Sigmoid.apply(input)


def tanh(input: Any) -> Any:
    """Hyperbolic tangent, elementwise."""
    return Tanh.apply(input)


class Cast(Function):
    """Convert to another dtype; the gradient is converted back."""

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.input_dtype = x.dtype
        return x.astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad.astype(ctx.input_dtype)


def cast(input: Any, dtype: np.dtype) -> Any:
    """A copy of ``input`` as ``dtype``; non-float results carry no gradient."""
    result = Cast.apply(input, dtype)
    if dtype.kind != "f" and result.requires_grad:
        result = result.detach()
    return result


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return default_float(np.sin(x), x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.cos(x)


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return default_float(np.cos(x), x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * np.sin(x)


def sin(input: Any) -> Any:
    """Elementwise sine (radians)."""
    return Sin.apply(input)


def cos(input: Any) -> Any:
    """Elementwise cosine (radians)."""
    return Cos.apply(input)


class LeakyReLU(Function):
    """x where x > 0, negative_slope * x elsewhere: a ReLU whose negative side still learns.

    At 0 the gradient is the slope, as in PyTorch (it takes x > 0 strictly).
    """

    @staticmethod
    def forward(ctx, x, negative_slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.negative_slope = negative_slope
        return np.where(positive, x, x * negative_slope)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return np.where(positive, grad, grad * ctx.negative_slope)


def leaky_relu(input: Any, negative_slope: float = 0.01) -> Any:
    """max(x, 0) + negative_slope * min(x, 0), elementwise."""
    if input.dtype.kind != "f":
        raise NotImplementedError(f"leaky_relu: not implemented for dtype {input.dtype}; "
                                  f"use a floating point tensor")
    return LeakyReLU.apply(input, float(negative_slope))
