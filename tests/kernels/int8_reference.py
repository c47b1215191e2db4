"""An independent integer reference for the int8 kernels: TFLite's reference ops, in Python ints.

Written separately from ``kernels/int8`` and on purpose in a different style:
plain loops, one output value at a time, Python ints with explicit 32-bit
two's-complement emulation (``to_int32``) wherever the C++ stores into an
``int32_t``, and the C++ structure kept (``input_offset = -zero_point``, the
padding given as TFLite's ``padding_values`` top/left with the output size
implied, depthwise filters in TFLite's ``[1, kh, kw, in * m]`` layout).  It
follows, function by function:

* gemmlowp ``fixedpoint.h``: SaturatingRoundingDoublingHighMul, RoundingDivideByPOT
* ``kernels/internal/quantization_util.cc``: QuantizeMultiplier
* ``kernels/internal/common.cc``: MultiplyByQuantizedMultiplier, both the
  default (double rounding) and the ``TFLITE_SINGLE_ROUNDING`` build
* ``reference/integer_ops/conv.h``: ConvPerChannel (with groups)
* ``reference/integer_ops/depthwise_conv.h``: DepthwiseConvPerChannel
* ``reference/integer_ops/fully_connected.h``: FullyConnected (per channel, as TFLite Micro)
* ``reference/integer_ops/pooling.h``: AveragePool, MaxPool
* ``reference/integer_ops/add.h``: AddFunc, and TFLite Micro's ``add_common.cc``
  CalculateOpDataAdd for the parameters

It is slow (about a microsecond per multiply-add), so tests keep shapes small.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


def to_int32(value: int) -> int:
    """What storing ``value`` into an int32_t gives on a two's-complement machine."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def c_divide(numerator: int, denominator: int) -> int:
    """C's integer '/': the quotient truncated toward zero."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


# --- quantization_util.cc ----------------------------------------------------

def tflite_round(value: float) -> int:
    """std::round: nearest integer, halfway cases away from zero (computed exactly)."""
    exact = Fraction(value)
    floor = math.floor(abs(exact))
    magnitude = floor + 1 if abs(exact) - floor >= Fraction(1, 2) else floor
    return magnitude if exact >= 0 else -magnitude


def quantize_multiplier(double_multiplier: float, single_rounding: bool = False) -> tuple[int, int]:
    if double_multiplier == 0.0:
        return 0, 0
    q, shift = math.frexp(double_multiplier)
    q_fixed = tflite_round(q * (1 << 31))
    assert q_fixed <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    assert q_fixed <= INT32_MAX
    if shift < -31:
        shift = 0
        q_fixed = 0
    if single_rounding and shift > 30:
        shift = 30
        q_fixed = (1 << 31) - 1
    return q_fixed, shift


# --- gemmlowp fixedpoint.h ---------------------------------------------------

def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    overflow = a == b and a == INT32_MIN
    ab_64 = a * b
    nudge = (1 << 30) if ab_64 >= 0 else (1 - (1 << 30))
    ab_x2_high32 = to_int32(c_divide(ab_64 + nudge, 1 << 31))
    return INT32_MAX if overflow else ab_x2_high32


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    assert 0 <= exponent <= 31
    mask = to_int32((1 << exponent) - 1)
    zero, one = 0, 1
    remainder = x & mask
    mask_if_less_than_zero = -1 if x < zero else 0
    threshold = to_int32((mask >> 1) + (mask_if_less_than_zero & one))
    mask_if_greater = -1 if remainder > threshold else 0
    return to_int32((x >> exponent) + (mask_if_greater & one))


# --- common.cc ---------------------------------------------------------------

def multiply_by_quantized_multiplier(x: int, quantized_multiplier: int, shift: int,
                                     single_rounding: bool = False) -> int:
    if single_rounding:
        assert quantized_multiplier >= 0
        assert -31 <= shift <= 30
        total_shift = 31 - shift
        round_ = 1 << (total_shift - 1)
        result = x * quantized_multiplier + round_
        result = result >> total_shift
        return to_int32(result)
    left_shift = shift if shift > 0 else 0
    right_shift = 0 if shift > 0 else -shift
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(to_int32(x * (1 << left_shift)),
                                              quantized_multiplier), right_shift)


def _output_size(size: int, pad_total: int, kernel: int, stride: int, dilation: int) -> int:
    effective = (kernel - 1) * dilation + 1
    return (size + pad_total - effective) // stride + 1


# --- conv.h ------------------------------------------------------------------

def conv_per_channel(x, weight, bias, input_zero_point, output_zero_point, multiplier, shift,
                     stride, padding, dilation, act_min, act_max, single_rounding=False):
    """x [N,H,W,C], weight [out, kh, kw, C / groups]; padding (top, bottom, left, right)."""
    input_offset = -int(input_zero_point)
    output_offset = int(output_zero_point)
    stride_height, stride_width = stride
    dilation_height_factor, dilation_width_factor = dilation
    pad_height, pad_width = padding[0], padding[2]
    batches, input_height, input_width, input_depth = x.shape
    output_depth, filter_height, filter_width, filter_input_depth = weight.shape
    groups = input_depth // filter_input_depth
    assert input_depth % filter_input_depth == 0
    filters_per_group = output_depth // groups
    output_height = _output_size(input_height, padding[0] + padding[1], filter_height,
                                 stride_height, dilation_height_factor)
    output_width = _output_size(input_width, padding[2] + padding[3], filter_width,
                                stride_width, dilation_width_factor)
    out = np.zeros((batches, output_height, output_width, output_depth), dtype=np.int8)
    for batch in range(batches):
        for out_y in range(output_height):
            in_y_origin = out_y * stride_height - pad_height
            for out_x in range(output_width):
                in_x_origin = out_x * stride_width - pad_width
                for out_channel in range(output_depth):
                    group = out_channel // filters_per_group
                    acc = 0
                    for filter_y in range(filter_height):
                        in_y = in_y_origin + dilation_height_factor * filter_y
                        for filter_x in range(filter_width):
                            in_x = in_x_origin + dilation_width_factor * filter_x
                            is_point_inside_image = (0 <= in_x < input_width
                                                     and 0 <= in_y < input_height)
                            if not is_point_inside_image:
                                continue
                            for in_channel in range(filter_input_depth):
                                input_val = int(x[batch, in_y, in_x,
                                                  in_channel + group * filter_input_depth])
                                filter_val = int(weight[out_channel, filter_y, filter_x,
                                                        in_channel])
                                acc = to_int32(acc + filter_val * (input_val + input_offset))
                    if bias is not None:
                        acc = to_int32(acc + int(bias[out_channel]))
                    acc = multiply_by_quantized_multiplier(acc, int(multiplier[out_channel]),
                                                           int(shift[out_channel]), single_rounding)
                    acc = to_int32(acc + output_offset)
                    acc = max(acc, act_min)
                    acc = min(acc, act_max)
                    out[batch, out_y, out_x, out_channel] = acc
    return out


# --- depthwise_conv.h --------------------------------------------------------

def depthwise_conv_per_channel(x, filter_data, bias, input_zero_point, output_zero_point,
                               multiplier, shift, stride, padding, dilation, act_min, act_max,
                               single_rounding=False):
    """filter_data in TFLite's layout [1, kh, kw, in * depth_multiplier]."""
    input_offset = -int(input_zero_point)
    output_offset = int(output_zero_point)
    stride_height, stride_width = stride
    dilation_height_factor, dilation_width_factor = dilation
    pad_height, pad_width = padding[0], padding[2]
    batches, input_height, input_width, input_depth = x.shape
    _, filter_height, filter_width, output_depth = filter_data.shape
    depth_multiplier = output_depth // input_depth
    assert output_depth == input_depth * depth_multiplier
    output_height = _output_size(input_height, padding[0] + padding[1], filter_height,
                                 stride_height, dilation_height_factor)
    output_width = _output_size(input_width, padding[2] + padding[3], filter_width,
                                stride_width, dilation_width_factor)
    out = np.zeros((batches, output_height, output_width, output_depth), dtype=np.int8)
    for batch in range(batches):
        for out_y in range(output_height):
            for out_x in range(output_width):
                for in_channel in range(input_depth):
                    for m in range(depth_multiplier):
                        output_channel = m + in_channel * depth_multiplier
                        in_x_origin = out_x * stride_width - pad_width
                        in_y_origin = out_y * stride_height - pad_height
                        acc = 0
                        for filter_y in range(filter_height):
                            for filter_x in range(filter_width):
                                in_x = in_x_origin + dilation_width_factor * filter_x
                                in_y = in_y_origin + dilation_height_factor * filter_y
                                if 0 <= in_x < input_width and 0 <= in_y < input_height:
                                    input_val = int(x[batch, in_y, in_x, in_channel])
                                    filter_val = int(filter_data[0, filter_y, filter_x,
                                                                 output_channel])
                                    acc = to_int32(acc + filter_val * (input_val + input_offset))
                        if bias is not None:
                            acc = to_int32(acc + int(bias[output_channel]))
                        acc = multiply_by_quantized_multiplier(
                            acc, int(multiplier[output_channel]), int(shift[output_channel]),
                            single_rounding)
                        acc = to_int32(acc + output_offset)
                        acc = max(acc, act_min)
                        acc = min(acc, act_max)
                        out[batch, out_y, out_x, output_channel] = acc
    return out


