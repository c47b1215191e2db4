/* Int8 softmax over the last axis (TFLite's SOFTMAX), in integers only.
 *
 * p_i = exp(s * (x_i - max)) / sum_j exp(s * (x_j - max)), written as 256 * p - 128.
 * tinytorch/kernels/int8/softmax.py derives each step; per row:
 *   1. d = x - max(x), in [-255, 0];
 *   2. d rescaled to Q5.26 (5 integer bits, 26 fraction bits) by input_multiplier
 *      and input_left_shift; a d below diff_min counts as exp = 0;
 *   3. exp(d) in Q0.31 (exp_on_negative_values);
 *   4. the exponentials summed in Q12.19;
 *   5. sum = 2^k * (1 + f), and 1 / (1 + f) by Newton-Raphson (one_over_one_plus_x);
 *   6. exp * (1 / (1 + f)) / 2^(k + 31 - 8), rounded: the probability in 1/256ths.
 *
 * A Qm.n number is an int32 r meaning r / 2^n; multiplying two of them is
 * tt_saturating_rounding_doubling_high_mul (requantize.h), and Qa x Qb is
 * Q(a + b).  The constants and every rounding are gemmlowp's (fixedpoint.h),
 * as TFLite Micro uses them, and no sum below leaves int32 (checked over every
 * possible argument when this kernel was written).  Nothing but int32
 * arithmetic and requantize.h's 64-bit products: no float, no libm, no
 * instruction a Cortex-M0+ lacks (leading zeros are counted in a loop).
 */
#include "tinytorch_kernels.h"
#include "requantize.h"

/* Q-format product: Qa x Qb -> Q(a + b), rounded. */
TT_INLINE int32_t fixed_mul(int32_t a, int32_t b) {
    return tt_saturating_rounding_doubling_high_mul(a, b);
}

/* x * 2^exponent for 1 <= exponent <= 30, saturating once |x| passes
 * 2^(31 - exponent) - 1 (gemmlowp's SaturatingRoundingMultiplyByPOT). */
static int32_t saturating_shift_left(int32_t x, int32_t exponent) {
    const int32_t threshold = ((int32_t)1 << (31 - exponent)) - 1;
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: exp(-1/8) * exp(y) with y = a + 1/8,
 * exp(y) by its Taylor polynomial to y^4. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668;  /* exp(-1/8) */
    const int32_t one_third = 715827883;              /* 1/3 */
    const int32_t y = a + ((int32_t)1 << 28);         /* a + 1/8, in [-1/8, 1/8) */
    const int32_t y2 = fixed_mul(y, y);
    const int32_t y3 = fixed_mul(y2, y);
    const int32_t y4 = fixed_mul(y2, y2);
    /* y^2/2 + y^3/6 + y^4/24 = ((y^4/4 + y^3) / 3 + y^2) / 2 */
    const int32_t higher_terms = tt_rounding_divide_by_power_of_two(
        fixed_mul(tt_rounding_divide_by_power_of_two(y4, 2) + y3, one_third) + y2, 1);
    return exp_minus_one_eighth + fixed_mul(exp_minus_one_eighth, y + higher_terms);
}

/* exp(-2^j) in Q0.31 for j = -2, -1, 0, ..., 4. */
static const int32_t exp_of_minus_power_of_two[7] = {
    1672461947,  /* exp(-1/4) */
    1302514674,  /* exp(-1/2) */
    790015084,   /* exp(-1)   */
    290630308,   /* exp(-2)   */
    39332535,    /* exp(-4)   */
    720401,      /* exp(-8)   */
    242,         /* exp(-16)  */
};

/* exp(a) for a <= 0: Q5.26 in, Q0.31 out.  a = f - k/4 with f in [-1/4, 0) and
 * k >= 0: exp(f) from the polynomial, then one factor exp(-2^j) for each bit of
 * k/4 (a barrel shifter).  Arguments below -32 cannot occur in Q5.26. */
