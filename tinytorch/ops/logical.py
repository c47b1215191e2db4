"""Logic on tensors: any, all, the bitwise operators, and whole-tensor equality.

Comparisons (``x > 0``) give boolean tensors; this chapter combines them.
``mask_a & mask_b``, ``mask_a | mask_b``, ``mask_a ^ mask_b`` and ``~mask``
are elementwise AND, OR, XOR and NOT.  On integer tensors the same operators
act on each bit of the two's-complement representation (``~5 == -6``), as
in Python.  Floating point numbers have no bits to speak of here, so PyTorch
refuses them, and so do we.

``any`` and ``all`` reduce with OR and AND: ``(x < 0).any()`` asks whether
some element is negative, ``all(dim=1)`` asks it row by row.  Every result
is boolean (except for uint8 input, which PyTorch keeps as uint8).

None of this is differentiable: a boolean has no slope.  The results never
require a gradient.

Two questions about whole tensors return a plain Python ``bool``, for use
in ``if`` statements and tests: ``equal(a, b)`` (same shape, same values)
and ``allclose(a, b, rtol, atol)``, true when every element satisfies
``|a - b| <= atol + rtol * |b|`` (PyTorch's and numpy's definition; note
that it is not symmetric in a and b).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.ops.arithmetic import broadcast_shape, scalar_type_name
from tinytorch.ops.reduction import Dims, normalize_dims


def _array(value: Any) -> Any:
    return getattr(value, "array", value)


def _wrap(array: Any) -> Any:
    from tinytorch.tensor import Tensor

    return Tensor._wrap(np.asarray(array), False)


def _reduce(op: str, logic: Any, input: Any, dim: Dims, keepdim: bool) -> Any:
    array = input.array
    if dim == ():
        dim = None  # PyTorch: an empty list of dims means all of them
    axes = normalize_dims(dim, array.ndim, op)
    result = logic.reduce(array.astype(bool, copy=False), axis=axes, keepdims=keepdim)
    return _wrap(np.asarray(result, dtype=np.uint8 if array.dtype == np.uint8 else bool))


def any(input: Any, dim: Dims = None, keepdim: bool = False) -> Any:
    """Whether any element (along ``dim``) is nonzero."""
    return _reduce("any", np.logical_or, input, dim, keepdim)


def all(input: Any, dim: Dims = None, keepdim: bool = False) -> Any:
    """Whether every element (along ``dim``) is nonzero."""
    return _reduce("all", np.logical_and, input, dim, keepdim)


def _check_bitwise(op: str, *operands: Any) -> None:
    for operand in operands:
        dtype = np.asarray(_array(operand)).dtype
        if dtype.kind not in "biu":
            raise NotImplementedError(
                f"{op}: not implemented for '{scalar_type_name(dtype)}' (dtype {dtype}); "
                "bitwise operators work on bool and integer tensors"
            )


def _bitwise(op: str, ufunc: Any, input: Any, other: Any) -> Any:
    _check_bitwise(op, input, other)
    return _wrap(ufunc(_array(input), _array(other)))


def bitwise_and(input: Any, other: Any) -> Any:
    """``input & other``: logical AND of booleans, bitwise AND of integers."""
    return _bitwise("bitwise_and", np.bitwise_and, input, other)


def bitwise_or(input: Any, other: Any) -> Any:
    """``input | other``: logical OR of booleans, bitwise OR of integers."""
    return _bitwise("bitwise_or", np.bitwise_or, input, other)


def bitwise_xor(input: Any, other: Any) -> Any:
    """``input ^ other``: exclusive OR."""
    return _bitwise("bitwise_xor", np.bitwise_xor, input, other)


def bitwise_not(input: Any) -> Any:
    """``~input``: NOT of booleans, bitwise complement of integers (``~x == -x - 1``)."""
    if input.dtype.kind not in "biu":
        raise TypeError(
            "~ (operator.invert) is only implemented on integer and Boolean-type tensors, "
            f"got dtype {input.dtype}"
        )
    return _wrap(np.invert(input.array))


def logical_not(input: Any) -> Any:
    """True where ``input`` is zero (any dtype)."""
    return _wrap(np.logical_not(input.array))


def _check_tensors(op: str, input: Any, other: Any) -> None:
    from tinytorch.tensor import Tensor

    for position, (name, value) in enumerate((("input", input), ("other", other)), start=1):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {position}) must be Tensor, "
                            f"not {type(value).__name__}")


def equal(input: Any, other: Any) -> bool:
    """True when both tensors have the same shape and the same values (NaN is never equal)."""
    _check_tensors("equal", input, other)
    return input.shape == other.shape and bool(np.array_equal(input.array, other.array))


def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    """True when ``|input - other| <= atol + rtol * |other|`` everywhere (shapes broadcast)."""
    _check_tensors("allclose", input, other)
    if input.dtype != other.dtype:
        raise RuntimeError(
            f"allclose: {scalar_type_name(input.dtype)} did not match "
            f"{scalar_type_name(other.dtype)} (dtypes {input.dtype} and {other.dtype}; "
            "convert one of them with .to())"
        )
    broadcast_shape(input.shape, other.shape)
    return bool(np.all(np.isclose(input.array, other.array, rtol=rtol, atol=atol,
                                  equal_nan=equal_nan)))
