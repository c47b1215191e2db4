"""Random int8 layers with their expected outputs from the Python kernels."""
import numpy as np

from tinytorch.kernels import int8 as kernels
from tinytorch.kernels.int8.requantize import quantize_multiplier


def random_requantization(rng, channels: int, rounding: str):
    """Realistic multipliers (from real scales) or, sometimes, any legal pair."""
    if rng.random() < 0.7:
        pairs = [quantize_multiplier(float(rng.uniform(1e-4, 0.5) * 2.0 ** rng.integers(-6, 4)),
                                     rounding) for _ in range(channels)]
        multiplier = np.array([m for m, _ in pairs], dtype=np.int32)
        shift = np.array([s for _, s in pairs], dtype=np.int32)
    else:
        multiplier = rng.integers(0, 2**31, channels, dtype=np.int64).astype(np.int32)
        shift = rng.integers(-31, 8, channels).astype(np.int32)
    return multiplier, shift


def random_clamp(rng, zero_point: int):
    if rng.random() < 0.5:
        return -128, 127
    low = max(-128, zero_point)
    return low, int(rng.integers(low, 128))


def random_int8(rng, shape, low=-128):
    return rng.integers(low, 128, shape).astype(np.int8)


def random_bias(rng, channels):
    scale = 2 ** int(rng.integers(4, 31))
    return rng.integers(-scale, scale, channels).astype(np.int32)


