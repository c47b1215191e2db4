"""``tinytorch.nn.functional``: the layers as plain functions.

A layer object (``nn.Linear``) owns its parameters; its functional twin
(``F.linear``) takes them as arguments.  Modules call these functions in their
``forward``, so each computation is written exactly once.  The functions
themselves live with their gradients in ``tinytorch/ops``; this module gathers
them under PyTorch's names.
"""
from __future__ import annotations

import numpy as np

from tinytorch.ops.arithmetic import mul
from tinytorch.ops.convolution import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d
from tinytorch.ops.loss import (binary_cross_entropy, binary_cross_entropy_with_logits,
                                cross_entropy, mse_loss, nll_loss)
from tinytorch.ops.matmul import linear
from tinytorch.ops.normalization import batch_norm
from tinytorch.ops.pointwise import leaky_relu as _leaky_relu
from tinytorch.ops.pointwise import relu as _relu
from tinytorch.ops.pointwise import relu6 as _relu6
from tinytorch.ops.pointwise import sigmoid, tanh
from tinytorch.ops.shape import flatten
from tinytorch.ops.softmax import log_softmax, softmax
from tinytorch.random import Generator, numpy_generator
from tinytorch.tensor import Tensor

__all__ = ["linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax",
           "cross_entropy", "mse_loss", "dropout", "flatten", "conv2d", "max_pool2d",
           "avg_pool2d", "adaptive_avg_pool2d", "batch_norm", "leaky_relu", "one_hot",
           "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"]


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            generator: Generator | None = None) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1 / (1 - p).

    The scaling ("inverted dropout") keeps every activation's expected value
    unchanged, so at evaluation time dropout is simply switched off.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return mul(input, 0.0)
    keep = numpy_generator(generator).random(input.shape) >= p
    return mul(input, keep.astype(input.dtype) * input.dtype.type(1.0 / (1.0 - p)))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); ``inplace`` is accepted and ignored, as in ``leaky_relu`` below."""
    return _relu(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6); ``inplace`` is accepted and ignored, as in ``leaky_relu`` below."""
    return _relu6(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, else negative_slope * x.

    ``inplace`` is accepted so that code written for PyTorch runs, but the
    result is always a new tensor and ``input`` keeps its values: an in-place
    write would leave ``input``'s place in the autograd graph describing
    values it no longer holds.
    """
    return _leaky_relu(input, negative_slope)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices (int64, any shape) as one-hot rows: shape ``tensor.shape + (C,)``.

    ``num_classes=-1`` takes C = the largest index + 1.  The result is int64.
    """
    indices = tensor.array if isinstance(tensor, Tensor) else np.asarray(tensor)
    if indices.dtype != np.int64:
        raise RuntimeError(f"one_hot: is only applicable to index tensors of type int64 "
                           f"(LongTensor), got dtype {indices.dtype}")
    if num_classes == -1:
        if indices.size == 0:
            raise RuntimeError("one_hot: can not infer the total number of classes from an "
                               f"empty tensor (shape {indices.shape}); pass num_classes")
        num_classes = int(np.maximum.reduce(indices, axis=None)) + 1
    elif num_classes < 0:
        raise RuntimeError(f"one_hot: num_classes must be -1 or at least 0, got {num_classes}")
    if indices.size and np.minimum.reduce(indices, axis=None) < 0:
        raise RuntimeError(f"one_hot: class values must be non-negative, got "
                           f"{np.minimum.reduce(indices, axis=None)}")
    if indices.size and np.maximum.reduce(indices, axis=None) >= num_classes:
        raise RuntimeError(f"one_hot: class values must be smaller than num_classes "
                           f"({num_classes}), got {np.maximum.reduce(indices, axis=None)}")
    return Tensor((indices[..., None] == np.arange(num_classes)).astype(np.int64))
