"""Convolution alone, forward + backward: TinyTorch's kernels vs PyTorch vs plain numpy.

    python benchmarks/conv2d.py [--threads 1]

For each layer shape of the digits CNN and of LeNet-5: the forward pass plus
the gradients of input, weight and bias, from TinyTorch's Numba im2col +
BLAS kernels, from PyTorch (when installed), and from the sliding-window
numpy reference in ``kernels/conv2d.py``.
"""
from __future__ import annotations

import argparse
import os
import sys

# (name, batch, in_channels, size, out_channels, kernel, padding)
SHAPES = [("digits conv1", 32, 1, 8, 8, 3, 1), ("digits conv2", 32, 8, 4, 16, 3, 1),
          ("lenet conv1", 64, 1, 28, 6, 5, 2), ("lenet conv2", 64, 6, 14, 16, 5, 0)]


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

    from tinytorch.kernels import tune_process
    from tinytorch.kernels.conv2d import (
        conv2d_backward, conv2d_backward_reference, conv2d_forward, conv2d_forward_reference)

    tune_process()  # before PyTorch loads, so its OpenMP threads sleep when idle too

    torch = import_torch(threads=args.threads)
    print(f"conv2d forward + backward, {args.threads} thread(s); {machine_description()}")
    for name, batch, channels, size, out_channels, kernel, padding in SHAPES:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
        weight = rng.standard_normal((out_channels, channels, kernel, kernel)).astype(np.float32)
        bias = rng.standard_normal(out_channels).astype(np.float32)
        options = ((1, 1), (padding, padding), (1, 1), 1)
        grad_out = np.ones_like(conv2d_forward_reference(x, weight, bias, *options))

        def ours():
            _, cols = conv2d_forward(x, weight, bias, *options)
            return conv2d_backward(grad_out, cols, x.shape, weight, *options)

        def reference():
            conv2d_forward_reference(x, weight, bias, *options)
            return conv2d_backward_reference(grad_out, x, weight, *options)

        candidates = {"tinytorch": ours, "numpy reference": reference}
        if torch is not None:
            tx = torch.tensor(x, requires_grad=True)
            tw, tb = torch.tensor(weight, requires_grad=True), torch.tensor(bias, requires_grad=True)
            tg = torch.tensor(grad_out)

            def theirs():
                out = torch.nn.functional.conv2d(tx, tw, tb, 1, padding)
                return torch.autograd.grad(out, (tx, tw, tb), tg)

            candidates["pytorch"] = theirs
        timings = compare(candidates)
        print(f"{name}: {batch}x{channels}x{size}x{size} -> {out_channels}, {kernel}x{kernel}, pad {padding}")
        print_timings(timings, "ms")


if __name__ == "__main__":
    main()
