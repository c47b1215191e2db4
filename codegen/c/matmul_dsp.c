/* The DSP path's inner product: int8 filters times int16 columns, with SMLAD.
 *
 * The Cortex-M4/M7 DSP extension multiplies two pairs of 16-bit numbers and
 * adds both products to an accumulator in one instruction, SMLAD:
 *
 *     acc += a.low * b.low + a.high * b.high
 *
 * Filters are int8, so four weights are loaded as one 32-bit word and
 * SXTB16 sign-extends bytes 0 and 2 into one register's two halves, and
 * (with the word rotated by 8 bits, which SXTB16 does for free) bytes 1 and
 * 3 into another: weights come out in the order w0 w2, w1 w3.  The columns
 * were written in that order (tt_widen_fours in dsp_words.h), so each pair
 * of weights meets its pair of inputs.
 *
 * tt_matmul_dsp computes two filters against two columns at a time: each
 * weight word feeds two columns and each column word two filters, so four
 * SMLADs (eight multiply-adds) cost two weight loads, two SXTB16 and two
 * column loads.  The two columns are interleaved pair by pair (the
 * convolution's im2col writes them so): one pointer walks both, and the
 * loop needs one register fewer, which is what lets the four accumulators,
 * three pointers and five temporaries fit the core's fourteen free
 * registers without a spill.  With one column (the fully connected layer)
 * each column word feeds the two filters.
 *
 * The accumulators start at the bias.  SMLAD adds modulo 2^32, an
 * instruction with a defined result, not C's signed +; the reference adds
 * the bias modulo 2^32 too (tt_wrapping_add), and a sum modulo 2^32 does not
 * depend on the order of its terms, so the sums are the reference's.  Then
 * each accumulator is requantized exactly as on the reference path, in one
 * loop, so the requantization code is inlined once.
 *
 * Compiled only where the compiler defines __ARM_FEATURE_DSP; the intrinsics
 * come from the compiler's own <arm_acle.h>.
 */
#include "tinytorch_kernels.h"

#if TT_USE_DSP
#include "dsp_words.h"
#include "requantize.h"

/* The inner loops stay functions of their own (TT_NOINLINE), each one loop
 * and nothing else: inlined into the caller, or followed by more code, they
 * would share registers with it and spill accumulators to the stack.  Each
 * takes `groups` >= 1 groups of four depth values. */

/* Two filters times two interleaved columns: acc[0] += row0.column0,
 * acc[1] += row0.column1, acc[2] += row1.column0, acc[3] += row1.column1.
 * Per four depth values the columns hold column 0's even pair, column 1's
 * even pair, column 0's odd pair, column 1's odd pair. */
TT_NOINLINE static void two_rows_two_columns(const int8_t *row0, const int8_t *row1,
                                             const int16_t *columns, int32_t groups,
                                             int32_t acc[4]) {
    int32_t acc00 = acc[0], acc01 = acc[1], acc10 = acc[2], acc11 = acc[3];
    /* A count that runs down to zero and pointers that step: the fewest live
     * values, and the loop ends in one subtract-and-branch. */
    do {
        const uint32_t w0 = tt_load_word(row0), w1 = tt_load_word(row1);
        /* Each widened weight pair is used twice as soon as its column word is loaded. */
        const int16x2_t w0_even = __sxtb16(w0), w1_even = __sxtb16(w1);
        int16x2_t x = tt_load_pair(columns);
        acc00 = __smlad(w0_even, x, acc00);
        acc10 = __smlad(w1_even, x, acc10);
        x = tt_load_pair(columns + 2);
        acc01 = __smlad(w0_even, x, acc01);
        acc11 = __smlad(w1_even, x, acc11);
        {
            const int16x2_t w0_odd = tt_odd_bytes(w0), w1_odd = tt_odd_bytes(w1);
            x = tt_load_pair(columns + 4);
            acc00 = __smlad(w0_odd, x, acc00);
            acc10 = __smlad(w1_odd, x, acc10);
            x = tt_load_pair(columns + 6);
            acc01 = __smlad(w0_odd, x, acc01);
            acc11 = __smlad(w1_odd, x, acc11);
        }
        row0 += 4;
        row1 += 4;
        columns += 8;
    } while (--groups);
    acc[0] = acc00;
    acc[1] = acc01;
    acc[2] = acc10;
    acc[3] = acc11;
}

