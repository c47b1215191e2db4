"""Batch normalization: standardize each channel over the batch, then rescale.

For every channel c, over all N*H*W values of the batch:

    x_hat = (x - mean_c) / sqrt(var_c + eps)        y = gamma_c * x_hat + beta_c

Nothing here depends on the channel axis being followed by two more: the
same function normalizes features (N, C) over M = N values and sequences
(N, C, L) over M = N*L, which is all ``BatchNorm1d`` needs.

Standardized activations keep every layer's inputs in a stable range, which
lets deep networks train with larger learning rates.  ``gamma`` and ``beta``
are learned, so the layer can undo the standardization where that helps.

During training the statistics come from the batch (the variance is the
biased one, dividing by M = N*H*W), and running averages of mean and
*unbiased* variance (dividing by M - 1) are updated for evaluation:
``running = (1 - momentum) * running + momentum * batch``.  In evaluation the
running statistics are used, so the layer becomes a fixed per-channel affine
map, which is why it can later be folded into the convolution before it.

The backward pass through the batch statistics (every x moves every output
of its channel, through mean and var) is derived in ``kernels/batchnorm.py``.

The arithmetic, forward and backward, is the Numba kernel in
``kernels/batchnorm.py`` (one channel at a time, sums in float64); this file
connects it to autograd and keeps the running statistics.  The kernel is
imported inside the functions that run it, so ``import tinytorch`` does not
load Numba.
"""
from __future__ import annotations

from typing import Any

from tinytorch.autograd.function import Function


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta over the channel axis 1.

    In training (``batch_statistics``) the statistics are the batch's, and
    the running statistics, unless None, are updated in place with the
    batch's mean and unbiased variance,
    ``running = (1 - factor) * running + factor * batch``.  In evaluation the
    running statistics are the ones to normalize with.  They come in as
    tensors, so that a graph built in evaluation notices if a later training
    step overwrites the statistics it normalized with.
    """

    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, factor, eps, batch_statistics):
        from tinytorch.kernels.batchnorm import batch_norm_forward

        if batch_statistics:
            out, mean, var, inverse_std = batch_norm_forward(x, weight, bias, eps)
            if running_mean is not None:
                count = x.size // x.shape[1]
                running_mean[...] = (1 - factor) * running_mean + factor * mean
                running_var[...] = (1 - factor) * running_var + factor * var * count / (count - 1)
        else:
            out, mean, _, inverse_std = batch_norm_forward(x, weight, bias, eps, running_mean,
                                                           running_var)
        ctx.save_for_backward(x, weight, mean, inverse_std)
        ctx.batch_statistics = batch_statistics
        return out

    @staticmethod
    def backward(ctx, grad):
        from tinytorch.kernels.batchnorm import batch_norm_backward

        x, weight, mean, inverse_std = ctx.saved_tensors
        needs_x, needs_weight, needs_bias = ctx.needs_input_grad[:3]
        grad_x, grad_weight, grad_bias = batch_norm_backward(
            grad, x, mean, inverse_std, weight, ctx.batch_statistics, needs_x)
        return (grad_x, grad_weight if needs_weight else None,
                grad_bias if needs_bias else None, None, None, None, None, None)


def batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None,
               bias: Any = None, training: bool = False, momentum: float | None = 0.1,
               eps: float = 1e-5, num_batches_tracked: Any = None) -> Any:
    """Batch normalization over dim 1 of (N, C, ...) input: (N, C), (N, C, L), (N, C, H, W).

    PyTorch's arguments.  In training mode the running statistics (tensors)
    are updated in place; ``momentum=None`` gives a cumulative average using
    ``num_batches_tracked``.
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
        return BatchNorm.apply(input, weight, bias, running_mean, running_var, None, eps, False)

    count = input.array.size // channels
    if count <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {input.shape}")
    if running_mean is None:
        return BatchNorm.apply(input, weight, bias, None, None, None, eps, True)
    if num_batches_tracked is not None:
        num_batches_tracked.array += 1
        num_batches_tracked._mark_written()
    if momentum is None:
        factor = 1.0 / float(num_batches_tracked.array) if num_batches_tracked is not None else 0.0
    else:
        factor = momentum
    result = BatchNorm.apply(input, weight, bias, running_mean, running_var, factor, eps, True)
    running_mean._mark_written()  # updated in place by the forward pass
    running_var._mark_written()
    return result
