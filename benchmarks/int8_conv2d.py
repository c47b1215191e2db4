"""Time the int8 conv2d kernel against a plain-numpy im2col reference.

    python benchmarks/int8_conv2d.py

The reference is what a careful numpy user would write for the same integer
arithmetic: pad with the input zero point, cut the image into patches
(im2col), one int32 matrix multiply (an einsum for depthwise), then
requantize with vectorized int64 numpy (TFLite's double rounding) and clamp.
Both produce identical int8 outputs (checked and printed), so the ratio is a
fair speed comparison.  The two are timed in interleaved rounds after a
warm-up call (Numba compiles on the first call), each keeping its best round.  The kernel uses threads
only for convolutions above ``PARALLEL_MIN_MACS`` multiply-adds (Numba's
thread count: NUMBA_NUM_THREADS); numpy's integer matmul does not use BLAS.
On a machine whose cores are shared with other jobs the figures are noisy:
run it a few times.
"""
from __future__ import annotations

import os
import sys

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compare, machine_description  # noqa: E402

from tinytorch.kernels.int8 import conv2d, quantize_multiplier  # noqa: E402
from tinytorch.kernels import tune_process  # noqa: E402


def requantize_numpy(acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """TFLite double rounding, vectorized in int64 numpy (per channel along the last axis).

    Written for numpy's speed, not looks:
    * per-channel parameters are expanded to full arrays (numpy loops slowly
      over a short broadcast axis);
    * everything stays int64 and branch-free: ``v >> 63`` is -1 for negative v,
      else 0 (np.where and bool-int mixing are several times slower);
    * one operation per line, in place where possible: for arrays over 256 KiB
      numpy checks whether it may reuse a temporary, and on some machines that
      check alone costs ~0.3 ms per operation.
    """
    def full(values):
        return np.ascontiguousarray(np.broadcast_to(values.astype(np.int64), acc.shape))

    multiplier = full(multiplier)
    left, right = full(np.maximum(shift, 0)), full(np.maximum(-shift, 0))
    x = acc.astype(np.int64)
    x <<= left
    x += 2**31
    x &= 0xFFFFFFFF
    x -= 2**31                               # the int32 wrap of x * 2**left
    numerator = x * multiplier
    sign = numerator >> 63
    sign *= (1 << 31) - 1
    numerator += 1 << 30
    numerator += sign                        # nudge: 2**30, or 1 - 2**30 for a negative product
    sign = numerator >> 63
    sign &= 2**31 - 1
    numerator += sign                        # now '>> 31' truncates toward zero, like C's '/'
    high = numerator >> 31
    np.minimum(high, 2**31 - 1, out=high)    # only INT32_MIN * INT32_MIN reaches 2**31
    mask = np.left_shift(1, right)
    mask -= 1
    threshold = mask >> 1
    threshold -= high >> 63                  # + 1 for negative values
    remainder = high & mask
    threshold -= remainder
    threshold >>= 63                         # -1 where remainder > threshold
    result = high >> right
    result -= threshold
    return result


def conv2d_im2col_numpy(x, weight, bias, input_zero_point, output_zero_point, multiplier, shift,
                        padding, groups=1, act_min=-128, act_max=127):
    """Stride 1, dilation 1, padding (top, bottom, left, right); groups 1 or depthwise."""
    top, bottom, left, right = padding
    out_channels, kernel_h, kernel_w, _ = weight.shape
    shifted = np.pad(x.astype(np.int32) - input_zero_point,
                     ((0, 0), (top, bottom), (left, right), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(shifted, (kernel_h, kernel_w), axis=(1, 2))
    batches, out_h, out_w = windows.shape[:3]
    if groups == 1:
        columns = windows.transpose(0, 1, 2, 4, 5, 3).reshape(batches * out_h * out_w, -1)
        acc = columns @ weight.reshape(out_channels, -1).T.astype(np.int32)
    else:  # depthwise, one filter per channel: no matmul, a weighted sum per channel
        acc = np.einsum("nyxckl,ckl->nyxc", windows, weight[..., 0].astype(np.int32))
        acc = acc.reshape(batches * out_h * out_w, out_channels)
    acc += bias
    out = requantize_numpy(acc, multiplier, shift)
    out += output_zero_point
    np.clip(out, act_min, act_max, out=out)
    return out.astype(np.int8).reshape(batches, out_h, out_w, out_channels)


def case(name: str, batches: int, height: int, width: int, channels: int, out_channels: int,
         kernel: int = 3, groups: int = 1):
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (batches, height, width, channels), dtype=np.int8)
    weight = rng.integers(-127, 128, (out_channels, kernel, kernel, channels // groups),
                          dtype=np.int8)
    bias = rng.integers(-5000, 5000, out_channels, dtype=np.int32)
    pairs = [quantize_multiplier(s) for s in rng.uniform(0.0005, 0.004, out_channels)]
    multiplier = np.array([m for m, _ in pairs], dtype=np.int32)
    shift = np.array([s for _, s in pairs], dtype=np.int32)
    pad = (kernel // 2,) * 4
    args = (x, weight, bias, 5, -3, multiplier, shift)

    kernel_out = conv2d(*args, padding=pad, groups=groups)
    numpy_out = conv2d_im2col_numpy(*args, padding=pad, groups=groups)
    identical = np.array_equal(kernel_out, numpy_out)
    timings = compare({"kernel": lambda: conv2d(*args, padding=pad, groups=groups),
                       "numpy": lambda: conv2d_im2col_numpy(*args, padding=pad, groups=groups)})
    kernel_seconds, numpy_seconds = timings["kernel"], timings["numpy"]
    macs = kernel_out.size * kernel * kernel * (channels // groups)
    print(f"{name:<35} kernel {kernel_seconds * 1e3:8.3f} ms  numpy im2col "
          f"{numpy_seconds * 1e3:8.3f} ms  ratio {numpy_seconds / kernel_seconds:5.1f}x  "
          f"({macs / kernel_seconds / 1e9:.2f} GMAC/s, identical: {identical})")


def main() -> None:
    kept = tune_process().keeps_freed_memory  # before Numba starts its threads
    print(f"int8 conv2d vs numpy im2col — {machine_description()}, "
          f"Numba {numba.__version__} with {numba.get_num_threads()} threads, "
          f"numpy {np.__version__}, "
          f"glibc keeps freed memory: {kept}")
    case("1x32x32x16 -> 32, 3x3, pad 1", 1, 32, 32, 16, 32)
    case("digits 64x8x8x1 -> 8, 3x3, pad 1", 64, 8, 8, 1, 8)
    case("digits 64x4x4x8 -> 16, 3x3, pad 1", 64, 4, 4, 8, 16)
    case("1x16x16x64 -> 64, 1x1", 1, 16, 16, 64, 64, kernel=1)
    case("KWS-like 1x25x5x64 depthwise 3x3", 1, 25, 5, 64, 64, groups=64)
    case("1x32x32x32 depthwise 3x3", 1, 32, 32, 32, 32, groups=32)


if __name__ == "__main__":
    main()
