"""Arithmetic: + - * / ** // % and negation, with numpy broadcasting.

Each operation is a ``Function``: ``forward`` is one numpy expression and
``backward`` is the derivative from first-year calculus.  The one subtle part
is broadcasting.  ``x + b`` with ``x`` of shape (32, 10) and ``b`` of shape
(10,) silently copies ``b`` 32 times; in the backward pass each of those 32
copies sends a gradient back to the same ``b``, so the gradient of ``b`` is
the *sum* over the broadcast axis.  ``unbroadcast`` undoes broadcasting by
summing exactly the axes that broadcasting added or stretched:

    shape (32, 10) gradient, input shape (10,)    -> sum over axis 0
    shape (4, 3, 5) gradient, input shape (3, 1)  -> sum over axis 0, then 2

Operands may be Python numbers as well as tensors; numbers get no gradient.

Result dtypes follow PyTorch, not numpy, where the two disagree: numpy turns
``int64 / 2``, ``int64 * 0.5``, ``float32 * int64`` and ``float32 *
np.float64(2)`` into float64, PyTorch keeps float32.  PyTorch's rule ranks
operands: tensors with dimensions decide the dtype, then 0-d tensors, then
plain numbers (Python or numpy scalars), which only ever lift an integer
result to the *default* float, float32.  ``default_float`` applies that rule
to a float64 result that nobody asked for.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing numpy broadcasting."""
    # BEGIN SOLUTION lab 01
    if grad.shape == shape:
        return grad
    added_axes = grad.ndim - len(shape)
    if added_axes:
        grad = np.add.reduce(grad, axis=tuple(range(added_axes)))
    stretched_axes = tuple(
        axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1
    )
    if stretched_axes:
        grad = np.add.reduce(grad, axis=stretched_axes, keepdims=True)
    return grad
    # END SOLUTION


FLOAT64 = np.dtype(np.float64)
FLOAT32 = np.dtype(np.float32)


