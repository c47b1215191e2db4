"""Argument checks shared by the public functions of every int8 op.

The kernels themselves trust their arguments: a Numba loop that met a
negative shift or an int16 array would give wrong bytes, not an error.  So
each public function (``conv2d``, ``fully_connected``, ``add``, the pools and
``multiply_by_quantized_multiplier``) first passes what it was given through
these checks, which turn a mistake into a ValueError or TypeError naming the
op, the argument and what was expected, and hand back normalized values
(plain ints, int32 per-channel arrays, a zero bias for None).
"""
from __future__ import annotations

import numpy as np

ROUNDING_MODES = ("double", "single")
INT32 = np.iinfo(np.int32)



def check_rounding(op: str, rounding: str) -> None:
    if rounding not in ROUNDING_MODES:
        raise ValueError(f"{op}: rounding must be 'double' or 'single', got {rounding!r}")


def as_int32_values(op: str, name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must hold integers, got dtype {array.dtype}")
    if (array.size and not np.can_cast(array.dtype, np.int32)
            and (array.min() < INT32.min or array.max() > INT32.max)):
        raise ValueError(f"{op}: {name} must fit in int32, got values in "
                         f"[{array.min()}, {array.max()}]")
    return array.astype(np.int32, copy=False)


def check_multiplier_and_shift(op: str, multiplier: np.ndarray, shift: np.ndarray,
                               rounding: str) -> None:
    """Shifts must lie in [-31, 30]; single rounding also needs multipliers >= 0."""
    if shift.size and (shift.min() < -31 or shift.max() > 30):
        raise ValueError(f"{op}: shift must be in [-31, 30], got values in "
                         f"[{shift.min()}, {shift.max()}]")
    if rounding == "single" and multiplier.size and multiplier.min() < 0:
        raise ValueError(f"{op}: single rounding needs multiplier >= 0, got {multiplier.min()}")


def per_channel_parameters(op: str, multiplier, shift, channels: int,
                           rounding: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``multiplier``/``shift`` (scalars or length-``channels`` arrays) as int32 arrays."""
    check_rounding(op, rounding)
    arrays = []
    for name, values in (("multiplier", multiplier), ("shift", shift)):
        array = as_int32_values(op, name, values)
        if array.ndim == 0:
            array = np.full(channels, array, dtype=np.int32)
        elif array.shape != (channels,):
            raise ValueError(f"{op}: {name} must be a scalar or have shape ({channels},) "
                             f"(one per output channel), got shape {array.shape}")
        arrays.append(np.ascontiguousarray(array))
    check_multiplier_and_shift(op, arrays[0], arrays[1], rounding)
    return arrays[0], arrays[1]


def check_activation_range(op: str, activation_min: int, activation_max: int) -> tuple[int, int]:
    """The output clamp (fused ReLU/ReLU6 or the int8 range) must be inside [-128, 127]."""
    activation_min, activation_max = int(activation_min), int(activation_max)
    if not -128 <= activation_min <= activation_max <= 127:
        raise ValueError(f"{op}: need -128 <= act_min <= act_max <= 127, "
                         f"got act_min={activation_min}, act_max={activation_max}")
    return activation_min, activation_max


def check_zero_point(op: str, name: str, zero_point: int) -> int:
    zero_point = int(zero_point)
    if not -128 <= zero_point <= 127:
        raise ValueError(f"{op}: {name} must be in [-128, 127], got {zero_point}")
    return zero_point


def check_int8_array(op: str, name: str, array, ndim: int | None = None) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{op}: {name} must be a numpy array, got {type(array).__name__}")
    if array.dtype != np.int8:
        raise TypeError(f"{op}: {name} must have dtype int8, got {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{op}: {name} must have {ndim} dimensions, got shape {array.shape}")
    return array


def check_layer_parameters(op: str, bias, out_channels: int, multiplier, shift,
                           input_zero_point, output_zero_point, act_min, act_max, rounding: str):
    """Validate what every int8 layer with weights takes after its tensors.

    Returns (bias, multiplier, shift, input_zero_point, output_zero_point,
    act_min, act_max) normalized: a zero int32 bias for None, per-channel
    int32 multiplier and shift arrays, plain ints for the rest.
    """
    if bias is None:
        bias = np.zeros(out_channels, dtype=np.int32)
    elif not isinstance(bias, np.ndarray) or bias.dtype != np.int32:
        raise TypeError(f"{op}: bias must be an int32 numpy array or None, got "
                        f"{getattr(bias, 'dtype', type(bias).__name__)}")
    elif bias.shape != (out_channels,):
        raise ValueError(f"{op}: bias must have shape ({out_channels},), got {bias.shape}")
    multiplier, shift = per_channel_parameters(op, multiplier, shift, out_channels, rounding)
    input_zero_point = check_zero_point(op, "input_zero_point", input_zero_point)
    output_zero_point = check_zero_point(op, "output_zero_point", output_zero_point)
    act_min, act_max = check_activation_range(op, act_min, act_max)
    return bias, multiplier, shift, input_zero_point, output_zero_point, act_min, act_max
