/* Int8 max pooling (NHWC), as TFLite's MaxPool computes it.
 *
 * The largest value under each window, per channel.  The maximum of
 * quantized values is the quantized maximum, so the output keeps the input's
 * scale and zero point and needs no requantization; only the clamp applies.
 * Window positions outside the image are ignored (not zero-filled); a window
 * that covers no input at all yields -128 before the clamp, as in TFLite.
 */
#include "tinytorch_kernels.h"

void tt_max_pool2d(const tt_window *w, int32_t act_min, int32_t act_max,
                   const int8_t *input, int8_t *output) {
    int32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < w->output_height; ++oy) {
        const int32_t y0 = oy * w->stride_height - w->pad_top;
        for (ox = 0; ox < w->output_width; ++ox) {
            const int32_t x0 = ox * w->stride_width - w->pad_left;
            for (c = 0; c < w->input_channels; ++c) {
                int32_t largest = -128;
                for (ky = 0; ky < w->kernel_height; ++ky) {
                    if (y0 + ky < 0 || y0 + ky >= w->input_height) {
                        continue;
                    }
                    for (kx = 0; kx < w->kernel_width; ++kx) {
                        int32_t value;
                        if (x0 + kx < 0 || x0 + kx >= w->input_width) {
                            continue;
                        }
                        value = input[((y0 + ky) * w->input_width + x0 + kx) * w->input_channels + c];
                        if (value > largest) {
                            largest = value;
                        }
                    }
                }
                largest = largest < act_min ? act_min : largest;
                largest = largest > act_max ? act_max : largest;
                *output++ = (int8_t)largest;
            }
        }
    }
}
