"""Batch normalization: per-channel statistics, normalize, rescale, and the gradients.

For an input of shape (N, C, H, W) (or (N, C), or (N, C, anything)) and each
channel c, over its M = N*H*W values:

    mean_c = sum(x) / M              var_c = sum((x - mean_c)**2) / M    (biased)
    x_hat  = (x - mean_c) * inverse_std_c,      inverse_std_c = 1 / sqrt(var_c + eps)
    y      = weight_c * x_hat + bias_c

In training the statistics come from the batch; in evaluation the caller
passes the running ones instead, and the layer is a fixed per-channel affine
map.  (The running averages, with their unbiased variance, are the caller's
business: ``tinytorch/ops/normalization.py``.)

Backward, with sums over the M positions of a channel and dy = d loss / d y:

    grad_bias_c   = sum(dy)
    grad_weight_c = sum(dy * x_hat)
    grad_x        = weight_c * inverse_std_c * (dy - grad_bias_c / M
                                                  - x_hat * grad_weight_c / M)   (training)
    grad_x        = weight_c * inverse_std_c * dy                               (evaluation)

The two extra terms in training are the paths through mean_c and var_c:
every x of a channel moves every y of that channel.

How it is computed
------------------
Everything is per channel, so the unit of work is one channel: the forward
kernel takes two passes over its values for the statistics (the mean first,
then the squared deviations from it: the one-pass ``E[x**2] - E[x]**2``
loses all precision when the mean is large against the spread) and one pass
to write y; the backward kernel takes one pass for the two sums and one to
write grad_x.  All arithmetic is in float64 whatever the input's dtype (the
``float(...)`` calls keep it so in plain Python too, where numpy would
otherwise compute in float32); only the results are stored in it.
Nothing of size M is saved for backward: it recomputes x_hat from x, the
mean and the inverse standard deviation, which the forward returns.

Channels are independent (each reads and writes only its own values), so a
``prange`` over them would be race-free.  It does not pay: every pass is a
streaming read with a few operations per value, limited by memory, not
arithmetic, and on the machine of ``docs/benchmarks.md`` (2 cores, shared
with other jobs) two threads were slower than one at every size tried, from
8 thousand to 8 million values.  So the channels run in a plain loop.

Before the kernels, ``batch_norm_reference`` and
``batch_norm_backward_reference`` compute the same in whole-array numpy: the
formulas above read directly, and the tests' oracle.
"""
from __future__ import annotations

import numpy as np
from numba import njit

# The sums may be reassociated: then the compiler keeps several partial sums
# in SIMD registers instead of adding one value at a time (a float add waits
# for the one before it).  NaN and infinity keep their meaning.
FAST_SUMS = {"reassoc", "contract"}


# ----- plain-numpy references (whole-array operations, the same math) -------------------
def _channel_axes(x: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The axes a channel's statistics sum over, and the shape that broadcasts (C,) to x."""
    return (0,) + tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)


def batch_norm_reference(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                         eps: float, mean: np.ndarray | None = None,
                         var: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, mean, var) in float64: batch statistics unless ``mean`` and ``var`` are given."""
    x = x.astype(np.float64)
    axes, shape = _channel_axes(x)
    if mean is None:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    y = x_hat * (1.0 if weight is None else weight.reshape(shape))
    return y + (0.0 if bias is None else bias.reshape(shape)), mean, var


def batch_norm_backward_reference(grad: np.ndarray, x: np.ndarray, mean: np.ndarray,
                                  var: np.ndarray, weight: np.ndarray | None, eps: float,
                                  batch_statistics: bool
                                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(grad_x, grad_weight, grad_bias) in float64 by the formulas in the docstring above."""
    grad, x = grad.astype(np.float64), x.astype(np.float64)
    axes, shape = _channel_axes(x)
    inverse_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean.reshape(shape)) * inverse_std.reshape(shape)
    grad_bias = grad.sum(axis=axes)
    grad_weight = (grad * x_hat).sum(axis=axes)
    scale = (inverse_std if weight is None else weight * inverse_std).reshape(shape)
    if not batch_statistics:
        return grad * scale, grad_weight, grad_bias
    count = grad.size // grad.shape[1]
    grad_x = scale * (grad - (grad_bias / count).reshape(shape)
                      - x_hat * (grad_weight / count).reshape(shape))
    return grad_x, grad_weight, grad_bias


# ----- the Numba kernels --------------------------------------------------------------
@njit(cache=True, fastmath=FAST_SUMS)
def _forward_channel(c, x, weight, bias, mean, var, inverse_std, eps, batch_statistics, out):
    # x, out: (N, C, L); mean, var, inverse_std: float64 (C,), filled here in
    # training and read in evaluation.  weight, bias: (C,) or None.
    batches, _, length = x.shape
    if batch_statistics:
        total = 0.0
        for n in range(batches):
            for i in range(length):
                total += float(x[n, c, i])
        channel_mean = total / (batches * length)
        squares = 0.0
        for n in range(batches):
            for i in range(length):
                deviation = float(x[n, c, i]) - channel_mean
                squares += deviation * deviation
        mean[c] = channel_mean
        var[c] = squares / (batches * length)
    inverse_std[c] = 1.0 / np.sqrt(var[c] + eps)
    channel_mean = float(mean[c])
    scale = float(inverse_std[c])
    if weight is not None:
        scale *= float(weight[c])
    shift = 0.0
    if bias is not None:
        shift = float(bias[c])
    for n in range(batches):
        for i in range(length):
            out[n, c, i] = (float(x[n, c, i]) - channel_mean) * scale + shift


