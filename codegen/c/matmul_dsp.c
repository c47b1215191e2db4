/* The DSP path's products: int8 filters times int16 columns, with SMLAD.
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
 * tt_matmul_dsp (the convolution) computes two filters against two columns
 * at a time: each weight word feeds two columns and each column word two
 * filters, so eight SMLADs (sixteen multiply-adds) cost two weight loads,
 * four SXTB16 and four column loads.  The two columns are interleaved pair
 * by pair (the convolution's im2col writes them so): one pointer walks both,
 * and the loop needs one register fewer, which is what lets the four
 * accumulators, three pointers, a count and five temporaries fit the core's
 * fourteen free registers without a spill.  tt_matvec_dsp (the fully
 * connected layer, one column) takes four filters at a time instead, so that
 * each column word feeds four.
 *
 * The accumulators start at the bias.  SMLAD adds modulo 2^32, an
 * instruction with a defined result, not C's signed +; the reference adds
 * the bias modulo 2^32 too (tt_wrapping_add), and a sum modulo 2^32 does not
 * depend on the order of its terms, so the sums are the reference's.  Then
 * each accumulator is requantized as on the reference path: with the
 * emitter's bounded constants where it gave them (a few instructions,
 * inlined), else with TFLite's requantization (a function of its own).
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

/* Four filters, row_step apart, times one column (the fully connected
 * layer): acc[i] += row i.column.  Each pair of column words feeds four
 * filters. */
TT_NOINLINE static void four_rows_one_column(const int8_t *row0, int32_t row_step,
                                             const int16_t *column, int32_t groups,
                                             int32_t acc[4]) {
    int32_t acc0 = acc[0], acc1 = acc[1], acc2 = acc[2], acc3 = acc[3];
    const int8_t *row1 = row0 + row_step;
    const int32_t two_rows = 2 * row_step;  /* rows 2 and 3 are two_rows after rows 0 and 1 */
    do {
        const int16x2_t x_even = tt_load_pair(column), x_odd = tt_load_pair(column + 2);
        uint32_t w = tt_load_word(row0);
        acc0 = __smlad(__sxtb16(w), x_even, acc0);
        acc0 = __smlad(tt_odd_bytes(w), x_odd, acc0);
        w = tt_load_word(row1);
        acc1 = __smlad(__sxtb16(w), x_even, acc1);
        acc1 = __smlad(tt_odd_bytes(w), x_odd, acc1);
        w = tt_load_word(row0 + two_rows);
        acc2 = __smlad(__sxtb16(w), x_even, acc2);
        acc2 = __smlad(tt_odd_bytes(w), x_odd, acc2);
        w = tt_load_word(row1 + two_rows);
        acc3 = __smlad(__sxtb16(w), x_even, acc3);
        acc3 = __smlad(tt_odd_bytes(w), x_odd, acc3);
        row0 += 4;
        row1 += 4;
        column += 4;
    } while (--groups);
    acc[0] = acc0;
    acc[1] = acc1;
    acc[2] = acc2;
    acc[3] = acc3;
}

/* TFLite's requantization, for a layer without the emitter's proof, out of
 * line: it takes about 35 instructions, to which a call adds a few, while a
 * copy inlined at each of the places below would add about 150 bytes. */
TT_NOINLINE static int8_t requantize_tflite(int32_t acc, int32_t o, const int32_t *multiplier,
                                            const int32_t *shift, const tt_quantization *q) {
    return tt_requantize(acc, multiplier[o], shift[o], q->output_zero_point, q->act_min,
                         q->act_max, q->single_rounding);
}

/* Output channel o's requantization: the bounded one (a few instructions,
 * inlined) where the emitter gave its constants, else TFLite's. */
TT_INLINE int8_t requantize_output(int32_t acc, int32_t o, const int32_t *multiplier,
                                   const int32_t *shift, const tt_channel_rescale *rescale,
                                   const tt_quantization *q) {
    if (rescale) {
        const tt_channel_rescale *r = rescale + o;
        return tt_requantize_bounded(acc, r->multiplier, r->left_shift, r->offset,
                                     r->right_shift, q->act_min, q->act_max);
    }
    return requantize_tflite(acc, o, multiplier, shift, q);
}

