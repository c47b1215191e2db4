"""Fake quantization: training a float network to survive rounding.

Post-training quantization rounds a finished model and hopes for the best.
With 8-bit weights that usually works; with 4 bits, rounding each weight to
one of 15 levels moves the network far from where training left it.
Quantization-aware training (QAT) lets the network *see* the rounding while it
trains, so that gradient descent can settle into weights that round well.

The trick is a "fake" quantizer: in the forward pass it rounds a float tensor
to the int8 grid and maps it straight back to float,

    fake_quantize(x) = scale * (clamp(round(x / scale) + zero_point, qmin, qmax) - zero_point)

(``round`` is the stack's one rule, ties away from zero, from
``kernels.int8.affine``), so the rest of the network computes with values on
the int8 grid while everything stays float (and differentiable elsewhere).
Given the same inputs, a layer's fake-quantized output matches the int8
layer's to within one step (1 LSB), not exactly: here the layer computes in
float and rounds once, while the int8 layer stores its bias as int32 and
rescales its int32 accumulator with a fixed-point multiplier and shift
(``kernels.int8.requantize``), so a value lying near a rounding boundary can
land one level apart (and that difference travels on to later layers).

Rounding itself has a zero derivative almost everywhere, which would stop all
learning.  The *straight-through estimator* pretends the rounding is the
identity in the backward pass: the gradient flows through unchanged where x
lies inside the representable range, and is zero where the clamp cut x off
(moving a clipped value would not change the output).

Weights are fake-quantized per output channel, symmetrically, at the chosen
bit width; activations per tensor, asymmetrically, with the range a
moving-average observer learns during training.
"""
from __future__ import annotations

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.kernels.int8 import round_half_away_from_zero
from tinytorch.ops.pointwise import pass_where
from tinytorch.tensor import Tensor


class FakeQuantize(Function):
    """Round to the integer grid and back; straight-through gradient inside the range."""

    @staticmethod
    def forward(ctx, x, scale, zero_point, qmin, qmax):
        """scale * (clip(round(x / scale) + zero_point, qmin, qmax) - zero_point), in x's dtype.

        round: ties away from zero, ``round_half_away_from_zero`` (as the int8 path rounds).
        scale, zero_point: scalars, or arrays that broadcast against x (per channel).
        Save for backward which elements of x lie inside the representable range
        [scale * (qmin - zero_point), scale * (qmax - zero_point)].
        """
        # round x to the grid and back (round_half_away_from_zero); note where x was in range
        # BEGIN SOLUTION lab 08
        low = scale * (qmin - zero_point)
        high = scale * (qmax - zero_point)
        ctx.save_for_backward((x >= low) & (x <= high))
        q = np.clip(round_half_away_from_zero(x / scale) + zero_point, qmin, qmax)
        return (scale * (q - zero_point)).astype(x.dtype)
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad):
        """The straight-through estimator: grad where x was inside the range, 0 elsewhere."""
        # pass the gradient through inside the range only (see pass_where)
        # BEGIN SOLUTION lab 08
        (inside,) = ctx.saved_tensors
        return pass_where(inside, grad), None, None, None, None
        # END SOLUTION


def fake_quantize_activation(x: Tensor, scale: float, zero_point: int) -> Tensor:
    """Per-tensor asymmetric int8 fake quantization."""
    return FakeQuantize.apply(x, scale, zero_point, -128, 127)


def fake_quantize_weight(weight: Tensor, scales: np.ndarray, bits: int) -> Tensor:
    """Per-output-channel symmetric fake quantization to ``bits`` bits (levels +-(2^(bits-1) - 1))."""
    qmax = 2 ** (bits - 1) - 1
    per_channel = scales.reshape((-1,) + (1,) * (weight.ndim - 1))
    return FakeQuantize.apply(weight, per_channel, 0, -qmax, qmax)
