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
 * halves the loads per multiply-add (one column: two filters at a time).
 * The accumulators start at the bias.  SMLAD adds modulo 2^32, an instruction
 * with a defined result, not C's signed +; the reference adds the bias modulo
 * 2^32 too (tt_wrapping_add), and a sum modulo 2^32 does not depend on the
 * order of its terms, so the sums are the reference's.  Then each accumulator
 * is requantized exactly as on the reference path, in one loop, so the
 * requantization code is inlined once.
 *
 * Compiled only where the compiler defines __ARM_FEATURE_DSP; the intrinsics
 * come from the compiler's own <arm_acle.h>.
 */
#include "tinytorch_kernels.h"

#if TT_USE_DSP
#include <arm_acle.h>

#include "dsp_words.h"
#include "requantize.h"

void tt_expand_to_int16_reordered(const int8_t *values, int32_t count, int32_t zero_point,
                                  int16_t *expanded) {
    const int16x2_t minus_zero_point = (int16x2_t)((uint32_t)(uint16_t)(-zero_point) * 0x10001u);
    int32_t i = 0;
    for (; i + 4 <= count; i += 4) {
        const uint32_t word = tt_load_word(values + i);
        const int16x2_t even = __sadd16(__sxtb16(word), minus_zero_point);
        const int16x2_t odd = __sadd16(__sxtb16(tt_rotate_right_8(word)), minus_zero_point);
        tt_store_pair(expanded + i, even);
        tt_store_pair(expanded + i + 2, odd);
    }
    for (; i < count; ++i) {
        expanded[i] = (int16_t)(values[i] - zero_point);
    }
}

/* The inner loops stay functions of their own (TT_NOINLINE): inlined into the
 * caller they would share its registers and spill accumulators to the stack. */

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

/* Two filters times two columns: acc[0] = row0.column0, acc[1] = row0.column1,
 * acc[2] = row1.column0, acc[3] = row1.column1, each added to its start value. */
TT_NOINLINE static void two_rows_two_columns(const int8_t *row0, const int8_t *row1,
                                             const int16_t *column0, const int16_t *column1,
                                             int32_t depth, int32_t acc[4]) {
    const int8_t *w0_pointer = row0, *w1_pointer = row1;
    const int16_t *x0_pointer = column0, *x1_pointer = column1;
    int32_t acc00 = acc[0], acc01 = acc[1], acc10 = acc[2], acc11 = acc[3];
    int32_t groups = depth >> 2;
    /* Pointers that step, and a count that runs down: fewer live values than
     * indices, so all four accumulators stay in registers. */
    while (groups-- > 0) {
        const uint32_t w0 = tt_load_word(w0_pointer);
        const uint32_t w1 = tt_load_word(w1_pointer);
        int16x2_t x0 = tt_load_pair(x0_pointer), x1 = tt_load_pair(x1_pointer);
        int16x2_t w_even = __sxtb16(w0);
        acc00 = __smlad(w_even, x0, acc00);
        acc01 = __smlad(w_even, x1, acc01);
        w_even = __sxtb16(w1);
        acc10 = __smlad(w_even, x0, acc10);
        acc11 = __smlad(w_even, x1, acc11);
        x0 = tt_load_pair(x0_pointer + 2);
        x1 = tt_load_pair(x1_pointer + 2);
        w_even = __sxtb16(tt_rotate_right_8(w0));
        acc00 = __smlad(w_even, x0, acc00);
        acc01 = __smlad(w_even, x1, acc01);
        w_even = __sxtb16(tt_rotate_right_8(w1));
        acc10 = __smlad(w_even, x0, acc10);
        acc11 = __smlad(w_even, x1, acc11);
        w0_pointer += 4;
        w1_pointer += 4;
        x0_pointer += 4;
        x1_pointer += 4;
    }
    acc[0] = tail(row0, column0, depth & ~3, depth, acc00);
    acc[1] = tail(row0, column1, depth & ~3, depth, acc01);
    acc[2] = tail(row1, column0, depth & ~3, depth, acc10);
    acc[3] = tail(row1, column1, depth & ~3, depth, acc11);
}

/* Two filters times one column (the fully connected layer, an odd last position). */
TT_NOINLINE static void two_rows_one_column(const int8_t *row0, const int8_t *row1, const int16_t *column,
                                int32_t depth, int32_t acc[4]) {
    const int32_t depth_in_fours = depth & ~3;
    int32_t acc0 = acc[0], acc1 = acc[2], k;
    for (k = 0; k < depth_in_fours; k += 4) {
        const uint32_t w0 = tt_load_word(row0 + k);
        const uint32_t w1 = tt_load_word(row1 + k);
        const int16x2_t x_even = tt_load_pair(column + k), x_odd = tt_load_pair(column + k + 2);
        acc0 = __smlad(__sxtb16(w0), x_even, acc0);
        acc0 = __smlad(__sxtb16(tt_rotate_right_8(w0)), x_odd, acc0);
        acc1 = __smlad(__sxtb16(w1), x_even, acc1);
        acc1 = __smlad(__sxtb16(tt_rotate_right_8(w1)), x_odd, acc1);
    }
    acc[0] = tail(row0, column, k, depth, acc0);
    acc[2] = tail(row1, column, k, depth, acc1);
}

void tt_matmul_dsp(const int8_t *weight, int32_t rows, int32_t depth,
                   const int16_t *column0, const int16_t *column1, const int32_t *bias,
                   const int32_t *multiplier, const int32_t *shift,
                   const tt_quantization *q, int8_t *output0, int8_t *output1) {
    const int32_t output_zero_point = q->output_zero_point;
    const int32_t act_min = q->act_min, act_max = q->act_max;
    const int32_t single_rounding = q->single_rounding;
    const int32_t columns = column1 != 0 ? 2 : 1;
    int32_t o;
    for (o = 0; o < rows; o += 2) {
        /* An odd last filter is paired with itself: computed twice, stored once. */
        const int32_t pair = o + 1 < rows ? 2 : 1;
        const int8_t *row0 = weight + o * depth;
        const int8_t *row1 = row0 + (pair - 1) * depth;
        int32_t acc[4];
        acc[0] = acc[1] = bias[o];
        acc[2] = acc[3] = bias[o + pair - 1];
        if (columns == 2) {
            two_rows_two_columns(row0, row1, column0, column1, depth, acc);
        } else {
            two_rows_one_column(row0, row1, column0, depth, acc);
        }
        /* Written out rather than looped, so that each requantization is
         * straight-line code with its parameters in registers. */
        output0[o] = tt_requantize(acc[0], multiplier[o], shift[o], output_zero_point, act_min,
                                   act_max, single_rounding);
        if (pair == 2) {
            output0[o + 1] = tt_requantize(acc[2], multiplier[o + 1], shift[o + 1],
                                           output_zero_point, act_min, act_max, single_rounding);
        }
        if (columns == 2) {
            output1[o] = tt_requantize(acc[1], multiplier[o], shift[o], output_zero_point,
                                       act_min, act_max, single_rounding);
            if (pair == 2) {
                output1[o + 1] = tt_requantize(acc[3], multiplier[o + 1], shift[o + 1],
                                               output_zero_point, act_min, act_max,
                                               single_rounding);
            }
        }
    }
}
#else
/* ISO C forbids an empty file; without the DSP extension there is nothing to compile. */
typedef int tt_matmul_dsp_needs_the_dsp_extension;
#endif
