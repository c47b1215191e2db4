/* Int8 depthwise convolution (NHWC), as TFLite's DepthwiseConvPerChannel computes it.
 *
 * Each input channel c has its own filters, depth_multiplier of them
 * (output_channels / input_channels); output channel o = c * depth_multiplier + j:
 *
 *   acc = bias[o] + sum over the window of
 *             weight[ky][kx][o] * (input[iy][ix][c] - input_zero_point)
 *
 * The weights are in TFLite's depthwise layout [kh][kw][out], so the weights
 * of neighbouring channels sit side by side, like the channels of a pixel.
 * Window positions outside the image are skipped (they hold the zero point).
 *
 * A receptive field has only kh * kw products per output, so on a
 * Cortex-M4/M7 the DSP path works across channels instead: one 32-bit load
 * brings four channels of a pixel, another the four matching weights, SXTB16
 * widens the weights to two pairs of int16, SXTAB16 widens the inputs and
 * subtracts the zero point from two of them at once, and SMLABB / SMLATT
 * multiply-add the bottom and top halves: four channels advance together.
 * Used when the depth multiplier is 1; the sums are the same integers, so the
 * bytes are too.
 *
 * Two kernels live here.  tt_depthwise_conv2d is the general one, with
 * TFLite's requantization.  tt_depthwise_conv2d_bounded (at the end) is what
 * the emitter calls for depth multiplier 1 when it can prove every
 * accumulator small: nine products per output leave the requantization as
 * the larger cost, and with that proof it shrinks from about 35 instructions
 * to 5 (requantize.h, tt_requantize_bounded).
 *
 * Neither accumulator can overflow int32, which is what keeps acc += defined
 * C.  tt_depthwise_conv2d sums only the products, kh * kw of them, within the
 * MAX_PATCH bound of conv2d.c, and adds the bias with tt_wrapping_add.
 * tt_depthwise_conv2d_bounded starts at the bias: the emitter's proof
 * (codegen/accumulator_bounds.py) bounds every partial sum well inside int32.
 */
#include "tinytorch_kernels.h"
#include "requantize.h"

#if TT_USE_DSP
#include <arm_acle.h>

#include "dsp_words.h"
#endif

/* The valid window rows (or columns) [*first, *last) for an output position. */
static void window_inside(int32_t out_index, int32_t stride, int32_t pad, int32_t dilation,
                          int32_t kernel, int32_t size, int32_t *first, int32_t *last) {
    const int32_t origin = out_index * stride - pad;
    int32_t k = 0;
    while (k < kernel && origin + k * dilation < 0) {
        ++k;
    }
    *first = k;
    while (k < kernel && origin + k * dilation < size) {
        ++k;
    }
    *last = k;
}

static int8_t requantize_channel(int32_t acc, const int32_t *bias, int32_t o,
                                 const int32_t *multiplier, const int32_t *shift,
                                 const tt_quantization *q) {
    return tt_requantize(tt_wrapping_add(acc, bias[o]), multiplier[o], shift[o],
                         q->output_zero_point, q->act_min, q->act_max, q->single_rounding);
}

#if TT_USE_DSP
/* One window position for four channels [o, o + 4): acc[i] += f[i] * (x[i] -
 * zero point).  `x_pointer` and `f_pointer` point at channel o. */
TT_INLINE void one_tap(const int8_t *x_pointer, const int8_t *f_pointer,
                       int16x2_t minus_zero_point, int32_t acc[4]) {
    const uint32_t x = tt_load_word(x_pointer);
    const uint32_t f = tt_load_word(f_pointer);
    /* SXTAB16 widens and adds in one instruction: x - zero point. */
    const int16x2_t x_even = __sxtab16(minus_zero_point, x);
    const int16x2_t x_odd = tt_add_odd_bytes(minus_zero_point, x);
    const int16x2_t f_even = __sxtb16(f), f_odd = tt_odd_bytes(f);
    acc[0] = __smlabb(f_even, x_even, acc[0]);
    acc[2] = __smlatt(f_even, x_even, acc[2]);
    acc[1] = __smlabb(f_odd, x_odd, acc[1]);
    acc[3] = __smlatt(f_odd, x_odd, acc[3]);
}