def default_float(result: Any, *operands: Any) -> Any:
    """``result`` as float32 when numpy made it float64 but PyTorch's rule would not."""
    if result.dtype is not FLOAT64:
        return result  # the common case: nothing to decide
    dimensioned_float = zero_dimensional_float64 = False
    for operand in operands:  # numbers (Python or numpy scalars) never ask for float64
        if isinstance(operand, np.ndarray) and operand.dtype.kind == "f":
            if operand.ndim:
                if operand.dtype is FLOAT64:
                    return result  # a float64 tensor with dimensions: float64 it is
                dimensioned_float = True
            elif operand.dtype is FLOAT64:
                zero_dimensional_float64 = True
    if zero_dimensional_float64 and not dimensioned_float:
        return result  # only 0-d tensors are floats, and one of them is float64
    return result.astype(FLOAT32)  # lower-precision tensors, or numbers: the default float


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (np.shape(a), np.shape(b))
        return default_float(np.add(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        needs_a, needs_b = ctx.needs_input_grad
        return (unbroadcast(grad, a_shape) if needs_a else None,
                unbroadcast(grad, b_shape) if needs_b else None)


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.shapes = (np.shape(a), np.shape(b))
        return default_float(np.subtract(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        needs_a, needs_b = ctx.needs_input_grad
        return (unbroadcast(grad, a_shape) if needs_a else None,
                unbroadcast(-grad, b_shape) if needs_b else None)


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        needs_a, needs_b = ctx.needs_input_grad
        # Each factor is needed only for the *other* one's gradient: saving no more
        # than that frees memory, and leaves a factor free to change after the forward.
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)
        ctx.shapes = (np.shape(a), np.shape(b))
        return default_float(np.multiply(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        needs_a, needs_b = ctx.needs_input_grad
        # d(a*b)/da = b and d(a*b)/db = a, each unbroadcast to its input's shape
        # BEGIN SOLUTION lab 02
        return (unbroadcast(grad * b, a_shape) if needs_a else None,
                unbroadcast(grad * a, b_shape) if needs_b else None)
        # END SOLUTION


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)  # a: only for b's
        ctx.shapes = (np.shape(a), np.shape(b))
        return default_float(np.true_divide(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        needs_a, needs_b = ctx.needs_input_grad
        # d(a/b)/da = 1/b and d(a/b)/db = -a/b**2, each unbroadcast to its input's shape
        # BEGIN SOLUTION lab 02
        grad_a = unbroadcast(grad / b, a_shape) if needs_a else None
        grad_b = unbroadcast(-grad * a / (b * b), b_shape) if needs_b else None
        # END SOLUTION
        return grad_a, grad_b


class Pow(Function):
    """base ** exponent; either may be a tensor.  d/db b^e = e b^(e-1), d/de b^e = b^e ln b."""

    @staticmethod
    def forward(ctx, base, exponent):
        result = default_float(np.power(base, exponent), base, exponent)
        ctx.save_for_backward(base, exponent, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        base, exponent, result = ctx.saved_tensors
        needs_base, needs_exponent = ctx.needs_input_grad
        grad_base = grad_exponent = None
        if needs_base:
            with np.errstate(divide="ignore", invalid="ignore"):
                slope = exponent * np.power(base, exponent - 1)
            # d/db b^0 = 0 everywhere, also at b = 0 where the formula gives 0 * inf = nan
            # (PyTorch's rule, so that x ** 0 never poisons a gradient).
            if np.any(np.equal(exponent, 0)):
                slope = np.where(np.equal(exponent, 0), 0, slope)
            grad_base = unbroadcast(grad * slope, np.shape(base))
        if needs_exponent:
            # ln b is nan for b < 0, as in PyTorch: (-2) ** e has no real slope in e.
            # At b = 0 and e >= 0 the product 0^e * ln 0 = 0 * -inf is taken as its
            # limit, 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                log_base = np.log(base)
                slope = np.where((np.equal(base, 0)) & (np.greater_equal(exponent, 0)),
                                 0, result * log_base)
            grad_exponent = unbroadcast(grad * slope, np.shape(exponent))
        return grad_base, grad_exponent


class Neg(Function):
    @staticmethod
    def forward(ctx, a):
        return np.negative(a)

    @staticmethod
    def backward(ctx, grad):
        return -grad


def add(input: Any, other: Any) -> Any:
    """``input + other`` with broadcasting."""
    return Add.apply(input, other)


def sub(input: Any, other: Any) -> Any:
    """``input - other`` with broadcasting."""
    return Sub.apply(input, other)


def mul(input: Any, other: Any) -> Any:
    """``input * other`` (elementwise) with broadcasting."""
    return Mul.apply(input, other)


def div(input: Any, other: Any) -> Any:
    """``input / other`` (true division) with broadcasting."""
    return Div.apply(input, other)


def pow(input: Any, exponent: Any) -> Any:
    """``input ** exponent`` with broadcasting."""
    return Pow.apply(input, exponent)


def neg(input: Any) -> Any:
    """``-input``."""
    return Neg.apply(input)


# ----- integer-style division: // and % ----------------------------------------
# Both round towards minus infinity, like Python's // and % (and unlike C's
# truncation): -7 // 2 == -4 and -7 % 2 == 1, so the remainder takes the
# divisor's sign and a == (a // b) * b + a % b always holds.  numpy's
# floor_divide and remainder follow the same rule.

SCALAR_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half",
                     "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                     "uint8": "Byte", "bool": "Bool"}


def scalar_type_name(dtype: np.dtype) -> str:
    """PyTorch's short name of a dtype, as its messages print it: float32 -> 'Float'."""
    return SCALAR_TYPE_NAMES.get(np.dtype(dtype).name, str(dtype))


def broadcast_shape(a_shape: tuple[int, ...], b_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of two shapes, or PyTorch's error naming the first clashing sizes."""
    try:
        return np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        for offset in range(1, min(len(a_shape), len(b_shape)) + 1):
            a_size, b_size = a_shape[-offset], b_shape[-offset]
            if a_size != b_size and 1 not in (a_size, b_size):
                raise RuntimeError(
                    f"The size of tensor a ({a_size}) must match the size of tensor b "
                    f"({b_size}) at non-singleton dimension {max(len(a_shape), len(b_shape)) - offset}"
                ) from None
        raise


def _check_integer_division(op: str, a: Any, b: Any) -> None:
    """Booleans cannot be divided; an integer divisor of 0 is an error, as in PyTorch."""
    a_kind, b_kind = np.asarray(a).dtype.kind, np.asarray(b).dtype.kind
    if a_kind == b_kind == "b":
        raise NotImplementedError(f"{op}: not implemented for 'Bool' (use integer or float tensors)")
    if a_kind in "bui" and b_kind in "bui" and np.any(np.equal(b, 0)):
        raise RuntimeError(f"{op}: ZeroDivisionError (an integer tensor divided by 0)")


class FloorDivide(Function):
    """a // b, rounded towards minus infinity.  A step function: no useful gradient."""

    @staticmethod
    def forward(ctx, a, b):
        _check_integer_division("floor_divide", a, b)
        with np.errstate(divide="ignore", invalid="ignore"):  # floats: inf and nan, no warning
            return default_float(np.floor_divide(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        # PyTorch records the operation but refuses to differentiate it; so do we.
        raise RuntimeError(
            "floor_divide: the derivative of floor_divide (//) is not implemented (it is 0 "
            "almost everywhere); use true division `/`, or detach the operands"
        )


class Remainder(Function):
    """a % b = a - floor(a / b) * b: slope 1 in a, -floor(a / b) in b (PyTorch's rule)."""

    @staticmethod
    def forward(ctx, a, b):
        _check_integer_division("remainder", a, b)
        if ctx.needs_input_grad[1]:  # a's gradient is grad itself: only b's needs values
            ctx.save_for_backward(a, b)
        ctx.shapes = (np.shape(a), np.shape(b))
        with np.errstate(divide="ignore", invalid="ignore"):
            return default_float(np.remainder(a, b), a, b)

    @staticmethod
    def backward(ctx, grad):
        a_shape, b_shape = ctx.shapes
        needs_a, needs_b = ctx.needs_input_grad
        grad_b = None
        if needs_b:
            a, b = ctx.saved_tensors
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = unbroadcast(-grad * np.floor(np.true_divide(a, b)), b_shape)
        return (unbroadcast(grad, a_shape) if needs_a else None), grad_b


def floor_divide(input: Any, other: Any) -> Any:
    """``input // other``, rounded towards minus infinity (Python's rule)."""
    return FloorDivide.apply(input, other)


def remainder(input: Any, other: Any) -> Any:
    """``input % other``, with the sign of ``other`` (Python's rule)."""
    return Remainder.apply(input, other)