/* Two filters times one column (the fully connected layer): acc[0] and acc[2]. */
TT_NOINLINE static void two_rows_one_column(const int8_t *row0, const int8_t *row1,
                                            const int16_t *column, int32_t groups,
                                            int32_t acc[4]) {
    int32_t acc0 = acc[0], acc1 = acc[2];
    do {
        const uint32_t w0 = tt_load_word(row0), w1 = tt_load_word(row1);
        const int16x2_t x_even = tt_load_pair(column), x_odd = tt_load_pair(column + 2);
        acc0 = __smlad(__sxtb16(w0), x_even, acc0);
        acc1 = __smlad(__sxtb16(w1), x_even, acc1);
        acc0 = __smlad(tt_odd_bytes(w0), x_odd, acc0);
        acc1 = __smlad(tt_odd_bytes(w1), x_odd, acc1);
        row0 += 4;
        row1 += 4;
        column += 4;
    } while (--groups);
    acc[0] = acc0;
    acc[2] = acc1;
}

void tt_matmul_dsp(const int8_t *weight, int32_t rows, int32_t depth, const int16_t *columns,
                   int32_t column_count, const int32_t *bias, const int32_t *multiplier,
                   const int32_t *shift, const tt_channel_rescale *rescale,
                   const tt_quantization *quantization, int8_t *output0, int8_t *output1) {
    /* A copy: a store through an int8_t pointer may alias anything, so fields
     * read through `quantization` would be read again after every output. */
    const tt_quantization q = *quantization;
    const int32_t groups = depth >> 2, depth_in_fours = depth & ~3;
    /* After the groups of four, the last depth % 4 values, one by one (per
     * value, column 0 then column 1). */
    const int16_t *tail_columns = columns + column_count * depth_in_fours;
    int32_t o, k;
    for (o = 0; o < rows; o += 2) {
        /* An odd last filter is paired with itself: computed twice, stored twice. */
        const int32_t o1 = o + 1 < rows ? o + 1 : o;
        const int8_t *row0 = weight + o * depth, *row1 = weight + o1 * depth;
        int32_t acc[4];
        int8_t y00, y10;
        acc[0] = acc[1] = tt_channel_bias(o, bias, rescale);
        acc[2] = acc[3] = tt_channel_bias(o1, bias, rescale);
        /* The tail first (a sum modulo 2^32 does not depend on the order of
         * its terms), in unsigned arithmetic, which wraps like SMLAD. */
        for (k = 0; k < depth - depth_in_fours; ++k) {
            const int32_t w0 = row0[depth_in_fours + k], w1 = row1[depth_in_fours + k];
            const int16_t *x = tail_columns + column_count * k;
            acc[0] = tt_wrapping_add(acc[0], w0 * x[0]);
            acc[2] = tt_wrapping_add(acc[2], w1 * x[0]);
            if (column_count == 2) {
                acc[1] = tt_wrapping_add(acc[1], w0 * x[1]);
                acc[3] = tt_wrapping_add(acc[3], w1 * x[1]);
            }
        }
        if (groups > 0 && column_count == 2) {
            two_rows_two_columns(row0, row1, columns, groups, acc);
        } else if (groups > 0) {
            two_rows_one_column(row0, row1, columns, groups, acc);
        }
        /* Every output is computed before the first store, for the same reason. */
        y00 = tt_requantize_channel(acc[0], o, multiplier, shift, rescale, &q);
        y10 = tt_requantize_channel(acc[2], o1, multiplier, shift, rescale, &q);
        if (column_count == 2) {
            const int8_t y01 = tt_requantize_channel(acc[1], o, multiplier, shift, rescale, &q);
            const int8_t y11 = tt_requantize_channel(acc[3], o1, multiplier, shift, rescale, &q);
            output1[o] = y01;
            output1[o1] = y11;
        }
        output0[o] = y00;
        output0[o1] = y10;
    }
}
#else
/* ISO C forbids an empty file; without the DSP extension there is nothing to compile. */
typedef int tt_matmul_dsp_needs_the_dsp_extension;
#endif