@njit(cache=True)
def _forward(x, weight, bias, mean, var, inverse_std, eps, batch_statistics, out):
    for c in range(x.shape[1]):
        _forward_channel(c, x, weight, bias, mean, var, inverse_std, eps, batch_statistics, out)


@njit(cache=True, fastmath=FAST_SUMS)
def _backward_channel(c, grad, x, mean, inverse_std, weight, batch_statistics, grad_x,
                      grad_weight, grad_bias):
    # grad, x, grad_x: (N, C, L) (grad_x None when not needed); the rest (C,).
    batches, _, length = x.shape
    channel_mean = float(mean[c])
    grad_sum = 0.0
    grad_dot_centered = 0.0  # sum(dy * (x - mean)) = sum(dy * x_hat) / inverse_std
    for n in range(batches):
        for i in range(length):
            dy = float(grad[n, c, i])
            grad_sum += dy
            grad_dot_centered += dy * (float(x[n, c, i]) - channel_mean)
    channel_inverse_std = float(inverse_std[c])
    grad_bias[c] = grad_sum
    grad_weight[c] = grad_dot_centered * channel_inverse_std
    if grad_x is None:
        return
    scale = channel_inverse_std
    if weight is not None:
        scale *= float(weight[c])
    if batch_statistics:
        count = batches * length
        mean_grad = grad_sum / count
        # x_hat * mean(dy * x_hat) = (x - mean) * this
        centered_factor = grad_dot_centered * channel_inverse_std * channel_inverse_std / count
        for n in range(batches):
            for i in range(length):
                grad_x[n, c, i] = scale * (float(grad[n, c, i]) - mean_grad
                                           - (float(x[n, c, i]) - channel_mean) * centered_factor)
    else:
        for n in range(batches):
            for i in range(length):
                grad_x[n, c, i] = scale * float(grad[n, c, i])


@njit(cache=True)
def _backward(grad, x, mean, inverse_std, weight, batch_statistics, grad_x, grad_weight,
              grad_bias):
    for c in range(x.shape[1]):
        _backward_channel(c, grad, x, mean, inverse_std, weight, batch_statistics, grad_x,
                          grad_weight, grad_bias)


def _as_channels(x: np.ndarray) -> np.ndarray:
    """(N, C, ...) as a contiguous (N, C, L) array: a view when x is contiguous."""
    x = np.ascontiguousarray(x)
    return x.reshape(x.shape[0], x.shape[1], -1)


def batch_norm_forward(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                       eps: float, mean: np.ndarray | None = None, var: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """y for x of shape (N, C, ...), and what the backward pass and the running averages need.

    Training (``mean`` and ``var`` not given): the batch's statistics.
    Evaluation: the given per-channel ``mean`` and ``var``.  Returns ``(y, mean,
    var, inverse_std)``: y in x's dtype and shape, the others float64 of shape
    (C,) (var biased).
    """
    x3 = _as_channels(x)
    channels = x3.shape[1]
    batch_statistics = mean is None
    if batch_statistics:
        mean, var = np.empty(channels), np.empty(channels)
    else:
        mean = np.ascontiguousarray(mean, dtype=np.float64)
        var = np.ascontiguousarray(var, dtype=np.float64)
    inverse_std = np.empty(channels)
    out = np.empty_like(x3)
    _forward(x3, weight, bias, mean, var, inverse_std, float(eps), batch_statistics, out)
    return out.reshape(x.shape), mean, var, inverse_std


def batch_norm_backward(grad: np.ndarray, x: np.ndarray, mean: np.ndarray,
                        inverse_std: np.ndarray, weight: np.ndarray | None,
                        batch_statistics: bool, needs_grad_input: bool = True
                        ) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """(grad_x or None, grad_weight, grad_bias) from the forward's mean and inverse_std.

    ``batch_statistics`` says whether the forward used the batch's statistics
    (training), which adds their paths to grad_x.  grad_x has x's dtype; the
    parameter gradients are float64.
    """
    x3 = _as_channels(x)
    grad3 = _as_channels(grad)
    channels = x3.shape[1]
    grad_weight, grad_bias = np.empty(channels), np.empty(channels)
    grad_x = np.empty_like(x3) if needs_grad_input else None
    _backward(grad3, x3, mean, inverse_std, weight, batch_statistics, grad_x, grad_weight,
              grad_bias)
    return (grad_x.reshape(x.shape) if needs_grad_input else None), grad_weight, grad_bias
