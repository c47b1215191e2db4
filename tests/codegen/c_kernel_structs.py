"""ctypes mirrors of the C kernels' parameter structs (codegen/c/tinytorch_kernels.h)."""
import ctypes

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
