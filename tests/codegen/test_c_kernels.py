"""Every C kernel against the Python int8 kernels, on random shapes and parameters (host build).

The Python kernels of tinytorch.kernels.int8 are the reference: each case
draws a random layer (shape, stride, padding, dilation, groups, zero points,
multipliers and shifts in their full legal ranges, clamp, rounding mode), runs
both, and requires equal bytes.  The DSP path of the same kernels is checked
on an emulated Cortex-M4 in test_c_kernels_on_cortex_m.py.
"""
import ctypes

import numpy as np
import pytest

from tinytorch.kernels import int8 as kernels

from c_kernel_structs import AddParameters, Quantization, SoftmaxParameters, Window
from random_int8_layers import (random_add, random_conv, random_fully_connected, random_pool,
                                random_softmax)


def pointer(array: np.ndarray, ctype=ctypes.c_int8):
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def run_conv(library, case):
    x, weight, bias, p = case["x"], case["weight"], case["bias"], case
    out_shape = p["expected"].shape
    out = np.zeros(out_shape, dtype=np.int8)
    window = Window(*x.shape[1:], *out_shape[1:], *weight.shape[1:3], *p["stride"],
                    *p["dilation"], p["padding"][0], p["padding"][2])
    quantization = Quantization(p["input_zero_point"], p["output_zero_point"], p["act_min"],
                                p["act_max"], p["rounding"] == "single")
    multiplier = np.asarray(p["multiplier"], dtype=np.int32)
    shift = np.asarray(p["shift"], dtype=np.int32)
    if p["depthwise"]:
        depthwise_weight = np.ascontiguousarray(weight[..., 0].transpose(1, 2, 0))
        library.tt_depthwise_conv2d(ctypes.byref(window), ctypes.byref(quantization), pointer(x),
                                    pointer(depthwise_weight), pointer(bias, ctypes.c_int32),
                                    pointer(multiplier, ctypes.c_int32),
                                    pointer(shift, ctypes.c_int32), pointer(out))
    else:
        scratch = np.zeros(2 * weight[0].size, dtype=np.int16)
        library.tt_conv2d(ctypes.byref(window), p["groups"], ctypes.byref(quantization),
                          pointer(x), pointer(weight), pointer(bias, ctypes.c_int32),
                          pointer(multiplier, ctypes.c_int32), pointer(shift, ctypes.c_int32),
                          None, pointer(out), pointer(scratch, ctypes.c_int16))
    return out


@pytest.mark.parametrize("seed", range(60))
def test_conv2d_and_depthwise_match_python(host_kernels, seed):
    case = random_conv(np.random.default_rng(seed))
    np.testing.assert_array_equal(run_conv(host_kernels, case), case["expected"])


@pytest.mark.parametrize("seed", range(40))
def test_fully_connected_matches_python(host_kernels, seed):
    p = random_fully_connected(np.random.default_rng(seed))
    out = np.zeros(p["expected"].shape, dtype=np.int8)
    quantization = Quantization(p["input_zero_point"], p["output_zero_point"], p["act_min"],
                                p["act_max"], p["rounding"] == "single")
    scratch = np.zeros(p["x"].shape[1], dtype=np.int16)
    host_kernels.tt_fully_connected(
        p["x"].shape[1], p["weight"].shape[0], ctypes.byref(quantization), pointer(p["x"]),
        pointer(p["weight"]), pointer(p["bias"], ctypes.c_int32),
        pointer(p["multiplier"], ctypes.c_int32), pointer(p["shift"], ctypes.c_int32), None,
        pointer(out), pointer(scratch, ctypes.c_int16))
    np.testing.assert_array_equal(out, p["expected"])


@pytest.mark.parametrize("kind", ["max", "avg", "global"])
@pytest.mark.parametrize("seed", range(20))
def test_pooling_matches_python(host_kernels, kind, seed):
    p = random_pool(np.random.default_rng(seed), kind)
    x, expected = p["x"], p["expected"]
    out = np.zeros(expected.shape, dtype=np.int8)
    if kind == "global":
        host_kernels.tt_global_avg_pool2d(*x.shape[1:], p["act_min"], p["act_max"], pointer(x),
                                          pointer(out))
    else:
        window = Window(*x.shape[1:], *expected.shape[1:], *p["kernel"], *p["stride"], 1, 1,
                        p["padding"][0], p["padding"][2])
        function = host_kernels.tt_max_pool2d if kind == "max" else host_kernels.tt_avg_pool2d
        function(ctypes.byref(window), p["act_min"], p["act_max"], pointer(x), pointer(out))
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("seed", range(20))
def test_add_matches_python(host_kernels, seed):
    p = random_add(np.random.default_rng(seed))
    out = np.zeros(p["expected"].shape, dtype=np.int8)
    parameters = AddParameters(**p["parameters"])
    host_kernels.tt_add(ctypes.byref(parameters), out.size, pointer(p["a"]), pointer(p["b"]),
                        pointer(out))
    np.testing.assert_array_equal(out, p["expected"])


@pytest.mark.parametrize("seed", range(60))
def test_softmax_matches_python(host_kernels, seed):
    p = random_softmax(np.random.default_rng(seed))
    x = p["x"]
    out = np.zeros(x.shape, dtype=np.int8)
    parameters = SoftmaxParameters(**p["parameters"])
    host_kernels.tt_softmax(ctypes.byref(parameters), x.shape[0], x.shape[1], pointer(x),
                            pointer(out))
    np.testing.assert_array_equal(out, p["expected"])


def test_requantization_edge_cases_match_python(host_kernels):
    # Whole-range multipliers and shifts, through a 1x1 fully connected layer
    # whose weight is 1 and whose input is 0: output = requantize(bias).
    rng = np.random.default_rng(7)
    for rounding in ("double", "single"):
        count = 4000
        bias = rng.integers(-2**31, 2**31, count, dtype=np.int64).astype(np.int32)
        bias[:8] = [-2**31, 2**31 - 1, 0, 1, -1, 2**30, -2**30, 12345]
        multiplier = rng.integers(0, 2**31, count, dtype=np.int64).astype(np.int32)
        shift = rng.integers(-31, 31, count).astype(np.int32)
        x = np.zeros((1, 1), dtype=np.int8)
        for start in range(0, count, 500):
            part = slice(start, start + 500)
            weight = np.ones((500, 1), dtype=np.int8)
            expected = kernels.fully_connected(x, weight, bias[part], 0, 0, multiplier[part],
                                               shift[part], rounding=rounding)
            out = np.zeros((1, 500), dtype=np.int8)
            quantization = Quantization(0, 0, -128, 127, rounding == "single")
            b, m, s = (np.ascontiguousarray(a[part]) for a in (bias, multiplier, shift))
            scratch = np.zeros(1, np.int16)
            host_kernels.tt_fully_connected(1, 500, ctypes.byref(quantization), pointer(x),
                                            pointer(weight), pointer(b, ctypes.c_int32),
                                            pointer(m, ctypes.c_int32), pointer(s, ctypes.c_int32),
                                            None, pointer(out), pointer(scratch, ctypes.c_int16))
            np.testing.assert_array_equal(out, expected)
