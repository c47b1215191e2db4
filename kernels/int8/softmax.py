"""Int8 softmax: probabilities from int8 logits, in integers only (TFLite's SOFTMAX).

What
----
A classifier's last op turns logits into probabilities,

    p_i = exp(beta * x_i) / sum_j exp(beta * x_j)        (over the last axis)

with ``beta = 1`` in practice.  The input is int8 with any scale ``s`` and
zero point; the output is int8 with scale 1/256 and zero point -128, fixed by
TFLite for every int8 softmax: a probability in [0, 1] then uses the whole
int8 range, ``q = round(256 * p) - 128``, clamped to 127.

Why fixed point
---------------
``exp`` and division are not integer instructions, and a Cortex-M0+ has no
floating-point unit either; nor would floats give TFLite's bytes.  TFLite's
integer softmax (built on gemmlowp's ``fixedpoint.h``) computes both with
multiplies, adds and shifts on int32 values read as fractions with a fixed
binary point.  "Qm.n" names such a format: m integer bits, n = 31 - m
fraction bits and a sign, so the raw int32 ``r`` means ``r / 2**n`` and the
range is [-2**m, 2**m).  Multiplying two of them is
``saturating_rounding_doubling_high_mul`` (``requantize.py``): Qa x Qb gives
Q(a + b).  Each row then takes six steps:

1. **Subtract the row's maximum.**  ``d = q - max(q)`` lies in [-255, 0]; the
   zero point cancels, and every exponential is now in (0, 1], which fixed
   point can hold (exp of a positive number could be anything).
2. **Rescale d to Q5.26.**  The real argument is ``s * beta * d``, so the
   raw Q5.26 value is ``d * s * beta * 2**26``.  That real factor was split
   ahead of time into ``input_multiplier * 2**(input_left_shift - 31)``
   (``softmax_parameters``; TFLite's PreprocessSoftmaxScaling), and the
   rescale is one ``multiply_by_quantized_multiplier``.  Why five integer
   bits: arguments down to about -16 still matter (exp(-8) is not negligible
   in a sum, exp(-16) is), and the format leaves room beyond that.
3. **Skip what cannot matter: diff_min.**  Q5.26 ends at -32, and
   ``d * 2**input_left_shift`` must not overflow int32.  So differences whose
   rescaled value would pass 31 in magnitude are not rescaled at all: with
   ``diff_min = -floor(31 * 2**26 / 2**input_left_shift)`` (TFLite's
   CalculateInputRadius), a ``d < diff_min`` counts as exp = 0 and gives
   -128, as it would anyway (exp(-31) ~ 3e-14, far below half of 1/256).
4. **exp in Q0.31.**  Write the argument as ``-k/4 + f`` with f in [-1/4, 0):
   exp(f) by a 4th-order Taylor polynomial around -1/8, then one multiply
   by the constant exp(-2**j) for each set bit j of k (a barrel shifter:
   exp(-1/4), exp(-1/2), exp(-1), ... exp(-16)).  An argument of exactly 0
   gives the largest Q0.31 value, 1 - 2**-31.
5. **Sum in Q12.19.**  Each exponential is at most 1, and twelve integer bits
   hold a sum of up to 4096 of them.  But the last step divides by
   ``2**(k + 23)`` where ``2**k <= sum``, and TFLite requires that shift to
   be at most 31: the sum must stay below 512, so a row holds at most 511
   values (equal values would reach 512).  The kernels refuse longer rows,
   rather than let TFLite's check abort.
6. **Divide.**  ``sum = 2**k * (1 + x)`` with x in [0, 1) (a count of leading
   zeros finds k); ``1 / (1 + x)`` comes from three Newton-Raphson steps
   started at ``48/17 - 32/17 * (1 + x)/2``, in Q2.29.  Then each output is
   ``exp_i * (1 / (1 + x))`` in Q0.31 divided by ``2**(k + 31 - 8)`` with
   rounding (``rounding_divide_by_power_of_two``): a probability in units of
   1/256.  Subtract 128 and clamp.

Every constant above is gemmlowp's, and every rounding is the one its C++
does, which is what makes the bytes equal TFLite Micro's
(``tests/kernels/test_int8_softmax_tflite_micro.py`` compares them on the
MLPerf Tiny models).  With TFLite's ``TFLITE_SINGLE_ROUNDING`` build the
rescale of step 2 rounds once, and the real factor is capped at 2**30 - 1
instead of 2**31 - 1; ``rounding="single"`` does both.

Where it sits
-------------
The int8 interpreter runs it for a graph's ``softmax`` op; the generated C
(``codegen/c/softmax.c``) must match it byte for byte.  The file opens with
the plain version, TFLite's reference code in Python ints with gemmlowp's
fixed-point functions spelled out (the tests' oracle); then the kernel the
interpreter runs.  There an input difference can only take 256 values, so the
kernel computes the 256 exponentials once per call, then each row is a
maximum, a sum of table entries, one reciprocal and a multiply per value.
``NUMBA_DISABLE_JIT=1`` runs it as plain Python.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .checks import check_int8_array, check_rounding
from .requantize import (INT32_MAX, INT32_MIN, c_divide, multiply_by_quantized_multiplier_scalar,
                         quantize_multiplier, reference_multiply_by_quantized_multiplier,
                         reference_quantize_multiplier, reference_rounding_divide_by_pot,
                         reference_saturating_rounding_doubling_high_mul,
                         rounding_divide_by_power_of_two, saturating_rounding_doubling_high_mul,
                         to_int32)

OP = "int8 softmax"
SCALED_DIFF_INTEGER_BITS = 5    # the exp argument is Q5.26
ACCUMULATION_INTEGER_BITS = 12  # the sum of exponentials is Q12.19
MAX_ROW_LENGTH = 511            # the sum of a row's exponentials must stay below 512 (step 5)
OUTPUT_SCALE = 1.0 / 256
OUTPUT_ZERO_POINT = -128

# gemmlowp's constants, raw Q0.31 unless said otherwise.
EXP_MINUS_ONE_EIGHTH = 1895147668   # exp(-1/8), the Taylor expansion's centre
ONE_THIRD = 715827883               # 1/3
EXP_OF_MINUS_POWERS_OF_TWO = (      # (j, exp(-2**j)): one factor per set bit of k
    (-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
    (3, 720401), (4, 242))
FORTY_EIGHT_SEVENTEENTHS = 1515870810          # 48/17 in Q2.29
MINUS_THIRTY_TWO_SEVENTEENTHS = -1010580540    # -32/17 in Q2.29


def input_radius(input_left_shift: int) -> int:
    """CalculateInputRadius(5, shift): the largest |d| whose rescaled value stays within 31."""
    return ((1 << SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) \
        >> input_left_shift


# --- The plain version: TFLite's integer softmax, in Python ints ------------------
# ``reference/softmax.h`` (Softmax, the int8 path), ``common.h`` (GetReciprocal,
# MultiplyByQuantizedMultiplierGreaterThanOne), ``quantization_util.cc``
# (PreprocessSoftmaxScaling, CalculateInputRadius), TFLite Micro's
# ``softmax_common.cc`` (CalculateSoftmaxParams) and gemmlowp's ``fixedpoint.h``
# (exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1, Rescale), in the
# C++'s shape: a fixed-point value is its raw int, ``to_int32`` marks an int32
# store.  It runs on requantize.py's plain arithmetic and shares nothing with the
# fast version below.

def reference_softmax_parameters(input_scale: float, beta: float = 1.0,
                                 single_rounding: bool = False) -> dict[str, int]:
    """CalculateSoftmaxParams: float32 scale and beta, double arithmetic."""
    input_scale, beta = float(np.float32(input_scale)), float(np.float32(beta))
    max_real_multiplier = float((1 << 30) - 1 if single_rounding else (1 << 31) - 1)
    real = min(beta * input_scale * (1 << (31 - SCALED_DIFF_INTEGER_BITS)), max_real_multiplier)
    assert real > 1.0  # QuantizeMultiplierGreaterThanOne
    multiplier, left_shift = reference_quantize_multiplier(real, single_rounding)
    assert left_shift >= 0
    radius = math.floor(1.0 * ((1 << SCALED_DIFF_INTEGER_BITS) - 1)
                        * (1 << (31 - SCALED_DIFF_INTEGER_BITS)) / (1 << left_shift))
    return {"input_multiplier": multiplier, "input_left_shift": left_shift,
            "diff_min": int(-1.0 * radius)}


def reference_saturating_rounding_multiply_by_pot(x: int, exponent: int) -> int:
    """gemmlowp's SaturatingRoundingMultiplyByPOT: x * 2**exponent, saturating or rounding."""
    if exponent == 0:
        return x
    if exponent < 0:
        return reference_rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return to_int32(x * (1 << exponent))


