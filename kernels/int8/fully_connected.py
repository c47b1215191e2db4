"""Int8 fully connected (linear) layer, exactly as TFLite's integer kernel computes it.

What
----
``nn.Linear`` after quantization: int8 inputs ``x [batch, in_features]``, int8
weights ``[out_features, in_features]`` (PyTorch's layout), an optional int32
bias, int8 outputs ``[batch, out_features]``:

    acc[b, o] = bias[o] + sum_i weight[o, i] * (x[b, i] - input_zero_point)
    out[b, o] = clamp(requantize(acc[b, o], multiplier[o], shift[o])
                      + output_zero_point, act_min, act_max)

Why
---
Same algebra as the convolution (a fully connected layer *is* a 1x1
convolution over a 1x1 image): with real = scale * (q - zero_point) and
symmetric weights, the real dot product is ``input_scale * weight_scale[o] *
acc``, and requantization turns that into the output's int8 units.  TFLite
quantizes a fully connected layer per tensor (one multiplier) and TFLite Micro
also accepts per-channel weights; this function takes either: scalars, or one
multiplier and shift per output feature.

TFLite's parameter struct stores ``input_offset = -input_zero_point`` and adds
it; here the argument is the zero point itself and is subtracted, so a value
read from a .tflite file's quantization parameters can be passed unchanged.
(TFLite also carries a weights offset; int8 weights are symmetric, so it is 0
and left out.)

Where it sits
-------------
The int8 interpreter of ``tinytorch.quant`` calls it for every ``nn.Linear``,
and the generated C's fully connected loop must match it byte for byte.  The
file holds the layer twice: first ``reference_fully_connected``, TFLite's
loops in Python ints (the definition, and the tests' oracle), then the
kernel the interpreter runs, the same double loop compiled by Numba.  The work
is small next to the convolutions, so it is not parallel;
``NUMBA_DISABLE_JIT=1`` runs it as ordinary Python.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .checks import check_int8_array, check_layer_parameters, check_rounding
from .requantize import reference_requantize, requantize, to_int32, wrap_to_int32

OP = "int8 fully_connected"


# --- The plain version: TFLite's reference FullyConnected, in Python ints ----
# ``reference/integer_ops/fully_connected.h``, per channel as in TFLite Micro.
# It runs on requantize.py's plain arithmetic and shares nothing with the
# kernel below, so that the tests comparing the two cannot miss a bug that
# both would have.

def reference_fully_connected(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                              input_zero_point: int, output_zero_point: int, multiplier, shift,
                              act_min: int = -128, act_max: int = 127,
                              single_rounding: bool = False) -> np.ndarray:
    """The plain ``fully_connected``: multiplier and shift one per output, nothing checked."""
    input_offset = -int(input_zero_point)
    filter_offset = 0
    output_offset = int(output_zero_point)
    batches, accum_depth = x.shape
    output_depth = weight.shape[0]
    out = np.zeros((batches, output_depth), dtype=np.int8)
    for b in range(batches):
        for out_c in range(output_depth):
            acc = 0
            for d in range(accum_depth):
                input_val = int(x[b, d])
                filter_val = int(weight[out_c, d])
                acc = to_int32(acc + (filter_val + filter_offset) * (input_val + input_offset))
            if bias is not None:
                acc = to_int32(acc + int(bias[out_c]))
            out[b, out_c] = reference_requantize(acc, int(multiplier[out_c]), int(shift[out_c]),
                                                 output_offset, act_min, act_max, single_rounding)
    return out


# --- The kernel --------------------------------------------------------------


@njit(cache=True)
def _fully_connected_kernel(shifted_input, weight, bias, multiplier, shift, output_zero_point,
                            activation_min, activation_max, single_rounding, out):
    # shifted_input: [batch, in] int32 (x - zero point); weight: [out, in] int32.
    batches, in_features = shifted_input.shape
    out_features = weight.shape[0]
    accumulators = np.empty(out_features, dtype=np.int32)
    for b in range(batches):
        for o in range(out_features):
            accumulator = 0
            for i in range(in_features):
                accumulator += int(weight[o, i]) * int(shifted_input[b, i])
            # Sums mod 2**32 do not depend on order, so one wrap at the end
            # equals the plain version's to_int32 after every add (in the
            # generated C, the MAX_PATCH bound keeps the sum from overflowing).
            accumulators[o] = wrap_to_int32(accumulator)
        # Requantization in a loop of its own compiles to branch-free code.
        for o in range(out_features):
            total = wrap_to_int32(int(accumulators[o]) + int(bias[o]))  # int32 add in C
            out[b, o] = requantize(total, multiplier[o], shift[o], output_zero_point,
                                   activation_min, activation_max, single_rounding)


def fully_connected(x: np.ndarray, weight: np.ndarray, bias: np.ndarray | None,
                    input_zero_point: int, output_zero_point: int, multiplier, shift,
                    act_min: int = -128, act_max: int = 127,
                    rounding: str = "double") -> np.ndarray:
    """Int8 ``x @ weight.T + bias``, requantized; bit-exact with TFLite's FullyConnected.

    x: int8 ``[batch, in]``.  weight: int8 ``[out, in]``.  bias: int32 ``[out]``
    or None.  ``input_zero_point`` is the zero point itself (TFLite's
    ``input_offset`` is its negation).  multiplier / shift: scalars (per tensor)
    or arrays of length ``out`` (per channel).  act_min / act_max: the output
    clamp.  rounding: ``"double"`` (TFLite's default build, TFLite Micro,
    CMSIS-NN) or ``"single"`` (TFLite's opt-in ``TFLITE_SINGLE_ROUNDING``
    build).  Returns int8 ``[batch, out]``.
    """
    check_int8_array(OP, "x", x, ndim=2)
    check_int8_array(OP, "weight", weight, ndim=2)
    check_rounding(OP, rounding)
    batches, in_features = x.shape
    out_features, weight_in = weight.shape
    if weight_in != in_features:
        raise ValueError(f"{OP}: weight has {weight_in} input features but x has {in_features} "
                         f"(x shape {x.shape}, weight shape {weight.shape})")
    bias, multiplier, shift, input_zero_point, output_zero_point, act_min, act_max = \
        check_layer_parameters(OP, bias, out_features, multiplier, shift, input_zero_point,
                               output_zero_point, act_min, act_max, rounding)

    shifted_input = x.astype(np.int32) - np.int32(input_zero_point)
    out = np.empty((batches, out_features), dtype=np.int8)
    _fully_connected_kernel(shifted_input, np.ascontiguousarray(weight, dtype=np.int32),
                            np.ascontiguousarray(bias), multiplier, shift, output_zero_point,
                            act_min, act_max, rounding == "single", out)
    return out
