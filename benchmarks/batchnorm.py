"""Batch normalization in training, forward + backward: the Numba kernel vs numpy vs PyTorch.

    python benchmarks/batchnorm.py [--threads 1]

For a few activation shapes: ``BatchNorm2d`` in training mode, forward and
the gradients of input, weight and bias.

* tinytorch layer: ``nn.BatchNorm2d`` with autograd (the Numba kernel of
  ``kernels/batchnorm.py`` underneath, plus the running statistics);
* kernel: the kernel's forward and backward alone, on arrays;
* numpy: the same math as whole-array numpy operations, the way TinyTorch
  computed it before the kernel (statistics with ``mean``/``var``, x_hat
  saved, reductions with ``np.add.reduce``);
* pytorch: ``torch.nn.BatchNorm2d`` with autograd, when installed.
"""
from __future__ import annotations

import argparse
import os
import sys

# (name, shape)
SHAPES = [("digits conv1 output", (32, 8, 8, 8)), ("digits conv2 output", (32, 16, 4, 4)),
          ("LeNet conv1 output", (64, 6, 28, 28)), ("64x16x14x14", (64, 16, 14, 14))]
EPS = 1e-5


def numpy_step(np, x, weight, bias, grad):
    """TinyTorch's former numpy batch norm, forward and backward (training)."""
    axes, shape = (0, 2, 3), (1, -1, 1, 1)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    inverse_std = 1.0 / np.sqrt(var + EPS)
    x_hat = (x - mean.reshape(shape)) * inverse_std.reshape(shape)
    out = x_hat * weight.reshape(shape)
    out += bias.reshape(shape)
    grad_sum = np.add.reduce(grad, axis=axes)
    grad_dot_x_hat = np.add.reduce(grad * x_hat, axis=axes)
    count = grad.size // grad.shape[1]
    scale = (weight * inverse_std).reshape(shape)
    grad_x = (grad - (grad_sum / count).reshape(shape)
              - x_hat * (grad_dot_x_hat / count).reshape(shape)) * scale
    return out, grad_x, grad_dot_x_hat, grad_sum


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import pin_threads

    # Thread counts must be fixed before numpy (BLAS) and Numba start their pools.
    pin_threads(args.threads)
    import numpy as np

    from common import compare, import_torch, machine_description, print_timings

    import tinytorch
    from tinytorch import nn
    from tinytorch.kernels import batchnorm as kernel, tune_process

    tune_process()  # before PyTorch loads, so its OpenMP threads sleep when idle too

    torch = import_torch(threads=args.threads)
    print(f"BatchNorm2d training, forward + backward, {args.threads} thread(s); "
          f"{machine_description()}")
    for name, shape in SHAPES:
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape).astype(np.float32)
        grad = rng.standard_normal(shape).astype(np.float32)
        weight = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
        bias = rng.standard_normal(shape[1]).astype(np.float32)

        layer = nn.BatchNorm2d(shape[1])
        tx, tgrad = tinytorch.tensor(x, requires_grad=True), tinytorch.tensor(grad)

        def ours():
            layer(tx).backward(tgrad)

        def kernel_only():
            _, mean, _, inverse_std = kernel.batch_norm_forward(x, weight, bias, EPS)
            return kernel.batch_norm_backward(grad, x, mean, inverse_std, weight, True)

        candidates = {"tinytorch layer": ours, "kernel": kernel_only,
                      "numpy": lambda: numpy_step(np, x, weight, bias, grad)}
        if torch is not None:
            theirs = torch.nn.BatchNorm2d(shape[1])
            px, pgrad = torch.tensor(x, requires_grad=True), torch.tensor(grad)

            def pytorch():
                theirs(px).backward(pgrad)

            candidates["pytorch"] = pytorch
        timings = compare(candidates)
        print(f"{name}: {'x'.join(map(str, shape))}")
        print_timings(timings, "ms")


if __name__ == "__main__":
    main()
