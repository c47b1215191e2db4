"""quantize_multiplier and multiply_by_quantized_multiplier against TFLite's arithmetic
(the plain version at the top of kernels/int8/requantize.py) and exact rationals."""
import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tinytorch.kernels.int8 import multiply_by_quantized_multiplier, quantize_multiplier
from tinytorch.kernels.int8.requantize import (INT32_MAX, INT32_MIN,
                                               reference_multiply_by_quantized_multiplier,
                                               reference_quantize_multiplier)

SETTINGS = settings(max_examples=300, deadline=None, derandomize=True)

int32s = st.one_of(st.integers(INT32_MIN, INT32_MAX),
                   st.sampled_from([INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX]))
positive_multipliers = st.one_of(st.integers(0, INT32_MAX),
                                 st.sampled_from([0, 1, 1 << 30, INT32_MAX]))
shifts = st.integers(-31, 30)


def scalar(x, multiplier, shift, rounding):
    return int(multiply_by_quantized_multiplier(np.int32(x), multiplier, shift, rounding))


# --- quantize_multiplier --------------------------------------------------------

@pytest.mark.parametrize("real, expected", [
    (0.0, (0, 0)),
    (0.5, (1 << 30, 0)),                     # frexp(0.5) = (0.5, 0)
    (1.0, (1 << 30, 1)),                     # frexp(1.0) = (0.5, 1)
    (3.0, (3 << 29, 2)),                     # 0.75 * 2**2
    (0.75, (3 << 29, 0)),
    (1 - 2.0**-40, (1 << 30, 1)),            # q * 2**31 rounds up to 2**31: halve, shift + 1
    (2.0**-32, (1 << 30, -31)),              # 0.5 * 2**-31: the smallest shift kept
    (2.0**-33, (0, 0)),                      # shift -32 < -31: flushed to zero
    (1e-12, (0, 0)),
    (-0.5, (-(1 << 30), 0)),                 # negative reals: allowed with double rounding
    (-(1 - 2.0**-40), (-(1 << 31), 0)),      # rounds to -2**31, which fits int32: kept
    (2.0**31, (1 << 30, 32)),                # double rounding keeps the large shift
])
def test_quantize_multiplier_hand_checked_values(real, expected):
    assert quantize_multiplier(real) == expected
    assert reference_quantize_multiplier(real) == expected


def test_quantize_multiplier_tie_rounds_away_from_zero():
    # 0.5 + 2**-32 = (2**30 + 0.5) / 2**31: std::round sends the tie up, Python's round would not.
    real = 0.5 + 2.0**-32
    assert quantize_multiplier(real) == ((1 << 30) + 1, 0)
    assert quantize_multiplier(-real) == (-(1 << 30) - 1, 0)
    assert round((1 << 30) + 0.5) == 1 << 30  # banker's rounding, the trap avoided


def test_quantize_multiplier_single_rounding_saturates_large_shifts_and_refuses_negatives():
    assert quantize_multiplier(2.0**31, rounding="single") == (INT32_MAX, 30)
    assert quantize_multiplier(2.0**29, rounding="single") == (1 << 30, 30)
    with pytest.raises(ValueError, match="single rounding"):
        quantize_multiplier(-0.25, rounding="single")
    with pytest.raises(ValueError, match="finite"):
        quantize_multiplier(float("nan"))
    with pytest.raises(ValueError, match="rounding"):
        quantize_multiplier(0.5, rounding="triple")


@SETTINGS
@given(st.one_of(st.floats(min_value=2.0**-40, max_value=2.0**40),
                 st.floats(min_value=-4.0, max_value=4.0, allow_subnormal=True)))
def test_quantize_multiplier_matches_reference_and_approximates_real(real):
    multiplier, shift = quantize_multiplier(real)
    assert (multiplier, shift) == reference_quantize_multiplier(real)
    assert INT32_MIN <= multiplier <= INT32_MAX
    if multiplier:
        assert 1 << 30 <= abs(multiplier) <= 1 << 31
        approximation = multiplier * 2.0**(shift - 31)
        assert abs(approximation - real) <= abs(real) * 2.0**-31
    else:
        assert abs(real) < 2.0**-32 and shift == 0


# --- multiply_by_quantized_multiplier: hand-derived values ----------------------

def test_saturating_case_int32_min_times_int32_min():
    # In Q31, INT32_MIN is -1.0 and (-1.0) * (-1.0) = +1.0 does not fit: SRDHM saturates.
    assert scalar(INT32_MIN, INT32_MIN, 0, "double") == INT32_MAX
    # Then RoundingDivideByPOT(INT32_MAX, 1) = 1073741823.5 -> 1073741824 (tie away from zero).
    assert scalar(INT32_MIN, INT32_MIN, -1, "double") == 1 << 30
    assert reference_multiply_by_quantized_multiplier(INT32_MIN, INT32_MIN, 0) == INT32_MAX


