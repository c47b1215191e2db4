"""Accumulator bounds: proofs, made before any C is written, that the integer sums fit.

What
----
Every layer with weights computes, per output value, an int32 accumulator

    acc = bias + sum over k products of  w * (x - input_zero_point)

and then requantizes it to int8.  Two facts about that accumulator are
decided here, from a layer's shapes and constants, once, by the code
generator:

1. ``MAX_PATCH``: how many products one output may sum.  The emitter refuses
   a layer with more (``EmitError``); with at most that many, the sum of the
   products cannot leave the int32 range.
2. ``bounded_rescale``: for a layer with weights (depthwise, convolution,
   fully connected), a much tighter bound, channel by channel, from the
   actual weights and bias.  Where it holds, the layer may use
   ``tt_requantize_bounded``, a requantization of five instructions instead
   of about thirty-five, with exactly TFLite's bytes.

Why a proof, and not a test
---------------------------
Signed integer overflow is undefined behaviour in C: a compiler may assume
it never happens and optimise on that assumption, so a C sum that overflowed
would not "wrap like a register", it would give the program no meaning at
all.  "It wraps" is therefore never the argument for the C's ``acc +=``.  The
argument is that overflow cannot happen, and a test on random layers cannot
show that; a bound on every possible input can.

The math of MAX_PATCH
---------------------
Weights are symmetric int8, ``w`` in [-127, 127] (the graph format refuses
-128).  An input minus its zero point, ``x - z`` with both in [-128, 127],
lies in [-255, 255].  So every product has ``|w * (x - z)| <= 127 * 255 =
32,385`` (it even fits an int16), and any partial sum of at most ``k``
products, added in any order, over any subset of the window (padding skips
products), has absolute value at most ``k * 32,385``.  For ``k <= MAX_PATCH
= 66,000`` that is at most 2,137,410,000, below ``2^31 - 1 =
2,147,483,647``: the MAX_PATCH bound makes int32 accumulator overflow
impossible.  (The largest ``k`` the argument allows is 66,311; 66,000 is a
round number below it.)

The bias is another matter: any int32 the converter chose.  It is added once,
after the products, and that one addition may truly leave the int32 range;
the Python reference wraps it as a 32-bit register would (``wrap_to_int32``),
and the C adds it in unsigned arithmetic (``tt_wrapping_add``,
``codegen/c/requantize.h``), whose wrap-around C defines.  The DSP paths
start their accumulators at the bias and add the products with SMLAD or
SMLABB, instructions defined to add modulo 2^32; a sum modulo 2^32 does not
depend on the order of its terms, so they reach the same value.

The math of bounded_rescale
---------------------------
``tt_requantize_bounded`` (``codegen/c/requantize.h`` derives it) computes
TFLite's double rounding with two shortcuts that are exact only for a small
accumulator: it doubles the accumulator inside the shift, and it rounds the
second step with one add instead of a comparison.  For channel ``o`` with
``reach = sum |weight[o]| * max |x - input_zero_point|`` over int8 ``x``,
every accumulator lies in ``bias +- reach``, again for any subset of the
window.  The proof asks that this range, shifted left by ``max(shift, 0)``,
stays inside [-2^30, 2^30) (so doubling it cannot overflow, and the high
multiply never meets its one saturating case), and that the numerator
``2h + offset (- 1)`` of the second rounding fits an int32 at both ends of
the range (``h`` grows with the accumulator).  Where any part fails, the
answer is None and the layer keeps TFLite's requantization.

Where it sits
-------------
``emitter.py`` checks MAX_PATCH for every layer (``c_kernels.py`` says how
many products each kernel sums); ``c_kernels.py`` asks ``bounded_rescale``
for every layer with weights, and passes the kernel the per-channel
constants where the proof holds (the bounded depthwise kernel; the
``rescale`` argument of the convolution and the fully connected layer).
"""
from __future__ import annotations

import numpy as np

LARGEST_PRODUCT = 127 * 255  # |weight| <= 127, |x - zero point| <= 255
MAX_PATCH = 66_000  # products per output an int32 accumulator holds without overflow
assert MAX_PATCH * LARGEST_PRODUCT <= 2**31 - 1


def bounded_rescale(weight, bias, multiplier, shift, input_zero_point,
                    output_zero_point) -> list[tuple[int, ...]] | None:
    """Per output channel (bias, multiplier, offset, left_shift, right_shift) for
    ``tt_requantize_bounded`` (codegen/c/requantize.h), or None unless it provably
    gives TFLite's double-rounding bytes for every int8 input (see the module essay).

    ``weight[o]`` holds channel o's weights.
    """
    largest_input = max(abs(-128 - input_zero_point), abs(127 - input_zero_point))
    rows = []
    for channel, channel_bias in enumerate(bias):
        m, s, b = int(multiplier[channel]), int(shift[channel]), int(channel_bias)
        reach = int(np.abs(np.asarray(weight[channel], dtype=np.int64)).sum()) * largest_input
        left, right = max(s, 0), max(-s, 0)
        if m < 0 or left > 30 or right > 30:
            return None
        ends = ((b - reach) << left, (b + reach) << left)
        if ends[0] < -2**30 or ends[1] >= 2**30:
            return None
        offset = 2**right + output_zero_point * 2**(right + 1)
        for end in ends:
            high = (end * m + 2**30) >> 31  # SaturatingRoundingDoublingHighMul, no saturation
            for value in (offset, 2 * high, 2 * high + offset, 2 * high + offset - 1):
                if not -2**31 <= value < 2**31:
                    return None
        rows.append((b, m, offset, left + 1, right + 1))
    return rows
