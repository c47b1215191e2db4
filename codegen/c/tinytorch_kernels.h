/* The TinyTorch int8 kernels: what a generated model calls.
 *
 * Every kernel computes exactly what the Python kernels of
 * tinytorch.kernels.int8 compute, byte for byte: TFLite's integer arithmetic
 * (int8 activations NHWC, int8 symmetric weights, int32 biases, per-channel
 * multipliers and shifts, the activation clamp).  Each kernel is plain C99 in
 * a file of its own, written to be read; on a Cortex-M4/M7 (the compiler
 * defines __ARM_FEATURE_DSP) the convolutions and the fully connected layer
 * take a second path built on the DSP extension's SIMD instructions, which
 * gives the same bytes faster.
 *
 * Every public name starts with tt_ (TinyTorch) so that it cannot collide with
 * the application's own names.  Nothing here allocates: the caller passes
 * every buffer, and the arena that holds the activations belongs to the
 * generated model.
 */
#ifndef TINYTORCH_KERNELS_H
#define TINYTORCH_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The DSP path is compiled where the core has the DSP extension, unless the
 * build asks for the reference C everywhere (-DTT_REFERENCE_KERNELS), e.g. to
 * measure what the DSP path gains on the same core. */
#if defined(__ARM_FEATURE_DSP) && !defined(TT_REFERENCE_KERNELS)
#define TT_USE_DSP 1
#else
#define TT_USE_DSP 0
#endif

/* How an int32 accumulator becomes an int8 output (requantize.h). */
typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t act_min;          /* the output clamp: a fused ReLU / ReLU6, or [-128, 127] */
    int32_t act_max;
    int32_t single_rounding;  /* 0: double rounding, TFLite's default (and CMSIS-NN's);
                               * 1: single, TFLite's TFLITE_SINGLE_ROUNDING build */
} tt_quantization;

/* The geometry of a sliding window, shared by convolution and pooling.
 * Padding at the bottom and right follows from the output size. */
typedef struct {
    int32_t input_height, input_width, input_channels;
    int32_t output_height, output_width, output_channels;
    int32_t kernel_height, kernel_width;
    int32_t stride_height, stride_width;
    int32_t dilation_height, dilation_width;
    int32_t pad_top, pad_left;
} tt_window;

/* One output channel's bias and requantization constants, prepared by the
 * emitter for tt_requantize_bounded (requantize.h explains them) where it has
 * proven a layer's accumulators small (codegen/accumulator_bounds.py). */
typedef struct {
    int32_t bias;
    int32_t multiplier;
    int32_t offset;       /* 2^right + output_zero_point * 2^(right + 1), right = max(-shift, 0) */
    uint8_t left_shift;   /* max(shift, 0) + 1 */
    uint8_t right_shift;  /* right + 1 */
} tt_channel_rescale;     /* 16 bytes */

/* How the layers with weights requantize: `rescale`, one tt_channel_rescale
 * per output channel, where the emitter proved it exact; then bias,
 * multiplier and shift are unused (may be 0), and of `quantization` only the
 * input zero point and the clamp are read.  Otherwise rescale is 0 and bias,
 * multiplier and shift give TFLite's requantization (tt_requantize). */

/* Convolution; weight [out][kh][kw][in / groups].  scratch: two receptive
 * fields for the DSP path (which runs when groups == 1), 2 * kh * kw *
 * (in / groups) int16 values; unused (may be 0) otherwise.  The code generator
 * sizes it by the same formula (codegen/c_kernels.py). */
void tt_conv2d(const tt_window *window, int32_t groups, const tt_quantization *quantization,
               const int8_t *input, const int8_t *weight, const int32_t *bias,
               const int32_t *multiplier, const int32_t *shift,
               const tt_channel_rescale *rescale, int8_t *output, int16_t *scratch);

/* Depthwise convolution with depth multiplier output_channels / input_channels;
 * weight in TFLite's depthwise layout [kh][kw][out]. */
