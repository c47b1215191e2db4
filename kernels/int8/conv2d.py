"""Int8 2-D convolution, exactly as TFLite's integer kernels compute it.

What
----
A quantized convolution takes an int8 image ``x`` (NHWC: batch, height,
width, channels), int8 weights ``[out_channels, kernel_h, kernel_w,
in_channels / groups]``, an optional int32 bias, and produces an int8 image.
Every output value is

    acc    = bias[o] + sum over the window and the group's input channels of
                 weight[o, ky, kx, c] * (x[n, iy, ix, c] - input_zero_point)
    output = clamp(requantize(acc, multiplier[o], shift[o]) + output_zero_point,
                   act_min, act_max)

Why this is the whole story
---------------------------
With real = scale * (q - zero_point) for activations, symmetric weights
(zero point 0) and a bias quantized with scale ``input_scale * weight_scale[o]``,
the real convolution is ``input_scale * weight_scale[o] * acc``.  Dividing by
the output scale is the requantization of ``requantize.py``; the fused ReLU or
ReLU6 is just a tighter clamp.  Because only ``x - input_zero_point`` enters
the sum, a padded position, which TFLite fills with the real value 0, holds
the zero point and contributes nothing: TFLite skips it, we pad with it.

Groups follow PyTorch: output channel ``o`` belongs to group
``g = o // (out_channels / groups)`` and reads input channels
``g * (in_channels / groups) ...``.  ``groups == in_channels`` is a depthwise
convolution; ``out_channels = in_channels * m`` then gives a depth multiplier
``m``, and output channel ``c * m + j`` reads input channel ``c``, the same
order as TFLite's depthwise filter ``[1, kh, kw, in * m]``.

Padding is ``(top, bottom, left, right)`` so that TFLite's SAME padding, which
puts the odd pixel at the bottom and right, is expressible.

The plain version
-----------------
``reference_conv2d`` below is the whole computation as loops, one output
value at a time: TFLite's ConvPerChannel and DepthwiseConvPerChannel
(``reference/integer_ops/conv.h`` and ``depthwise_conv.h``) written out in
Python ints, in the C++'s own shape (``input_offset = -zero_point``, padded
positions skipped, depthwise filters in TFLite's ``[1, kh, kw, in * m]``
layout).  It is the definition, and the oracle the tests compare the fast
version with; at about a microsecond per multiply-add it is too slow for
anything else.

The fast version
----------------
``conv2d`` checks its arguments, then hands the work to ``conv2d_fast.py``:
for stride 1, one output channel at a time over flat zero-padded planes
(``conv2d_by_planes``); for other strides, one output row at a time
(``conv2d_by_rows``).  The same bytes, thousands of times faster.

The int32 accumulator
---------------------
In C a signed int32 that overflows is undefined behaviour, not a wrap, so the
generated C must never overflow, and it cannot: the code generator refuses a
layer with more than ``MAX_PATCH`` (66,000, ``codegen/accumulator_bounds.py``) products
per output, and with weights in [-127, 127] and ``x - zero_point`` in
[-255, 255] each product is at most 127 * 255, so 66,000 of them stay below
2**31.  The Python kernels accept any size and give what a two's-complement
machine gives: the plain version wraps (``to_int32``) after every add, the
fast one accumulates in int32 or in 64 bits wrapped once at the end, the same
number, since sums mod 2**32 do not depend on the order of the terms.  Under
that bound no accumulation wraps at all.  The bias, which may be any int32,
is another matter: it is added with a wrapping add everywhere (``to_int32``
here, unsigned arithmetic in the C, which wraps by definition).

Where it sits
-------------
``tinytorch.quant``'s int8 interpreter calls ``conv2d`` for ``nn.Conv2d``;
the C that ``tinytorch.codegen`` emits must match it byte for byte.
``pooling.py`` reuses the window geometry helpers defined here.
"""
from __future__ import annotations

import numpy as np

from ..conv2d import output_size
from .checks import check_int8_array, check_layer_parameters, check_rounding
from .conv2d_fast import conv2d_by_planes, conv2d_by_rows
from .requantize import reference_requantize, to_int32

OP = "int8 conv2d"


# --- Window geometry (shared with pooling) ---------------------------------

