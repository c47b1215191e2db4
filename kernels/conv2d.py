"""Convolution as matrix multiplication: im2col, batched GEMMs, col2im.

A 2-D convolution slides a small filter over an image: each output value is
the dot product of a filter (C_in x KH x KW weights) with the patch of input
under it.  Written as loops that is seven nested ``for``s and far too slow in
Python.  The classic trick (used by Caffe, and still by many CPU libraries)
turns it into matrix products, the operation computers are best at:

1. **im2col**: copy every input patch into a column of a matrix ``cols`` of
   shape (C_in*KH*KW, OH*OW): one column per output position.  Stride,
   padding and dilation only change *which* input pixel lands in which slot;
   padded positions hold 0.
2. **GEMM**: ``out = W @ cols`` with the weights flattened to
   (C_out, C_in*KH*KW), one matrix product per image.  Each row of the
   result is one output channel: the layout is already NCHW.
3. **backward**: the same matrices transposed.  ``grad_W = grad_out @ cols^T``
   (summed over the images) and ``grad_cols = W^T @ grad_out``; **col2im** then adds every column of
   ``grad_cols`` back onto the input positions it was copied from (a pixel
   inside several patches collects several contributions).

Groups split the channels into ``groups`` independent convolutions (depthwise:
one channel each); we keep a group axis in ``cols`` and ``W``, so a batch of N
images with G groups is N*G GEMMs, one per image and group, which one
``np.matmul`` call runs as a batch.  The price of im2col is memory: every
input value is copied into about KH*KW/(stride_h*stride_w) columns (one per
window that covers it).  For the small images of this course that is cheap,
and it turns every product of both passes into one batched matrix multiply.

First come ``conv2d_forward_reference`` and ``conv2d_backward_reference``:
the definition in plain numpy, by a different method (sliding windows and
einsum), which the tests compare the fast path against.  Then im2col and
col2im, Numba kernels parallel over the images of the batch (each image
writes only its own slice, so there is no race), and the forward and
backward passes built on them.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

Pair = tuple[int, int]


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Number of output positions along one axis (PyTorch's formula).

    It counts the windows that fit.  The padded axis has
    ``size + 2 * padding`` positions; a dilated kernel spans
    ``dilation * (kernel - 1) + 1`` of them; windows start at 0, ``stride``,
    ``2 * stride``, ... as long as the whole span still fits, so integer
    division (``//``) counts the whole strides.

    Worked example: size 5, kernel 3, stride 2, padding 1, dilation 1.  The
    padded axis has 7 positions, a window spans 3, so windows start at 0, 2
    and 4 (one starting at 6 would stick out): 3 outputs.
    """
    # BEGIN SOLUTION lab 06
    span = dilation * (kernel - 1) + 1
    return (size + 2 * padding - span) // stride + 1
    # END SOLUTION


# ----- plain-numpy references (a different method: sliding windows + einsum) -----------
def _windows(x_padded: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair,
             out_size: Pair) -> np.ndarray:
    """View (N, C, OH, OW, KH, KW) of every dilated, strided window of x_padded."""
    span_h = dilation[0] * (kernel[0] - 1) + 1
    span_w = dilation[1] * (kernel[1] - 1) + 1
    windows = np.lib.stride_tricks.sliding_window_view(x_padded, (span_h, span_w), axis=(2, 3))
    windows = windows[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]
    return windows[:, :, :out_size[0], :out_size[1]]


