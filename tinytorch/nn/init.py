"""Weight initialization: starting points that let deep networks train.

If every layer multiplies its input by weights that are slightly too large,
activations grow exponentially with depth; slightly too small, and they vanish.
The fix is to scale the random initial weights by the number of inputs each
output sums over (the *fan-in*): with weights of variance ``gain^2 / fan_in``
the variance of the activations stays roughly constant from layer to layer
(He et al. 2015, with ``gain = sqrt(2)`` for ReLU networks).

``nn.Linear`` and ``nn.Conv2d`` use PyTorch's defaults exactly, so that a model
built here starts from the same distribution as in PyTorch:
``kaiming_uniform_(weight, a=sqrt(5))`` (which works out to
U(-1/sqrt(fan_in), 1/sqrt(fan_in))) and a bias from the same range.

Glorot and Bengio (2010) balance the forward and the backward pass instead:
variance ``gain^2 * 2 / (fan_in + fan_out)`` (``xavier_uniform_`` and
``xavier_normal_``), the usual choice for tanh and sigmoid networks.

All functions fill ``tensor.array`` in place, drawing from TinyTorch's seeded
generator, and return the tensor.  They act like PyTorch's, which run under
``no_grad``: the write is not recorded in any graph (so they work on
parameters that require gradients), but it counts as an in-place write, so
a graph that saved the old values refuses to backward through them.
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.random import Generator, numpy_generator
from tinytorch.tensor import Tensor


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """Inputs and outputs per weight: (in * kernel area, out * kernel area)."""
    if tensor.ndim < 2:
        raise ValueError(
            f"calculate_fan_in_and_fan_out: fan in and fan out can not be computed for a "
            f"tensor with fewer than 2 dimensions (shape {tensor.shape})"
        )
    receptive_field = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


LINEAR_MAPS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activation variance constant through ``nonlinearity``."""
    if nonlinearity in LINEAR_MAPS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        # An empirical value for stable gradients; self-normalizing networks
        # want variance 1 / fan_in, that is 'linear'.
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            param = 0.01
        elif isinstance(param, bool) or not isinstance(param, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + param ** 2))
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"init: mode {mode!r} not supported, please use one of "
                         f"['fan_in', 'fan_out']")
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0,
             generator: Generator | None = None) -> Tensor:
    tensor.array[...] = numpy_generator(generator).uniform(a, b, tensor.shape)
    tensor._mark_written()
    return tensor


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0,
            generator: Generator | None = None) -> Tensor:
    tensor.array[...] = numpy_generator(generator).normal(mean, std, tensor.shape)
    tensor._mark_written()
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    tensor.array[...] = val
    tensor._mark_written()
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Generator | None = None) -> Tensor:
    """U(-bound, bound) with bound = gain * sqrt(3 / fan), so that Var = gain^2 / fan."""
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan), so that Var = gain^2 / fan."""
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, generator)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Generator | None = None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot & Bengio 2010)."""
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)