static int32_t exp_on_negative_values(int32_t a) {
    const int32_t one_quarter = (int32_t)1 << 24;                  /* 1/4 in Q5.26 */
    const int32_t f = (a & (one_quarter - 1)) - one_quarter;       /* in [-1/4, 0) */
    const int32_t quarters = f - a;                                /* k/4 >= 0 */
    /* f * 2^5 is f in Q0.31: |f| <= 1/4, so the shift cannot overflow. */
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0(f * 32);
    int32_t j;
    if (a == 0) {
        return INT32_MAX;  /* exp(0) = 1, the largest Q0.31 value */
    }
    for (j = 0; j < 7; ++j) {
        if (quarters & ((int32_t)1 << (24 + j))) {  /* bit 24 + j stands for 2^(j - 2) */
            result = fixed_mul(result, exp_of_minus_power_of_two[j]);
        }
    }
    return result;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out.  With d = (1 + a) / 2 in
 * [1/2, 1): x = 1/d by Newton-Raphson in Q2.29, started at 48/17 - 32/17 * d
 * (the best line on [1/2, 1]), three steps x += x * (1 - d * x); then x / 2. */
static int32_t one_over_one_plus_x(int32_t a) {
    const int32_t half_denominator = (int32_t)(((uint32_t)a + 0x80000000u) >> 1);  /* d */
    const int32_t one = (int32_t)1 << 29;                          /* 1.0 in Q2.29 */
    int32_t x = 1515870810 + fixed_mul(half_denominator, -1010580540);  /* 48/17 - 32/17 d */
    int32_t step;
    for (step = 0; step < 3; ++step) {
        const int32_t error = one - fixed_mul(half_denominator, x);   /* Q2.29 */
        x += saturating_shift_left(fixed_mul(x, error), 2);          /* Q4.27 -> Q2.29 */
    }
    /* x / 2: x's bits read as Q1.30, then moved to Q0.31 */
    return saturating_shift_left(x, 1);
}

/* exp(s * d) in Q0.31 for a difference d >= diff_min. */
static int32_t exp_of_difference(const tt_softmax_parameters *p, int32_t difference) {
    return exp_on_negative_values(tt_multiply_by_quantized_multiplier(
        difference, p->input_multiplier, p->input_left_shift, p->single_rounding));
}

void tt_softmax(const tt_softmax_parameters *p, int32_t rows, int32_t depth, const int8_t *input,
                int8_t *output) {
    int32_t row, c;
    for (row = 0; row < rows; ++row) {
        const int8_t *x = input + row * depth;
        int8_t *out = output + row * depth;
        int32_t largest = -128, sum_of_exps = 0, leading_zeros = 0, scale, exponent;
        uint32_t normalized;
        for (c = 0; c < depth; ++c) {
            largest = x[c] > largest ? x[c] : largest;
        }
        for (c = 0; c < depth; ++c) {
            const int32_t difference = x[c] - largest;
            if (difference >= p->diff_min) {
                /* Q0.31 -> Q12.19; at most 511 terms of at most 2^19 */
                sum_of_exps += tt_rounding_divide_by_power_of_two(
                    exp_of_difference(p, difference), 12);
            }
        }
        /* sum = 2^k * (1 + f): shift its leading one to bit 31 (sum >= 2^19, so at
         * most 12 steps); k = 12 - leading_zeros. */
        normalized = (uint32_t)sum_of_exps;
        while (normalized < 0x80000000u) {
            normalized <<= 1;
            ++leading_zeros;
        }
        scale = one_over_one_plus_x((int32_t)(normalized - 0x80000000u));
        exponent = (12 - leading_zeros) + 31 - 8;  /* at most 31: the sum is below 512 */
        for (c = 0; c < depth; ++c) {
            const int32_t difference = x[c] - largest;
            int32_t value = -128;
            if (difference >= p->diff_min) {
                const int32_t probability = tt_rounding_divide_by_power_of_two(
                    fixed_mul(scale, exp_of_difference(p, difference)), exponent);
                value = probability - 128;  /* probability >= 0: only 127 can be passed */
                if (value > 127) {
                    value = 127;
                }
            }
            out[c] = (int8_t)value;
        }
    }
}
