"""Matrix multiplication, and the linear layer built on it.

For C = A @ B with A of shape (n, k) and B of shape (k, m), each output
C[i, j] = sum_p A[i, p] B[p, j], and the chain rule gives

    dL/dA = dL/dC @ B^T        (n, m) @ (m, k) -> (n, k)
    dL/dB = A^T @ dL/dC        (k, n) @ (n, m) -> (k, m)

Checking the shapes is the quickest way to remember which side the
transposes go on.  ``matmul`` follows numpy/PyTorch for other ranks: 1-D
operands are promoted to a row (left) or column (right) vector, and leading
"batch" dimensions broadcast, so their gradient is summed back down with
``unbroadcast`` like any broadcast.  ``mm`` (matrices only) and ``bmm``
(batches of matrices, no broadcasting) are the same product with stricter
shape checks, as in PyTorch.  Both operands must have the same dtype: numpy
would silently compute int64 @ float32 in float64, PyTorch refuses, and so
do we.

``linear(x, W, b) = x @ W^T + b`` is the workhorse of every network.  It is one
operation rather than three so that a training step makes fewer graph nodes
(and because PyTorch's ``F.linear`` is one as well); its gradient is the
matmul rule above plus the bias rule from ``arithmetic.py``.  The arithmetic
itself is numpy's, which calls an optimized BLAS library: on the shapes of a
neural network, BLAS is many times faster than any loop we could write (the
kernels chapter on GEMM measures by how much and why).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.ops.arithmetic import unbroadcast


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(size) for size in shape) if shape else "scalar"


def check_matmul_shapes(a_shape: tuple[int, ...], b_shape: tuple[int, ...], op: str = "matmul") -> None:
    """Raise PyTorch's message when the inner dimensions of a product disagree."""
    if not a_shape or not b_shape:
        raise RuntimeError(
            f"{op}: both arguments need at least 1 dimension, got shapes "
            f"{a_shape} and {b_shape}"
        )
    # the two inner sizes that must agree (a 1-D b is a column: its only size)
    # BEGIN SOLUTION lab 01
    inner_a = a_shape[-1]
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    # END SOLUTION
    if inner_a != inner_b:
        raise RuntimeError(
            f"{op}: mat1 and mat2 shapes cannot be multiplied "
            f"({_shape_text(a_shape)} and {_shape_text(b_shape)}): "
            f"{inner_a} columns vs {inner_b} rows"
        )
    if len(a_shape) > 2 and len(b_shape) > 2 and a_shape[:-2] != b_shape[:-2]:
        try:
            np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"{op}: the batch dimensions of shapes {_shape_text(a_shape)} and "
                f"{_shape_text(b_shape)} cannot be broadcast together "
                f"({_shape_text(a_shape[:-2])} vs {_shape_text(b_shape[:-2])})"
            ) from None


# The C type names PyTorch's dtype-mismatch message prints.
C_TYPE_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
                "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
                "uint8": "unsigned char", "bool": "bool"}


def check_same_dtype(a: np.ndarray, b: np.ndarray) -> None:
    """Refuse a product of two dtypes, as PyTorch does, rather than let numpy promote.

    numpy would quietly compute int64 @ float32 in float64, and a model fed
    float64 inputs would silently train in float64.  numpy's dtypes are
    singletons, so callers test ``a.dtype is not b.dtype`` first: the common
    case costs one identity test.
    """
    if a.dtype != b.dtype:
        raise RuntimeError(
            f"expected m1 and m2 to have the same dtype, but got: "
            f"{C_TYPE_NAMES.get(a.dtype.name, a.dtype.name)} != "
            f"{C_TYPE_NAMES.get(b.dtype.name, b.dtype.name)}"
        )


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        check_matmul_shapes(np.shape(a), np.shape(b))
        if a.dtype is not b.dtype:
            check_same_dtype(a, b)
        needs_a, needs_b = ctx.needs_input_grad
        ctx.save_for_backward(a if needs_b else None, b if needs_a else None)  # as Mul
        ctx.shapes = (np.shape(a), np.shape(b))
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        a_shape, b_shape = ctx.shapes
        needs_a, needs_b = ctx.needs_input_grad
        # Promote 1-D operands to matrices so one rule covers every rank.
        a2_shape = (1,) + a_shape if len(a_shape) == 1 else a_shape
        b2_shape = b_shape + (1,) if len(b_shape) == 1 else b_shape
        # The gradient gets the same promotion: b's column axis first, then a's row
        # axis, so that vector @ vector (a 0-d gradient) becomes a 1x1 matrix.
        grad2 = grad
        if len(b_shape) == 1:
            grad2 = np.expand_dims(grad2, -1)
        if len(a_shape) == 1:
            grad2 = np.expand_dims(grad2, -2)
        grad_a = grad_b = None
        if needs_a:
            b2 = b.reshape(b2_shape)
            grad_a = unbroadcast(np.matmul(grad2, np.swapaxes(b2, -1, -2)), a2_shape).reshape(a_shape)
        if needs_b:
            a2 = a.reshape(a2_shape)
            grad_b = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), grad2), b2_shape).reshape(b_shape)
        return grad_a, grad_b


