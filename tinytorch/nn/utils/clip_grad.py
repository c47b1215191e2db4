"""Gradient clipping: a seat belt against exploding gradients.

One unlucky batch can produce a gradient so large that a single step throws
the weights far away.  ``clip_grad_norm_`` measures the norm of *all*
gradients together, as one long vector, and if it exceeds ``max_norm`` scales
every gradient by the same factor ``max_norm / (norm + 1e-6)``: the direction
is kept, only the length is capped.  ``clip_grad_value_`` instead clamps each
element to [-clip_value, clip_value], which does change the direction.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from tinytorch.tensor import Tensor


def _gradients(parameters: Tensor | Iterable[Tensor]) -> list[np.ndarray]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients in place so their joint norm is at most ``max_norm``; returns the norm."""
    grads = _gradients(parameters)
    if not grads:
        return Tensor(0.0)
    # BEGIN SOLUTION lab 04
    if norm_type == float("inf"):
        total_norm = max(float(np.abs(g).max()) for g in grads)
    else:
        total_norm = float(sum(float((np.abs(g.astype(np.float64)) ** norm_type).sum())
                               for g in grads) ** (1.0 / norm_type))
    # END SOLUTION
    if error_if_nonfinite and not np.isfinite(total_norm):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{total_norm}, so they cannot be clipped; set error_if_nonfinite=False to skip this check")
    clip_coefficient = max_norm / (total_norm + 1e-6)
    if clip_coefficient < 1:
        for g in grads:
            g *= g.dtype.type(clip_coefficient)
    return Tensor(np.asarray(total_norm, dtype=grads[0].dtype))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value] in place."""
    for g in _gradients(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