void tt_depthwise_conv2d(const tt_window *window, const tt_quantization *quantization,
                         const int8_t *input, const int8_t *weight, const int32_t *bias,
                         const int32_t *multiplier, const int32_t *shift, int8_t *output);


/* Depthwise convolution, depth multiplier 1, double rounding, for a layer
 * whose accumulators the emitter proved small: the same bytes as
 * tt_depthwise_conv2d with a cheaper requantization.  Of `quantization` only
 * the input zero point and the clamp are read (the output zero point is in
 * each channel's offset). */
void tt_depthwise_conv2d_bounded(const tt_window *window, const tt_quantization *quantization,
                                 const int8_t *input, const int8_t *weight,
                                 const tt_channel_rescale *rescale, int8_t *output);

/* Fully connected; weight [out][in].  scratch: the input widened for the DSP
 * path, `in` int16 values; unused (may be 0) otherwise.  The code generator
 * sizes it by the same formula (codegen/c_kernels.py). */
void tt_fully_connected(int32_t in_features, int32_t out_features,
                        const tt_quantization *quantization, const int8_t *input,
                        const int8_t *weight, const int32_t *bias, const int32_t *multiplier,
                        const int32_t *shift, const tt_channel_rescale *rescale,
                        int8_t *output, int16_t *scratch);

/* Pooling keeps the input's scale and zero point: only act_min / act_max are used. */
void tt_max_pool2d(const tt_window *window, int32_t act_min, int32_t act_max,
                   const int8_t *input, int8_t *output);
void tt_avg_pool2d(const tt_window *window, int32_t act_min, int32_t act_max,
                   const int8_t *input, int8_t *output);
void tt_global_avg_pool2d(int32_t height, int32_t width, int32_t channels, int32_t act_min,
                          int32_t act_max, const int8_t *input, int8_t *output);

/* Elementwise a + b with TFLite's ADD arithmetic (tinytorch.kernels.int8.add). */
typedef struct {
    int32_t a_zero_point, a_multiplier, a_shift;
    int32_t b_zero_point, b_multiplier, b_shift;
    int32_t output_zero_point, output_multiplier, output_shift;
    int32_t left_shift;
    int32_t act_min, act_max;
    int32_t single_rounding;
} tt_add_parameters;

void tt_add(const tt_add_parameters *parameters, int32_t size, const int8_t *a,
            const int8_t *b, int8_t *output);

/* Softmax over the last axis with TFLite's int8 SOFTMAX arithmetic
 * (tinytorch.kernels.int8.softmax): `rows` rows of `depth` values each, 1 <= depth
 * <= 511; the output has scale 1/256 and zero point -128.  The parameters are
 * kernels.int8.softmax_parameters' (diff_min <= 0: a row's maximum always
 * counts, so its sum is never 0).  Input and output must not overlap (each row
 * is read twice). */
typedef struct {
    int32_t input_multiplier, input_left_shift;  /* input_scale * beta * 2^26 */
    int32_t diff_min;          /* differences below it count as exp = 0 */
    int32_t single_rounding;   /* how the difference is rescaled, as in tt_quantization */
} tt_softmax_parameters;

void tt_softmax(const tt_softmax_parameters *parameters, int32_t rows, int32_t depth,
                const int8_t *input, int8_t *output);

#if TT_USE_DSP
/* The DSP path's products (matmul_dsp.c): `rows` filters of `depth`
 * weights times two interleaved columns (the convolution's im2col), written
 * to output0 and output1; or times one column (the fully connected layer). */
void tt_matmul_dsp(const int8_t *weight, int32_t rows, int32_t depth, const int16_t *columns,
                   const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                   const tt_channel_rescale *rescale, const tt_quantization *quantization,
                   int8_t *output0, int8_t *output1);
void tt_matvec_dsp(const int8_t *weight, int32_t rows, int32_t depth, const int16_t *column,
                   const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                   const tt_channel_rescale *rescale, const tt_quantization *quantization,
                   int8_t *output);
#endif

#ifdef __cplusplus
}
#endif

#endif
