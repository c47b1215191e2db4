"""Pooling: summarizing each window of a feature map by its maximum or mean.

Pooling shrinks a feature map (typically 2x2 windows, stride 2: a quarter of
the positions) so that later layers see a wider field of view for less
compute, and so that small shifts of the input change the output less.

* **Max pooling** keeps each window's largest value.  Its gradient flows only
  to that one input element, so the forward pass records *where* the maximum
  was (``indices``: the position within the H*W plane, as PyTorch's
  ``return_indices``) and the backward pass adds each output gradient there.
  Padded positions count as -infinity: they never win.
* **Average pooling** takes each window's mean.  Every input in the window
  receives ``grad / divisor``.  With ``count_include_pad=True`` (PyTorch's
  default) the divisor is always KH*KW, padded zeros included; otherwise it is
  the number of real input elements in the window.
* **Global average pooling** (``AdaptiveAvgPool2d(1)``) is average pooling
  with one window covering the whole plane: one mean per (image, channel).
  It has its own two small loops, since the windowed kernel's bookkeeping
  and threads cost more than the sum itself here.

Max and average pooling are Numba, parallel over the (image, channel) planes:
a plane reads and writes only its own data, so the backward scatter has no
race.  The numpy references come first and use sliding windows instead of
loops; the tests compare the kernels against them.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from tinytorch.kernels.conv2d import output_size

Pair = tuple[int, int]


# ----- plain-numpy references (sliding windows, no loops over positions) ----------------
def _padded_windows(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair, fill: float
                    ) -> np.ndarray:
    pad = ((0, 0),) * (x.ndim - 2) + ((padding[0],) * 2, (padding[1],) * 2)
    padded = np.pad(x, pad, constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(padded, kernel, axis=(-2, -1))
    out_h, out_w = pooled_size(x.shape, kernel, stride, padding)
    return windows[..., ::stride[0], ::stride[1], :, :][..., :out_h, :out_w, :, :]


def max_pool2d_reference(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair) -> np.ndarray:
    return _padded_windows(x, kernel, stride, padding, -np.inf).max(axis=(-2, -1))


def avg_pool2d_reference(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
                         count_include_pad: bool = True) -> np.ndarray:
    sums = _padded_windows(x, kernel, stride, padding, 0.0).sum(axis=(-2, -1))
    if count_include_pad:
        # Padded image = real pixels + padding; windows never extend past it here.
        return sums / (kernel[0] * kernel[1])
    counts = _padded_windows(np.ones(x.shape[-2:]), kernel, stride, padding, 0.0).sum(axis=(-2, -1))
    return sums / counts


def global_avg_pool2d_reference(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=(-2, -1), keepdims=True)


# ----- the Numba kernels --------------------------------------------------------------
@njit(parallel=True, cache=True)
def _max_pool_planes(planes, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, out_h, out_w):
    """Window maxima of planes (P, H, W) and where each maximum was: (P, OH, OW) twice.

    For every plane p and output position (y, x) it scans the window whose
    top-left corner is ``(y * stride_h - pad_h, x * stride_w - pad_w)``,
    skipping positions outside the plane (padding never wins), and stores the
    largest value in ``out[p, y, x]`` and its flat position
    ``source_y * width + source_x`` in ``indices[p, y, x]``.  A tie keeps the
    first maximum met in row-major order, and NaN wins, as in PyTorch
    (``not value <= best`` is true for NaN).  Planes run in parallel (``prange``).

    Worked example: the plane [[1, 5], [7, 2]] with a 2x2 window gives
    out [[7]] and indices [[2]] (row 1, column 0 of a 2-wide plane).
    """
    count, height, width = planes.shape
    out = np.empty((count, out_h, out_w), dtype=planes.dtype)
    indices = np.empty((count, out_h, out_w), dtype=np.int64)
    # BEGIN SOLUTION lab 06
    for p in prange(count):
        for y in range(out_h):
            for x in range(out_w):
                best = -np.inf
                best_index = -1
                for i in range(kernel_h):
                    source_y = y * stride_h - pad_h + i
                    if source_y < 0 or source_y >= height:
                        continue
                    for j in range(kernel_w):
                        source_x = x * stride_w - pad_w + j
                        if 0 <= source_x < width:
                            value = planes[p, source_y, source_x]
                            # `not value <= best` also lets NaN win, as in PyTorch.
                            if best_index < 0 or not value <= best:
                                best = value
                                best_index = source_y * width + source_x
                out[p, y, x] = best
                indices[p, y, x] = best_index
    # END SOLUTION
    return out, indices


@njit(parallel=True, cache=True)
def _max_pool_backward_planes(grad_planes, indices, height, width):
    """Send each output's gradient to the input element that won its window.

    ``grad_input`` is (P, H*W), flat per plane, which is exactly how
    ``indices`` numbers positions.  Every ``grad_planes[p, y, x]`` is added
    (not assigned) at ``indices[p, y, x]``, because with overlapping windows
    one input can win several of them.  Planes run in parallel (``prange``).

    Worked example: indices [[2]] and gradient [[0.5]] on a 2x2 plane give
    the flat gradient [0, 0, 0.5, 0].
    """
    count, out_h, out_w = grad_planes.shape
    grad_input = np.zeros((count, height * width), dtype=grad_planes.dtype)
    # BEGIN SOLUTION lab 06
    for p in prange(count):
        for y in range(out_h):
            for x in range(out_w):
                grad_input[p, indices[p, y, x]] += grad_planes[p, y, x]
    # END SOLUTION
    return grad_input.reshape(count, height, width)


@njit(parallel=True, cache=True)
def _avg_pool_planes(planes, grad_planes, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
                     out_h, out_w, count_include_pad, backward):
    """Forward (backward=False: window means) or backward (spread grad_planes back)."""
    count, height, width = planes.shape
    if backward:
        result = np.zeros((count, height, width), dtype=planes.dtype)
    else:
        result = np.zeros((count, out_h, out_w), dtype=planes.dtype)
    for p in prange(count):
        for y in range(out_h):
            for x in range(out_w):
                top, left = y * stride_h - pad_h, x * stride_w - pad_w
                y0, y1 = max(top, 0), min(top + kernel_h, height)
                x0, x1 = max(left, 0), min(left + kernel_w, width)
                if count_include_pad:
                    # The window clipped to the padded image, as PyTorch counts it.
                    divisor = (min(top + kernel_h, height + pad_h) - top) * \
                              (min(left + kernel_w, width + pad_w) - left)
                else:
                    divisor = (y1 - y0) * (x1 - x0)
                if backward:
                    share = grad_planes[p, y, x] / divisor
                    for i in range(y0, y1):
                        for j in range(x0, x1):
                            result[p, i, j] += share
                else:
                    total = 0.0
                    for i in range(y0, y1):
                        for j in range(x0, x1):
                            total += planes[p, i, j]
                    result[p, y, x] = total / divisor
    return result


@njit(cache=True, fastmath={"reassoc", "contract"})
def _plane_means(planes):
    """Global average pooling: the mean of each row of planes (P, H*W), summed in float64.

    A plain loop: one streaming pass with one add per value is limited by
    memory, and threads did not pay (measured).  ``reassoc`` lets the
    compiler keep several partial sums in SIMD registers.
    """
    count, size = planes.shape
    means = np.empty(count, dtype=planes.dtype)
    for p in range(count):
        total = 0.0
        for i in range(size):
            total += float(planes[p, i])
        means[p] = total / size
    return means


@njit(cache=True)
def _plane_means_backward(grad_means, size):
    """Each of the size inputs of a plane receives grad / size."""
    count = grad_means.shape[0]
    grad = np.empty((count, size), dtype=grad_means.dtype)
    for p in range(count):
        share = grad_means[p] / size
        for i in range(size):
            grad[p, i] = share
    return grad


def _planes(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x).reshape(-1, x.shape[-2], x.shape[-1])


def pooled_size(shape: tuple[int, ...], kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    return (output_size(shape[-2], kernel[0], stride[0], padding[0], 1),
            output_size(shape[-1], kernel[1], stride[1], padding[1], 1))


def max_pool2d_forward(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Window maxima of x (N, C, H, W) and their flat positions within each H*W plane."""
    out_h, out_w = pooled_size(x.shape, kernel, stride, padding)
    out, indices = _max_pool_planes(_planes(x), kernel[0], kernel[1], stride[0], stride[1],
                                    padding[0], padding[1], out_h, out_w)
    shape = x.shape[:-2] + (out_h, out_w)
    return out.reshape(shape), indices.reshape(shape)


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray,
                        input_shape: tuple[int, ...]) -> np.ndarray:
    grad = _max_pool_backward_planes(_planes(grad_out), _planes(indices), input_shape[-2],
                                     input_shape[-1])
    return grad.reshape(input_shape)


