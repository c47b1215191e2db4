"""int8 softmax and softmax_parameters against the plain TFLite-style code of
kernels/int8/softmax.py, against float softmax (an independent oracle, within one
output step) and by hand.  TFLite Micro itself is the oracle of
test_int8_softmax_tflite_micro.py."""
import importlib

import numpy as np
import pytest

from tinytorch.kernels.int8 import softmax, softmax_parameters
from tinytorch.kernels.int8.softmax import (MAX_ROW_LENGTH, reference_softmax,
                                            reference_softmax_parameters)

# From just above the smallest scale TFLite accepts (input_scale * 2^26 > 1) to scales
# so large that the Q5.26 rescale factor is capped (every difference but 0 is negligible).
SCALES = [1.6e-8, 3e-7, 1e-5, 0.001, 0.0146, 0.05, 0.1447, 0.4, 1.0, 3.0, 40.0, 1000.0]


def edge_rows(depth, rng):
    rows = [np.full(depth, value) for value in (-128, 127, 0, 5)]   # all equal
    one_huge = np.full(depth, -128)
    one_huge[rng.integers(depth)] = 127
    rows.append(one_huge)
    rows.append(rng.integers(-128, 128, depth))                     # anything
    rows.append(rng.integers(-3, 4, depth))                         # close values
    rows.append(np.linspace(-128, 127, depth).round())              # evenly spread
    return np.array(rows, dtype=np.int8)


def check(x, scale, rounding="double"):
    parameters = softmax_parameters(scale, rounding=rounding)
    assert parameters == reference_softmax_parameters(scale, 1.0, rounding == "single")
    got = softmax(x, **parameters, rounding=rounding)
    expected = reference_softmax(x, **parameters, single_rounding=rounding == "single")
    assert got.dtype == np.int8 and got.shape == x.shape
    np.testing.assert_array_equal(got, expected)
    return got


def float_softmax(x, scale):
    real = float(np.float32(scale)) * x.astype(np.float64)
    e = np.exp(real - real.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("scale", SCALES)
def test_matches_reference_on_edge_and_random_rows(scale, rounding):
    rng = np.random.default_rng(int(scale * 1e6) % 1000)
    for depth in (1, 2, 3, 10, 12, 37, MAX_ROW_LENGTH):
        check(edge_rows(depth, rng), scale, rounding)
    check(rng.integers(-128, 128, (2, 3, 4, 9)).astype(np.int8), scale, rounding)  # any rank


def test_parameters_by_hand():
    # scale 2^-20: 2^-20 * 2^26 = 64 = 0.5 * 2^7, so (2^30, 7); diff_min = -31 * 2^26 / 2^7.
    assert softmax_parameters(2.0**-20) == {"input_multiplier": 1 << 30, "input_left_shift": 7,
                                            "diff_min": -31 * (1 << 19)}
    # Large scales cap the factor at 2^31 - 1 (single rounding: 2^30 - 1): one difference
    # step is then far below exp(-31), so diff_min keeps only the row's maximum.
    assert softmax_parameters(1000.0) == {"input_multiplier": (1 << 31) - 1,
                                          "input_left_shift": 31, "diff_min": 0}
    assert softmax_parameters(1000.0, rounding="single") == {
        "input_multiplier": (1 << 31) - 2, "input_left_shift": 30, "diff_min": -1}
    # The scale is read as float32, as a .tflite file stores it.
    assert softmax_parameters(0.1) == softmax_parameters(float(np.float32(0.1)))
    for scale in SCALES:
        for single in (False, True):
            assert softmax_parameters(scale, rounding="single" if single else "double") == \
                reference_softmax_parameters(scale, 1.0, single)


def test_too_small_a_scale_is_refused():
    # TFLite requires input_scale * beta * 2^26 > 1 (QuantizeMultiplierGreaterThanOne).
    with pytest.raises(ValueError, match=r"int8 softmax: input_scale \* beta \* 2\^26"):
        softmax_parameters(2.0**-26)
    with pytest.raises(ValueError, match="int8 softmax"):
        softmax_parameters(float("nan"))


@pytest.mark.parametrize("scale", [1e-6, 0.1447, 40.0])
def test_equal_values_share_the_probability_by_hand(scale):
    # n equal values: 1/n each, 256/n - 128 in the output's units (2 -> 0, 4 -> -64);
    # a single value is 1.0 = 256 - 128, clamped to 127.
    parameters = softmax_parameters(scale)
    for depth, expected in ((1, 127), (2, 0), (4, -64), (8, -96), (256, -127), (511, -127)):
        out = softmax(np.full((3, depth), 17, dtype=np.int8), **parameters)
        assert (out == expected).all(), (depth, out)


def test_below_diff_min_gives_minus_128():
    # scale 4: factor 2^28, left shift 29, diff_min = -floor(31 / 8) = -3; -4 is skipped.
    parameters = softmax_parameters(4.0)
    assert parameters["diff_min"] == -3
    out = softmax(np.array([[10, 6, 7]], dtype=np.int8), **parameters)
    np.testing.assert_array_equal(out, [[127, -128, -128]])


@pytest.mark.parametrize("scale", SCALES)
def test_close_to_float_softmax(scale):
    # An independent oracle: dequantized, the output is within one step (1/256) of
    # softmax computed in float64: half a step of rounding, or a whole one where a
    # probability of 1.0 (256 - 128) is clamped to 127; gemmlowp's exp and reciprocal
    # add about 1e-7.
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.integers(-128, 128, (200, 10)),
                        rng.integers(-6, 6, (200, 10))]).astype(np.int8)
    out = softmax(x, **softmax_parameters(scale))
    probabilities = (out.astype(np.float64) + 128) / 256
    assert np.abs(probabilities - float_softmax(x, scale)).max() <= 1 / 256 + 1e-6


