/* Requantization: an int32 accumulator times a real multiplier, in integers.
 *
 * The real multiplier M = input_scale * weight_scale / output_scale was
 * written ahead of time as multiplier * 2^(shift - 31), with multiplier a
 * 31-bit fraction (tinytorch.kernels.int8.quantize_multiplier).  These
 * helpers apply it with integer multiplies, adds and shifts, exactly as
 * TFLite does (tinytorch/kernels/int8/requantize.py explains the math):
 *
 *   double rounding (TFLite's default; TFLite Micro, CMSIS-NN):
 *       high = round(x * 2^max(shift, 0) * multiplier / 2^31)   ties up
 *       result = round(high / 2^max(-shift, 0))                  ties away from 0
 *   single rounding (TFLite built with TFLITE_SINGLE_ROUNDING):
 *       result = (x * multiplier + 2^(30 - shift)) >> (31 - shift)  in 64 bits
 *
 * Signed overflow is undefined behaviour in C, while the Python reference
 * wraps like a 32-bit register; wherever a sum may wrap, it is done in
 * unsigned arithmetic (tt_wrapping_add), which wraps by definition.  Right
 * shifts of negative numbers are arithmetic on every compiler this project
 * targets.
 */
#ifndef TINYTORCH_REQUANTIZE_H
#define TINYTORCH_REQUANTIZE_H

#include <stdint.h>

#include "tinytorch_kernels.h"

/* Inlined into every kernel's inner loop: a call per output would cost more
 * than the arithmetic (GCC and clang; other compilers decide for themselves). */
#if defined(__GNUC__)
#define TT_INLINE static inline __attribute__((always_inline))
#define TT_NOINLINE __attribute__((noinline))
#else
#define TT_INLINE static inline
#define TT_NOINLINE
#endif

TT_INLINE int32_t tt_wrapping_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* round(a * b / 2^31), ties upward; INT32_MIN * INT32_MIN (= +1.0) saturates.
 * floor((ab + 2^30) / 2^31) equals TFLite's nudge-and-truncate for every
 * product, and compiles to one multiply-accumulate and a shift. */
TT_INLINE int32_t tt_saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31);
}

/* round(x / 2^exponent) for 0 <= exponent <= 31, ties away from zero. */
TT_INLINE int32_t tt_rounding_divide_by_power_of_two(int32_t x, int32_t exponent) {
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

TT_INLINE int32_t tt_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier,
                                                          int32_t shift,
                                                          int32_t single_rounding) {
    if (single_rounding) {
        const int32_t total_shift = 31 - shift;
        const int64_t rounding_term = (int64_t)1 << (total_shift - 1);
        return (int32_t)(((int64_t)x * multiplier + rounding_term) >> total_shift);
    } else {
        const int32_t left_shift = shift > 0 ? shift : 0;
        const int32_t right_shift = left_shift - shift;  /* max(-shift, 0) */
        const int32_t shifted = (int32_t)((uint32_t)x << left_shift);  /* wraps, as int32 does */
        return tt_rounding_divide_by_power_of_two(
            tt_saturating_rounding_doubling_high_mul(shifted, multiplier), right_shift);
    }
}

/* The tail of every layer with weights: rescale, add the output zero point
 * (an int32 add, which may wrap like the reference's), clamp. */
TT_INLINE int8_t tt_requantize(int32_t accumulator, int32_t multiplier, int32_t shift,
                                   int32_t output_zero_point, int32_t act_min,
                                   int32_t act_max, int32_t single_rounding) {
    int32_t value = tt_multiply_by_quantized_multiplier(accumulator, multiplier, shift,
                                                        single_rounding);
    value = tt_wrapping_add(value, output_zero_point);
    if (value < act_min) {
        value = act_min;
    }
    if (value > act_max) {
        value = act_max;
    }
    return (int8_t)value;
}

