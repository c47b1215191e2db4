"""Gradient clipping: a seat belt against exploding gradients.

One unlucky batch (or a deep recurrent chain of multiplications) can produce
a gradient so large that a single optimizer step throws the weights far from
anywhere useful, and the loss becomes NaN a few steps later.  Clipping bounds
the size of a step without changing how training behaves the rest of the time.

``clip_grad_norm_`` treats *all* gradients as one long vector ``g`` and
measures its p-norm (p = 2 by default; p = inf means the largest magnitude):

    ||g||_p = (sum over every element of |g_i|^p) ^ (1/p)

If that norm exceeds ``max_norm``, every gradient is multiplied by the same
factor ``max_norm / (||g|| + 1e-6)`` (PyTorch's rule; the 1e-6 guards against
dividing by zero), so the direction of the step is kept and only its length is
capped.  The norm *before* clipping is returned: plotting it is the standard
way to see whether, and how often, clipping kicks in.

``clip_grad_value_`` instead clamps each element to ``[-clip_value,
clip_value]``: simpler, but it changes the step's direction.

Both modify ``param.grad`` in place, so they go between ``loss.backward()``
and ``optimizer.step()``.  The norm is accumulated in float64 (a sum of
thousands of float32 squares loses digits), then returned in the gradients'
dtype.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from tinytorch.tensor import Tensor


def _gradient_arrays(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    """The ``.grad`` arrays of the parameters that have one (a single tensor is allowed)."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.array for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    Returns the joint ``norm_type``-norm of the gradients before clipping, as
    a 0-d tensor.  ``norm_type`` is a positive number or ``inf``.  With
    ``error_if_nonfinite=True``, a NaN or infinite norm raises a RuntimeError
    instead of being used to scale (which would turn the gradients into NaN).

    To write: ``total_norm`` (a Python float) over all arrays in ``gradients``;
    the lines after it scale by ``clip_coefficient = max_norm / (total_norm + 1e-6)``.
    Hint: ``np.abs(g, dtype=np.float64)`` computes in float64 without changing ``g``.
    """
    max_norm, norm_type = float(max_norm), float(norm_type)
    if not (norm_type > 0):
        raise ValueError(f"clip_grad_norm_: norm_type must be positive or inf, got {norm_type}")
    gradients = _gradient_arrays(parameters)
    if not gradients:
        return Tensor(0.0)
    # BEGIN SOLUTION lab 04
    if norm_type == math.inf:
        total_norm = float(np.max([np.max(np.abs(g), initial=0.0) for g in gradients]))
    else:
        total_norm = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type))
                         for g in gradients) ** (1.0 / norm_type)
    # END SOLUTION
    clip_coefficient = max_norm / (total_norm + 1e-6)
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} for gradients from "
            f"`parameters` is non-finite ({total_norm}), so it cannot be clipped. To disable "
            "this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`")
    # Written as "not >=" so that a NaN coefficient scales too, as in PyTorch:
    # a NaN norm then shows up in the gradients instead of being hidden.
    if not clip_coefficient >= 1.0:
        for g in gradients:
            g *= clip_coefficient
    return Tensor(np.asarray(total_norm, dtype=gradients[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to ``[-clip_value, clip_value]`` in place.

    Hint: ``np.clip`` takes an ``out=`` argument.
    """
    clip_value = float(clip_value)
    for g in _gradient_arrays(parameters):
        # BEGIN SOLUTION lab 04
        np.clip(g, -clip_value, clip_value, out=g)
        # END SOLUTION
