"""``tinytorch.nn.functional``: the layers as plain functions.

A layer object (``nn.Linear``) owns its parameters; its functional twin
(``F.linear``) takes them as arguments.  Modules call these functions in their
``forward``, so each computation is written exactly once.  The functions
themselves live with their gradients in ``tinytorch/ops``; this module gathers
them under PyTorch's names.
"""
from __future__ import annotations


from tinytorch.ops.arithmetic import mul
from tinytorch.ops.convolution import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d
from tinytorch.ops.loss import cross_entropy, mse_loss
from tinytorch.ops.matmul import linear
from tinytorch.ops.normalization import batch_norm
from tinytorch.ops.pointwise import relu, relu6, sigmoid, tanh
from tinytorch.ops.shape import flatten
from tinytorch.ops.softmax import log_softmax, softmax
from tinytorch.random import Generator, numpy_generator
from tinytorch.tensor import Tensor

__all__ = ["linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "log_softmax",
           "cross_entropy", "mse_loss", "dropout", "flatten", "conv2d", "max_pool2d",
           "avg_pool2d", "adaptive_avg_pool2d", "batch_norm"]


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


