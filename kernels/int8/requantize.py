"""Requantization: multiplying an int32 accumulator by a real number, in integers.

What
----
Every int8 layer ends the same way.  A convolution or a fully connected layer
adds up int8 x int8 products in an int32 *accumulator*; the accumulator is in
units of ``input_scale * weight_scale``, but the next layer wants int8 values
in units of ``output_scale``.  So each accumulator must be multiplied by the
real number

    M = input_scale * weight_scale[c] / output_scale        (usually 0 < M < 1)

and rounded.  Why not simply in floats?  Cortex-M0, M0+ and M3 cores have no
floating-point unit at all; float32's 24-bit mantissa cannot hold every int32
accumulator exactly, so the product would be rounded before it is scaled; and
the goal is to give, bit for bit, what TFLite's integer reference gives, which
no float formula does (not for want of reproducibility: IEEE arithmetic is
deterministic, it just rounds elsewhere).  TFLite's answer, followed by TFLite
Micro and CMSIS-NN, is to write M once, ahead of time, as a 31-bit fixed-point
fraction and a power of two:

    M = multiplier / 2**31 * 2**shift,     2**30 <= multiplier < 2**31

``quantize_multiplier`` finds that pair (it runs once, in Python, when the model
is converted); ``multiply_by_quantized_multiplier`` applies it with nothing but
integer multiplies, adds and shifts (it runs for every output, on the device).

Why the details matter
----------------------
"Multiply and round" has many bit-different implementations, and this project
promises that the C it generates equals this Python on every output byte.  So
the arithmetic below is TFLite's, operation for operation, including its two
rounding recipes:

* ``"double"`` (TFLite's default build, TFLite Micro, CMSIS-NN; our default)
  rounds twice.  First
  ``saturating_rounding_doubling_high_mul(x, multiplier)`` keeps the high half
  of the 64-bit product, ``round(x * multiplier / 2**31)`` with ties going up;
  the one product that does not fit, ``INT32_MIN * INT32_MIN`` (= +1.0 in Q31),
  saturates to ``INT32_MAX``.  Then ``rounding_divide_by_power_of_two`` divides
  by ``2**-shift``, ties away from zero.  A positive shift is applied first, as
  an (int32, wrapping) left shift of x.
* ``"single"`` (TFLite built with the opt-in ``TFLITE_SINGLE_ROUNDING``) rounds
  once, in 64 bits: ``(x * multiplier + 2**(30 - shift)) >> (31 - shift)``,
  ties up.

The two agree except on a small fraction of inputs, where they differ by one.

Where it sits
-------------
This chapter follows ``affine.py``.  It opens with the plain version: TFLite's
C++ written out in Python ints, line by line, which is also what the tests
compare every int8 kernel with.  Then the version the kernels run: Numba
``@njit(inline="always")`` scalar helpers that the convolution, fully
connected and add kernels call; Numba pastes them into the caller, so they
cost what the C would.  With ``NUMBA_DISABLE_JIT=1`` they are ordinary Python
on Python ints, which is exactly what you want in a debugger.

One practical warning: Numba's on-disk cache (``cache=True``) notices when a
kernel's own file changes, not when a helper it inlined from *this* file
does.  After editing this file, delete ``kernels/int8/__pycache__`` so the
other kernels are compiled again.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numba import njit

from .affine import round_half_away_from_zero
from .checks import as_int32_values, check_multiplier_and_shift, check_rounding

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


# --- 0. The plain version: TFLite's reference arithmetic, in Python ints -----
# The C++ of gemmlowp's ``fixedpoint.h`` (SaturatingRoundingDoublingHighMul,
# RoundingDivideByPOT) and of TFLite's ``quantization_util.cc``
# (QuantizeMultiplier) and ``common.cc`` (MultiplyByQuantizedMultiplier, both
# builds), kept in the C++'s shape: Python ints, with ``to_int32`` wherever the
# C++ stores into an ``int32_t``.  It is the oracle of every int8 test, so it
# shares no code with the fast version below (only the two int32 limits): a
# slip written once would otherwise hide in both.

def to_int32(value: int) -> int:
    """What storing ``value`` into an int32_t gives on a two's-complement machine."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def c_divide(numerator: int, denominator: int) -> int:
    """C's integer '/': the quotient truncated toward zero."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def tflite_round(value: float) -> int:
    """std::round: nearest integer, halfway cases away from zero (computed exactly)."""
    exact = Fraction(value)
    floor = math.floor(abs(exact))
    magnitude = floor + 1 if abs(exact) - floor >= Fraction(1, 2) else floor
    return magnitude if exact >= 0 else -magnitude


def reference_quantize_multiplier(double_multiplier: float,
                                  single_rounding: bool = False) -> tuple[int, int]:
    """QuantizeMultiplier, line by line."""
    if double_multiplier == 0.0:
        return 0, 0
    q, shift = math.frexp(double_multiplier)
    q_fixed = tflite_round(q * (1 << 31))
    assert q_fixed <= (1 << 31)
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    assert q_fixed <= INT32_MAX
    if shift < -31:
        shift = 0
        q_fixed = 0
    if single_rounding and shift > 30:
        shift = 30
        q_fixed = (1 << 31) - 1
    return q_fixed, shift


def reference_saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    overflow = a == b and a == INT32_MIN
    ab_64 = a * b
    nudge = (1 << 30) if ab_64 >= 0 else (1 - (1 << 30))
    ab_x2_high32 = to_int32(c_divide(ab_64 + nudge, 1 << 31))
    return INT32_MAX if overflow else ab_x2_high32


def reference_rounding_divide_by_pot(x: int, exponent: int) -> int:
    assert 0 <= exponent <= 31
    mask = to_int32((1 << exponent) - 1)
    zero, one = 0, 1
    remainder = x & mask
    mask_if_less_than_zero = -1 if x < zero else 0
    threshold = to_int32((mask >> 1) + (mask_if_less_than_zero & one))
    mask_if_greater = -1 if remainder > threshold else 0
    return to_int32((x >> exponent) + (mask_if_greater & one))


def reference_multiply_by_quantized_multiplier(x: int, quantized_multiplier: int, shift: int,
                                               single_rounding: bool = False) -> int:
    """MultiplyByQuantizedMultiplier: the default build, or TFLITE_SINGLE_ROUNDING's."""
    if single_rounding:
        assert quantized_multiplier >= 0
        assert -31 <= shift <= 30
        total_shift = 31 - shift
        round_ = 1 << (total_shift - 1)
        result = x * quantized_multiplier + round_
        result = result >> total_shift
        return to_int32(result)
    left_shift = shift if shift > 0 else 0
    right_shift = 0 if shift > 0 else -shift
    return reference_rounding_divide_by_pot(
        reference_saturating_rounding_doubling_high_mul(to_int32(x * (1 << left_shift)),
                                                        quantized_multiplier), right_shift)


