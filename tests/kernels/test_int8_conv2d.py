"""int8 conv2d against its plain TFLite-style loops, reference_conv2d (and PyTorch)."""
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinytorch.kernels.int8 import conv2d, conv2d_fast, quantize_multiplier
from tinytorch.kernels.int8.conv2d import reference_conv2d
from tinytorch.kernels.int8.requantize import (INT32_MAX, INT32_MIN, channel_constants,
                                               reference_multiply_by_quantized_multiplier,
                                               requantize_with_constants, to_int32)


def make_case(rng, batches, height, width, channels, out_channels, kernel, groups,
              multiplier_range=(1e-4, 5e-3), zero_points=None):
    x = rng.integers(-128, 128, (batches, height, width, channels), dtype=np.int8)
    weight = rng.integers(-127, 128, (out_channels,) + tuple(kernel) + (channels // groups,),
                          dtype=np.int8)
    bias = rng.integers(-20000, 20000, out_channels, dtype=np.int32)
    pairs = [quantize_multiplier(s) for s in rng.uniform(*multiplier_range, out_channels)]
    multiplier = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    input_zero_point, output_zero_point = (zero_points if zero_points is not None
                                           else rng.integers(-128, 128, 2))
    return x, weight, bias, int(input_zero_point), int(output_zero_point), multiplier, shift


def check_against_reference(case, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                            groups=1, act_min=-128, act_max=127, rounding="double"):
    got = conv2d(*case, stride=stride, padding=padding, dilation=dilation, groups=groups,
                 act_min=act_min, act_max=act_max, rounding=rounding)
    expected = reference_conv2d(*case, stride=stride, padding=padding, dilation=dilation,
                                groups=groups, act_min=act_min, act_max=act_max,
                                single_rounding=rounding == "single")
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, expected)
    return got


