/* Int8 2-D convolution (NHWC), as TFLite's ConvPerChannel computes it.
 *
 *   acc = bias[o] + sum over the window and the group's input channels of
 *             weight[o][ky][kx][c] * (input[iy][ix][c] - input_zero_point)
 *   output[oy][ox][o] = requantize(acc)
 *
 * A window position outside the image is skipped: TFLite pads with the real
 * value 0, which is the zero point, and (zero point - zero point) adds
 * nothing.  Output channel o belongs to group o / (out / groups) and reads
 * that group's slice of input channels, as in PyTorch.
 *
 * The sum of products in acc cannot overflow.  The code generator refuses a
 * layer with more than MAX_PATCH = 66,000 products per output, and each
 * product is at most 127 * 255 in size, so no partial sum, in any order,
 * exceeds 2,137,410,000 < 2^31 - 1 (codegen/accumulator_bounds.py): the
 * MAX_PATCH bound makes int32 accumulator overflow impossible.  Signed
 * overflow is undefined behaviour in C, so "it wraps" is never the argument.
 * Only the bias, which may be any int32, is added with tt_wrapping_add, in
 * unsigned arithmetic, which wraps by definition as the reference does.
 *
 * On a Cortex-M4/M7 an ungrouped convolution takes the DSP path instead: two
 * receptive fields at a time are copied, minus the zero point, into two
 * interleaved int16 columns (im2col), and tt_matmul_dsp multiplies them by
 * two filters at once with SMLAD, two multiply-adds per instruction,
 * starting from the bias.
 * SMLAD adds modulo 2^32, and a sum modulo 2^32 does not depend on the order
 * of its terms, so both paths give the same bytes.
 */
#include "tinytorch_kernels.h"
#include "requantize.h"

#if TT_USE_DSP
#include "dsp_words.h"
#endif

static void conv2d_reference(const tt_window *w, int32_t groups, const tt_quantization *q,
                             const int8_t *input, const int8_t *weight, const int32_t *bias,
                             const int32_t *multiplier, const int32_t *shift,
                             const tt_channel_rescale *rescale, int8_t *output) {
    const int32_t in_per_group = w->input_channels / groups;
    const int32_t out_per_group = w->output_channels / groups;
    int32_t oy, ox, o, ky, kx, c;
    for (oy = 0; oy < w->output_height; ++oy) {
        for (ox = 0; ox < w->output_width; ++ox) {
            for (o = 0; o < w->output_channels; ++o) {
                const int32_t first_channel = (o / out_per_group) * in_per_group;
                int32_t acc = 0;
                for (ky = 0; ky < w->kernel_height; ++ky) {
                    const int32_t iy =
                        oy * w->stride_height - w->pad_top + ky * w->dilation_height;
                    if (iy < 0 || iy >= w->input_height) {
                        continue;
                    }
                    for (kx = 0; kx < w->kernel_width; ++kx) {
                        const int32_t ix =
                            ox * w->stride_width - w->pad_left + kx * w->dilation_width;
                        const int8_t *pixel;
                        const int8_t *filter;
                        if (ix < 0 || ix >= w->input_width) {
                            continue;
                        }
                        pixel = input + (iy * w->input_width + ix) * w->input_channels +
                                first_channel;
                        filter = weight + ((o * w->kernel_height + ky) * w->kernel_width + kx) *
                                              in_per_group;
                        for (c = 0; c < in_per_group; ++c) {
                            acc += filter[c] * (pixel[c] - q->input_zero_point);
                        }
                    }
                }
                acc = tt_wrapping_add(acc, tt_channel_bias(o, bias, rescale));
                *output++ = tt_requantize_channel(acc, o, multiplier, shift, rescale, q);
            }
        }
    }
}

#if TT_USE_DSP
/* Where value k of a receptive field goes in the scratch, in column `column`
 * (0 or 1) of the two that tt_matmul_dsp reads interleaved.  Within each
 * group of four the order is x0 x2 x1 x3, the order in which SXTB16 unpacks
 * four weights; a group takes eight int16 slots: column 0's pair (x0, x2),
 * column 1's, column 0's (x1, x3), column 1's.  The depth % 4 values of an
 * incomplete last group follow one by one, column 0 then column 1. */
