/* Int8 average pooling (NHWC), as TFLite's AveragePool computes it.
 *
 * The mean of the values under each window, per channel; like max pooling it
 * keeps the input's scale and zero point.  Two details make it bit-exact:
 * positions outside the image are excluded, and the division by their count
 * rounds half away from zero:
 *
 *     average = (sum + count / 2) / count    if sum > 0
 *             = (sum - count / 2) / count    otherwise
 *
 * with C's '/', which truncates toward zero.  The caller guarantees that
 * every window covers at least one input position (the code generator checks).
 */
#include "tinytorch_kernels.h"

void tt_avg_pool2d(const tt_window *w, int32_t act_min, int32_t act_max,
                   const int8_t *input, int8_t *output) {
    int32_t oy, ox, c, ky, kx;
    for (oy = 0; oy < w->output_height; ++oy) {
        const int32_t y0 = oy * w->stride_height - w->pad_top;
        for (ox = 0; ox < w->output_width; ++ox) {
            const int32_t x0 = ox * w->stride_width - w->pad_left;
            for (c = 0; c < w->input_channels; ++c) {
                int32_t sum = 0, count = 0, average;
                for (ky = 0; ky < w->kernel_height; ++ky) {
                    if (y0 + ky < 0 || y0 + ky >= w->input_height) {
                        continue;
                    }
                    for (kx = 0; kx < w->kernel_width; ++kx) {
                        if (x0 + kx < 0 || x0 + kx >= w->input_width) {
                            continue;
                        }
                        sum += input[((y0 + ky) * w->input_width + x0 + kx) * w->input_channels + c];
                        ++count;
                    }
                }
                average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                average = average < act_min ? act_min : average;
                average = average > act_max ? act_max : average;
                *output++ = (int8_t)average;
            }
        }
    }
}
