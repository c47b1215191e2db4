"""gradcheck: compare autograd's gradients with finite differences.

Every ``backward`` in TinyTorch is a hand-derived formula, and a wrong formula
fails silently: training just gets worse.  The cure is to check each one
against the definition of the derivative.  For every input element x_i we
nudge it both ways and measure how each output moves (central differences):

    d out_j / d x_i  ~=  (out_j(x_i + eps) - out_j(x_i - eps)) / (2 eps)

with an error of order eps^2.  Autograd gives the same Jacobian one row at a
time: backward with a one-hot gradient on output element j yields
d out_j / d x for all x at once.  The two Jacobians must agree to within
``atol + rtol * |numerical|``.

This only works in float64: with float32's 7 digits, eps^2 truncation and
rounding errors of size 1e-7 / eps swamp each other.  So gradcheck insists on
float64 inputs.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from tinytorch.tensor import Tensor


class GradcheckError(RuntimeError):
    """Raised when analytic and numerical gradients disagree."""


def _as_outputs(result: Any) -> tuple[Tensor, ...]:
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def gradcheck(fn: Callable[..., Any], inputs: Any, *, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """True when ``fn``'s autograd gradients match central differences at ``inputs``."""
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; nothing to check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} requires grad but has dtype {inputs[i].dtype}; "
                "central differences need float64 (use .double() or dtype=tinytorch.float64)"
            )

    outputs = _as_outputs(fn(*inputs))
    for k, output in enumerate(outputs):
        for i in checked:
            analytic = _analytic_jacobian(fn, inputs, k, i, output.numel())
            numerical = _numerical_jacobian(fn, inputs, k, i, eps)
            mismatch = np.abs(analytic - numerical) > atol + rtol * np.abs(numerical)
            if mismatch.any():
                out_index, in_flat = np.argwhere(mismatch)[0]
                in_index = np.unravel_index(in_flat, inputs[i].shape)
                message = (
                    f"gradcheck: Jacobian mismatch for output {k} with respect to input {i} "
                    f"(shape {inputs[i].shape}) at input index {tuple(int(v) for v in in_index)}, "
                    f"output element {int(out_index)}: expected (numerical) "
                    f"{numerical[out_index, in_flat]:.8g}, got (analytic) "
                    f"{analytic[out_index, in_flat]:.8g}"
                )
                if raise_exception:
                    raise GradcheckError(message)
                return False
    return True


def _analytic_jacobian(fn: Callable[..., Any], inputs: Sequence[Any], output_number: int,
                       input_number: int, output_size: int) -> np.ndarray:
    target = inputs[input_number]
    jacobian = np.zeros((output_size, target.numel()))
    for row in range(output_size):
        for x in inputs:
            if isinstance(x, Tensor):
                x.grad = None
        output = _as_outputs(fn(*inputs))[output_number]
        if not output.requires_grad:
            continue  # the output does not depend on any input: zero row
        one_hot = np.zeros(output.shape, dtype=output.dtype)
        one_hot.flat[row] = 1
        output.backward(one_hot)
        if target.grad is not None:
            jacobian[row] = target.grad.array.reshape(-1)
    for x in inputs:
        if isinstance(x, Tensor):
            x.grad = None
    return jacobian


def _numerical_jacobian(fn: Callable[..., Any], inputs: Sequence[Any], output_number: int,
                        input_number: int, eps: float) -> np.ndarray:
    from tinytorch.autograd.grad_mode import no_grad

    data = inputs[input_number].array
    columns = []
    with no_grad():
        for index in np.ndindex(data.shape):
            original = data[index]
            data[index] = original + eps
            plus = _as_outputs(fn(*inputs))[output_number].array.astype(np.float64)
            data[index] = original - eps
            minus = _as_outputs(fn(*inputs))[output_number].array.astype(np.float64)
            data[index] = original
            columns.append(((plus - minus) / (2 * eps)).reshape(-1))
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))