@pytest.mark.parametrize("x, multiplier, shift, double, single", [
    # M = 2**30 and shift -1 make the real factor 0.25.
    # x = 1: exact 0.25.  Double: SRDHM(1, 2**30) = round(0.5) = 1, then 1 / 2 = 0.5 -> 1
    # (two half-ups).  Single: (2**30 + 2**31) >> 32 = 0.
    (1, 1 << 30, -1, 1, 0),
    # x = -2: exact -0.5.  Double: SRDHM = trunc((-2**31 + 1 - 2**30) / 2**31) = -1, then
    # RoundingDivideByPOT(-1, 1) = -0.5 -> -1 (ties away from zero).  Single: (-2**31 + 2**31)
    # >> 32 = 0 (ties toward +infinity).
    (-2, 1 << 30, -1, -1, 0),
    # x = 2: exact 0.5; both round the tie up to 1.
    (2, 1 << 30, -1, 1, 1),
    # x = -1 with M = 2**30, shift 0: exact -0.5.  SRDHM: trunc((-2**30 + 1 - 2**30) / 2**31)
    # = 0.  Single: (-2**30 + 2**30) >> 31 = 0.
    (-1, 1 << 30, 0, 0, 0),
    # x = 3, M = 2**30 (0.5), shift 0: 1.5 -> 2 in both.
    (3, 1 << 30, 0, 2, 2),
    # Positive shift: x = 5, M = 3 * 2**29 (0.75), shift 2: 5 * 3 = 15 exactly.
    (5, 3 << 29, 2, 15, 15),
    # shift -31 with the largest multiplier: INT32_MAX * (1 - 2**-31) / 2**31 = 0.99999... -> 1.
    (INT32_MAX, INT32_MAX, -31, 1, 1),
])
def test_hand_derived_values(x, multiplier, shift, double, single):
    assert scalar(x, multiplier, shift, "double") == double
    assert scalar(x, multiplier, shift, "single") == single
    assert reference_multiply_by_quantized_multiplier(x, multiplier, shift, False) == double
    assert reference_multiply_by_quantized_multiplier(x, multiplier, shift, True) == single


# --- multiply_by_quantized_multiplier: properties -------------------------------

def round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def round_half_away_from_zero(value: Fraction) -> int:
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


@SETTINGS
@given(int32s, st.one_of(positive_multipliers, st.integers(INT32_MIN, -1)), shifts)
def test_double_rounding_matches_reference_and_its_definition(x, multiplier, shift):
    result = scalar(x, multiplier, shift, "double")
    assert result == reference_multiply_by_quantized_multiplier(x, multiplier, shift, False)
    if shift <= 0 and not (x == multiplier == INT32_MIN):
        # The definition, in exact rationals: round(x * M / 2**31) ties up, then
        # round(that / 2**-shift) ties away from zero.
        high = round_half_up(Fraction(x * multiplier, 2**31))
        assert result == round_half_away_from_zero(Fraction(high, 2**-shift))


@SETTINGS
@given(int32s, positive_multipliers, shifts)
def test_single_rounding_matches_reference_and_its_definition(x, multiplier, shift):
    result = scalar(x, multiplier, shift, "single")
    assert result == reference_multiply_by_quantized_multiplier(x, multiplier, shift, True)
    exact = round_half_up(Fraction(x * multiplier) * Fraction(2)**(shift - 31))
    if INT32_MIN <= exact <= INT32_MAX:
        assert result == exact


def test_single_and_double_differ_by_at_most_one_and_sometimes_do():
    rng = np.random.default_rng(7)
    acc = rng.integers(-2**20, 2**20, size=(2000, 8)).astype(np.int32)
    pairs = [quantize_multiplier(s) for s in rng.uniform(1e-4, 0.9, size=8)]
    multiplier = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    double = multiply_by_quantized_multiplier(acc, multiplier, shift, "double").astype(np.int64)
    single = multiply_by_quantized_multiplier(acc, multiplier, shift, "single").astype(np.int64)
    difference = np.abs(double - single)
    assert difference.max() == 1
    assert 0 < np.count_nonzero(difference) < acc.size // 10


def test_broadcasting_per_channel_per_element_and_scalar():
    rng = np.random.default_rng(3)
    acc = rng.integers(-2**24, 2**24, size=(3, 4, 5)).astype(np.int32)
    multiplier = rng.integers(1 << 30, INT32_MAX, size=5).astype(np.int32)
    shift = rng.integers(-12, 3, size=5).astype(np.int32)
    per_channel = multiply_by_quantized_multiplier(acc, multiplier, shift)
    assert per_channel.dtype == np.int32 and per_channel.shape == acc.shape
    for index in np.ndindex(acc.shape):
        c = index[-1]
        assert per_channel[index] == reference_multiply_by_quantized_multiplier(
            int(acc[index]), int(multiplier[c]), int(shift[c]))
    per_element = multiply_by_quantized_multiplier(
        acc, np.broadcast_to(multiplier, acc.shape), np.broadcast_to(shift, acc.shape))
    np.testing.assert_array_equal(per_element, per_channel)
    first = multiply_by_quantized_multiplier(acc, int(multiplier[0]), int(shift[0]))
    np.testing.assert_array_equal(first[..., 0], per_channel[..., 0])


def test_argument_errors_name_the_problem():
    acc = np.zeros((2, 3), dtype=np.int32)
    with pytest.raises(ValueError, match=r"shift must be in \[-31, 30\]"):
        multiply_by_quantized_multiplier(acc, 1 << 30, 31)
    with pytest.raises(ValueError, match=r"shift must be in \[-31, 30\]"):
        multiply_by_quantized_multiplier(acc, 1 << 30, -32)
    with pytest.raises(ValueError, match="single rounding needs multiplier >= 0"):
        multiply_by_quantized_multiplier(acc, -5, 0, rounding="single")
    with pytest.raises(ValueError, match="do not broadcast"):
        multiply_by_quantized_multiplier(acc, np.ones(4, dtype=np.int32), 0)
    with pytest.raises(ValueError, match="fit in int32"):
        multiply_by_quantized_multiplier(np.array([2**31]), 1 << 30, 0)
    with pytest.raises(TypeError, match="integers"):
        multiply_by_quantized_multiplier(np.zeros(3), 1 << 30, 0)
