/* Int8 global average pooling: the mean of each channel over the whole image.
 *
 * Average pooling with a window the size of the image, so the same rounding
 * (half away from zero, avg_pool2d.c), and a simpler loop: every position
 * counts.  Output: one value per channel.
 */
#include "tinytorch_kernels.h"

void tt_global_avg_pool2d(int32_t height, int32_t width, int32_t channels, int32_t act_min,
                          int32_t act_max, const int8_t *input, int8_t *output) {
    const int32_t count = height * width;
    int32_t c, i;
    for (c = 0; c < channels; ++c) {
        int32_t sum = 0, average;
        for (i = 0; i < count; ++i) {
            sum += input[i * channels + c];
        }
        average = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
        average = average < act_min ? act_min : average;
        average = average > act_max ? act_max : average;
        output[c] = (int8_t)average;
    }
}