static int32_t slot(int32_t k, int32_t column, int32_t depth_in_fours) {
    if (k >= depth_in_fours) {
        return 2 * k + column;
    }
    return 2 * (k & ~3) + ((k & 1) << 2) + 2 * column + ((k >> 1) & 1);
}

/* One receptive field, minus the zero point, as column `column` of the pair
 * in `columns` (0 outside the image).  When the channels come in fours, each
 * pixel's channels start a group of four, so a pixel is widened four values
 * at a time (tt_widen_fours); otherwise value by value, to its slot. */
static void im2col(const tt_window *w, const tt_quantization *q, const int8_t *input,
                   int32_t position, int16_t *columns, int32_t column) {
    const int32_t channels = w->input_channels;
    const int32_t top = position / w->output_width * w->stride_height - w->pad_top;
    const int32_t left = position % w->output_width * w->stride_width - w->pad_left;
    int32_t ky, kx, c, k = 0;
    if ((channels & 3) == 0) {
        const int16x2_t minus_zero_point = tt_pair_of(-q->input_zero_point);
        int16_t *pairs = columns + 2 * column;  /* a pixel's values start at pairs + 2k */
        for (ky = 0; ky < w->kernel_height; ++ky) {
            const int32_t iy = top + ky * w->dilation_height;
            for (kx = 0; kx < w->kernel_width; ++kx, pairs += 2 * channels) {
                const int32_t ix = left + kx * w->dilation_width;
                if (iy >= 0 && iy < w->input_height && ix >= 0 && ix < w->input_width) {
                    tt_widen_fours(input + (iy * w->input_width + ix) * channels, channels >> 2,
                                   minus_zero_point, pairs, 8);
                    continue;
                }
                for (c = 0; c < 2 * channels; c += 8) {
                    tt_store_pair(pairs + c, 0);
                    tt_store_pair(pairs + c + 4, 0);
                }
            }
        }
        return;
    }
    for (ky = 0; ky < w->kernel_height; ++ky) {
        const int32_t iy = top + ky * w->dilation_height;
        for (kx = 0; kx < w->kernel_width; ++kx) {
            const int32_t ix = left + kx * w->dilation_width;
            const int inside = iy >= 0 && iy < w->input_height && ix >= 0 && ix < w->input_width;
            const int32_t depth_in_fours = (w->kernel_height * w->kernel_width * channels) & ~3;
            for (c = 0; c < channels; ++c, ++k) {
                columns[slot(k, column, depth_in_fours)] = (int16_t)(
                    inside ? input[(iy * w->input_width + ix) * channels + c] - q->input_zero_point
                           : 0);
            }
        }
    }
}

static void conv2d_dsp(const tt_window *w, const tt_quantization *q, const int8_t *input,
                       const int8_t *weight, const int32_t *bias, const int32_t *multiplier,
                       const int32_t *shift, const tt_channel_rescale *rescale,
                       int8_t *output, int16_t *scratch) {
    const int32_t depth = w->kernel_height * w->kernel_width * w->input_channels;
    const int32_t positions = w->output_height * w->output_width;
    const int32_t out = w->output_channels;
    int32_t position;
    for (position = 0; position < positions; position += 2) {
        /* An odd last position is paired with itself: both columns hold it,
         * and its outputs are written twice, the same bytes to the same place. */
        const int32_t second = position + 1 < positions ? position + 1 : position;
        im2col(w, q, input, position, scratch, 0);
        im2col(w, q, input, second, scratch, 1);
        tt_matmul_dsp(weight, out, depth, scratch, bias, multiplier, shift, rescale, q,
                      output + position * out, output + second * out);
    }
}
#endif

void tt_conv2d(const tt_window *window, int32_t groups, const tt_quantization *quantization,
               const int8_t *input, const int8_t *weight, const int32_t *bias,
               const int32_t *multiplier, const int32_t *shift,
               const tt_channel_rescale *rescale, int8_t *output, int16_t *scratch) {
#if TT_USE_DSP
    if (groups == 1) {
        conv2d_dsp(window, quantization, input, weight, bias, multiplier, shift, rescale,
                   output, scratch);
        return;
    }
#endif
    (void)scratch;
    conv2d_reference(window, groups, quantization, input, weight, bias, multiplier, shift,
                     rescale, output);
}