def conv2d_forward_reference(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                             stride: Pair, padding: Pair, dilation: Pair, groups: int) -> np.ndarray:
    batch, channels, height, width = x.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    out_h = output_size(height, kernel_h, stride[0], padding[0], dilation[0])
    out_w = output_size(width, kernel_w, stride[1], padding[1], dilation[1])
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    windows = _windows(padded, (kernel_h, kernel_w), stride, dilation, (out_h, out_w))
    windows = windows.reshape(batch, groups, group_channels, out_h, out_w, kernel_h, kernel_w)
    grouped_weight = weight.reshape(groups, out_channels // groups, group_channels, kernel_h, kernel_w)
    out = np.einsum("ngchwij,gocij->ngohw", windows, grouped_weight)
    out = out.reshape(batch, out_channels, out_h, out_w)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def conv2d_backward_reference(grad_out: np.ndarray, x: np.ndarray, weight: np.ndarray,
                              stride: Pair, padding: Pair, dilation: Pair, groups: int
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    batch, channels, height, width = x.shape
    out_channels, group_channels, kernel_h, kernel_w = weight.shape
    out_h, out_w = grad_out.shape[2:]
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    windows = _windows(padded, (kernel_h, kernel_w), stride, dilation, (out_h, out_w))
    windows = windows.reshape(batch, groups, group_channels, out_h, out_w, kernel_h, kernel_w)
    grouped_grad = grad_out.reshape(batch, groups, out_channels // groups, out_h, out_w)
    grouped_weight = weight.reshape(groups, out_channels // groups, group_channels, kernel_h, kernel_w)
    grad_weight = np.einsum("ngohw,ngchwij->gocij", grouped_grad, windows).reshape(weight.shape)
    grad_padded = np.zeros_like(padded)
    for i in range(kernel_h):
        for j in range(kernel_w):
            # Every output position (y, x) read input pixel (y*s + i*d, x*s + j*d).
            contribution = np.einsum("ngohw,goc->ngchw", grouped_grad, grouped_weight[..., i, j])
            rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (out_h - 1) + 1, stride[0])
            columns = slice(j * dilation[1], j * dilation[1] + stride[1] * (out_w - 1) + 1, stride[1])
            grad_padded[:, :, rows, columns] += contribution.reshape(batch, channels, out_h, out_w)
    grad_x = grad_padded[:, :, padding[0]:padding[0] + height, padding[1]:padding[1] + width]
    return grad_x, grad_weight, grad_out.sum(axis=(0, 2, 3))


# ----- the Numba kernels --------------------------------------------------------------
@njit(parallel=True, cache=True)
def im2col(x, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w,
           out_h, out_w):
    """Patches of x (N, C, H, W) as columns: (N, C*KH*KW, OH*OW), zeros where padded.

    ``cols[n, row, column]`` holds the input pixel that kernel tap ``row``
    sees at output position ``column``.  Rows count kernel taps in (channel,
    kernel row i, kernel column j) order and columns count output positions
    row-major; ``conv2d_forward`` and ``col2im`` rely on that layout:

        # BEGIN HINT lab 06
        row = (c * kernel_h + i) * kernel_w + j
        column = y * out_w + x
        # END HINT

    Output position (y, x) with tap (i, j) reads input pixel
    ``(y * stride_h - pad_h + i * dilation_h, x * stride_w - pad_w + j * dilation_w)``;
    when that falls outside the image it is padding, and ``cols`` keeps its 0.

    The outer loop runs over images with ``prange`` (each image writes only
    its own slice of ``cols``, so the threads never collide), then over
    channels, kernel taps and output positions; a whole output row is skipped
    as soon as its source row is out of range.

    Worked example: one 1-channel 3x3 image, kernel 2x2, stride 1, no padding:
    out_h = out_w = 2, so ``cols`` is (1, 4, 4); its row 0 (tap i=0, j=0) is
    the top-left 2x2 corner of the image read row by row, ``x[0, 0, :2, :2].ravel()``.
    """
    batch, channels, height, width = x.shape
    cols = np.zeros((batch, channels * kernel_h * kernel_w, out_h * out_w), dtype=x.dtype)
    # BEGIN SOLUTION lab 06
    for n in prange(batch):
        for c in range(channels):
            for i in range(kernel_h):
                for j in range(kernel_w):
                    row = (c * kernel_h + i) * kernel_w + j
                    for y in range(out_h):
                        source_y = y * stride_h - pad_h + i * dilation_h
                        if source_y < 0 or source_y >= height:
                            continue
                        for x_out in range(out_w):
                            source_x = x_out * stride_w - pad_w + j * dilation_w
                            if 0 <= source_x < width:
                                cols[n, row, y * out_w + x_out] = x[n, c, source_y, source_x]
    # END SOLUTION
    return cols


@njit(parallel=True, cache=True)
def col2im(cols, channels, height, width, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
           dilation_h, dilation_w, out_h, out_w):
    """The adjoint of im2col: add every column entry back onto its input pixel.

    It walks exactly the same (image, channel, tap, output position) loops
    as ``im2col``, but in the other direction: where im2col *copied*
    ``x[n, c, source_y, source_x]`` into ``cols[n, row, column]``, col2im adds
    ``cols[n, row, column]`` *onto* ``image[n, c, source_y, source_x]``.  It
    adds rather than assigns because a pixel that sits in several windows
    (stride smaller than the kernel) collects one contribution from each.
    Entries that came from padding belong to no pixel and are dropped.

    Worked example: a 1x3 image, kernel 1x2, stride 1: im2col makes columns
    (x0, x1) and (x1, x2); col2im of all-ones columns gives (1, 2, 1), since
    the middle pixel was read twice.
    """
    batch = cols.shape[0]
    image = np.zeros((batch, channels, height, width), dtype=cols.dtype)
    # BEGIN SOLUTION lab 06
    for n in prange(batch):
        for c in range(channels):
            for i in range(kernel_h):
                for j in range(kernel_w):
                    row = (c * kernel_h + i) * kernel_w + j
                    for y in range(out_h):
                        source_y = y * stride_h - pad_h + i * dilation_h
                        if source_y < 0 or source_y >= height:
                            continue
                        for x_out in range(out_w):
                            source_x = x_out * stride_w - pad_w + j * dilation_w
                            if 0 <= source_x < width:
                                image[n, c, source_y, source_x] += cols[n, row, y * out_w + x_out]
    # END SOLUTION
    return image


def conv2d_forward(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None, stride: Pair,
                   padding: Pair, dilation: Pair, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Convolution of x (N, C, H, W) with weight (O, C/groups, KH, KW).

    Returns the output (N, O, OH, OW) and the ``cols`` matrix, which the
    backward pass reuses instead of recomputing.
    """
    batch, channels, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h = output_size(height, kernel_h, stride[0], padding[0], dilation[0])
    out_w = output_size(width, kernel_w, stride[1], padding[1], dilation[1])
    cols = im2col(np.ascontiguousarray(x), kernel_h, kernel_w, stride[0], stride[1], padding[0],
                  padding[1], dilation[0], dilation[1], out_h, out_w)
    # (N, G, Cg*KH*KW, OH*OW) and (G, Og, Cg*KH*KW): matmul batches over images and groups.
    grouped_cols = cols.reshape(batch, groups, -1, out_h * out_w)
    grouped_weight = weight.reshape(groups, out_channels // groups, -1)
    out = np.matmul(grouped_weight, grouped_cols).reshape(batch, out_channels, out_h, out_w)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out, cols


def conv2d_backward(grad_out: np.ndarray, cols: np.ndarray, input_shape: tuple[int, ...],
                    weight: np.ndarray, stride: Pair, padding: Pair, dilation: Pair, groups: int,
                    needs_input_grad: tuple[bool, bool, bool] = (True, True, True)
                    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Gradients of the input, the weight and the bias from the output's gradient."""
    batch, channels, height, width = input_shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h, out_w = grad_out.shape[2:]
    grouped_grad = grad_out.reshape(batch, groups, out_channels // groups, out_h * out_w)
    grouped_cols = cols.reshape(batch, groups, -1, out_h * out_w)
    needs_x, needs_weight, needs_bias = needs_input_grad
    grad_x = grad_weight = grad_bias = None
    if needs_x:
        grouped_weight = weight.reshape(groups, out_channels // groups, -1)
        grad_cols = np.matmul(grouped_weight.transpose(0, 2, 1), grouped_grad)
        grad_x = col2im(np.ascontiguousarray(grad_cols.reshape(cols.shape)), channels, height,
                        width, kernel_h, kernel_w, stride[0], stride[1], padding[0], padding[1],
                        dilation[0], dilation[1], out_h, out_w)
    if needs_weight:
        # Sum over images of grad (Og, OH*OW) @ cols^T (OH*OW, Cg*KH*KW), per group.
        per_image = np.matmul(grouped_grad, grouped_cols.transpose(0, 1, 3, 2))
        grad_weight = np.add.reduce(per_image, axis=0).reshape(weight.shape)
    if needs_bias:
        grad_bias = np.add.reduce(grad_out, axis=(0, 2, 3))
    return grad_x, grad_weight, grad_bias