CONFIGS = [
    # (N, H, W, C, out, kernel, groups, stride, padding, dilation, act_min, act_max)
    (2, 5, 6, 3, 4, (3, 3), 1, (1, 1), (1, 1, 1, 1), (1, 1), -128, 127),
    (1, 7, 7, 2, 3, (3, 3), 1, (2, 2), (0, 1, 0, 1), (1, 1), -128, 127),     # TFLite SAME, stride 2
    (1, 6, 5, 4, 6, (2, 3), 2, (1, 2), (2, 0, 1, 3), (1, 1), -128, 127),     # groups, asymmetric
    (1, 7, 7, 3, 3, (3, 3), 3, (1, 1), (1, 1, 1, 1), (1, 1), 0, 127),        # depthwise + ReLU
    (2, 5, 5, 2, 6, (3, 3), 2, (1, 1), (1, 1, 1, 1), (1, 1), -128, 127),     # depth multiplier 3
    (1, 8, 8, 2, 2, (3, 3), 1, (1, 1), (2, 2, 2, 2), (2, 2), -128, 127),     # dilation 2
    (1, 7, 6, 3, 3, (2, 2), 3, (2, 1), (0, 1, 1, 0), (2, 1), -20, 60),       # depthwise, dilated
    (1, 4, 4, 5, 4, (1, 1), 1, (1, 1), (0, 0, 0, 0), (1, 1), -128, 127),     # pointwise
    (1, 3, 3, 2, 3, (3, 3), 1, (1, 1), (4, 4, 4, 4), (1, 1), -128, 127),     # all-padding windows
]


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("config", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_matches_reference(config, rounding):
    n, h, w, c, out, kernel, groups, stride, padding, dilation, act_min, act_max = config
    rng = np.random.default_rng(zlib.crc32(repr((config, rounding)).encode()))
    case = make_case(rng, n, h, w, c, out, kernel, groups)
    check_against_reference(case, stride, padding, dilation, groups, act_min, act_max, rounding)


def test_single_and_double_rounding_both_exact_and_different():
    rng = np.random.default_rng(11)
    case = make_case(rng, 2, 6, 6, 4, 8, (3, 3), 1)
    double = check_against_reference(case, padding=(1, 1, 1, 1), rounding="double")
    single = check_against_reference(case, padding=(1, 1, 1, 1), rounding="single")
    difference = np.abs(double.astype(int) - single.astype(int))
    assert difference.max() == 1 and np.count_nonzero(difference) > 0


def test_all_padding_windows_give_the_requantized_bias():
    rng = np.random.default_rng(5)
    x, weight, bias, zero_in, zero_out, multiplier, shift = make_case(rng, 1, 2, 2, 2, 3, (2, 2), 1)
    # Padding 3 on every side: the corner windows see no input at all.
    out = conv2d(x, weight, bias, zero_in, zero_out, multiplier, shift, padding=3)
    for o in range(3):
        expected = reference_multiply_by_quantized_multiplier(
            int(bias[o]), int(multiplier[o]), int(shift[o])) + zero_out
        assert out[0, 0, 0, o] == np.clip(expected, -128, 127)


def test_padded_positions_hold_the_zero_point():
    # An input equal to its zero point everywhere is real zero: with zero bias
    # every output, padded or not, is the output zero point.
    x = np.full((1, 4, 4, 2), 37, dtype=np.int8)
    weight = np.random.default_rng(0).integers(-127, 128, (3, 3, 3, 2), dtype=np.int8)
    out = conv2d(x, weight, None, 37, -9, 1 << 30, -2, padding=(2, 1, 0, 3))
    assert np.all(out == -9)


def test_activation_clamp_is_applied():
    rng = np.random.default_rng(9)
    case = make_case(rng, 1, 5, 5, 3, 4, (3, 3), 1, multiplier_range=(0.01, 0.05))
    out = check_against_reference(case, padding=(1, 1, 1, 1), act_min=-10, act_max=25)
    assert out.min() == -10 and out.max() == 25


def test_large_accumulators_and_int32_edge_parameters():
    # Extreme inputs and weights: |acc| reaches ~2.4e6 per output; the largest
    # multiplier with shift 30 makes the left-shifted value wrap in int32.
    rng = np.random.default_rng(2)
    x = rng.choice(np.array([-128, 127], dtype=np.int8), size=(1, 4, 4, 8))
    weight = rng.choice(np.array([-127, 127], dtype=np.int8), size=(4, 3, 3, 8))
    bias = np.array([2**31 - 1, -2**31, 0, 12345], dtype=np.int32)
    multiplier = np.array([2**31 - 1, 1 << 30, 0, 2**31 - 1], dtype=np.int32)
    for shift in ([-31, 0, 0, 30], [5, -1, -31, -20]):
        for rounding in ("double", "single"):
            case = (x, weight, bias, -128, 127, multiplier, np.array(shift, dtype=np.int32))
            check_against_reference(case, padding=(1, 1, 1, 1), rounding=rounding)


@pytest.mark.parametrize("groups, out_channels", [(1, 4), (2, 4), (4, 8)])
def test_threaded_and_single_thread_paths_agree(monkeypatch, groups, out_channels):
    rng = np.random.default_rng(groups)
    case = make_case(rng, 2, 5, 5, 4, out_channels, (3, 3), groups)
    monkeypatch.setattr(conv2d_fast, "PARALLEL_MIN_MACS", 0)
    threaded = check_against_reference(case, padding=(1, 1, 1, 1), groups=groups)
    monkeypatch.setattr(conv2d_fast, "PARALLEL_MIN_MACS", 2**62)
    single_thread = conv2d(*case, padding=1, groups=groups)
    np.testing.assert_array_equal(threaded, single_thread)


@pytest.mark.parametrize("single_rounding", [False, True])
@pytest.mark.parametrize("config", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_stride_1_planes_and_row_kernels_agree(config, single_rounding):
    # conv2d runs stride 1 on the planes; the row kernels, which handle the
    # other strides, must give the same bytes on the same problems.  Both
    # entry points are called directly, with arguments as conv2d passes them.
    n, h, w, c, out, kernel, groups, _, padding, dilation, act_min, act_max = config
    rng = np.random.default_rng(zlib.crc32(repr(config).encode()))
    x, weight, bias, zero_in, zero_out, multiplier, shift = make_case(rng, n, h, w, c, out,
                                                                      kernel, groups)
    out_h = h + padding[0] + padding[1] - dilation[0] * (kernel[0] - 1)  # stride 1
    out_w = w + padding[2] + padding[3] - dilation[1] * (kernel[1] - 1)
    arguments = (x, weight, bias, zero_in, zero_out, multiplier, shift)
    clamp = (act_min, act_max, single_rounding)
    planes = conv2d_fast.conv2d_by_planes(*arguments, padding, dilation, *clamp,
                                          np.empty((n, out_h, out_w, out), dtype=np.int8))
    rows = conv2d_fast.conv2d_by_rows(*arguments, (1, 1), padding, dilation, *clamp,
                                      np.empty((n, out_h, out_w, out), dtype=np.int8))
    np.testing.assert_array_equal(rows, planes)
    np.testing.assert_array_equal(planes, reference_conv2d(
        *arguments, padding=padding, dilation=dilation, groups=groups, act_min=act_min,
        act_max=act_max, single_rounding=single_rounding))


def test_stride_1_batch_larger_than_one_chunk():
    # 120 images of 9x9 padded positions span three of the plane kernel's
    # chunks of CHUNK_POSITIONS; the second case is depthwise with a depth
    # multiplier of 2, dilated, with single rounding.
    rng = np.random.default_rng(21)
    case = make_case(rng, 120, 8, 8, 1, 2, (3, 3), 1)
    assert 120 * 9 * 9 > 2 * conv2d_fast.CHUNK_POSITIONS
    check_against_reference(case, padding=(1, 1, 1, 1))
    case = make_case(rng, 120, 5, 4, 2, 4, (2, 3), 2)
    check_against_reference(case, padding=(0, 1, 2, 0), dilation=(2, 1), groups=2,
                            rounding="single")


EDGE_ACCUMULATORS = [INT32_MIN, INT32_MIN + 1, -2**30 - 1, -2**30, -3, -1,
                     0, 1, 3, 2**30, 2**31 - 2, INT32_MAX, 123456789, -987654321]
EDGE_MULTIPLIERS = [INT32_MIN, -2**30, -1, 0, 1, 2**30, 2**30 + 1, 1518500250, INT32_MAX]


@pytest.mark.parametrize("shift", range(-31, 31))
def test_requantize_with_constants_matches_reference(shift):
    # The conv kernel's per-channel form of the requantization, against the
    # reference on the edges: INT32_MIN (also squared), every shift, exact
    # ties at every right shift, wrapping left shifts, clamps.
    ties = [(2 * k + 1) << (-shift - 1) for k in range(-3, 3)] if shift < 0 else []
    accumulators = EDGE_ACCUMULATORS + [to_int32(t) for t in ties]
    for multiplier in EDGE_MULTIPLIERS:
        constants = channel_constants(multiplier, shift)
        for single_rounding in (False, True):
            if single_rounding and multiplier < 0:
                continue  # refused by the public functions
            for acc in accumulators:
                value = reference_multiply_by_quantized_multiplier(acc, multiplier, shift,
                                                                   single_rounding)
                for zero_point, act_min, act_max in ((0, -128, 127), (-128, -128, 127),
                                                     (127, -20, 60)):
                    expected = min(max(to_int32(value + zero_point), act_min), act_max)
                    got = requantize_with_constants(acc, *constants, zero_point, act_min, act_max,
                                                    single_rounding)
                    assert got == expected, (acc, multiplier, shift, single_rounding, zero_point)


@st.composite
def conv_problems(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    in_per_group = draw(st.integers(1, 2))
    channels = groups * in_per_group
    out_channels = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, 3)) for _ in range(4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    span = [dilation[i] * (kernel[i] - 1) + 1 for i in range(2)]
    height = draw(st.integers(max(1, span[0] - padding[0] - padding[1]), 6))
    width = draw(st.integers(max(1, span[1] - padding[2] - padding[3]), 6))
    seed = draw(st.integers(0, 2**32 - 1))
    act_min = draw(st.sampled_from([-128, -128, 0, -5]))
    act_max = draw(st.sampled_from([127, 127, 6, 100]))
    rounding = draw(st.sampled_from(["double", "single"]))
    zero_points = (draw(st.sampled_from([-128, 0, 127, 5])),
                   draw(st.sampled_from([-128, 0, 127, -7])))
    return (seed, height, width, channels, out_channels, kernel, groups, stride, padding,
            dilation, act_min, act_max, rounding, zero_points)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(conv_problems())
def test_random_problems_match_reference(problem):
    (seed, height, width, channels, out_channels, kernel, groups, stride, padding, dilation,
     act_min, act_max, rounding, zero_points) = problem
    rng = np.random.default_rng(seed)
    case = make_case(rng, 1, height, width, channels, out_channels, kernel, groups,
                     multiplier_range=(1e-4, 0.3), zero_points=zero_points)
    check_against_reference(case, stride, padding, dilation, groups, act_min, act_max, rounding)


def test_layout_and_grouping_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    for groups, channels, out_channels in [(1, 3, 4), (2, 4, 6), (4, 4, 8)]:
        x = rng.integers(-6, 7, (2, 7, 6, channels), dtype=np.int8)
        weight = rng.integers(-3, 4, (out_channels, 3, 2, channels // groups), dtype=np.int8)
        bias = rng.integers(-20, 20, out_channels, dtype=np.int32)
        # multiplier 2**30 with shift 1 is exactly 1.0: the output is the accumulator itself.
        out = conv2d(x, weight, bias, 2, 0, 1 << 30, 1, stride=(2, 1), padding=(1, 1, 2, 2),
                     dilation=(1, 2), groups=groups)
        expected = torch.nn.functional.conv2d(
            torch.tensor(x.astype(np.float64) - 2).permute(0, 3, 1, 2),
            torch.tensor(weight.astype(np.float64)).permute(0, 3, 1, 2),
            torch.tensor(bias.astype(np.float64)), stride=(2, 1), padding=(1, 2),
            dilation=(1, 2), groups=groups).permute(0, 2, 3, 1).numpy()
        assert np.abs(expected).max() < 128  # the test would be void if it clamped
        np.testing.assert_array_equal(out, expected.astype(np.int8))


def test_errors_name_the_op_and_the_shapes():
    x = np.zeros((1, 5, 5, 4), dtype=np.int8)
    weight = np.zeros((2, 3, 3, 3), dtype=np.int8)
    with pytest.raises(ValueError, match="int8 conv2d: weight has 3 input channels per group "
                                         "but input has 4 channels with groups=1"):
        conv2d(x, weight, None, 0, 0, 1 << 30, 0)
    good_weight = np.zeros((2, 3, 3, 4), dtype=np.int8)
    with pytest.raises(TypeError, match="x must have dtype int8, got float32"):
        conv2d(x.astype(np.float32), good_weight, None, 0, 0, 1 << 30, 0)
    with pytest.raises(TypeError, match="bias must be an int32"):
        conv2d(x, good_weight, np.zeros(2, dtype=np.int64), 0, 0, 1 << 30, 0)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        conv2d(x, good_weight, np.zeros(3, dtype=np.int32), 0, 0, 1 << 30, 0)
    with pytest.raises(ValueError, match="groups=3 must divide"):
        conv2d(x, good_weight, None, 0, 0, 1 << 30, 0, groups=3)
    with pytest.raises(ValueError, match=r"multiplier must be a scalar or have shape \(2,\)"):
        conv2d(x, good_weight, None, 0, 0, np.ones(3, dtype=np.int32), 0)
    with pytest.raises(ValueError, match=r"shift must be in \[-31, 30\]"):
        conv2d(x, good_weight, None, 0, 0, 1 << 30, 31)
    with pytest.raises(ValueError, match="act_min <= act_max"):
        conv2d(x, good_weight, None, 0, 0, 1 << 30, 0, act_min=10, act_max=5)
    with pytest.raises(ValueError, match="input_zero_point must be in"):
        conv2d(x, good_weight, None, 200, 0, 1 << 30, 0)
    with pytest.raises(ValueError, match="does not fit"):
        conv2d(x, np.zeros((2, 7, 7, 4), dtype=np.int8), None, 0, 0, 1 << 30, 0)
    with pytest.raises(ValueError, match="padding must be"):
        conv2d(x, good_weight, None, 0, 0, 1 << 30, 0, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="4 dimensions"):
        conv2d(x[0], good_weight, None, 0, 0, 1 << 30, 0)