def random_conv(rng):
    kind = rng.choice(["plain", "grouped", "depthwise"])
    height, width = (int(v) for v in rng.integers(1, 9, 2))
    kernel = tuple(int(v) for v in rng.integers(1, 4, 2))
    stride = tuple(int(v) for v in rng.integers(1, 3, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 3, 2)) if rng.random() < 0.3 else (1, 1)
    padding = tuple(int(v) for v in rng.integers(0, 3, 4))
    if kind == "depthwise":
        channels = int(rng.integers(1, 10))
        groups = channels
        out_channels = channels * int(rng.choice([1, 1, 2, 3]))
    elif kind == "grouped":
        groups = int(rng.integers(2, 4))
        channels = groups * int(rng.integers(1, 4))
        out_channels = groups * int(rng.integers(1, 4))
    else:
        groups = 1
        channels = int(rng.integers(1, 12))
        out_channels = int(rng.integers(1, 12))
    # Grow the input until the (dilated) window fits.
    height = max(height, dilation[0] * (kernel[0] - 1) + 1)
    width = max(width, dilation[1] * (kernel[1] - 1) + 1)
    rounding = str(rng.choice(["double", "single"]))
    x = random_int8(rng, (1, height, width, channels))
    weight = random_int8(rng, (out_channels, *kernel, channels // groups), low=-127)
    bias = random_bias(rng, out_channels)
    multiplier, shift = random_requantization(rng, out_channels, rounding)
    input_zero_point, output_zero_point = (int(v) for v in rng.integers(-128, 128, 2))
    act_min, act_max = random_clamp(rng, output_zero_point)
    expected = kernels.conv2d(x, weight, bias, input_zero_point, output_zero_point, multiplier,
                              shift, stride, padding, dilation, groups, act_min, act_max, rounding)
    return dict(x=x, weight=weight, bias=bias, multiplier=multiplier, shift=shift, stride=stride,
                padding=padding, dilation=dilation, groups=groups, rounding=rounding,
                input_zero_point=input_zero_point, output_zero_point=output_zero_point,
                act_min=act_min, act_max=act_max, expected=expected,
                depthwise=kind == "depthwise")


def random_fully_connected(rng):
    in_features, out_features = (int(v) for v in rng.integers(1, 40, 2))
    rounding = str(rng.choice(["double", "single"]))
    x = random_int8(rng, (1, in_features))
    weight = random_int8(rng, (out_features, in_features), low=-127)
    bias = random_bias(rng, out_features)
    multiplier, shift = random_requantization(rng, out_features, rounding)
    input_zero_point, output_zero_point = (int(v) for v in rng.integers(-128, 128, 2))
    act_min, act_max = random_clamp(rng, output_zero_point)
    expected = kernels.fully_connected(x, weight, bias, input_zero_point, output_zero_point,
                                       multiplier, shift, act_min, act_max, rounding)
    return dict(x=x, weight=weight, bias=bias, multiplier=multiplier, shift=shift,
                rounding=rounding, input_zero_point=input_zero_point,
                output_zero_point=output_zero_point, act_min=act_min, act_max=act_max,
                expected=expected)


def random_pool(rng, kind):
    height, width = (int(v) for v in rng.integers(1, 9, 2))
    channels = int(rng.integers(1, 6))
    act_min, act_max = random_clamp(rng, int(rng.integers(-128, 128)))
    x = random_int8(rng, (1, height, width, channels))
    if kind == "global":
        expected = kernels.avg_pool2d(x, (height, width), (height, width), 0, act_min, act_max)
        return dict(x=x, act_min=act_min, act_max=act_max, expected=expected)
    kernel = (int(rng.integers(1, height + 1)), int(rng.integers(1, width + 1)))
    stride = tuple(int(v) for v in rng.integers(1, 3, 2))
    # Padding smaller than the kernel, so that every window covers some input.
    padding = (int(rng.integers(0, kernel[0])), int(rng.integers(0, kernel[0])),
               int(rng.integers(0, kernel[1])), int(rng.integers(0, kernel[1])))
    function = kernels.max_pool2d if kind == "max" else kernels.avg_pool2d
    expected = function(x, kernel, stride, padding, act_min, act_max)
    return dict(x=x, kernel=kernel, stride=stride, padding=padding, act_min=act_min,
                act_max=act_max, expected=expected)


def random_add(rng):
    shape = (1, int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(1, 6)))
    rounding = str(rng.choice(["double", "single"]))
    scales = rng.uniform(0.01, 0.2, 3)
    parameters = kernels.add_parameters(*scales, rounding=rounding)
    zero_points = [int(v) for v in rng.integers(-128, 128, 3)]
    act_min, act_max = random_clamp(rng, zero_points[2])
    a, b = random_int8(rng, shape), random_int8(rng, shape)
    expected = kernels.add(a, b, zero_points[0], parameters["a_multiplier"], parameters["a_shift"],
                           zero_points[1], parameters["b_multiplier"], parameters["b_shift"],
                           zero_points[2], parameters["output_multiplier"],
                           parameters["output_shift"], act_min, act_max,
                           parameters["left_shift"], rounding)
    c_parameters = dict(parameters, a_zero_point=zero_points[0], b_zero_point=zero_points[1],
                        output_zero_point=zero_points[2], act_min=act_min, act_max=act_max,
                        single_rounding=int(rounding == "single"))
    return dict(a=a, b=b, parameters=c_parameters, expected=expected)


def random_softmax(rng):
    """Rows of any length up to the longest (511), of a few kinds: anything, close values,
    all equal; an input scale from the smallest TFLite accepts to a capped one."""
    rounding = str(rng.choice(["double", "single"]))
    scale = float(10 ** rng.uniform(np.log10(1.6e-8), 3))
    depth = int(rng.choice([1, 2, 10, int(rng.integers(1, 64)), 511]))
    kind = rng.integers(3)
    x = random_int8(rng, (int(rng.integers(1, 5)), depth))
    if kind == 1:
        x = (x // int(rng.integers(2, 64))).astype(np.int8)
    elif kind == 2:
        x[:] = x[0, 0]
    parameters = kernels.softmax_parameters(scale, rounding=rounding)
    expected = kernels.softmax(x, **parameters, rounding=rounding)
    return dict(x=x, parameters=dict(parameters, single_rounding=int(rounding == "single")),
                expected=expected)