/* Four channels [o, o + 4) of one output pixel; depth multiplier 1.  `pixel`
 * and `filter` point at channel o of the first valid window position; the
 * loops walk them with fixed steps, so no address is multiplied.  The sums
 * are added to acc[0..3] (which the caller starts at the biases). */
TT_INLINE void four_channels(const int8_t *pixel, const int8_t *filter, int32_t rows,
                             int32_t columns, int32_t pixel_row_step,
                             int32_t pixel_column_step, int32_t filter_row_step,
                             int32_t filter_column_step, int16x2_t minus_zero_point,
                             int32_t acc[4]) {
    int32_t row, column;
    for (row = 0; row < rows; ++row) {
        const int8_t *x_pointer = pixel + row * pixel_row_step;
        const int8_t *f_pointer = filter + row * filter_row_step;
        for (column = 0; column < columns; ++column) {
            one_tap(x_pointer, f_pointer, minus_zero_point, acc);
            x_pointer += pixel_column_step;
            f_pointer += filter_column_step;
        }
    }
}

/* The same for a whole 3x3 window inside the image, columns adjacent
 * (dilation 1 across), written out: no loop counters, no bounds, and the
 * input and the weights of a row step by the same `channels`, so one
 * register offsets both. */
TT_INLINE void four_channels_3x3(const int8_t *pixel, const int8_t *filter,
                                 int32_t pixel_row_step, int32_t channels,
                                 int16x2_t minus_zero_point, int32_t acc[4]) {
    const int8_t *row1 = pixel + pixel_row_step, *row2 = row1 + pixel_row_step;
    const int8_t *filter1 = filter + 3 * channels, *filter2 = filter1 + 3 * channels;
    one_tap(pixel, filter, minus_zero_point, acc);
    one_tap(pixel + channels, filter + channels, minus_zero_point, acc);
    one_tap(pixel + 2 * channels, filter + 2 * channels, minus_zero_point, acc);
    one_tap(row1, filter1, minus_zero_point, acc);
    one_tap(row1 + channels, filter1 + channels, minus_zero_point, acc);
    one_tap(row1 + 2 * channels, filter1 + 2 * channels, minus_zero_point, acc);
    one_tap(row2, filter2, minus_zero_point, acc);
    one_tap(row2 + channels, filter2 + channels, minus_zero_point, acc);
    one_tap(row2 + 2 * channels, filter2 + 2 * channels, minus_zero_point, acc);
}
#endif