class Linear(Function):
    """y = x @ weight^T + bias, for x of shape (..., in_features)."""

    @staticmethod
    def forward(ctx, x, weight, bias):
        if x.shape[-1] != weight.shape[-1]:
            raise RuntimeError(
                f"linear: mat1 and mat2 shapes cannot be multiplied "
                f"({_shape_text(x.shape)} and {_shape_text(weight.shape[::-1])}): input has "
                f"{x.shape[-1]} features but the weight expects {weight.shape[-1]}"
            )
        if x.dtype is not weight.dtype:
            check_same_dtype(x, weight)
        needs_x, needs_weight, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if needs_weight else None, weight if needs_x else None)
        # y = x @ weight.T (+ bias when there is one)
        # BEGIN SOLUTION lab 03
        out = x @ weight.T
        if bias is not None:
            out += bias
        return out
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad
        grad_x = grad @ weight if needs_x else None
        grad_weight = grad_bias = None
        if needs_weight or needs_bias:
            # Fold leading batch dimensions into one so both become plain matrix ops.
            flat_grad = grad.reshape(-1, grad.shape[-1])
            if needs_weight:
                grad_weight = flat_grad.T @ x.reshape(-1, x.shape[-1])
            if needs_bias:
                grad_bias = np.add.reduce(flat_grad, axis=0)
        return grad_x, grad_weight, grad_bias


def matmul(input: Any, other: Any) -> Any:
    """Matrix product with numpy's rules for 1-D operands and batch broadcasting."""
    return MatMul.apply(input, other)


def linear(input: Any, weight: Any, bias: Any = None) -> Any:
    """``input @ weight.T + bias``: weight has shape (out_features, in_features)."""
    return Linear.apply(input, weight, bias)


def mm(input: Any, mat2: Any) -> Any:
    """Product of two matrices (2-D only; ``matmul`` also takes vectors and batches)."""
    if input.ndim != 2:
        raise RuntimeError(f"mm: self must be a matrix, got a tensor of shape {tuple(input.shape)}")
    if mat2.ndim != 2:
        raise RuntimeError(f"mm: mat2 must be a matrix, got a tensor of shape {tuple(mat2.shape)}")
    return MatMul.apply(input, mat2)


def bmm(input: Any, mat2: Any) -> Any:
    """Batched product of (b, n, k) and (b, k, m) tensors: no broadcasting of the batch."""
    if input.ndim != 3:
        raise RuntimeError(f"bmm: batch1 must be a 3D tensor, got shape {tuple(input.shape)}")
    if mat2.ndim != 3:
        raise RuntimeError(f"bmm: batch2 must be a 3D tensor, got shape {tuple(mat2.shape)}")
    expected = [input.shape[0], input.shape[2]]
    if list(mat2.shape[:2]) != expected:
        raise RuntimeError(
            f"bmm: Expected size for first two dimensions of batch2 tensor to be: {expected} "
            f"but got: {list(mat2.shape[:2])} (batch1 has shape {tuple(input.shape)})."
        )
    return MatMul.apply(input, mat2)