def reference_rescale(x: int, integer_bits_from: int, integer_bits_to: int) -> int:
    """gemmlowp's Rescale: the same real number in a format with other integer bits."""
    return reference_saturating_rounding_multiply_by_pot(x, integer_bits_from - integer_bits_to)


def reference_rounding_half_sum(a: int, b: int) -> int:
    total = a + b
    sign = 1 if total >= 0 else -1
    return to_int32(c_divide(total + sign, 2))


def reference_exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out."""
    mul = reference_saturating_rounding_doubling_high_mul
    x = to_int32(a + (1 << 28))  # a + 1/8
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = reference_saturating_rounding_multiply_by_pot(x4, -2)
    x4_over_24_plus_x3_over_6_plus_x2_over_2 = reference_saturating_rounding_multiply_by_pot(
        to_int32(mul(to_int32(x4_over_4 + x3), ONE_THIRD) + x2), -1)
    return to_int32(EXP_MINUS_ONE_EIGHTH + mul(
        EXP_MINUS_ONE_EIGHTH, to_int32(x + x4_over_24_plus_x3_over_6_plus_x2_over_2)))


def reference_exp_on_negative_values(a: int) -> int:
    """exp(a) for a <= 0: Q5.26 in, Q0.31 out."""
    fractional_bits = 31 - SCALED_DIFF_INTEGER_BITS
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = to_int32((a & mask) - one_quarter)
    result = reference_exp_on_interval_between_negative_one_quarter_and_0_excl(
        reference_rescale(a_mod_quarter_minus_one_quarter, SCALED_DIFF_INTEGER_BITS, 0))
    remainder = to_int32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in EXP_OF_MINUS_POWERS_OF_TWO:
        if SCALED_DIFF_INTEGER_BITS > exponent and remainder & (1 << (fractional_bits + exponent)):
            result = reference_saturating_rounding_doubling_high_mul(result, multiplier)
    # (gemmlowp clamps arguments below -32 to 0 here, for formats with more than 5
    # integer bits; Q5.26 holds nothing below -32.)
    return INT32_MAX if a == 0 else result


def reference_one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    """1 / (1 + a) for a in [0, 1), Q0.31 in and out."""
    mul = reference_saturating_rounding_doubling_high_mul
    half_denominator = reference_rounding_half_sum(a, INT32_MAX)  # (1 + a) / 2
    x = to_int32(FORTY_EIGHT_SEVENTEENTHS + mul(half_denominator, MINUS_THIRTY_TWO_SEVENTEENTHS))
    one = 1 << 29  # 1.0 in Q2.29
    for _ in range(3):
        half_denominator_times_x = mul(half_denominator, x)
        one_minus_half_denominator_times_x = to_int32(one - half_denominator_times_x)
        x = to_int32(x + reference_rescale(mul(x, one_minus_half_denominator_times_x), 4, 2))
    return reference_rescale(x, 1, 0)  # ExactMulByPot<-1>: Q2.29 read as Q1.30, then to Q0.31


def reference_count_leading_zeros(x: int) -> int:
    x &= 0xFFFFFFFF
    if x == 0:
        return 32
    leading_zeros = 0
    while x < (1 << 31):
        x <<= 1
        leading_zeros += 1
    return leading_zeros


def reference_get_reciprocal(x: int, x_integer_digits: int) -> tuple[int, int]:
    """GetReciprocal: (1 / (1 + f) in Q0.31, num_bits_over_unit k) with x = 2**k * (1 + f)."""
    headroom_plus_one = reference_count_leading_zeros(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted_sum_minus_one = to_int32(((x & 0xFFFFFFFF) << headroom_plus_one) - (1 << 31))
    return reference_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


def _reference_rescaled_diff(input_diff: int, input_multiplier: int, input_left_shift: int,
                             single_rounding: bool) -> int:
    """MultiplyByQuantizedMultiplierGreaterThanOne, both builds."""
    if single_rounding:
        return reference_multiply_by_quantized_multiplier(input_diff, input_multiplier,
                                                          input_left_shift, True)
    return reference_saturating_rounding_doubling_high_mul(
        to_int32(input_diff * (1 << input_left_shift)), input_multiplier)


def reference_softmax(x: np.ndarray, input_multiplier: int, input_left_shift: int,
                      diff_min: int, single_rounding: bool = False) -> np.ndarray:
    """The plain ``softmax`` over the last axis, int8 -> int8; nothing checked."""
    rows = x.reshape(-1, x.shape[-1])
    out = np.zeros(rows.shape, dtype=np.int8)
    for i, row in enumerate(rows):
        row = [int(v) for v in row]
        max_in_row = max(row)

        def exp_of(value: int) -> int:
            rescaled = _reference_rescaled_diff(value - max_in_row, input_multiplier,
                                                input_left_shift, single_rounding)
            return reference_exp_on_negative_values(rescaled)

        sum_of_exps = 0
        for value in row:
            if value - max_in_row >= diff_min:
                sum_of_exps = to_int32(sum_of_exps + reference_rescale(
                    exp_of(value), 0, ACCUMULATION_INTEGER_BITS))
        shifted_scale, num_bits_over_unit = reference_get_reciprocal(
            sum_of_exps, ACCUMULATION_INTEGER_BITS)
        exponent = num_bits_over_unit + 31 - 8
        assert 0 <= exponent <= 31  # TFLITE_CHECK
        for c, value in enumerate(row):
            if value - max_in_row >= diff_min:
                unsat_output = reference_rounding_divide_by_pot(
                    reference_saturating_rounding_doubling_high_mul(shifted_scale, exp_of(value)),
                    exponent)
                out[i, c] = max(min(unsat_output - 128, 127), -128)
            else:
                out[i, c] = -128
    return out.reshape(x.shape)


# --- The fast version ----------------------------------------------------------------

def softmax_parameters(input_scale: float, beta: float = 1.0,
                       rounding: str = "double") -> dict[str, int]:
    """``input_multiplier``, ``input_left_shift`` and ``diff_min``, as TFLite prepares them.

    The input scale and beta are rounded to float32 first, as a .tflite file
    stores them; ``input_scale * beta * 2**26`` (the Q5.26 rescale factor,
    capped at 2**31 - 1, or 2**30 - 1 with ``rounding="single"``) becomes a
    multiplier and a left shift, and ``diff_min = -floor(31 * 2**26 /
    2**input_left_shift)``.  Returns a dict that can be splatted into ``softmax``.
    """
    check_rounding(OP, rounding)
    input_scale, beta = float(np.float32(input_scale)), float(np.float32(beta))
    real = input_scale * beta * (1 << (31 - SCALED_DIFF_INTEGER_BITS))
    if not (math.isfinite(real) and real > 1.0):
        raise ValueError(f"{OP}: input_scale * beta * 2^26 must be a finite number above 1 "
                         f"(TFLite's Q5.26 rescale), got input_scale={input_scale}, "
                         f"beta={beta}")
    real = min(real, float((1 << 30) - 1 if rounding == "single" else (1 << 31) - 1))
    multiplier, left_shift = quantize_multiplier(real, rounding)
    return {"input_multiplier": multiplier, "input_left_shift": left_shift,
            "diff_min": -input_radius(left_shift)}


@njit(cache=True, inline="always")
def saturating_shift_left(x, exponent):
    """x * 2**exponent for exponent >= 1, saturating (gemmlowp's threshold, not int32's)."""
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x * (1 << exponent)


@njit(cache=True, inline="always")
def exp_on_negative_values(a):
    """exp(a) for a <= 0, Q5.26 raw in, Q0.31 raw out (step 4 of the essay)."""
    if a == 0:
        return INT32_MAX
    # a = f - k/4 with f in [-1/4, 0) (from a's low 24 bits) and k >= 0 whole quarters.
    f = (a & ((1 << 24) - 1)) - (1 << 24)
    quarters = f - a  # k/4 in Q5.26: its bit 26 + j stands for 2**j, a factor exp(-2**j)
    # exp(f) = exp(-1/8) * exp(y), y = f + 1/8, to the fourth power of y (Q0.31).
    y = (f << 5) + (1 << 28)
    y2 = saturating_rounding_doubling_high_mul(y, y)
    y3 = saturating_rounding_doubling_high_mul(y2, y)
    y4 = saturating_rounding_doubling_high_mul(y2, y2)
    poly = rounding_divide_by_power_of_two(
        saturating_rounding_doubling_high_mul(rounding_divide_by_power_of_two(y4, 2) + y3,
                                              ONE_THIRD) + y2, 1)  # y^4/24 + y^3/6 + y^2/2
    result = EXP_MINUS_ONE_EIGHTH + saturating_rounding_doubling_high_mul(
        EXP_MINUS_ONE_EIGHTH, y + poly)
    for j, multiplier in EXP_OF_MINUS_POWERS_OF_TWO:
        if quarters & (1 << (26 + j)):
            result = saturating_rounding_doubling_high_mul(result, multiplier)
    return result


@njit(cache=True, inline="always")
def reciprocal(sum_of_exps):
    """(1 / (1 + f) in Q0.31, k) for a Q12.19 sum = 2**k * (1 + f) (step 6 of the essay)."""
    leading_zeros = 0
    while sum_of_exps < (1 << (31 - leading_zeros)):
        leading_zeros += 1
    f = (sum_of_exps << leading_zeros) - (1 << 31)  # Q0.31
    half_denominator = (f + INT32_MAX + 1) >> 1
    x = FORTY_EIGHT_SEVENTEENTHS + saturating_rounding_doubling_high_mul(
        half_denominator, MINUS_THIRTY_TWO_SEVENTEENTHS)
    for _ in range(3):  # Newton-Raphson in Q2.29: x += x * (1 - half_denominator * x)
        error = (1 << 29) - saturating_rounding_doubling_high_mul(half_denominator, x)
        x += saturating_shift_left(saturating_rounding_doubling_high_mul(x, error), 2)
    return saturating_shift_left(x, 1), ACCUMULATION_INTEGER_BITS - leading_zeros


@njit(cache=True)
def _exponentials(input_multiplier, input_left_shift, diff_min, single_rounding, table):
    """table[-d] = exp(d) in Q0.31 for d = 0, -1, ..., -255; 0 below diff_min."""
    for magnitude in range(256):
        if -magnitude < diff_min:
            table[magnitude] = 0  # counts as nothing in the sum and gives -128, as skipping does
        else:
            table[magnitude] = exp_on_negative_values(multiply_by_quantized_multiplier_scalar(
                -magnitude, input_multiplier, input_left_shift, single_rounding))


@njit(cache=True)
def _softmax_rows(x, table, out):
    rows, depth = x.shape
    for i in range(rows):
        largest = -128
        for c in range(depth):
            largest = max(largest, int(x[i, c]))
        sum_of_exps = 0
        for c in range(depth):
            sum_of_exps += rounding_divide_by_power_of_two(table[largest - int(x[i, c])], 12)
        scale, bits_over_unit = reciprocal(sum_of_exps)
        for c in range(depth):
            probability = rounding_divide_by_power_of_two(saturating_rounding_doubling_high_mul(
                scale, table[largest - int(x[i, c])]), bits_over_unit + 31 - 8)  # units of 1/256
            out[i, c] = min(probability - 128, 127)  # probability >= 0: no lower clamp


def check_softmax_parameters(op: str, input_multiplier, input_left_shift, diff_min,
                             rounding: str) -> None:
    """The ranges ``softmax`` documents, as a ValueError naming ``op`` (the graph reuses them)."""
    highest_shift = 30 if rounding == "single" else 31
    values = {"input_multiplier": input_multiplier, "input_left_shift": input_left_shift,
              "diff_min": diff_min}
    for name, value in values.items():
        if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool)):
            raise ValueError(f"{op}: {name} must be an int, got {value!r}")
    if not 0 <= input_multiplier <= INT32_MAX:
        raise ValueError(f"{op}: input_multiplier must be in [0, 2^31 - 1], "
                         f"got {input_multiplier}")
    if not 0 <= input_left_shift <= highest_shift:
        raise ValueError(f"{op}: input_left_shift must be in [0, {highest_shift}] with "
                         f"{rounding} rounding, got {input_left_shift}")
    radius = input_radius(int(input_left_shift))
    if not -radius <= diff_min <= 0:
        raise ValueError(f"{op}: diff_min must be in [-{radius}, 0] for input_left_shift "
                         f"{input_left_shift} (so that diff_min * 2^input_left_shift fits the "
                         f"Q5.26 range), got {diff_min}")


def softmax(x: np.ndarray, input_multiplier: int, input_left_shift: int, diff_min: int,
            rounding: str = "double") -> np.ndarray:
    """Int8 softmax over the last axis with TFLite's integer arithmetic; bit-exact.

    x: int8, any shape whose last axis has 1 to 511 values (one row each).
    input_multiplier, input_left_shift, diff_min: from ``softmax_parameters``
    (or a .tflite file): multiplier in [0, 2^31 - 1], left shift in [0, 31]
    ([0, 30] with single rounding), ``-floor(31 * 2^26 / 2^input_left_shift)
    <= diff_min <= 0`` (so that no rescaled difference overflows int32).
    rounding: ``"double"`` or ``"single"``.  Returns int8 of x's shape, in
    units of 1/256 with zero point -128.
    """
    check_int8_array(OP, "x", x)
    check_rounding(OP, rounding)
    check_softmax_parameters(OP, input_multiplier, input_left_shift, diff_min, rounding)
    if x.ndim == 0 or not 1 <= x.shape[-1] <= MAX_ROW_LENGTH:
        raise ValueError(f"{OP}: the last axis must hold 1 to {MAX_ROW_LENGTH} values (the sum "
                         f"of a row's exponentials must stay below 512), got shape {x.shape}")
    table = np.empty(256, dtype=np.int64)
    _exponentials(int(input_multiplier), int(input_left_shift), int(diff_min),
                  rounding == "single", table)
    out = np.empty(x.shape, dtype=np.int8)
    if x.size:
        _softmax_rows(np.ascontiguousarray(x).reshape(-1, x.shape[-1]), table,
                      out.reshape(-1, x.shape[-1]))
    return out
