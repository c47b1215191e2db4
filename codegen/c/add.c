/* Int8 elementwise addition of two tensors with different scales (TFLite's ADD).
 *
 * out_scale * (out - out_zp) = a_scale * (a - a_zp) + b_scale * (b - b_zp),
 * in four integer steps (tinytorch/kernels/int8/add.py derives them):
 *   1. remove the zero points, shift left by left_shift (20): 20 bits of fraction;
 *   2. rescale each input to twice the larger input scale (multipliers below 1/2);
 *   3. add;
 *   4. rescale to the output scale, add its zero point, clamp.
 */
#include "tinytorch_kernels.h"
#include "requantize.h"

void tt_add(const tt_add_parameters *p, int32_t size, const int8_t *a, const int8_t *b,
            int8_t *output) {
    const int32_t scale_up = (int32_t)1 << p->left_shift;
    int32_t i;
    for (i = 0; i < size; ++i) {
        const int32_t shifted_a = (a[i] - p->a_zero_point) * scale_up;
        const int32_t shifted_b = (b[i] - p->b_zero_point) * scale_up;
        const int32_t scaled_a = tt_multiply_by_quantized_multiplier(
            shifted_a, p->a_multiplier, p->a_shift, p->single_rounding);
        const int32_t scaled_b = tt_multiply_by_quantized_multiplier(
            shifted_b, p->b_multiplier, p->b_shift, p->single_rounding);
        output[i] = tt_requantize(tt_wrapping_add(scaled_a, scaled_b), p->output_multiplier,
                                  p->output_shift, p->output_zero_point, p->act_min,
                                  p->act_max, p->single_rounding);
    }
}