void tt_matmul_dsp(const int8_t *weight, int32_t rows, int32_t depth, const int16_t *columns,
                   const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                   const tt_channel_rescale *rescale, const tt_quantization *quantization,
                   int8_t *output0, int8_t *output1) {
    /* A copy: a store through an int8_t pointer may alias anything, so fields
     * read through `quantization` would be read again after every output. */
    const tt_quantization q = *quantization;
    const int32_t groups = depth >> 2, depth_in_fours = depth & ~3;
    /* After the groups of four, the last depth % 4 values, one by one, each
     * column 0's then column 1's. */
    const int16_t *tail_columns = columns + 2 * depth_in_fours;
    int32_t o, k;
    for (o = 0; o < rows; o += 2) {
        /* An odd last filter is paired with itself: computed twice, stored twice. */
        const int32_t o1 = o + 1 < rows ? o + 1 : o;
        const int8_t *row0 = weight + o * depth, *row1 = weight + o1 * depth;
        int32_t acc[4];
        int8_t y00, y01, y10, y11;
        acc[0] = acc[1] = tt_channel_bias(o, bias, rescale);
        acc[2] = acc[3] = tt_channel_bias(o1, bias, rescale);
        /* The tail first (a sum modulo 2^32 does not depend on the order of
         * its terms), in unsigned arithmetic, which wraps like SMLAD. */
        for (k = 0; k < depth - depth_in_fours; ++k) {
            const int32_t w0 = row0[depth_in_fours + k], w1 = row1[depth_in_fours + k];
            const int16_t *x = tail_columns + 2 * k;
            acc[0] = tt_wrapping_add(acc[0], w0 * x[0]);
            acc[1] = tt_wrapping_add(acc[1], w0 * x[1]);
            acc[2] = tt_wrapping_add(acc[2], w1 * x[0]);
            acc[3] = tt_wrapping_add(acc[3], w1 * x[1]);
        }
        if (groups > 0) {
            two_rows_two_columns(row0, row1, columns, groups, acc);
        }
        /* Every output is computed before the first store, for the same reason. */
        y00 = requantize_output(acc[0], o, multiplier, shift, rescale, &q);
        y01 = requantize_output(acc[1], o, multiplier, shift, rescale, &q);
        y10 = requantize_output(acc[2], o1, multiplier, shift, rescale, &q);
        y11 = requantize_output(acc[3], o1, multiplier, shift, rescale, &q);
        output0[o] = y00;
        output1[o] = y01;
        output0[o1] = y10;
        output1[o1] = y11;
    }
}

void tt_matvec_dsp(const int8_t *weight, int32_t rows, int32_t depth, const int16_t *column,
                   const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                   const tt_channel_rescale *rescale, const tt_quantization *quantization,
                   int8_t *output) {
    const tt_quantization q = *quantization;
    const int32_t groups = depth >> 2, depth_in_fours = depth & ~3;
    /* Four rows at a time, `step` apart.  A last block of fewer than four is
     * moved back to end at the last row: it computes up to three rows again
     * and stores their same bytes again.  With fewer than four rows in all,
     * each row goes alone, as four copies of itself (step 0). */
    const int32_t step = rows >= 4 ? 1 : 0;
    int32_t o, i, k;
    for (o = 0; o < rows; o += step ? 4 : 1) {
        const int32_t first = step && o + 4 > rows ? rows - 4 : o;
        const int8_t *row0 = weight + first * depth;
        const int32_t c1 = first + step, c2 = c1 + step, c3 = c2 + step;
        int32_t acc[4];
        int8_t y0, y1, y2, y3;
        acc[0] = tt_channel_bias(first, bias, rescale);
        acc[1] = tt_channel_bias(c1, bias, rescale);
        acc[2] = tt_channel_bias(c2, bias, rescale);
        acc[3] = tt_channel_bias(c3, bias, rescale);
        for (k = depth_in_fours; k < depth; ++k) {  /* the tail, as in tt_matmul_dsp */
            for (i = 0; i < 4; ++i) {
                acc[i] = tt_wrapping_add(acc[i], row0[i * step * depth + k] * column[k]);
            }
        }
        if (groups > 0) {
            four_rows_one_column(row0, step * depth, column, groups, acc);
        }
        y0 = requantize_output(acc[0], first, multiplier, shift, rescale, &q);
        y1 = requantize_output(acc[1], c1, multiplier, shift, rescale, &q);
        y2 = requantize_output(acc[2], c2, multiplier, shift, rescale, &q);
        y3 = requantize_output(acc[3], c3, multiplier, shift, rescale, &q);
        output[first] = y0;
        output[c1] = y1;
        output[c2] = y2;
        output[c3] = y3;
    }
}
#else
/* ISO C forbids an empty file; without the DSP extension there is nothing to compile. */
typedef int tt_matmul_dsp_needs_the_dsp_extension;
#endif
