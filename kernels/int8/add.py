"""Int8 elementwise addition of two tensors with different scales (TFLite's ADD).

What
----
A residual connection adds two int8 tensors ``a`` and ``b`` whose scales and
zero points differ, and produces a third with its own.  In reals:

    out_scale * (out - out_zp) = a_scale * (a - a_zp) + b_scale * (b - b_zp)

so each input must be rescaled before the integers can be added.  TFLite does
it in four integer steps, all reproduced here:

1. Remove the zero points and shift left by ``left_shift`` (20 for int8):
   ``(a - a_zp) * 2**20``.  An int8 difference needs 9 bits, so 20 extra bits
   of fraction still fit in int32, and the rescaling below loses almost nothing.
2. Rescale each input to a common scale, ``2 * max(a_scale, b_scale)``:
   ``a_multiplier ~= a_scale / (2 * max_scale)``, at most 1/2, so the sum of
   the two cannot overflow.
3. Add the two int32 values.
4. Rescale the sum to the output scale, ``output_multiplier ~= 2 * max_scale /
   (2**20 * out_scale)``, add the output zero point, clamp to
   ``[act_min, act_max]``.

All three multipliers are below one, so every shift is <= 0 (TFLite's
``MultiplyByQuantizedMultiplierSmallerThanOneExp``); with double rounding
that is SaturatingRoundingDoublingHighMul then RoundingDivideByPOT (TFLite's
default build), with single rounding the one-step rounding of TFLite's opt-in
``TFLITE_SINGLE_ROUNDING`` build, the same functions as every other kernel
(``requantize.py``).

``add_parameters`` computes the three (multiplier, shift) pairs from the
scales exactly as TFLite's ADD prepare step does, including its float32
scales, so callers need not re-derive them.

Where it sits
-------------
The int8 interpreter uses it for residual additions; the generated C must
match it byte for byte.  Inputs broadcast like numpy arrays (TFLite's
broadcasting ADD gives the same values element by element).  The file opens
with the plain version, TFLite's code in Python ints (the tests' oracle);
then the kernel, a single flat loop compiled by Numba (``NUMBA_DISABLE_JIT=1``
runs it as plain Python).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .checks import (as_int32_values, check_activation_range, check_int8_array, check_rounding,
                     check_zero_point)
from .requantize import (multiply_by_quantized_multiplier_scalar, quantize_multiplier,
                         reference_multiply_by_quantized_multiplier,
                         reference_quantize_multiplier, requantize, to_int32, wrap_to_int32)

OP = "int8 add"


# --- The plain version: TFLite's ADD, in Python ints --------------------------
# TFLite Micro's ``add_common.cc`` (CalculateOpDataAdd, the parameters) and
# ``reference/integer_ops/add.h`` (AddFunc), in the C++'s shape.  It runs on
# requantize.py's plain arithmetic and shares nothing with the fast version
# below, so that the tests comparing the two cannot miss a bug both would have.

def reference_add_parameters(a_scale: float, b_scale: float, output_scale: float,
                             left_shift: int = 20,
                             single_rounding: bool = False) -> dict[str, int]:
    """CalculateOpDataAdd: scales are float32 in a TfLiteTensor, the arithmetic is double."""
    s1, s2, so = (np.float32(s) for s in (a_scale, b_scale, output_scale))
    twice_max_input_scale = 2 * float(max(s1, s2))
    real_input1_multiplier = float(s1) / twice_max_input_scale
    real_input2_multiplier = float(s2) / twice_max_input_scale
    real_output_multiplier = twice_max_input_scale / ((1 << left_shift) * float(so))
    result = {"left_shift": left_shift}
    for name, real in (("a", real_input1_multiplier), ("b", real_input2_multiplier),
                       ("output", real_output_multiplier)):
        assert 0 < real < 1  # QuantizeMultiplierSmallerThanOneExp
        multiplier, shift = reference_quantize_multiplier(real, single_rounding)
        assert shift <= 0
        result[f"{name}_multiplier"], result[f"{name}_shift"] = multiplier, shift
    return result


def _add_func(x, y, input1_offset, input1_multiplier, input1_shift, input2_offset,
              input2_multiplier, input2_shift, output_offset, output_multiplier, output_shift,
              act_min, act_max, left_shift, single_rounding):
    input1_val = input1_offset + x
    input2_val = input2_offset + y
    shifted_input1_val = to_int32(input1_val * (1 << left_shift))
    shifted_input2_val = to_int32(input2_val * (1 << left_shift))
    scaled_input1_val = reference_multiply_by_quantized_multiplier(
        shifted_input1_val, input1_multiplier, input1_shift, single_rounding)
    scaled_input2_val = reference_multiply_by_quantized_multiplier(
        shifted_input2_val, input2_multiplier, input2_shift, single_rounding)
    raw_sum = to_int32(scaled_input1_val + scaled_input2_val)
    raw_output = to_int32(reference_multiply_by_quantized_multiplier(
        raw_sum, output_multiplier, output_shift, single_rounding) + output_offset)
    return min(act_max, max(act_min, raw_output))


def reference_add(a: np.ndarray, b: np.ndarray, a_zero_point: int, a_multiplier: int,
                  a_shift: int, b_zero_point: int, b_multiplier: int, b_shift: int,
                  output_zero_point: int, output_multiplier: int, output_shift: int,
                  act_min: int = -128, act_max: int = 127, left_shift: int = 20,
                  single_rounding: bool = False) -> np.ndarray:
    """The plain ``add``: one AddFunc per element of the broadcast shape, nothing checked."""
    a, b = np.broadcast_arrays(a, b)
    out = np.zeros(a.shape, dtype=np.int8)
    for index in np.ndindex(a.shape):
        out[index] = _add_func(int(a[index]), int(b[index]), -a_zero_point, a_multiplier,
                               a_shift, -b_zero_point, b_multiplier, b_shift, output_zero_point,
                               output_multiplier, output_shift, act_min, act_max, left_shift,
                               single_rounding)
    return out


# --- The fast version ----------------------------------------------------------


def add_parameters(a_scale: float, b_scale: float, output_scale: float,
                   left_shift: int = 20, rounding: str = "double") -> dict[str, int]:
    """(multiplier, shift) for both inputs and the output, as TFLite's ADD prepares them.

    Scales are rounded to float32 first, since that is how a .tflite file
    stores them; the arithmetic is then in double, as in TFLite.  Returns a dict
    with keys ``a_multiplier, a_shift, b_multiplier, b_shift, output_multiplier,
    output_shift, left_shift`` that can be splatted into ``add``.
    """
    scales = [float(np.float32(s)) for s in (a_scale, b_scale, output_scale)]
    if not all(np.isfinite(s) and s > 0 for s in scales):
        raise ValueError(f"{OP}: scales must be finite and > 0, got a_scale={a_scale}, "
                         f"b_scale={b_scale}, output_scale={output_scale}")
    a_scale, b_scale, output_scale = scales
    twice_max_input_scale = 2 * max(a_scale, b_scale)
    real_multipliers = {
        "a": a_scale / twice_max_input_scale,
        "b": b_scale / twice_max_input_scale,
        "output": twice_max_input_scale / ((1 << left_shift) * output_scale),
    }
    parameters = {"left_shift": int(left_shift)}
    for name, real in real_multipliers.items():
        if not 0 < real < 1:
            raise ValueError(f"{OP}: {name} rescale factor {real} must be in (0, 1); "
                             f"output_scale {output_scale} is too small for input scales "
                             f"{a_scale}, {b_scale} with left_shift={left_shift}")
        parameters[f"{name}_multiplier"], parameters[f"{name}_shift"] = quantize_multiplier(
            real, rounding)
    return parameters


@njit(cache=True)
def _add_kernel(a, b, a_zero_point, a_multiplier, a_shift, b_zero_point, b_multiplier,
                b_shift, output_zero_point, output_multiplier, output_shift,
                activation_min, activation_max, left_shift, single_rounding, out):
    scale_up = 1 << left_shift
    for i in range(out.size):
        shifted_a = (int(a[i]) - a_zero_point) * scale_up
        shifted_b = (int(b[i]) - b_zero_point) * scale_up
        scaled_a = multiply_by_quantized_multiplier_scalar(
            shifted_a, a_multiplier, a_shift, single_rounding)
        scaled_b = multiply_by_quantized_multiplier_scalar(
            shifted_b, b_multiplier, b_shift, single_rounding)
        raw_sum = wrap_to_int32(scaled_a + scaled_b)  # an int32 add in C
        out[i] = requantize(raw_sum, output_multiplier, output_shift, output_zero_point,
                            activation_min, activation_max, single_rounding)


def add(a: np.ndarray, b: np.ndarray, a_zero_point: int, a_multiplier: int, a_shift: int,
        b_zero_point: int, b_multiplier: int, b_shift: int, output_zero_point: int,
        output_multiplier: int, output_shift: int, act_min: int = -128, act_max: int = 127,
        left_shift: int = 20, rounding: str = "double") -> np.ndarray:
    """Int8 ``a + b`` with TFLite's ADD arithmetic; bit-exact.

    a, b: int8 arrays that broadcast against each other.  Zero points are the
    zero points themselves (TFLite stores the inputs' negated as offsets).
    Multipliers and shifts: from ``add_parameters`` (or a .tflite file); every
    shift must be in [-31, 0].  left_shift: 20 for int8, at most 23 so that
    ``(q - zero_point) * 2**left_shift`` fits in int32.  act_min / act_max: the
    output clamp.  rounding: ``"double"`` or ``"single"``.  Returns int8 of
    the broadcast shape.
    """
    check_int8_array(OP, "a", a)
    check_int8_array(OP, "b", b)
    check_rounding(OP, rounding)
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(f"{OP}: shapes {a.shape} and {b.shape} do not broadcast") from None
    zero_points = [check_zero_point(OP, name, value) for name, value in (
        ("a_zero_point", a_zero_point), ("b_zero_point", b_zero_point),
        ("output_zero_point", output_zero_point))]
    rescales = []
    for name, multiplier, shift in (("a", a_multiplier, a_shift), ("b", b_multiplier, b_shift),
                                    ("output", output_multiplier, output_shift)):
        multiplier = int(as_int32_values(OP, f"{name}_multiplier", multiplier))
        shift = int(as_int32_values(OP, f"{name}_shift", shift))
        if not -31 <= shift <= 0:
            raise ValueError(f"{OP}: {name}_shift must be in [-31, 0] (a multiplier below one), "
                             f"got {shift}")
        if rounding == "single" and multiplier < 0:
            raise ValueError(f"{OP}: single rounding needs {name}_multiplier >= 0, "
                             f"got {multiplier}")
        rescales += [multiplier, shift]
    act_min, act_max = check_activation_range(OP, act_min, act_max)
    left_shift = int(left_shift)
    if not 0 <= left_shift <= 23:
        raise ValueError(f"{OP}: left_shift must be in [0, 23] so that shifted inputs fit "
                         f"in int32, got {left_shift}")

    out = np.empty(a.shape, dtype=np.int8)
    _add_kernel(np.ascontiguousarray(a).ravel(), np.ascontiguousarray(b).ravel(),
                zero_points[0], rescales[0], rescales[1], zero_points[1], rescales[2],
                rescales[3], zero_points[2], rescales[4], rescales[5], act_min, act_max,
                left_shift, rounding == "single", out.reshape(-1))
    return out
