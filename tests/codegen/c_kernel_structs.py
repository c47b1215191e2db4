"""ctypes mirrors of the C kernels' parameter structs (codegen/c/tinytorch_kernels.h)."""
import ctypes

import numpy as np

int32 = ctypes.c_int32


class Window(ctypes.Structure):
    _fields_ = [(name, int32) for name in (
        "input_height", "input_width", "input_channels", "output_height", "output_width",
        "output_channels", "kernel_height", "kernel_width", "stride_height", "stride_width",
        "dilation_height", "dilation_width", "pad_top", "pad_left")]


class Quantization(ctypes.Structure):
    _fields_ = [(name, int32) for name in (
        "input_zero_point", "output_zero_point", "act_min", "act_max", "single_rounding")]


class AddParameters(ctypes.Structure):
    _fields_ = [(name, int32) for name in (
        "a_zero_point", "a_multiplier", "a_shift", "b_zero_point", "b_multiplier", "b_shift",
        "output_zero_point", "output_multiplier", "output_shift", "left_shift", "act_min",
        "act_max", "single_rounding")]


class SoftmaxParameters(ctypes.Structure):
    _fields_ = [(name, int32) for name in (
        "input_multiplier", "input_left_shift", "diff_min", "single_rounding")]


RESCALE = np.dtype([("bias", "<i4"), ("multiplier", "<i4"), ("offset", "<i4"),
                    ("left_shift", "u1"), ("right_shift", "u1"), ("padding", "u1", 2)])


def rescale_bytes(rows) -> np.ndarray:
    """Rows of bounded_rescale as C's tt_channel_rescale array (16 bytes each)."""
    table = np.zeros(len(rows), RESCALE)
    for i, row in enumerate(rows):
        for name, value in zip(RESCALE.names, row):
            table[name][i] = value
    return table