def as_pair(op: str, name: str, value) -> tuple[int, int]:
    """An int or an (height, width) pair of positive ints."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or any(int(v) != v or int(v) < 1 for v in pair):
        raise ValueError(f"{op}: {name} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def as_padding(op: str, padding) -> tuple[int, int, int, int]:
    """An int, a (height, width) pair, or (top, bottom, left, right); all >= 0."""
    values = (padding,) if np.isscalar(padding) else tuple(padding)
    if len(values) == 1:
        values = values * 4
    elif len(values) == 2:
        values = (values[0], values[0], values[1], values[1])
    if len(values) != 4 or any(int(v) != v or int(v) < 0 for v in values):
        raise ValueError(f"{op}: padding must be an int, (height, width) or "
                         f"(top, bottom, left, right) of ints >= 0, got {padding!r}")
    return tuple(int(v) for v in values)


def checked_output_size(op: str, size: int, pad_before: int, pad_after: int, kernel: int,
                        stride: int, dilation: int = 1) -> int:
    """Output positions along one axis, padding that may differ at the two ends.

    The formula is the float convolution's ``output_size`` (in
    ``kernels/conv2d.py``; PyTorch's and TFLite's), applied to the axis with its padding already added; what this
    adds is the check, naming ``op``, that at least one window fits.
    """
    span = dilation * (kernel - 1) + 1
    padded = size + pad_before + pad_after
    if padded < span:
        raise ValueError(f"{op}: window of {span} (kernel {kernel}, dilation {dilation}) "
                         f"does not fit in padded input size {padded}")
    return output_size(padded, kernel, stride, 0, dilation)


# --- The plain version: TFLite's reference kernels, in Python ints ----------
# Written apart from conv2d_fast.py and in another style (one output at a time,
# padded positions skipped rather than filled, ``to_int32`` after every
# int32 add), on requantize.py's plain arithmetic rather than the fast one:
# the tests compare the two, and a shared helper would hide a shared bug.
# Only ``checked_output_size`` above is shared: arithmetic that the PyTorch
# comparison in the tests checks on its own.

def _conv_per_channel(x, weight, bias, input_zero_point, output_zero_point, multiplier, shift,
                      stride, padding, dilation, act_min, act_max, single_rounding):
    """ConvPerChannel with groups: weight [out, kh, kw, C / groups]."""
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
    output_height = checked_output_size(OP, input_height, padding[0], padding[1], filter_height,
                                       stride_height, dilation_height_factor)
    output_width = checked_output_size(OP, input_width, padding[2], padding[3], filter_width,
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
                    out[batch, out_y, out_x, out_channel] = reference_requantize(
                        acc, int(multiplier[out_channel]), int(shift[out_channel]),
                        output_offset, act_min, act_max, single_rounding)
    return out


def _depthwise_conv_per_channel(x, filter_data, bias, input_zero_point, output_zero_point,
                                multiplier, shift, stride, padding, dilation, act_min, act_max,
                                single_rounding):
    """DepthwiseConvPerChannel: filter_data in TFLite's layout [1, kh, kw, in * m]."""
    input_offset = -int(input_zero_point)
    output_offset = int(output_zero_point)
    stride_height, stride_width = stride
    dilation_height_factor, dilation_width_factor = dilation
    pad_height, pad_width = padding[0], padding[2]
    batches, input_height, input_width, input_depth = x.shape
    _, filter_height, filter_width, output_depth = filter_data.shape
    depth_multiplier = output_depth // input_depth
    assert output_depth == input_depth * depth_multiplier
    output_height = checked_output_size(OP, input_height, padding[0], padding[1], filter_height,
                                       stride_height, dilation_height_factor)
    output_width = checked_output_size(OP, input_width, padding[2], padding[3], filter_width,
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
                        out[batch, out_y, out_x, output_channel] = reference_requantize(
                            acc, int(multiplier[output_channel]), int(shift[output_channel]),
                            output_offset, act_min, act_max, single_rounding)
    return out


def reference_conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                     input_zero_point: int, output_zero_point: int, multiplier, shift,
                     stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups: int = 1,
                     act_min: int = -128, act_max: int = 127,
                     single_rounding: bool = False) -> np.ndarray:
    """The plain ``conv2d``: arguments as TFLite has them, nothing checked.

    multiplier, shift: one per output channel; stride, dilation: (h, w);
    padding: (top, bottom, left, right).  Dispatches as a TFLite converter
    would: depthwise when every group has one input channel.
    """
    channels = x.shape[3]
    if groups == channels and weight.shape[3] == 1 and groups > 1:
        tflite_filter = weight[:, :, :, 0].transpose(1, 2, 0)[np.newaxis]  # [1, kh, kw, out]
        return _depthwise_conv_per_channel(x, tflite_filter, bias, input_zero_point,
                                           output_zero_point, multiplier, shift, stride, padding,
                                           dilation, act_min, act_max, single_rounding)
    return _conv_per_channel(x, weight, bias, input_zero_point, output_zero_point, multiplier,
                             shift, stride, padding, dilation, act_min, act_max, single_rounding)


