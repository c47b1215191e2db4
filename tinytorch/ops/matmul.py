"""Matrix multiplication, and the linear layer built on it.

For C = A @ B with A of shape (n, k) and B of shape (k, m), each output
C[i, j] = sum_p A[i, p] B[p, j], and the chain rule gives

    dL/dA = dL/dC @ B^T        (n, m) @ (m, k) -> (n, k)
    dL/dB = A^T @ dL/dC        (k, n) @ (n, m) -> (k, m)

Checking the shapes is the quickest way to remember which side the
transposes go on.  ``matmul`` follows numpy/PyTorch for other ranks: 1-D
operands are promoted to a row (left) or column (right) vector, and leading
"batch" dimensions broadcast, so their gradient is summed back down with
``unbroadcast`` like any broadcast.

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
    # TODO: the two inner sizes that must agree (a 1-D b is a column: its only size)
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


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        check_matmul_shapes(np.shape(a), np.shape(b))
        ctx.save_for_backward(a, b)
        return np.matmul(a, b)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        needs_a, needs_b = ctx.needs_input_grad
        # Promote 1-D operands to matrices so one rule covers every rank.
        a2 = a[np.newaxis, :] if a.ndim == 1 else a
        b2 = b[:, np.newaxis] if b.ndim == 1 else b
        # The gradient gets the same promotion: b's column axis first, then a's row
        # axis, so that vector @ vector (a 0-d gradient) becomes a 1x1 matrix.
        grad2 = grad
        if b.ndim == 1:
            grad2 = np.expand_dims(grad2, -1)
        if a.ndim == 1:
            grad2 = np.expand_dims(grad2, -2)
        grad_a = grad_b = None
        if needs_a:
            grad_a = unbroadcast(np.matmul(grad2, np.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if needs_b:
            grad_b = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), grad2), b2.shape).reshape(b.shape)
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
        ctx.save_for_backward(x, weight)
        # TODO: y = x @ weight.T (+ bias when there is one)
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