def conv2d(x, weight, bias, input_zero_point, output_zero_point, multiplier, shift,
           stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups=1,
           act_min=-128, act_max=127, single_rounding=False):
    """Dispatch like a TFLite converter would: depthwise when every group has one input channel."""
    channels = x.shape[3]
    if groups == channels and weight.shape[3] == 1 and groups > 1:
        tflite_filter = weight[:, :, :, 0].transpose(1, 2, 0)[np.newaxis]  # [1, kh, kw, out]
        return depthwise_conv_per_channel(x, tflite_filter, bias, input_zero_point,
                                          output_zero_point, multiplier, shift, stride, padding,
                                          dilation, act_min, act_max, single_rounding)
    return conv_per_channel(x, weight, bias, input_zero_point, output_zero_point, multiplier,
                            shift, stride, padding, dilation, act_min, act_max, single_rounding)


# --- fully_connected.h -------------------------------------------------------

def fully_connected(x, weight, bias, input_zero_point, output_zero_point, multiplier, shift,
                    act_min=-128, act_max=127, single_rounding=False):
    input_offset = -int(input_zero_point)
    filter_offset = 0
    output_offset = int(output_zero_point)
    batches, accum_depth = x.shape
    output_depth = weight.shape[0]
    out = np.zeros((batches, output_depth), dtype=np.int8)
    for b in range(batches):
        for out_c in range(output_depth):
            acc = 0
            for d in range(accum_depth):
                input_val = int(x[b, d])
                filter_val = int(weight[out_c, d])
                acc = to_int32(acc + (filter_val + filter_offset) * (input_val + input_offset))
            if bias is not None:
                acc = to_int32(acc + int(bias[out_c]))
            acc = multiply_by_quantized_multiplier(acc, int(multiplier[out_c]), int(shift[out_c]),
                                                   single_rounding)
            acc = to_int32(acc + output_offset)
            acc = max(acc, act_min)
            acc = min(acc, act_max)
            out[b, out_c] = acc
    return out


