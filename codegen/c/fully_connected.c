/* Int8 fully connected layer, as TFLite's FullyConnected computes it.
 *
 *   acc[o] = bias[o] + sum_i weight[o][i] * (input[i] - input_zero_point)
 *   output[o] = requantize(acc[o])
 *
 * As in conv2d.c, the sum of products cannot overflow int32 (the code
 * generator's MAX_PATCH bound); the bias is added with tt_wrapping_add.
 *
 * A fully connected layer is a 1x1 convolution of a 1x1 image, so the DSP
 * path works like the convolution's: the input is widened once to int16
 * minus its zero point (in the order SXTB16 unpacks weights, tt_widen_fours),
 * then tt_matvec_dsp (matmul_dsp.c) takes four rows of weights at a time with
 * SMLAD, each input word feeding the four.
 */
#include "tinytorch_kernels.h"
#include "requantize.h"

#if TT_USE_DSP
#include "dsp_words.h"
#endif

void tt_fully_connected(int32_t in_features, int32_t out_features,
                        const tt_quantization *q, const int8_t *input,
                        const int8_t *weight, const int32_t *bias, const int32_t *multiplier,
                        const int32_t *shift, const tt_channel_rescale *rescale,
                        int8_t *output, int16_t *scratch) {
    int32_t i;
#if TT_USE_DSP
    const int32_t in_fours = in_features & ~3;
    tt_widen_fours(input, in_fours >> 2, tt_pair_of(-q->input_zero_point), scratch, 4);
    for (i = in_fours; i < in_features; ++i) {
        scratch[i] = (int16_t)(input[i] - q->input_zero_point);
    }
    tt_matvec_dsp(weight, out_features, in_features, scratch, bias, multiplier, shift, rescale, q,
                  output);
#else
    int32_t o;
    (void)scratch;
    for (o = 0; o < out_features; ++o) {
        const int8_t *row = weight + o * in_features;
        int32_t acc = 0;
        for (i = 0; i < in_features; ++i) {
            acc += row[i] * (input[i] - q->input_zero_point);
        }
        output[o] = tt_requantize_channel(tt_wrapping_add(acc, tt_channel_bias(o, bias, rescale)),
                                          o, multiplier, shift, rescale, q);
    }
#endif
}
