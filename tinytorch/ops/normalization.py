"""Batch normalization: standardize each channel over the batch, then rescale.

For every channel c, over all N*H*W values of the batch:

    x_hat = (x - mean_c) / sqrt(var_c + eps)        y = gamma_c * x_hat + beta_c

Standardized activations keep every layer's inputs in a stable range, which
lets deep networks train with larger learning rates.  ``gamma`` and ``beta``
are learned, so the layer can undo the standardization where that helps.

During training the statistics come from the batch (the variance is the
biased one, dividing by M = N*H*W), and running averages of mean and
*unbiased* variance (dividing by M - 1) are updated for evaluation:
``running = (1 - momentum) * running + momentum * batch``.  In evaluation the
running statistics are used, so the layer becomes a fixed per-channel affine
map, which is why it can later be folded into the convolution before it.

The backward pass through the batch statistics is the one subtle derivation
(every x affects every output of its channel through mean and var):

    dx = gamma / sqrt(var + eps) * (dy - mean(dy) - x_hat * mean(dy * x_hat))

with means over the M positions of the channel.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function

sum_along = np.add.reduce


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta over the channel axis 1."""

    @staticmethod
    def forward(ctx, x, weight, bias, mean, var, eps, batch_statistics):
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        inverse_std = 1.0 / np.sqrt(var + eps)
        x_hat = (x - mean.reshape(shape)) * inverse_std.reshape(shape)
        ctx.save_for_backward(x_hat, weight, inverse_std)
        ctx.axes, ctx.shape, ctx.batch_statistics = axes, shape, batch_statistics
        out = x_hat * weight.reshape(shape) if weight is not None else x_hat.copy()
        if bias is not None:
            out += bias.reshape(shape)
        return out.astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x_hat, weight, inverse_std = ctx.saved_tensors
        axes, shape = ctx.axes, ctx.shape
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        grad_sum = sum_along(grad, axis=axes)
        grad_dot_x_hat = sum_along(grad * x_hat, axis=axes)
        grad_x = None
        if needs_x:
            scale = inverse_std if weight is None else weight * inverse_std
            if ctx.batch_statistics:
                count = grad.size // grad.shape[1]
                grad_x = (grad - (grad_sum / count).reshape(shape)
                          - x_hat * (grad_dot_x_hat / count).reshape(shape)) * scale.reshape(shape)
            else:  # fixed statistics: a per-channel affine map
                grad_x = grad * scale.reshape(shape)
        return (grad_x, grad_dot_x_hat if needs_weight else None,
                grad_sum if needs_bias else None, None, None)


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None,
               bias: Any = None, training: bool = False, momentum: float | None = 0.1,
               eps: float = 1e-5, num_batches_tracked: Any = None) -> Any:
    """Batch normalization over dim 1 of (N, C) or (N, C, H, W) input (PyTorch's arguments).

    In training mode the running statistics (tensors) are updated in place;
    ``momentum=None`` gives a cumulative average using ``num_batches_tracked``.
    """
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2-D input (N, C, ...), got shape {input.shape}")
    channels = input.shape[1]
    for name, tensor in (("running_mean", running_mean), ("running_var", running_var),
                         ("weight", weight), ("bias", bias)):
        if tensor is not None and tensor.shape != (channels,):
            raise RuntimeError(f"batch_norm: {name} has shape {tensor.shape} but the input has "
                               f"{channels} channels (shape {input.shape})")
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: evaluation mode needs running_mean and running_var")
        return BatchNorm.apply(input, weight, bias, running_mean.data, running_var.data, eps, False)

    data = input.data
    axes = (0,) + tuple(range(2, data.ndim))
    count = data.size // channels
    if count <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {input.shape}")
    mean = data.mean(axis=axes)
    var = data.var(axis=axes)
    if running_mean is not None:
        if num_batches_tracked is not None:
            num_batches_tracked.data += 1
        if momentum is None:
            factor = 1.0 / float(num_batches_tracked.data) if num_batches_tracked is not None else 0.0
        else:
            factor = momentum
        running_mean.data[...] = (1 - factor) * running_mean.data + factor * mean
        running_var.data[...] = (1 - factor) * running_var.data + factor * var * count / (count - 1)
    return BatchNorm.apply(input, weight, bias, mean, var, eps, True)