def avg_pool2d_forward(x: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
                       count_include_pad: bool = True) -> np.ndarray:
    out_h, out_w = pooled_size(x.shape, kernel, stride, padding)
    planes = _planes(x)
    out = _avg_pool_planes(planes, planes[:, :0, :0], kernel[0], kernel[1], stride[0], stride[1],
                           padding[0], padding[1], out_h, out_w, count_include_pad, False)
    return out.reshape(x.shape[:-2] + (out_h, out_w))


def avg_pool2d_backward(grad_out: np.ndarray, input_shape: tuple[int, ...], kernel: Pair,
                        stride: Pair, padding: Pair, count_include_pad: bool = True) -> np.ndarray:
    grad_planes = _planes(grad_out)
    shape_only = np.empty((grad_planes.shape[0],) + tuple(input_shape[-2:]), grad_out.dtype)
    grad = _avg_pool_planes(shape_only, grad_planes, kernel[0], kernel[1], stride[0], stride[1],
                            padding[0], padding[1], grad_out.shape[-2], grad_out.shape[-1],
                            count_include_pad, True)
    return grad.reshape(input_shape)


def global_avg_pool2d_forward(x: np.ndarray) -> np.ndarray:
    """The mean of each H x W plane of x (N, C, H, W), as (N, C, 1, 1)."""
    means = _plane_means(_planes(x).reshape(-1, x.shape[-2] * x.shape[-1]))
    return means.reshape(x.shape[:-2] + (1, 1))


def global_avg_pool2d_backward(grad_out: np.ndarray, input_shape: tuple[int, ...]) -> np.ndarray:
    size = input_shape[-2] * input_shape[-1]
    grad = _plane_means_backward(np.ascontiguousarray(grad_out).reshape(-1), size)
    return grad.reshape(input_shape)
