"""int8 add and add_parameters against the plain TFLite-style code of kernels/int8/add.py."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinytorch.kernels.int8 import add, add_parameters
from tinytorch.kernels.int8.add import reference_add, reference_add_parameters


def check(a, b, scales, zero_points, act_min=-128, act_max=127, rounding="double"):
    parameters = add_parameters(*scales, rounding=rounding)
    assert parameters == reference_add_parameters(*scales, 20, rounding == "single")
    got = add(a, b, a_zero_point=zero_points[0], b_zero_point=zero_points[1],
              output_zero_point=zero_points[2], act_min=act_min, act_max=act_max,
              rounding=rounding, **parameters)
    expected = reference_add(a, b, zero_points[0], parameters["a_multiplier"],
                             parameters["a_shift"], zero_points[1], parameters["b_multiplier"],
                             parameters["b_shift"], zero_points[2],
                             parameters["output_multiplier"], parameters["output_shift"],
                             act_min, act_max, 20, rounding == "single")
    assert got.dtype == np.int8
    np.testing.assert_array_equal(got, expected)
    return got


def test_parameters_by_hand():
    # Equal scales 1.0: twice_max = 2, inputs rescaled by 0.5 = 2**30 * 2**(0 - 31), output by
    # 2 / (2**20 * 1) = 2**-19 = 0.5 * 2**-18.
    assert add_parameters(1.0, 1.0, 1.0) == {
        "left_shift": 20, "a_multiplier": 1 << 30, "a_shift": 0, "b_multiplier": 1 << 30,
        "b_shift": 0, "output_multiplier": 1 << 30, "output_shift": -18}
    # b at half a's scale: b is rescaled by 0.25 = 0.5 * 2**-1.
    parameters = add_parameters(0.5, 0.25, 0.5)
    assert (parameters["b_multiplier"], parameters["b_shift"]) == (1 << 30, -1)


def test_scales_are_rounded_to_float32_like_a_tflite_file():
    # 0.1 is not a float32; TFLite sees float32(0.1) = 0.100000001490116...
    assert add_parameters(0.1, 0.3, 0.2) == add_parameters(
        float(np.float32(0.1)), float(np.float32(0.3)), float(np.float32(0.2)))
    assert add_parameters(0.1, 0.3, 0.2) == reference_add_parameters(0.1, 0.3, 0.2)


def test_tie_case_by_hand():
    # Scales 1, 1 -> 2: real result (-1 + 0) / 2 = -0.5.  Double rounding: the input
    # rescale is exact (-2**19), the output SaturatingRoundingDoublingHighMul gives -2**18 and
    # RoundingDivideByPOT(-2**18, 19) = -0.5 -> -1 (away from zero).  Single rounding:
    # (-2**19 * 2**30 + 2**49) >> 50 = 0.
    parameters = add_parameters(1.0, 1.0, 2.0)
    assert parameters["output_shift"] == -19
    a, b = np.array([-1, 1], dtype=np.int8), np.array([0, 0], dtype=np.int8)
    double = add(a, b, 0, b_zero_point=0, output_zero_point=0, **parameters)
    single = add(a, b, 0, b_zero_point=0, output_zero_point=0, rounding="single", **parameters)
    np.testing.assert_array_equal(double, [-1, 1])
    np.testing.assert_array_equal(single, [0, 1])


@pytest.mark.parametrize("rounding", ["double", "single"])
@pytest.mark.parametrize("scales, zero_points", [
    ((0.05, 0.05, 0.1), (0, 0, 0)),
    ((0.02, 0.07, 0.08), (-10, 25, 3)),
    ((0.5, 0.001, 0.3), (127, -128, -50)),
    ((0.013, 0.013, 0.009), (-128, -128, -128)),
])
def test_matches_reference_exhaustively_over_int8_pairs(scales, zero_points, rounding):
    values = np.arange(-128, 128, 5, dtype=np.int8)
    a, b = np.meshgrid(values, values)
    out = check(a, b, scales, zero_points, rounding=rounding)
    # And it is an addition: the real result is within one output step (when not clamped).
    real = (scales[0] * (a.astype(float) - zero_points[0])
            + scales[1] * (b.astype(float) - zero_points[1]))
    ideal = real / scales[2] + zero_points[2]
    inside = (ideal > -127) & (ideal < 126)
    assert np.abs(out[inside] - ideal[inside]).max() <= 1.0


def test_broadcasting_and_clamp():
    rng = np.random.default_rng(4)
    a = rng.integers(-128, 128, (2, 3, 3, 4), dtype=np.int8)
    b = rng.integers(-128, 128, (4,), dtype=np.int8)
    out = check(a, b, (0.03, 0.04, 0.01), (1, -2, 3), act_min=-10, act_max=60)
    assert out.shape == (2, 3, 3, 4) and out.min() >= -10 and out.max() <= 60
    assert out.min() == -10 and out.max() == 60


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.floats(1e-3, 1.0), st.floats(1e-3, 1.0), st.floats(1e-2, 2.0),
       st.tuples(st.integers(-128, 127), st.integers(-128, 127), st.integers(-128, 127)),
       st.sampled_from(["double", "single"]), st.integers(0, 2**32 - 1))
def test_random_problems_match_reference(a_scale, b_scale, output_scale, zero_points, rounding,
                                         seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, (3, 5), dtype=np.int8)
    b = rng.integers(-128, 128, (3, 5), dtype=np.int8)
    check(a, b, (a_scale, b_scale, output_scale), zero_points, rounding=rounding)


def test_errors():
    a = np.zeros((2, 3), dtype=np.int8)
    parameters = add_parameters(0.1, 0.1, 0.1)
    with pytest.raises(ValueError, match=r"int8 add: shapes \(2, 3\) and \(2,\) do not broadcast"):
        add(a, np.zeros(2, dtype=np.int8), 0, b_zero_point=0, output_zero_point=0, **parameters)
    with pytest.raises(TypeError, match="b must have dtype int8"):
        add(a, a.astype(np.int16), 0, b_zero_point=0, output_zero_point=0, **parameters)
    bad = dict(parameters, output_shift=1)
    with pytest.raises(ValueError, match=r"output_shift must be in \[-31, 0\]"):
        add(a, a, 0, b_zero_point=0, output_zero_point=0, **bad)
    with pytest.raises(ValueError, match=r"left_shift must be in \[0, 23\]"):
        add(a, a, 0, b_zero_point=0, output_zero_point=0, **dict(parameters, left_shift=24))
    with pytest.raises(ValueError, match="output_scale .* too small"):
        add_parameters(1.0, 1.0, 1e-7)
    with pytest.raises(ValueError, match="scales must be finite and > 0"):
        add_parameters(0.0, 1.0, 1.0)