void tt_depthwise_conv2d(const tt_window *w, const tt_quantization *q, const int8_t *input,
                         const int8_t *weight, const int32_t *bias, const int32_t *multiplier,
                         const int32_t *shift, int8_t *output) {
    const int32_t depth_multiplier = w->output_channels / w->input_channels;
    int32_t oy, ox, o, ky, kx;
    for (oy = 0; oy < w->output_height; ++oy) {
        int32_t ky_first, ky_last;
        window_inside(oy, w->stride_height, w->pad_top, w->dilation_height, w->kernel_height,
                      w->input_height, &ky_first, &ky_last);
        for (ox = 0; ox < w->output_width; ++ox) {
            int32_t kx_first, kx_last;
            window_inside(ox, w->stride_width, w->pad_left, w->dilation_width, w->kernel_width,
                          w->input_width, &kx_first, &kx_last);
            o = 0;
#if TT_USE_DSP
            if (depth_multiplier == 1) {
                const int32_t channels = w->input_channels;
                const int32_t first_y =
                    oy * w->stride_height - w->pad_top + ky_first * w->dilation_height;
                const int32_t first_x =
                    ox * w->stride_width - w->pad_left + kx_first * w->dilation_width;
                const int8_t *pixel = input + (first_y * w->input_width + first_x) * channels;
                const int8_t *filter = weight + (ky_first * w->kernel_width + kx_first) * channels;
                const int16x2_t minus_zero_point = tt_pair_of(-q->input_zero_point);
                const int32_t output_zero_point = q->output_zero_point;
                const int32_t act_min = q->act_min, act_max = q->act_max;
                const int32_t single_rounding = q->single_rounding;
                for (; o + 4 <= channels; o += 4) {
                    int32_t acc[4] = {0, 0, 0, 0}, i;
                    four_channels(pixel + o, filter + o, ky_last - ky_first, kx_last - kx_first,
                                  w->dilation_height * w->input_width * channels,
                                  w->dilation_width * channels, w->kernel_width * channels,
                                  channels, minus_zero_point, acc);
                    for (i = 0; i < 4; ++i) {
                        output[o + i] = tt_requantize(tt_wrapping_add(acc[i], bias[o + i]),
                                                      multiplier[o + i], shift[o + i],
                                                      output_zero_point, act_min, act_max,
                                                      single_rounding);
                    }
                }
            }
#endif
            for (; o < w->output_channels; ++o) {
                const int32_t c = o / depth_multiplier;
                int32_t acc = 0;
                for (ky = ky_first; ky < ky_last; ++ky) {
                    const int32_t iy =
                        oy * w->stride_height - w->pad_top + ky * w->dilation_height;
                    for (kx = kx_first; kx < kx_last; ++kx) {
                        const int32_t ix =
                            ox * w->stride_width - w->pad_left + kx * w->dilation_width;
                        const int8_t x = input[(iy * w->input_width + ix) * w->input_channels + c];
                        const int8_t f =
                            weight[(ky * w->kernel_width + kx) * w->output_channels + o];
                        acc += f * (x - q->input_zero_point);
                    }
                }
                output[o] = requantize_channel(acc, bias, o, multiplier, shift, q);
            }
            output += w->output_channels;
        }
    }
}

TT_INLINE int8_t requantize_rescale(int32_t acc, const tt_channel_rescale *r, int32_t act_min,
                                    int32_t act_max) {
    return tt_requantize_bounded(acc, r->multiplier, r->left_shift, r->offset, r->right_shift,
                                 act_min, act_max);
}

#if TT_USE_DSP
/* The bytes of one channel's requantized value, saturated to int8 (one SSAT). */
TT_INLINE uint32_t rescaled_byte(int32_t acc, const tt_channel_rescale *r) {
    const int32_t value = tt_rescale_bounded(acc, r->multiplier, r->left_shift, r->offset,
                                             r->right_shift);
    return (uint32_t)__ssat(value, 8) & 0xFFu;
}

/* Four channels' outputs, clamped together and stored with one STR.  The
 * values are saturated to int8 and packed into a word; then SSUB8 subtracts
 * the packed act_min byte by byte, setting one GE flag per byte where the
 * difference is not negative, and SEL keeps those bytes and takes act_min's
 * elsewhere: a per-byte max in two instructions; the same with the operands
 * swapped is the min with act_max.  Clamping the saturated value gives what
 * clamping the int32 gives, since [act_min, act_max] lies inside int8. */
TT_INLINE void store_four(int8_t *output, const int32_t acc[4], const tt_channel_rescale *r,
                          uint32_t act_min4, uint32_t act_max4) {
    uint32_t packed = rescaled_byte(acc[0], r) | rescaled_byte(acc[1], r + 1) << 8
                      | rescaled_byte(acc[2], r + 2) << 16 | rescaled_byte(acc[3], r + 3) << 24;
    uint8_t *bytes = (uint8_t *)output;
    (void)__ssub8((int8x4_t)packed, (int8x4_t)act_min4);
    packed = __sel(packed, act_min4);
    (void)__ssub8((int8x4_t)act_max4, (int8x4_t)packed);
    packed = __sel(packed, act_max4);
    /* Byte by byte, as the output of a pixel need not be word-aligned: one
     * STR once compiled (the M4 and M7 store unaligned words). */
    bytes[0] = (uint8_t)packed;
    bytes[1] = (uint8_t)(packed >> 8);
    bytes[2] = (uint8_t)(packed >> 16);
    bytes[3] = (uint8_t)(packed >> 24);
}
#endif