@pytest.mark.parametrize("kwargs, message", [
    ({"input_multiplier": -1}, "input_multiplier must be in"),
    ({"input_multiplier": 1 << 31}, "input_multiplier must be in"),
    ({"input_left_shift": 32}, r"input_left_shift must be in \[0, 31\]"),
    ({"input_left_shift": -1}, "input_left_shift must be in"),
    ({"diff_min": 1}, r"diff_min must be in \[-124, 0\]"),
    ({"diff_min": -125}, r"diff_min must be in \[-124, 0\]"),
    ({"diff_min": True}, "diff_min must be an int"),
    ({"input_multiplier": 1.5e9}, "input_multiplier must be an int"),
])
def test_bad_parameters_are_refused(kwargs, message):
    parameters = dict(softmax_parameters(0.1447), **kwargs)
    with pytest.raises(ValueError, match=f"int8 softmax: {message}"):
        softmax(np.zeros((1, 12), dtype=np.int8), **parameters)


def test_bad_inputs_are_refused():
    parameters = softmax_parameters(0.1447)
    with pytest.raises(TypeError, match="int8 softmax: x must have dtype int8"):
        softmax(np.zeros((1, 12), dtype=np.int16), **parameters)
    with pytest.raises(ValueError, match="int8 softmax: the last axis must hold 1 to 511"):
        softmax(np.zeros((1, 512), dtype=np.int8), **parameters)
    with pytest.raises(ValueError, match="rounding must be"):
        softmax(np.zeros((1, 12), dtype=np.int8), **parameters, rounding="nearest")
    with pytest.raises(ValueError, match=r"input_left_shift must be in \[0, 30\] with single"):
        softmax(np.zeros((1, 2), dtype=np.int8), **softmax_parameters(1000.0),
                rounding="single")


def test_fixed_point_constants_are_the_numbers_they_name():
    # As gemmlowp's GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT checks them: the raw value is the
    # real one rounded to the format.  A slip of one unit would change no output byte the
    # other tests can see, so they are checked here.
    module = importlib.import_module("tinytorch.kernels.int8.softmax")  # not the function
    assert module.EXP_MINUS_ONE_EIGHTH == round(np.exp(-1 / 8) * 2**31)
    assert module.ONE_THIRD == round(2**31 / 3)
    for j, raw in module.EXP_OF_MINUS_POWERS_OF_TWO:
        assert raw == round(np.exp(-(2.0**j)) * 2**31), j
    assert [j for j, _ in module.EXP_OF_MINUS_POWERS_OF_TWO] == [-2, -1, 0, 1, 2, 3, 4]
    assert module.FORTY_EIGHT_SEVENTEENTHS == round(48 / 17 * 2**29)     # Q2.29
    assert module.MINUS_THIRTY_TWO_SEVENTEENTHS == round(-32 / 17 * 2**29)