/* The same double-rounding requantization, in five instructions, for an
 * accumulator that is known to be small.
 *
 * A layer's generated code may call a kernel that uses this form only after
 * the code generator (codegen/accumulator_bounds.py) has proven, from the layer's weights,
 * biases and zero points, that every accumulator x of a channel satisfies
 * |x * 2^max(shift, 0)| < 2^30 and that nothing below overflows.  Then, with
 * left_shift = max(shift, 0) + 1 and right = max(-shift, 0):
 *
 * 1. x' = x << left_shift is 2 * (x << max(shift, 0)) without wrapping, and
 *    round(x' * multiplier / 2^32) (ties up; one SMMULR) is exactly
 *    tt_saturating_rounding_doubling_high_mul's round(x << max(shift, 0) *
 *    multiplier / 2^31): the same fraction, and no saturation case since the
 *    input is never INT32_MIN.  Call it h.
 * 2. round(h / 2^right), ties away from zero, is floor((2h + 2^right - [h < 0])
 *    / 2^(right + 1)) for every right >= 0.  For right = 0 both (2h + 1) >> 1
 *    and 2h >> 1 are h.  For right >= 1 the classic form is floor((h +
 *    2^(right-1) - [h < 0]) / 2^right), i.e. doubled floor((2h + 2^right -
 *    2[h < 0]) / 2^(right+1)); 2h + 2^right is even and so is the divisor, so
 *    taking 1 or 2 from it floors the same.
 *    h >> 31 is -[h < 0], and adding output_zero_point * 2^(right + 1) to the
 *    numerator adds output_zero_point to the quotient.  So with
 *       offset = 2^right + output_zero_point * 2^(right + 1),
 *       right_shift = right + 1,
 *    the output before clamping is (2h + offset + (h >> 31)) >> right_shift:
 *    an add with a shifted operand, another, and an arithmetic shift.
 *
 * ACLE has no intrinsic for SMMULR; clang recognises the 64-bit expression
 * below (add 2^31, keep the high word) and emits it (checked with Zig's clang
 * for the Cortex-M4; another compiler may spend a few more instructions, never
 * a different result).
 */
TT_INLINE int32_t tt_rescale_bounded(int32_t accumulator, int32_t multiplier,
                                     int32_t left_shift, int32_t offset, int32_t right_shift) {
    const int32_t scaled = (int32_t)((uint32_t)accumulator << left_shift);
    const int32_t high = (int32_t)(((int64_t)scaled * multiplier + ((int64_t)1 << 31)) >> 32);
    return (2 * high + offset + (high >> 31)) >> right_shift;
}

/* ... then the clamp, as in tt_requantize. */
TT_INLINE int8_t tt_requantize_bounded(int32_t accumulator, int32_t multiplier,
                                       int32_t left_shift, int32_t offset,
                                       int32_t right_shift, int32_t act_min, int32_t act_max) {
    int32_t value = tt_rescale_bounded(accumulator, multiplier, left_shift, offset, right_shift);
    if (value < act_min) {
        value = act_min;
    }
    if (value > act_max) {
        value = act_max;
    }
    return (int8_t)value;
}

/* An output channel's bias, and its requantization, the way the emitter
 * chose for the layer (tinytorch_kernels.h): with the proven per-channel
 * constants `rescale` where given, else TFLite's bias, multiplier and shift. */
TT_INLINE int32_t tt_channel_bias(int32_t o, const int32_t *bias,
                                  const tt_channel_rescale *rescale) {
    return rescale ? rescale[o].bias : bias[o];
}

TT_INLINE int8_t tt_requantize_channel(int32_t accumulator, int32_t o,
                                       const int32_t *multiplier, const int32_t *shift,
                                       const tt_channel_rescale *rescale,
                                       const tt_quantization *q) {
    if (rescale) {
        const tt_channel_rescale *r = rescale + o;
        return tt_requantize_bounded(accumulator, r->multiplier, r->left_shift, r->offset,
                                     r->right_shift, q->act_min, q->act_max);
    }
    return tt_requantize(accumulator, multiplier[o], shift[o], q->output_zero_point,
                         q->act_min, q->act_max, q->single_rounding);
}

#endif