/* Depth multiplier 1 with the requantization folded ahead of time.
 *
 * A depthwise output has only kernel_height * kernel_width products (nine for
 * 3x3), so TFLite's requantization (tt_requantize: about 35 instructions on a
 * Cortex-M4, with its saturation test, two rounding steps and the shift's
 * sign handled at run time) costs more than the products themselves.  The
 * emitter calls this kernel instead when it can prove, for every channel,
 * that the accumulator stays far from the int32 limits (see
 * tt_requantize_bounded); then the rescale, output zero point included, is
 * five instructions with constants it prepared per channel.  Same sums, same
 * bytes; the emitter falls back to tt_depthwise_conv2d when the proof fails. */
void tt_depthwise_conv2d_bounded(const tt_window *w, const tt_quantization *q,
                                 const int8_t *input, const int8_t *weight,
                                 const tt_channel_rescale *rescale, int8_t *output) {
    const int32_t channels = w->input_channels;
    const int32_t act_min = q->act_min, act_max = q->act_max;
    int32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < w->output_height; ++oy) {
        int32_t ky_first, ky_last;
        window_inside(oy, w->stride_height, w->pad_top, w->dilation_height, w->kernel_height,
                      w->input_height, &ky_first, &ky_last);
        for (ox = 0; ox < w->output_width; ++ox) {
            int32_t kx_first, kx_last;
            window_inside(ox, w->stride_width, w->pad_left, w->dilation_width, w->kernel_width,
                          w->input_width, &kx_first, &kx_last);
            c = 0;
#if TT_USE_DSP
            {
                const int32_t first_y =
                    oy * w->stride_height - w->pad_top + ky_first * w->dilation_height;
                const int32_t first_x =
                    ox * w->stride_width - w->pad_left + kx_first * w->dilation_width;
                const int8_t *pixel = input + (first_y * w->input_width + first_x) * channels;
                const int8_t *filter = weight + (ky_first * w->kernel_width + kx_first) * channels;
                const int16x2_t minus_zero_point = tt_pair_of(-q->input_zero_point);
                /* act_min and act_max in each byte of a word, for store_four. */
                const uint32_t act_min4 = (uint32_t)(uint8_t)act_min * 0x01010101u;
                const uint32_t act_max4 = (uint32_t)(uint8_t)act_max * 0x01010101u;
                const int32_t rows = ky_last - ky_first, columns = kx_last - kx_first;
                const int32_t row_step = w->dilation_height * w->input_width * channels;
                const int32_t column_step = w->dilation_width * channels;
                const int full_3x3 = rows == 3 && columns == 3 && w->kernel_height == 3
                                     && w->kernel_width == 3 && w->dilation_width == 1;
                for (; c + 4 <= channels; c += 4) {
                    const tt_channel_rescale *r = rescale + c;
                    int32_t acc[4];
                    acc[0] = r[0].bias;
                    acc[1] = r[1].bias;
                    acc[2] = r[2].bias;
                    acc[3] = r[3].bias;
                    if (full_3x3) {
                        four_channels_3x3(pixel + c, filter + c, row_step, channels,
                                          minus_zero_point, acc);
                    } else {
                        four_channels(pixel + c, filter + c, rows, columns, row_step,
                                      column_step, w->kernel_width * channels, channels,
                                      minus_zero_point, acc);
                    }
                    store_four(output + c, acc, r, act_min4, act_max4);
                }
            }
#endif
            for (; c < channels; ++c) {
                const tt_channel_rescale *r = rescale + c;
                int32_t acc = r->bias;
                for (ky = ky_first; ky < ky_last; ++ky) {
                    const int32_t iy =
                        oy * w->stride_height - w->pad_top + ky * w->dilation_height;
                    for (kx = kx_first; kx < kx_last; ++kx) {
                        const int32_t ix =
                            ox * w->stride_width - w->pad_left + kx * w->dilation_width;
                        const int8_t x = input[(iy * w->input_width + ix) * channels + c];
                        const int8_t f = weight[(ky * w->kernel_width + kx) * channels + c];
                        acc += f * (x - q->input_zero_point);
                    }
                }
                output[c] = requantize_rescale(acc, r, act_min, act_max);
            }
            output += channels;
        }
    }
}
