"""The affine mapping: how an int8 number stands for a real number.

What
----
An int8 tensor is a float tensor in disguise.  Each int8 value ``q`` stands for
the real number

    real = scale * (q - zero_point)

where ``scale`` (a positive float) is the step between neighbouring levels and
``zero_point`` (an integer in [-128, 127]) is the int8 value that stands for
real 0.  The mapping is *affine* (a multiply and a shift), so 256 evenly spaced
levels cover the range ``[scale * (-128 - zero_point), scale * (127 - zero_point)]``.
Every int8 kernel in this package reads and writes values in that form; the
scales and zero points are what ``tinytorch.quant`` learns from data
(activations) or from the weights themselves (weights: ``zero_point = 0``).

Two details make the mapping exact where it must be:

* Real 0 is always a level (``q = zero_point``), so zero padding and ReLU's
  zeros are represented without error.
* Weights use ``zero_point = 0`` (symmetric), so a weight's product with an
  activation needs no correction term in the integer dot product.

Going the other way, a real number becomes the nearest level,

    q = clamp(round(real / scale) + zero_point, qmin, qmax)

and *which* "round" matters: a value exactly halfway between two levels must
go the same way here, in the converter, in the fake quantizer used during
training and on the device, or two halves of the stack disagree by one level.
This project follows TFLite (its converter and its QUANTIZE kernel, both
``std::round``): **ties round half away from zero**, 2.5 -> 3, -2.5 -> -3.
(NumPy's ``np.round`` and PyTorch's ``fake_quantize`` round ties to even,
2.5 -> 2; the two agree everywhere except at exact ties.)

Where it sits
-------------
This is the first chapter of ``kernels.int8``: the kernels that follow
(``requantize``, ``fully_connected``, ...) take scales and zero points as
given; ``tinytorch.quant`` uses ``quantize`` / ``round_half_away_from_zero``
wherever it turns floats into integers (weights, biases, graph inputs, fake
quantization), so there is one rounding rule in the whole stack.
"""
from __future__ import annotations

import numpy as np


def round_half_away_from_zero(x: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, ties away from zero (C's ``round``); keeps x's float dtype.

    ``floor(|x| + 0.5)`` looks equivalent but is not: the addition itself can
    round, e.g. ``0.49999999999999994 + 0.5 == 1.0`` in float64.  Splitting x
    into its integer part and its fraction is exact, and doubling the fraction
    (also exact) reaches +-1 precisely when the fraction is at least one half.
    """
    whole = np.trunc(x)
    return whole + np.trunc(2 * (x - whole))


def quantize(real: np.ndarray, scale, zero_point, qmin: int = -128, qmax: int = 127,
             dtype=np.int8) -> np.ndarray:
    """Real numbers to integers: ``clamp(round(real / scale) + zero_point, qmin, qmax)``.

    scale, zero_point: scalars, or arrays that broadcast against ``real`` (per
    channel).  The division is done in float64; ties round away from zero.
    """
    scaled = np.asarray(real, dtype=np.float64) / scale
    return np.clip(round_half_away_from_zero(scaled) + zero_point, qmin, qmax).astype(dtype)


def dequantize(q: np.ndarray, scale, zero_point) -> np.ndarray:
    """Integers to real numbers: ``scale * (q - zero_point)``, as float32."""
    return (scale * (np.asarray(q, dtype=np.int32) - zero_point)).astype(np.float32)
