"""Int8 max and average pooling, exactly as TFLite's integer kernels compute them.

What
----
Pooling slides a window over each channel of an NHWC int8 image and keeps the
largest value (max pooling) or the rounded mean (average pooling).

Why no requantization
---------------------
The maximum of quantized values is the quantized maximum, and the mean of
``scale * (q - zero_point)`` is ``scale * (mean(q) - zero_point)``: both keep
the input's scale and zero point, so the output is computed on the raw int8
values and needs no multiplier.  The output clamp ``act_min`` / ``act_max``
still applies (a fused ReLU, or just the int8 range).

The two details that make results bit-exact
-------------------------------------------
* Padding is *excluded*, not zero-filled: a window hanging over the edge
  only looks at the input positions it covers, and the average divides by
  that count.  (PyTorch's ``count_include_pad=False``.)  A max pool window
  that covers no input at all yields -128 before the clamp (TFLite starts
  from the int8 minimum); an average pool window covering no input is an
  error, as it is in TFLite.
* The average is rounded half away from zero with C's truncating division:

      average = (sum + count // 2) // count       if sum > 0
              = (sum - count // 2) / count        otherwise, truncated toward 0

  e.g. sum = -3 over count = 2 gives (-3 - 1) / 2 = -2, and sum = 3 gives
  (3 + 1) / 2 = 2: ties leave zero in both directions.  Python's ``//``
  floors, so the negative case is written with magnitudes.

Padding is (top, bottom, left, right), as for convolution, so TFLite's
asymmetric SAME padding is expressible.  The output size is PyTorch's
``floor((size + padding - kernel) / stride) + 1``.

Where it sits
-------------
The int8 interpreter calls these for ``nn.MaxPool2d`` / ``nn.AvgPool2d``;
the generated C must match them byte for byte.  The file opens with the plain
version, TFLite's pooling loops in Python ints (the tests' oracle); then the
kernels the interpreter runs, small loops over output positions compiled by
Numba (``NUMBA_DISABLE_JIT=1`` runs them as plain Python).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .checks import check_activation_range, check_int8_array
from .conv2d import as_pair, as_padding, checked_output_size
from .requantize import c_divide

OP_MAX, OP_AVG = "int8 max_pool2d", "int8 avg_pool2d"


# --- The plain version: TFLite's reference pooling, in Python ints ----------
# ``reference/integer_ops/pooling.h`` (AveragePool, MaxPool), in the C++'s
# shape.  Written apart from the kernels below (only the output size is
# shared), so that the tests comparing the two cannot miss a bug both would
# have.

def _reference_pool(x, kernel, stride, padding, act_min, act_max, average, op):
    filter_height, filter_width = kernel
    stride_height, stride_width = stride
    batches, input_height, input_width, depth = x.shape
    output_height = checked_output_size(op, input_height, padding[0], padding[1],
                                        filter_height, stride_height)
    output_width = checked_output_size(op, input_width, padding[2], padding[3], filter_width,
                                       stride_width)
    out = np.zeros((batches, output_height, output_width, depth), dtype=np.int8)
    for batch in range(batches):
        for out_y in range(output_height):
            for out_x in range(output_width):
                for channel in range(depth):
                    in_x_origin = out_x * stride_width - padding[2]
                    in_y_origin = out_y * stride_height - padding[0]
                    filter_x_start = max(0, -in_x_origin)
                    filter_x_end = min(filter_width, input_width - in_x_origin)
                    filter_y_start = max(0, -in_y_origin)
                    filter_y_end = min(filter_height, input_height - in_y_origin)
                    acc, filter_count, largest = 0, 0, -128
                    for filter_y in range(filter_y_start, filter_y_end):
                        for filter_x in range(filter_x_start, filter_x_end):
                            value = int(x[batch, in_y_origin + filter_y,
                                          in_x_origin + filter_x, channel])
                            acc += value
                            filter_count += 1
                            largest = max(largest, value)
                    if average:
                        if filter_count == 0:
                            raise ValueError("AveragePool: a window covers no input")
                        # Round to the closest integer value.
                        acc = (c_divide(acc + filter_count // 2, filter_count) if acc > 0
                               else c_divide(acc - filter_count // 2, filter_count))
                        result = min(max(acc, act_min), act_max)
                    else:
                        result = min(max(largest, act_min), act_max)
                    out[batch, out_y, out_x, channel] = result
    return out


def reference_max_pool2d(x: np.ndarray, kernel, stride, padding,
                         act_min: int = -128, act_max: int = 127) -> np.ndarray:
    """The plain ``max_pool2d``: kernel, stride (h, w); padding (top, bottom, left, right)."""
    return _reference_pool(x, kernel, stride, padding, act_min, act_max, False, OP_MAX)


def reference_avg_pool2d(x: np.ndarray, kernel, stride, padding,
                         act_min: int = -128, act_max: int = 127) -> np.ndarray:
    """The plain ``avg_pool2d``: kernel, stride (h, w); padding (top, bottom, left, right)."""
    return _reference_pool(x, kernel, stride, padding, act_min, act_max, True, OP_AVG)


# --- The kernels ---------------------------------------------------------------


@njit(cache=True)
def _window_bounds(out_index, stride, pad_before, kernel, size):
    # Window positions [start, end) that land inside the input, as offsets
    # from the window's (possibly negative) origin.
    origin = out_index * stride - pad_before
    start = max(0, -origin)
    end = min(kernel, size - origin)
    return origin, start, end


@njit(cache=True)
def _max_pool_kernel(x, kernel_h, kernel_w, stride_h, stride_w, top, left,
                     activation_min, activation_max, out):
    batches, height, width, channels = x.shape
    _, out_h, out_w, _ = out.shape
    for n in range(batches):
        for oy in range(out_h):
            y0, fy_start, fy_end = _window_bounds(oy, stride_h, top, kernel_h, height)
            for ox in range(out_w):
                x0, fx_start, fx_end = _window_bounds(ox, stride_w, left, kernel_w, width)
                for c in range(channels):
                    largest = -128
                    for fy in range(fy_start, fy_end):
                        for fx in range(fx_start, fx_end):
                            value = int(x[n, y0 + fy, x0 + fx, c])
                            if value > largest:
                                largest = value
                    out[n, oy, ox, c] = min(max(largest, activation_min), activation_max)


@njit(cache=True)
def _avg_pool_kernel(x, kernel_h, kernel_w, stride_h, stride_w, top, left,
                     activation_min, activation_max, out):
    batches, height, width, channels = x.shape
    _, out_h, out_w, _ = out.shape
    for n in range(batches):
        for oy in range(out_h):
            y0, fy_start, fy_end = _window_bounds(oy, stride_h, top, kernel_h, height)
            for ox in range(out_w):
                x0, fx_start, fx_end = _window_bounds(ox, stride_w, left, kernel_w, width)
                count = (fy_end - fy_start) * (fx_end - fx_start)
                for c in range(channels):
                    total = 0
                    for fy in range(fy_start, fy_end):
                        for fx in range(fx_start, fx_end):
                            total += int(x[n, y0 + fy, x0 + fx, c])
                    if total > 0:
                        average = (total + count // 2) // count
                    else:
                        average = -((-total + count // 2) // count)  # C's truncating '/'
                    out[n, oy, ox, c] = min(max(average, activation_min), activation_max)


def _prepare(op: str, x, kernel, stride, padding, act_min, act_max):
    check_int8_array(op, "x", x, ndim=4)
    kernel_h, kernel_w = as_pair(op, "kernel", kernel)
    stride_h, stride_w = as_pair(op, "stride", kernel if stride is None else stride)
    top, bottom, left, right = as_padding(op, padding)
    act_min, act_max = check_activation_range(op, act_min, act_max)
    batches, height, width, channels = x.shape
    out_h = checked_output_size(op, height, top, bottom, kernel_h, stride_h)
    out_w = checked_output_size(op, width, left, right, kernel_w, stride_w)
    out = np.empty((batches, out_h, out_w, channels), dtype=np.int8)
    return (np.ascontiguousarray(x), kernel_h, kernel_w, stride_h, stride_w, top, left,
            act_min, act_max, out)


def _windows_outside_input(out_size: int, stride: int, pad_before: int, kernel: int,
                           size: int) -> list[int]:
    # Output positions whose whole window lies in the padding.
    return [o for o in range(out_size)
            if o * stride - pad_before + kernel <= 0 or o * stride - pad_before >= size]


def max_pool2d(x: np.ndarray, kernel, stride=None, padding=0,
               act_min: int = -128, act_max: int = 127) -> np.ndarray:
    """Int8 NHWC max pooling, bit-exact with TFLite's MaxPool.

    kernel, stride: int or (h, w); stride defaults to kernel (PyTorch's default).
    padding: int, (h, w) or (top, bottom, left, right); padded positions are
    ignored.  act_min / act_max: the output clamp.  Returns int8.
    """
    arguments = _prepare(OP_MAX, x, kernel, stride, padding, act_min, act_max)
    _max_pool_kernel(*arguments)
    return arguments[-1]


def avg_pool2d(x: np.ndarray, kernel, stride=None, padding=0,
               act_min: int = -128, act_max: int = 127) -> np.ndarray:
    """Int8 NHWC average pooling, bit-exact with TFLite's AveragePool.

    Divides by the number of *input* positions under each window (padding
    excluded) and rounds half away from zero.  kernel, stride: int or (h, w);
    stride defaults to kernel.  padding: int, (h, w) or (top, bottom, left,
    right).  act_min / act_max: the output clamp.  Returns int8.  Raises
    ValueError when some window covers no input position.
    """
    op = OP_AVG
    arguments = _prepare(op, x, kernel, stride, padding, act_min, act_max)
    x, kernel_h, kernel_w, stride_h, stride_w, top, left, _, _, out = arguments
    rows = _windows_outside_input(out.shape[1], stride_h, top, kernel_h, x.shape[1])
    cols = _windows_outside_input(out.shape[2], stride_w, left, kernel_w, x.shape[2])
    if rows or cols:
        raise ValueError(f"{op}: some windows cover only padding (output rows {rows}, "
                         f"columns {cols}) for input shape {x.shape}, kernel "
                         f"{(kernel_h, kernel_w)}, stride {(stride_h, stride_w)}, padding "
                         f"{as_padding(op, padding)}; their average is undefined")
    _avg_pool_kernel(*arguments)
    return out
