"""The fast int8 convolution: the loops of ``conv2d.py``, rearranged for the machine.

What
----
The same numbers as ``reference_conv2d`` in ``conv2d.py``, byte for byte (the
tests compare them), computed in two ways that suit a CPU.  ``conv2d`` has
already checked and normalized every argument; it calls ``conv2d_by_planes``
for stride 1 and ``conv2d_by_rows`` otherwise.  Both read the input minus its
zero point, so a padded position contributes nothing and the loops need no
bounds tests.

* Stride 1, any groups (``conv2d_by_planes``, the common case): one output
  channel at a time, over every output position of the batch at once.  Each
  input channel is laid out as one flat plane with shared zero padding, in
  which every output finds tap ``(ky, kx)`` of its window at the same
  distance from its own position.  So each tap is one long loop ``acc[q] +=
  weight * plane[q + distance]`` over all positions, which compiles to SIMD
  code however few taps the filter has (a 3x3 filter on one channel has 9, far
  too few for a fast dot product).  Requantization then runs over the same
  long loop with the channel's multiplier and shift turned into constants
  once (``channel_constants`` in ``requantize.py``), and a last loop copies
  the outputs into NHWC order.  The layout is explained above the kernel.
* Any stride, one output row at a time (``conv2d_by_rows``): ordinary and
  grouped convolution (``_conv2d_row``) gather each receptive field into a
  ``patch`` (one row of im2col, in the weight's ``(ky, kx, channel)`` order)
  and take one dot product per filter; depthwise convolution
  (``_depthwise_conv2d_row``) accumulates all channels at once, the innermost
  loop running across contiguous channels (a depth multiplier ``m`` becomes an
  ordinary depthwise pass over the input with each channel repeated ``m``
  times).  Each row fills a row of accumulators, then requantizes them in a
  separate loop (``_requantize_row``).

Why two
-------
Stride 1 is most layers, and there the planes are several times faster on
small filters; but they rely on every output reading its window at the same
distances, which only stride 1 gives.  The rows work for every stride, so the
tests also run them on stride-1 problems and compare the two.

Threads
-------
Large convolutions run in parallel (``prange`` over output channels or rows,
each iteration with its own scratch, so threads never write to the same
memory); small ones run in a plain loop, where starting threads would cost
more than it saves.  ``NUMBA_DISABLE_JIT=1`` runs all of it as plain Python.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .requantize import channel_constants, requantize, requantize_with_constants, wrap_to_int32

PARALLEL_MIN_MACS = 1 << 21  # below ~2M multiply-adds, threads cost more than they save


def _is_large(out: np.ndarray, weight: np.ndarray) -> bool:
    """Enough multiply-adds that running on several threads pays off."""
    _, kernel_h, kernel_w, in_per_group = weight.shape
    return out.size * kernel_h * kernel_w * in_per_group >= PARALLEL_MIN_MACS


# --- Any stride: one output row at a time ----------------------------------
# Both row functions read an input already padded with the zero point, so the
# loops have no bounds tests: a padded position contributes
# weight * (zero point - zero point) = 0, exactly what TFLite's "skip positions
# outside the image" gives.  Every index starts at 0 and only grows, which lets
# Numba drop its negative-index checks and vectorize the innermost loops.


@njit(cache=True)
def _requantize_row(accumulators, n, oy, bias, multiplier, shift, output_zero_point,
                    activation_min, activation_max, single_rounding, out):
    # Kept apart from the multiply-adds on purpose: in a loop of its own,
    # requantization compiles to code about five times faster (measured) than
    # the same arithmetic squeezed between dot products.
    out_w, out_channels = accumulators.shape
    for ox in range(out_w):
        for o in range(out_channels):
            total = wrap_to_int32(int(accumulators[ox, o]) + int(bias[o]))  # int32 add in C
            out[n, oy, ox, o] = requantize(total, multiplier[o], shift[o], output_zero_point,
                                           activation_min, activation_max, single_rounding)


@njit(cache=True)
def _conv2d_row(row, padded_input, input_zero_point, grouped_weight, kernel_h, kernel_w,
                bias, multiplier, shift, output_zero_point, stride_h, stride_w, dilation_h,
                dilation_w, activation_min, activation_max, single_rounding, out):
    # padded_input: [N, padded H, padded W, C] int8
    # grouped_weight: [groups, out_per_group, kh * kw * in_per_group] int32, which
    #     is the weight [out, kh, kw, in_per_group] with each group's rows together.
    _, padded_h, padded_w, channels = padded_input.shape
    out_h, out_w = out.shape[1], out.shape[2]
    groups, out_per_group, patch_size = grouped_weight.shape
    in_per_group = channels // groups
    flat_input = padded_input.reshape(padded_input.size)
    n = row // out_h
    oy = row % out_h

    # Every receptive field has the same shape; only its corner moves.  So list
    # once where its elements sit in the flattened input, relative to the
    # corner, in the weight's (ky, kx, channel) order: one short loop over this
    # table then replaces three nested ones for every output position.
    window_offsets = np.empty(patch_size, dtype=np.int64)
    k = 0
    for ky in range(kernel_h):
        for kx in range(kernel_w):
            for ci in range(in_per_group):
                window_offsets[k] = (ky * dilation_h * padded_w + kx * dilation_w) * channels + ci
                k += 1

    patch = np.empty(patch_size, dtype=np.int32)
    accumulators = np.empty((out_w, groups * out_per_group), dtype=np.int32)
    for ox in range(out_w):
        for g in range(groups):
            # One row of im2col: the receptive field minus the zero point,
            # gathered once, then reused by every filter of the group.
            corner = ((n * padded_h + oy * stride_h) * padded_w + ox * stride_w) * channels
            corner += g * in_per_group
            for k in range(patch_size):
                patch[k] = int(flat_input[corner + window_offsets[k]]) - input_zero_point
            for j in range(out_per_group):
                # int(): 64-bit sums, compiled or not (in plain Python, numpy
                # int32 scalars would overflow with a warning), wrapped once
                # at the end: the same as to_int32 after every add.
                accumulator = 0
                for k in range(patch_size):
                    accumulator += int(grouped_weight[g, j, k]) * int(patch[k])
                accumulators[ox, g * out_per_group + j] = wrap_to_int32(accumulator)
    _requantize_row(accumulators, n, oy, bias, multiplier, shift, output_zero_point,
                    activation_min, activation_max, single_rounding, out)


@njit(cache=True)
def _depthwise_conv2d_row(row, padded_input, input_zero_point, depthwise_weight, kernel_h,
                          kernel_w, bias, multiplier, shift, output_zero_point, stride_h,
                          stride_w, dilation_h, dilation_w, activation_min, activation_max,
                          single_rounding, out):
    # The same arguments as _conv2d_row, so that one driver serves both.
    # padded_input: [N, padded H, padded W, out] int8: input channel c repeated
    #     m times, so that output channel o reads padded_input[..., o].
    # depthwise_weight: [kh, kw, out] int32, weight[o, ky, kx, 0] at [ky, kx, o]
    out_channels = depthwise_weight.shape[2]
    out_h, out_w = out.shape[1], out.shape[2]
    n = row // out_h
    oy = row % out_h
    accumulators = np.zeros((out_w, out_channels), dtype=np.int32)
    for ox in range(out_w):
        for ky in range(kernel_h):
            iy = oy * stride_h + ky * dilation_h
            for kx in range(kernel_w):
                ix = ox * stride_w + kx * dilation_w
                for o in range(out_channels):
                    accumulators[ox, o] += int(depthwise_weight[ky, kx, o]) * (
                        int(padded_input[n, iy, ix, o]) - input_zero_point)
    _requantize_row(accumulators, n, oy, bias, multiplier, shift, output_zero_point,
                    activation_min, activation_max, single_rounding, out)


# Two drivers, for both row functions: threads for large convolutions, a
# plain loop for small ones.  ``arguments`` ends with the output array.

@njit(cache=True)
def _rows(depthwise, *arguments):
    out = arguments[-1]
    for row in range(out.shape[0] * out.shape[1]):
        if depthwise:
            _depthwise_conv2d_row(row, *arguments)
        else:
            _conv2d_row(row, *arguments)


@njit(cache=True, parallel=True)
def _rows_parallel(depthwise, *arguments):
    out = arguments[-1]
    for row in prange(out.shape[0] * out.shape[1]):
        if depthwise:
            _depthwise_conv2d_row(row, *arguments)
        else:
            _conv2d_row(row, *arguments)


# --- Stride 1: one output channel at a time, over all positions at once --
# With stride 1 every output reads its window at the same distances from its
# own position, which gives a second way to compute a convolution, much
# faster when the filters are small (a 3x3 filter on one channel has 9 taps:
# far too few for a fast dot product).
#
# Lay each input channel out as one flat *plane*: the images one after the
# other, each row of W pixels followed by ``pad_w = max(left, right)`` zeros,
# each image followed by ``pad_h = max(top, bottom)`` rows of zeros.  A row's
# trailing zeros serve as the right padding of that row and the left padding
# of the next one, and likewise between images, so the zeros are shared.
# Number the outputs the same way: output (n, oy, ox) is position
# ``q = n * image + oy * row + ox`` (``row = W + pad_w``, ``image = (H + pad_h)
# * row``), and the real pixel (n, y, x) sits at ``origin + n * image + y * row
# + x`` with ``origin = top * row + left``.  Then tap (ky, kx) of *every*
# output is at the same distance ``ky * dilation_h * row + kx * dilation_w``
# from q, and a window that sticks out of the image reads the shared zeros
# (x - zero point, so zeros are exactly what TFLite's skipped positions add).
# A whole output channel is then
#
#     acc[q] = bias + sum over taps of  weight[tap] * plane[q + distance[tap]]
#
# a few long loops over q, contiguous and identical for every element, which
# the compiler turns into SIMD code.  The positions q that are not outputs
# (those in the zero columns and rows) are computed too and thrown away:
# with small images that costs less than skipping them.  Requantization runs
# over the same long loop with the channel's constants hoisted
# (``channel_constants``); a last loop copies the outputs into NHWC order.

CHUNK_POSITIONS = 4096  # positions per pass, so that acc and res stay in the L1 cache


@njit(cache=True)
def _zero_point_planes(x, input_zero_point, top, left, pad_h, pad_w):
    """x minus its zero point, one plane per channel with shared zeros: int32 [C, length]."""
    batches, height, width, channels = x.shape
    row = width + pad_w
    image = (height + pad_h) * row
    origin = top * row + left
    planes = np.zeros((channels, origin + batches * image), dtype=np.int32)
    for c in range(channels):
        plane = planes[c]
        for n in range(batches):
            for y in range(height):
                start = origin + n * image + y * row
                pixels = plane[start:start + width]  # a slice: indices from 0, no sign checks
                for ix in range(width):
                    pixels[ix] = int(x[n, y, ix, c]) - input_zero_point
    return planes


@njit(cache=True)
def _planar_output_channel(o, planes, weight, row, image, dilation_h, dilation_w, bias,
                           multiplier, shift, output_zero_point, activation_min,
                           activation_max, single_rounding, tap_plane, tap_distance, tap_weight,
                           accumulators, results, out):
    # tap_plane, tap_distance, tap_weight, accumulators, results: scratch.
    batches, out_h, out_w, out_channels = out.shape
    _, kernel_h, kernel_w, in_per_group = weight.shape
    groups = planes.shape[0] // in_per_group
    first_channel = (o // (out_channels // groups)) * in_per_group
    channel_multiplier, left_shift, right_shift, round_positive, round_negative = \
        channel_constants(multiplier[o], shift[o])
    channel_bias = int(bias[o])

    # The taps of this output channel: input plane, distance, weight.
    taps = kernel_h * kernel_w * in_per_group
    k = 0
    for ky in range(kernel_h):
        for kx in range(kernel_w):
            for ci in range(in_per_group):
                tap_plane[k] = first_channel + ci
                tap_distance[k] = ky * dilation_h * row + kx * dilation_w
                tap_weight[k] = weight[o, ky, kx, ci]
                k += 1

    images_per_chunk = max(1, CHUNK_POSITIONS // image)
    for n0 in range(0, batches, images_per_chunk):
        n1 = min(n0 + images_per_chunk, batches)
        start = n0 * image
        count = (n1 - 1 - n0) * image + (out_h - 1) * row + out_w  # through the last output
        acc = accumulators[:count]
        # Four taps per pass over acc: one load and one store of each
        # accumulator for four multiply-adds (memory, not arithmetic, limits
        # this loop).  The int32 accumulators wrap, as to_int32 does in the
        # plain version (see "The int32 accumulator" in conv2d.py).
        acc[:] = 0
        k = 0
        while k + 4 <= taps:
            w0, w1, w2, w3 = tap_weight[k], tap_weight[k + 1], tap_weight[k + 2], tap_weight[k + 3]
            first = start + tap_distance[k]
            s0 = planes[tap_plane[k], first:first + count]
            first = start + tap_distance[k + 1]
            s1 = planes[tap_plane[k + 1], first:first + count]
            first = start + tap_distance[k + 2]
            s2 = planes[tap_plane[k + 2], first:first + count]
            first = start + tap_distance[k + 3]
            s3 = planes[tap_plane[k + 3], first:first + count]
            for q in range(count):
                acc[q] += w0 * s0[q] + w1 * s1[q] + w2 * s2[q] + w3 * s3[q]
            k += 4
        while k < taps:
            w0 = tap_weight[k]
            first = start + tap_distance[k]
            s0 = planes[tap_plane[k], first:first + count]
            for q in range(count):
                acc[q] += w0 * s0[q]
            k += 1
        for q in range(count):  # the bias: tt_wrapping_add in C, two's-complement wrap
            acc[q] = wrap_to_int32(int(acc[q]) + channel_bias)

        # One loop per recipe, each compiled without the others' branches.
        res = results[:count]
        if single_rounding:
            for q in range(count):
                res[q] = requantize_with_constants(
                    int(acc[q]), channel_multiplier, left_shift, right_shift, round_positive,
                    round_negative, output_zero_point, activation_min, activation_max, True)
        elif left_shift == 0:  # the usual case, a multiplier below 1
            for q in range(count):
                res[q] = requantize_with_constants(
                    int(acc[q]), channel_multiplier, 0, right_shift, round_positive,
                    round_negative, output_zero_point, activation_min, activation_max, False)
        else:
            for q in range(count):
                res[q] = requantize_with_constants(
                    int(acc[q]), channel_multiplier, left_shift, right_shift, round_positive,
                    round_negative, output_zero_point, activation_min, activation_max, False)

        for n in range(n0, n1):
            for oy in range(out_h):
                first = (n - n0) * image + oy * row
                kept = res[first:first + out_w]
                target = out[n, oy, :, o]
                for ox in range(out_w):
                    target[ox] = kept[ox]


@njit(cache=True)
def _planar_layout(x, weight, top, bottom, left, right, out):
    """(row, image, scratch size) of the plane layout for this convolution."""
    _, height, width, _ = x.shape
    row = width + max(left, right)
    image = (height + max(top, bottom)) * row
    out_h, out_w = out.shape[1], out.shape[2]
    images_per_chunk = min(max(1, CHUNK_POSITIONS // image), out.shape[0])
    return row, image, (images_per_chunk - 1) * image + (out_h - 1) * row + out_w


@njit(cache=True)
def _planar_conv2d(x, input_zero_point, weight, top, bottom, left, right, dilation_h,
                   dilation_w, bias, multiplier, shift, output_zero_point, activation_min,
                   activation_max, single_rounding, out):
    row, image, size = _planar_layout(x, weight, top, bottom, left, right, out)
    planes = _zero_point_planes(x, input_zero_point, top, left, max(top, bottom),
                                max(left, right))
    taps = weight.size // weight.shape[0]
    tap_plane = np.empty(taps, dtype=np.int64)  # scratch, allocated once
    tap_distance = np.empty(taps, dtype=np.int64)
    tap_weight = np.empty(taps, dtype=np.int32)
    accumulators = np.empty(size, dtype=np.int32)
    results = np.empty(size, dtype=np.int8)
    for o in range(out.shape[3]):
        _planar_output_channel(o, planes, weight, row, image, dilation_h, dilation_w, bias,
                               multiplier, shift, output_zero_point, activation_min,
                               activation_max, single_rounding, tap_plane, tap_distance,
                               tap_weight, accumulators, results, out)


@njit(cache=True, parallel=True)
def _planar_conv2d_parallel(x, input_zero_point, weight, top, bottom, left, right, dilation_h,
                            dilation_w, bias, multiplier, shift, output_zero_point,
                            activation_min, activation_max, single_rounding, out):
    row, image, size = _planar_layout(x, weight, top, bottom, left, right, out)
    planes = _zero_point_planes(x, input_zero_point, top, left, max(top, bottom),
                                max(left, right))
    taps = weight.size // weight.shape[0]
    for o in prange(out.shape[3]):
        # Scratch per output channel: threads never share it.
        tap_plane = np.empty(taps, dtype=np.int64)
        tap_distance = np.empty(taps, dtype=np.int64)
        tap_weight = np.empty(taps, dtype=np.int32)
        accumulators = np.empty(size, dtype=np.int32)
        results = np.empty(size, dtype=np.int8)
        _planar_output_channel(o, planes, weight, row, image, dilation_h, dilation_w, bias,
                               multiplier, shift, output_zero_point, activation_min,
                               activation_max, single_rounding, tap_plane, tap_distance,
                               tap_weight, accumulators, results, out)


# --- The two entry points ----------------------------------------------------
# Both take arguments already checked and normalized by ``conv2d`` (int8 x and
# weight, int32 per-channel bias, multiplier and shift, padding as (top,
# bottom, left, right)) and fill ``out``, which has the output's shape.

def conv2d_by_planes(x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                     input_zero_point: int, output_zero_point: int, multiplier: np.ndarray,
                     shift: np.ndarray, padding: tuple[int, int, int, int],
                     dilation: tuple[int, int], act_min: int, act_max: int,
                     single_rounding: bool, out: np.ndarray) -> np.ndarray:
    """A stride-1 convolution, one output channel at a time over flat planes."""
    top, bottom, left, right = padding
    run = _planar_conv2d_parallel if _is_large(out, weight) else _planar_conv2d
    run(x, input_zero_point, weight, top, bottom, left, right, dilation[0], dilation[1],
        np.ascontiguousarray(bias), multiplier, shift, output_zero_point, act_min, act_max,
        single_rounding, out)
    return out


def conv2d_by_rows(x: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                   input_zero_point: int, output_zero_point: int, multiplier: np.ndarray,
                   shift: np.ndarray, stride: tuple[int, int],
                   padding: tuple[int, int, int, int], dilation: tuple[int, int],
                   act_min: int, act_max: int, single_rounding: bool,
                   out: np.ndarray) -> np.ndarray:
    """A convolution of any stride, one output row at a time."""
    batches, height, width, channels = x.shape
    out_channels, kernel_h, kernel_w, in_per_group = weight.shape
    groups = channels // in_per_group
    top, bottom, left, right = padding
    parallel = _is_large(out, weight)
    padded_input = np.full((batches, height + top + bottom, width + left + right, channels),
                           input_zero_point, dtype=np.int8)
    padded_input[:, top:top + height, left:left + width, :] = x
    requantization = (np.ascontiguousarray(bias), multiplier, shift, output_zero_point)
    geometry = (stride[0], stride[1], dilation[0], dilation[1])
    clamp_and_rounding = (act_min, act_max, single_rounding)
    depthwise = in_per_group == 1 and groups > 1
    if depthwise:
        # A depth multiplier m (out = m * C) is the same as each input channel
        # repeated m times, followed by an ordinary one-filter-per-channel pass.
        padded_input = np.repeat(padded_input, out_channels // channels, axis=3)
        row_weight = np.ascontiguousarray(weight[..., 0].transpose(1, 2, 0), dtype=np.int32)
    else:
        row_weight = np.ascontiguousarray(
            weight.reshape(groups, out_channels // groups, -1), dtype=np.int32)
    run_rows = _rows_parallel if parallel else _rows
    run_rows(depthwise, padded_input, input_zero_point, row_weight, kernel_h, kernel_w,
             *requantization, *geometry, *clamp_and_rounding, out)
    return out
