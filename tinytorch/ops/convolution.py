"""Convolution and pooling as differentiable operations.

The arithmetic lives in the kernels layer: ``kernels/conv2d.py`` holds
im2col, col2im and the GEMM-based forward and backward passes (one matrix
product per image and group, batched by ``np.matmul``), and
``kernels/pooling.py`` holds the pooling loops; the math of each is derived
in that file's essay.  The Functions here are the autograd wrappers around
them: ``forward`` calls the kernel and saves what the gradient needs,
``backward`` calls the kernel's backward.

The kernels are imported inside the functions that run them, so that
``import tinytorch`` does not load Numba; Python caches the module after the
first call, so the import costs nothing afterwards.

Arguments follow PyTorch: ``stride``, ``padding`` and ``dilation`` are an int
or a pair (height, width); weights are (out_channels, in_channels / groups,
kernel_h, kernel_w); activations are NCHW.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd.function import Function

IntOrPair = int | tuple[int, int]


def pair(value: IntOrPair, name: str, op: str) -> tuple[int, int]:
    """(v, v) for an int, the pair itself for a pair; checked."""
    values = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(values[0]), int(values[1])


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        from tinytorch.kernels.conv2d import conv2d_forward

        out, cols = conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
        ctx.save_for_backward(cols, weight)
        ctx.options = (x.shape, stride, padding, dilation, groups)
        return out

    @staticmethod
    def backward(ctx, grad):
        from tinytorch.kernels.conv2d import conv2d_backward

        cols, weight = ctx.saved_tensors
        input_shape, stride, padding, dilation, groups = ctx.options
        return conv2d_backward(np.ascontiguousarray(grad), cols, input_shape, weight, stride,
                               padding, dilation, groups, ctx.needs_input_grad[:3])


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding):
        from tinytorch.kernels.pooling import max_pool2d_forward

        out, indices = max_pool2d_forward(x, kernel, stride, padding)
        ctx.indices, ctx.input_shape = indices, x.shape
        return out

    @staticmethod
    def backward(ctx, grad):
        from tinytorch.kernels.pooling import max_pool2d_backward

        return max_pool2d_backward(grad, ctx.indices, ctx.input_shape)


class GlobalAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x):
        from tinytorch.kernels.pooling import global_avg_pool2d_forward

        ctx.input_shape = x.shape
        return global_avg_pool2d_forward(x)

    @staticmethod
    def backward(ctx, grad):
        from tinytorch.kernels.pooling import global_avg_pool2d_backward

        return global_avg_pool2d_backward(grad, ctx.input_shape)


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel, stride, padding, count_include_pad):
        from tinytorch.kernels.pooling import avg_pool2d_forward

        ctx.options = (x.shape, kernel, stride, padding, count_include_pad)
        return avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)

    @staticmethod
    def backward(ctx, grad):
        from tinytorch.kernels.pooling import avg_pool2d_backward

        return avg_pool2d_backward(grad, *ctx.options)


def _check_image(input: Any, op: str, channels: int | None = None) -> None:
    if input.ndim != 4:
        raise RuntimeError(f"{op}: expected a 4-D input (N, C, H, W), got shape {input.shape}")
    if channels is not None and input.shape[1] != channels:
        raise RuntimeError(f"{op}: expected input with {channels} channels, got shape {input.shape}")


def conv2d(input: Any, weight: Any, bias: Any = None, stride: IntOrPair = 1,
           padding: IntOrPair = 0, dilation: IntOrPair = 1, groups: int = 1) -> Any:
    """2-D convolution of (N, C_in, H, W) with weight (C_out, C_in / groups, KH, KW)."""
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    dilation = pair(dilation, "dilation", "conv2d")
    _check_image(input, "conv2d")
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    if input.shape[1] != group_channels * groups or out_channels % groups:
        raise RuntimeError(
            f"conv2d: weight of shape {weight.shape} with groups={groups} expects "
            f"{group_channels * groups} input channels, but the input has shape {input.shape}")
    height = input.shape[2] + 2 * padding[0] - dilation[0] * (kernel_h - 1)
    width = input.shape[3] + 2 * padding[1] - dilation[1] * (kernel_w - 1)
    if height < 1 or width < 1 or min(stride) < 1:
        raise RuntimeError(
            f"conv2d: kernel {kernel_h}x{kernel_w} (dilation {dilation}) does not fit the input "
            f"of shape {input.shape} with padding {padding} and stride {stride}")
    return Conv2d.apply(input, weight, bias, stride, padding, dilation, groups)


def _pool_arguments(input: Any, kernel_size: IntOrPair, stride: IntOrPair | None,
                    padding: IntOrPair, op: str) -> tuple:
    _check_image(input, op)
    kernel = pair(kernel_size, "kernel_size", op)
    stride = kernel if stride is None else pair(stride, "stride", op)
    padding = pair(padding, "padding", op)
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise RuntimeError(f"{op}: padding {padding} should be at most half of kernel size {kernel}")
    if input.shape[2] + 2 * padding[0] < kernel[0] or input.shape[3] + 2 * padding[1] < kernel[1]:
        raise RuntimeError(f"{op}: kernel {kernel} is larger than the padded input of shape {input.shape}")
    return kernel, stride, padding


def max_pool2d(input: Any, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0) -> Any:
    """Maximum over each window; ``stride`` defaults to ``kernel_size``."""
    return MaxPool2d.apply(input, *_pool_arguments(input, kernel_size, stride, padding, "max_pool2d"))


def avg_pool2d(input: Any, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, count_include_pad: bool = True) -> Any:
    """Mean over each window; ``stride`` defaults to ``kernel_size``."""
    arguments = _pool_arguments(input, kernel_size, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(input, *arguments, count_include_pad)


def adaptive_avg_pool2d(input: Any, output_size: IntOrPair) -> Any:
    """Average pooling to a fixed output size (which must divide the input size)."""
    _check_image(input, "adaptive_avg_pool2d")
    out_h, out_w = pair(output_size, "output_size", "adaptive_avg_pool2d")
    height, width = input.shape[2:]
    if out_h < 1 or out_w < 1 or height % out_h or width % out_w:
        raise NotImplementedError(
            f"adaptive_avg_pool2d: output size {(out_h, out_w)} must divide the input size "
            f"{(height, width)} (input shape {input.shape})")
    if (out_h, out_w) == (1, 1):  # global average pooling: one mean per (image, channel)
        return GlobalAvgPool2d.apply(input)
    kernel = (height // out_h, width // out_w)
    return AvgPool2d.apply(input, kernel, kernel, (0, 0), True)