# --- The public function ---------------------------------------------------

def conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
           input_zero_point: int, output_zero_point: int, multiplier, shift,
           stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1), groups: int = 1,
           act_min: int = -128, act_max: int = 127, rounding: str = "double") -> np.ndarray:
    """Int8 NHWC convolution, bit-exact with TFLite's ConvPerChannel / DepthwiseConvPerChannel.

    x: int8 ``[N, H, W, C]``.  weight: int8 ``[out, kh, kw, C / groups]``.
    bias: int32 ``[out]`` or None.  ``input_zero_point`` is the zero point
    itself (TFLite stores its negation, ``input_offset``).  multiplier / shift:
    per output channel (arrays of length ``out``) or scalars for all channels,
    as from ``quantize_multiplier``.  stride, dilation: int or (h, w).
    padding: int, (h, w) or (top, bottom, left, right); padded positions hold
    the input zero point.  ``groups == C`` with ``out == C * m`` is depthwise
    with depth multiplier m.  act_min/act_max: the output clamp.  rounding:
    ``"double"`` (TFLite's default build, TFLite Micro, CMSIS-NN) or
    ``"single"`` (TFLite's opt-in ``TFLITE_SINGLE_ROUNDING`` build).
    Returns int8 ``[N, out_h, out_w, out]``.
    """
    check_int8_array(OP, "x", x, ndim=4)
    check_int8_array(OP, "weight", weight, ndim=4)
    check_rounding(OP, rounding)
    batches, height, width, channels = x.shape
    out_channels, kernel_h, kernel_w, in_per_group = weight.shape
    groups = int(groups)
    if groups < 1 or channels % groups or out_channels % groups:
        raise ValueError(f"{OP}: groups={groups} must divide both the input channels "
                         f"({channels}) and the output channels ({out_channels})")
    if in_per_group != channels // groups:
        raise ValueError(f"{OP}: weight has {in_per_group} input channels per group but input "
                         f"has {channels} channels with groups={groups} (expected "
                         f"{channels // groups}); weight shape {weight.shape}, "
                         f"input shape {x.shape}")
    bias, multiplier, shift, input_zero_point, output_zero_point, act_min, act_max = \
        check_layer_parameters(OP, bias, out_channels, multiplier, shift, input_zero_point,
                               output_zero_point, act_min, act_max, rounding)
    stride_h, stride_w = as_pair(OP, "stride", stride)
    dilation_h, dilation_w = as_pair(OP, "dilation", dilation)
    top, bottom, left, right = as_padding(OP, padding)
    out_h = checked_output_size(OP, height, top, bottom, kernel_h, stride_h, dilation_h)
    out_w = checked_output_size(OP, width, left, right, kernel_w, stride_w, dilation_w)

    out = np.empty((batches, out_h, out_w, out_channels), dtype=np.int8)
    if stride_h == stride_w == 1:
        return conv2d_by_planes(x, weight, bias, input_zero_point, output_zero_point, multiplier,
                                shift, (top, bottom, left, right), (dilation_h, dilation_w),
                                act_min, act_max, rounding == "single", out)
    return conv2d_by_rows(x, weight, bias, input_zero_point, output_zero_point, multiplier,
                          shift, (stride_h, stride_w), (top, bottom, left, right),
                          (dilation_h, dilation_w), act_min, act_max, rounding == "single", out)
