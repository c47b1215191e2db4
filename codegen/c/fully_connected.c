/* Int8 fully connected layer, as TFLite's FullyConnected computes it.
 *
 *   acc[o] = bias[o] + sum_i weight[o][i] * (input[i] - input_zero_point)
 *   output[o] = requantize(acc[o])
 *
 * As in conv2d.c, the sum of products cannot overflow int32 (the code
 * generator's MAX_PATCH bound); the bias is added with tt_wrapping_add.
 *
 * A fully connected layer is a 1x1 convolution of a 1x1 image, so the DSP
 * path is the convolution's: the input is widened once to int16 minus its zero
 * point (in the order SXTB16 unpacks weights), then tt_matmul_dsp takes two
 * rows of weights at a time with SMLAD.
 */
#include "tinytorch_kernels.h"
#include "requantize.h"

void tt_fully_connected(int32_t in_features, int32_t out_features,
                        const tt_quantization *q, const int8_t *input,
                        const int8_t *weight, const int32_t *bias, const int32_t *multiplier,
                        const int32_t *shift, int8_t *output, int16_t *scratch) {
#if TT_USE_DSP
    tt_expand_to_int16_reordered(input, in_features, q->input_zero_point, scratch);
    tt_matmul_dsp(weight, out_features, in_features, scratch, 0, bias, multiplier, shift, q,
                  output, 0);
#else
    int32_t o, i;
    (void)scratch;
    for (o = 0; o < out_features; ++o) {
        const int8_t *row = weight + o * in_features;
        int32_t acc = 0;
        for (i = 0; i < in_features; ++i) {
            acc += row[i] * (input[i] - q->input_zero_point);
        }
        output[o] = tt_requantize(tt_wrapping_add(acc, bias[o]), multiplier[o], shift[o],
                                  q->output_zero_point, q->act_min, q->act_max,
                                  q->single_rounding);
    }
#endif
}
