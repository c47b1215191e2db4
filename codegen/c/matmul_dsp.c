/* The DSP path's inner product: int8 filters times int16 columns, with SMLAD.
 *
 * The Cortex-M4/M7 DSP extension multiplies two pairs of 16-bit numbers and
 * adds both products to an accumulator in one instruction, SMLAD:
 *
 *     acc += a.low * b.low + a.high * b.high
 *
 * Filters are int8, so four weights are loaded as one 32-bit word and
 * SXTB16 sign-extends bytes 0 and 2 into one register's two halves, and
 * (after rotating the word by 8 bits) bytes 1 and 3 into another: weights
 * come out in the order w0 w2, w1 w3.  The columns were written in that
 * order (tt_expand_to_int16_reordered, or the convolution's im2col), so each
 * pair of weights meets its pair of inputs.
 *
 * tt_matmul_dsp computes two filters against two columns at a time: each
 * weight word feeds two columns and each column word two filters, which
 * halves the loads per multiply-add.  The accumulators start at the bias;
 * SMLAD wraps modulo 2^32 like the reference's int32 sums, so the order of
 * the additions changes nothing.  Then each accumulator is requantized exactly
 * as on the reference path.
 *
 * Compiled only where the compiler defines __ARM_FEATURE_DSP; the intrinsics
 * come from the compiler's own <arm_acle.h>.
 */
#include "tinytorch_kernels.h"

#if TT_USE_DSP
#include <arm_acle.h>

#include "requantize.h"

/* Four bytes as one little-endian word.  Compilers turn this into a single
 * LDR (the M4 and M7 load unaligned words), with no library call and no
 * pointer cast that would break C's aliasing rules. */
static uint32_t load_word(const int8_t *bytes) {
    const uint8_t *b = (const uint8_t *)bytes;
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static int16x2_t load_pair(const int16_t *halves) {
    return (int16x2_t)((uint32_t)(uint16_t)halves[0] | ((uint32_t)(uint16_t)halves[1] << 16));
}

static void store_pair(int16_t *halves, int16x2_t pair) {
    halves[0] = (int16_t)(pair & 0xFFFF);
    halves[1] = (int16_t)((uint32_t)pair >> 16);
}

void tt_expand_to_int16_reordered(const int8_t *values, int32_t count, int32_t zero_point,
                                  int16_t *expanded) {
    const int16x2_t minus_zero_point = (int16x2_t)((uint32_t)(uint16_t)(-zero_point) * 0x10001u);
    int32_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const uint32_t word = load_word(values + i);
        const int16x2_t even = __sadd16(__sxtb16(word), minus_zero_point);
        const int16x2_t odd = __sadd16(__sxtb16(__ror(word, 8)), minus_zero_point);
        store_pair(expanded + i, even);
        store_pair(expanded + i + 2, odd);
    }
    for (; i < count; ++i) {
        expanded[i] = (int16_t)(values[i] - zero_point);
    }
}

static int8_t requantize_channel(int32_t acc, int32_t o, const int32_t *multiplier,
                                 const int32_t *shift, const tt_quantization *q) {
    return tt_requantize(acc, multiplier[o], shift[o], q->output_zero_point, q->act_min,
                         q->act_max, q->single_rounding);
}

/* Products beyond the last whole group of four, one at a time.  In unsigned
 * arithmetic, which wraps like SMLAD. */
static int32_t tail(const int8_t *row, const int16_t *column, int32_t from, int32_t depth,
                    int32_t acc) {
    int32_t k;
    for (k = from; k < depth; ++k) {
        acc = tt_wrapping_add(acc, row[k] * column[k]);
    }
    return acc;
}

void tt_matmul_dsp(const int8_t *weight, int32_t rows, int32_t depth,
                   const int16_t *column0, const int16_t *column1, const int32_t *bias,
                   const int32_t *multiplier, const int32_t *shift,
                   const tt_quantization *q, int8_t *output0, int8_t *output1) {
    const int32_t depth_in_fours = depth & ~3;
    int32_t o = 0, k;
    if (column1 == 0) {
        column1 = column0;  /* computed twice, stored once: keeps one loop */
    }
    for (; o + 1 < rows; o += 2) {
        const int8_t *row0 = weight + o * depth;
        const int8_t *row1 = row0 + depth;
        int32_t acc00 = bias[o], acc01 = bias[o], acc10 = bias[o + 1], acc11 = bias[o + 1];
        for (k = 0; k < depth_in_fours; k += 4) {
            const uint32_t w0 = load_word(row0 + k);
            const uint32_t w1 = load_word(row1 + k);
            const int16x2_t w0_even = __sxtb16(w0), w0_odd = __sxtb16(__ror(w0, 8));
            const int16x2_t w1_even = __sxtb16(w1), w1_odd = __sxtb16(__ror(w1, 8));
            const int16x2_t x0_even = load_pair(column0 + k);
            const int16x2_t x0_odd = load_pair(column0 + k + 2);
            const int16x2_t x1_even = load_pair(column1 + k);
            const int16x2_t x1_odd = load_pair(column1 + k + 2);
            acc00 = __smlad(w0_even, x0_even, acc00);
            acc00 = __smlad(w0_odd, x0_odd, acc00);
            acc01 = __smlad(w0_even, x1_even, acc01);
            acc01 = __smlad(w0_odd, x1_odd, acc01);
            acc10 = __smlad(w1_even, x0_even, acc10);
            acc10 = __smlad(w1_odd, x0_odd, acc10);
            acc11 = __smlad(w1_even, x1_even, acc11);
            acc11 = __smlad(w1_odd, x1_odd, acc11);
        }
        acc00 = tail(row0, column0, k, depth, acc00);
        acc01 = tail(row0, column1, k, depth, acc01);
        acc10 = tail(row1, column0, k, depth, acc10);
        acc11 = tail(row1, column1, k, depth, acc11);
        output0[o] = requantize_channel(acc00, o, multiplier, shift, q);
        output0[o + 1] = requantize_channel(acc10, o + 1, multiplier, shift, q);
        if (output1 != 0) {
            output1[o] = requantize_channel(acc01, o, multiplier, shift, q);
            output1[o + 1] = requantize_channel(acc11, o + 1, multiplier, shift, q);
        }
    }
    if (o < rows) {  /* an odd last filter */
        const int8_t *row0 = weight + o * depth;
        int32_t acc00 = bias[o], acc01 = bias[o];
        for (k = 0; k < depth_in_fours; k += 4) {
            const uint32_t w0 = load_word(row0 + k);
            const int16x2_t w0_even = __sxtb16(w0), w0_odd = __sxtb16(__ror(w0, 8));
            acc00 = __smlad(w0_even, load_pair(column0 + k), acc00);
            acc00 = __smlad(w0_odd, load_pair(column0 + k + 2), acc00);
            acc01 = __smlad(w0_even, load_pair(column1 + k), acc01);
            acc01 = __smlad(w0_odd, load_pair(column1 + k + 2), acc01);
        }
        acc00 = tail(row0, column0, k, depth, acc00);
        acc01 = tail(row0, column1, k, depth, acc01);
        output0[o] = requantize_channel(acc00, o, multiplier, shift, q);
        if (output1 != 0) {
            output1[o] = requantize_channel(acc01, o, multiplier, shift, q);
        }
    }
}
#else
/* ISO C forbids an empty file; without the DSP extension there is nothing to compile. */
typedef int tt_matmul_dsp_needs_the_dsp_extension;
#endif