# --- pooling.h ---------------------------------------------------------------

def _pool(x, kernel, stride, padding, act_min, act_max, average):
    filter_height, filter_width = kernel
    stride_height, stride_width = stride
    batches, input_height, input_width, depth = x.shape
    output_height = _output_size(input_height, padding[0] + padding[1], filter_height,
                                 stride_height, 1)
    output_width = _output_size(input_width, padding[2] + padding[3], filter_width,
                                stride_width, 1)
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


def average_pool(x, kernel, stride, padding, act_min=-128, act_max=127):
    return _pool(x, kernel, stride, padding, act_min, act_max, average=True)


def max_pool(x, kernel, stride, padding, act_min=-128, act_max=127):
    return _pool(x, kernel, stride, padding, act_min, act_max, average=False)


# --- add.h and add_common.cc -------------------------------------------------

def add_prepare(input1_scale, input2_scale, output_scale, left_shift=20, single_rounding=False):
    """CalculateOpDataAdd: scales are float32 in a TfLiteTensor, the arithmetic is double."""
    s1, s2, so = (np.float32(s) for s in (input1_scale, input2_scale, output_scale))
    twice_max_input_scale = 2 * float(max(s1, s2))
    real_input1_multiplier = float(s1) / twice_max_input_scale
    real_input2_multiplier = float(s2) / twice_max_input_scale
    real_output_multiplier = twice_max_input_scale / ((1 << left_shift) * float(so))
    result = {}
    for name, real in (("input1", real_input1_multiplier), ("input2", real_input2_multiplier),
                       ("output", real_output_multiplier)):
        assert 0 < real < 1  # QuantizeMultiplierSmallerThanOneExp
        multiplier, shift = quantize_multiplier(real, single_rounding)
        assert shift <= 0
        result[name] = (multiplier, shift)
    return result


def add_func(x, y, input1_offset, input1_multiplier, input1_shift, input2_offset,
             input2_multiplier, input2_shift, output_offset, output_multiplier, output_shift,
             act_min, act_max, left_shift=20, single_rounding=False):
    input1_val = input1_offset + x
    input2_val = input2_offset + y
    shifted_input1_val = to_int32(input1_val * (1 << left_shift))
    shifted_input2_val = to_int32(input2_val * (1 << left_shift))
    scaled_input1_val = multiply_by_quantized_multiplier(
        shifted_input1_val, input1_multiplier, input1_shift, single_rounding)
    scaled_input2_val = multiply_by_quantized_multiplier(
        shifted_input2_val, input2_multiplier, input2_shift, single_rounding)
    raw_sum = to_int32(scaled_input1_val + scaled_input2_val)
    raw_output = to_int32(multiply_by_quantized_multiplier(
        raw_sum, output_multiplier, output_shift, single_rounding) + output_offset)
    return min(act_max, max(act_min, raw_output))


def add(a, b, a_zero_point, a_multiplier, a_shift, b_zero_point, b_multiplier, b_shift,
        output_zero_point, output_multiplier, output_shift, act_min=-128, act_max=127,
        left_shift=20, single_rounding=False):
    a, b = np.broadcast_arrays(a, b)
    out = np.zeros(a.shape, dtype=np.int8)
    for index in np.ndindex(a.shape):
        out[index] = add_func(int(a[index]), int(b[index]), -a_zero_point, a_multiplier, a_shift,
                              -b_zero_point, b_multiplier, b_shift, output_zero_point,
                              output_multiplier, output_shift, act_min, act_max, left_shift,
                              single_rounding)
    return out