def reference_requantize(acc: int, quantized_multiplier: int, shift: int, output_offset: int,
                         output_activation_min: int, output_activation_max: int,
                         single_rounding: bool = False) -> int:
    """The last lines of every TFLite integer layer: rescale, add the output offset, clamp."""
    acc = reference_multiply_by_quantized_multiplier(acc, quantized_multiplier, shift,
                                                     single_rounding)
    acc = to_int32(acc + output_offset)
    acc = max(acc, output_activation_min)
    acc = min(acc, output_activation_max)
    return acc


# --- 1. From a real number to (multiplier, shift), once, ahead of time -------
# From here on, the version the kernels run.

def quantize_multiplier(real: float, rounding: str = "double") -> tuple[int, int]:
    """Split ``real`` into ``(multiplier, shift)`` with real ~= multiplier * 2**(shift - 31).

    Follows TFLite's ``QuantizeMultiplier``: ``frexp`` gives ``real = q * 2**shift``
    with 0.5 <= |q| < 1; ``multiplier = round(q * 2**31)`` (ties away from zero).
    Edge cases, all as in TFLite:

    * ``real == 0`` gives ``(0, 0)``.
    * ``q`` so close to 1 that it rounds to ``2**31`` becomes ``(2**30, shift + 1)``.
    * ``shift < -31`` (``|real|`` below about ``2**-32``) flushes to ``(0, 0)``:
      every product would be shifted out anyway.
    * with ``rounding="single"`` a shift above 30 saturates to
      ``(2**31 - 1, 30)``, and negative reals are refused (TFLite's single-rounding
      build requires a non-negative multiplier).

    Negative reals are allowed with ``"double"`` rounding, as in TFLite's default
    build; the multiplier is then negative.
    """
    check_rounding("quantize_multiplier", rounding)
    real = float(real)
    if not math.isfinite(real):
        raise ValueError(f"quantize_multiplier: real must be finite, got {real}")
    if rounding == "single" and real < 0:
        raise ValueError(f"quantize_multiplier: single rounding needs real >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    # C's std::round (TfLiteRound), the rule of affine.py; Python's round()
    # would send ties to even instead.  Called once per channel, when converting.
    multiplier = int(round_half_away_from_zero(fraction * (1 << 31)))
    if multiplier == (1 << 31):
        multiplier //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if rounding == "single" and shift > 30:
        return INT32_MAX, 30
    return multiplier, shift


# --- 2. Integer building blocks, every output, on the device ---------------
# Each helper takes Python ints (or Numba int64s) holding int32 values and does
# its arithmetic in 64 bits, where nothing below can overflow.

@njit(cache=True, inline="always")
def wrap_to_int32(value):
    """Two's-complement wrap to int32, what a 32-bit register does on overflow."""
    return ((int(value) + 2147483648) & 0xFFFFFFFF) - 2147483648


@njit(cache=True, inline="always")
def saturating_rounding_doubling_high_mul(a, b):
    """round(a * b / 2**31) for int32 a, b, ties upward; INT32_MIN**2 saturates.

    gemmlowp's SaturatingRoundingDoublingHighMul (the ARM ``VQRDMULH``
    instruction): the high 32 bits of the doubled 64-bit product.
    """
    a = int(a)
    b = int(b)
    if a == INT32_MIN and b == INT32_MIN:
        return INT32_MAX  # (-1.0) * (-1.0) = +1.0 is not representable in Q31
    product = a * b
    nudge = (1 << 30) if product >= 0 else 1 - (1 << 30)
    numerator = product + nudge
    # C's '/' truncates toward zero; '>>' floors, so divide the magnitude.
    return numerator >> 31 if numerator >= 0 else -((-numerator) >> 31)


@njit(cache=True, inline="always")
def rounding_divide_by_power_of_two(x, exponent):
    """round(x / 2**exponent) for 0 <= exponent <= 31, ties away from zero.

    gemmlowp's RoundingDivideByPOT: an arithmetic shift, plus one when the
    bits shifted out exceed half (or reach half, for positive x).
    """
    x = int(x)
    exponent = int(exponent)
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


@njit(cache=True, inline="always")
def multiply_by_quantized_multiplier_double(x, multiplier, shift):
    """TFLite Micro / CMSIS-NN requantization (two roundings). Returns an int32 value."""
    shift = int(shift)
    left_shift = shift if shift > 0 else 0
    right_shift = -shift if shift < 0 else 0
    shifted = wrap_to_int32(int(x) * (1 << left_shift))  # int32 multiply in C
    return rounding_divide_by_power_of_two(
        saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift)


@njit(cache=True, inline="always")
def multiply_by_quantized_multiplier_single(x, multiplier, shift):
    """The ``TFLITE_SINGLE_ROUNDING`` requantization (one rounding). Returns an int32 value.

    |x * multiplier| < 2**62 and the rounding term is at most 2**61, so the
    64-bit sum cannot overflow for multiplier >= 0 and -31 <= shift <= 30.
    """
    total_shift = 31 - int(shift)
    rounding_term = 1 << (total_shift - 1)
    return wrap_to_int32((int(x) * int(multiplier) + rounding_term) >> total_shift)


@njit(cache=True, inline="always")
def multiply_by_quantized_multiplier_scalar(x, multiplier, shift, single_rounding):
    if single_rounding:
        return multiply_by_quantized_multiplier_single(x, multiplier, shift)
    return multiply_by_quantized_multiplier_double(x, multiplier, shift)


@njit(cache=True, inline="always")
def requantize(accumulator, multiplier, shift, output_zero_point,
               activation_min, activation_max, single_rounding):
    """The tail of every int8 layer: rescale, add the output zero point, clamp."""
    value = multiply_by_quantized_multiplier_scalar(accumulator, multiplier, shift, single_rounding)
    # An int32 add in C: it can only wrap when the rescaled value already sits
    # at the int32 limits, and then the clamp below sees what the C sees.
    value = wrap_to_int32(value + int(output_zero_point))
    if value < activation_min:
        value = activation_min
    if value > activation_max:
        value = activation_max
    return value


# --- 2b. The same arithmetic for a whole output channel ---------------------
# A layer applies one (multiplier, shift) to every output of a channel, often
# thousands of them.  ``channel_constants`` works out once per channel what
# depends only on those two numbers; ``requantize_with_constants`` then does,
# per output, only the operations that depend on the accumulator, with no
# branch a compiler cannot turn into a select, so a loop over a channel's
# outputs becomes SIMD code.  Two identities make it shorter than the
# recipe above and give the same bits (tests/kernels/test_int8_conv2d.py
# checks them against the reference over the edge cases):
#
# * saturating_rounding_doubling_high_mul adds 2**30 to a product p >= 0, or
#   1 - 2**30 to a negative one, then truncates toward zero.  For p < 0,
#   truncating (p + 1 - 2**30) / 2**31 toward zero is flooring
#   (p + 2**30) / 2**31, so both cases are ``(p + 2**30) >> 31`` (an
#   arithmetic shift floors), capped at INT32_MAX for the one product that
#   overflows, INT32_MIN * INT32_MIN;
# * rounding_divide_by_power_of_two(x, r) is ``(x + 2**(r-1) - 1 + (x >= 0)) >> r``
#   for r >= 1 (ties away from zero), and x for r == 0.

@njit(cache=True, inline="always")
def channel_constants(multiplier, shift):
    """(multiplier, left shift, right shift, rounding for x >= 0, rounding for x < 0)."""
    multiplier = int(multiplier)
    shift = int(shift)
    left_shift = shift if shift > 0 else 0
    right_shift = -shift if shift < 0 else 0
    round_negative = ((1 << right_shift) - 1) >> 1  # the mask's half: 2**(r-1) - 1, or 0
    round_positive = round_negative + (1 if right_shift > 0 else 0)
    return multiplier, left_shift, right_shift, round_positive, round_negative


@njit(cache=True, inline="always")
def requantize_with_constants(total, multiplier, left_shift, right_shift, round_positive,
                              round_negative, output_zero_point, activation_min, activation_max,
                              single_rounding):
    """``requantize`` of the int32 value ``total``, the channel's constants precomputed.

    Pass ``single_rounding`` as a literal True/False from a loop that has
    already branched on it, so that each loop compiles with one recipe only.
    """
    if single_rounding:
        # The single-rounding recipe reads the shift itself: 31 - shift.
        total_shift = 31 - left_shift + right_shift
        value = wrap_to_int32((total * multiplier + (1 << (total_shift - 1))) >> total_shift)
    else:
        shifted = wrap_to_int32(total << left_shift)              # int32 left shift, wrapping
        high = (shifted * multiplier + (1 << 30)) >> 31           # |product| <= 2**62
        high = INT32_MAX if high > INT32_MAX else high            # INT32_MIN * INT32_MIN only
        value = (high + (round_positive if high >= 0 else round_negative)) >> right_shift
    value = wrap_to_int32(value + output_zero_point)
    value = activation_min if value < activation_min else value
    return activation_max if value > activation_max else value


@njit(cache=True)
def _multiply_flat(accumulators, multipliers, shifts, single_rounding, out):
    for i in range(accumulators.size):
        out[i] = multiply_by_quantized_multiplier_scalar(
            accumulators[i], multipliers[i], shifts[i], single_rounding)


def multiply_by_quantized_multiplier(acc, multiplier, shift,
                                     rounding: str = "double") -> np.ndarray:
    """Requantize int32 ``acc``: round(acc * multiplier * 2**(shift - 31)), TFLite style.

    ``multiplier`` and ``shift`` broadcast against ``acc`` like numpy operands:
    scalars apply to every element, a 1-D array of length C applies per channel
    along the last axis, an array of ``acc``'s shape applies per element.
    ``rounding`` is ``"double"`` (TFLite's default build, TFLite Micro, CMSIS-NN) or
    ``"single"`` (TFLite's opt-in ``TFLITE_SINGLE_ROUNDING`` build).
    Returns an int32 array of the broadcast shape.
    """
    op = "multiply_by_quantized_multiplier"
    check_rounding(op, rounding)
    acc = as_int32_values(op, "acc", acc)
    multiplier = as_int32_values(op, "multiplier", multiplier)
    shift = as_int32_values(op, "shift", shift)
    try:
        acc, multiplier, shift = np.broadcast_arrays(acc, multiplier, shift)
    except ValueError:
        raise ValueError(f"{op}: multiplier shape {multiplier.shape} and shift shape {shift.shape} "
                         f"do not broadcast against acc shape {acc.shape}") from None
    check_multiplier_and_shift(op, multiplier, shift, rounding)
    out = np.empty(acc.shape, dtype=np.int32)
    _multiply_flat(np.ascontiguousarray(acc).ravel(), np.ascontiguousarray(multiplier).ravel(),
                   np.ascontiguousarray(shift).ravel(), rounding == "single", out.reshape(-1))
    return out

