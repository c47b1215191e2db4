"""The four MLPerf Tiny models through TinyTorch's C on an emulated Cortex-M4, beside the anchors.

For each model (imported from its .tflite, not trained here) it prints, at
-Os and -O2:

* flash: code and weights apart (code includes the start-up code and vectors);
* RAM: the arena against the live-set lower bound, the DSP scratch apart,
  and the input and output buffers, which the caller owns, so that the sum
  compares with TensorFlow Lite Micro's smallest working arena (measured on
  this machine), which holds them;
* instructions per inference on the emulated Cortex-M4 (exact counts, mean
  over the inputs; they vary little with the data) against a chain of
  CMSIS-NN calls built with gcc -O2 (measured on this machine, KWS and
  ResNet-8), and the latency they suggest at 120 MHz, for 2.4-2.8 cycles per
  emulated instruction (flash wait states and stalls, fitted to a published
  latency);

and checks on the way that every activation equals TensorFlow Lite Micro's
and that the C equals the interpreter on every byte, host and core.

    python benchmarks/mlperf_tiny.py                   # all four, -Os and -O2 (~5 min)
    python benchmarks/mlperf_tiny.py --models kws ad   # some
    python benchmarks/mlperf_tiny.py --toolchain gcc   # with arm-none-eabi-gcc
"""
from __future__ import annotations

import argparse
import contextlib
import io
import time

from common import machine_description

from tinytorch.app.demo import CYCLES_PER_INSTRUCTION
from tinytorch.app.mlperf import run_reference_model
from tinytorch.app.mlperf_tiny import MODELS
from tinytorch.kernels import tune_process

# Measured on this machine with the same emulator: TFLite Micro's smallest arena that
# still runs the model, and instructions per inference of a chain of CMSIS-NN calls
# (gcc 12.2 -O2; -Os in brackets where measured) with 16.6-21.9 KB of code for KWS.
TFLM_SMALLEST_ARENA = {"kws": 24_272, "resnet": 55_984, "vww": 103_672, "ad": 4_632}
CMSIS_NN_INSTRUCTIONS = {"kws": (7.69e6, 9.22e6), "resnet": (29.9e6, None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--samples", type=int, default=6,
                        help="inputs per model: all -128, all 127, random (default 6)")
    parser.add_argument("--toolchain", choices=["zig", "gcc"])
    args = parser.parse_args()
    tune_process()
    print(f"# MLPerf Tiny on an emulated Cortex-M4, {time.strftime('%Y-%m-%d')}, "
          f"{machine_description()}")
    rows = []
    for key in args.models:
        runs = {}
        for optimization in ("-Os", "-O2"):
            with contextlib.redirect_stdout(io.StringIO()):  # the per-step lines
                runs[optimization] = run_reference_model(
                    key, samples=args.samples, optimization=optimization, show_progress=False,
                    toolchain_name=args.toolchain,
                    compare_with_tflite_micro=optimization == "-Os")
        small, fast = runs["-Os"], runs["-O2"]
        exact = small.bit_exact and fast.bit_exact and small.tflite_micro is not None
        rows.append((key, small, fast, exact))
        print(f"{key}: {small.summary()}\n", flush=True)

    print("| model | MACs | code -Os / -O2 | weights | arena (bound) | scratch | + I/O "
          "| TFLM smallest arena | instructions -Os / -O2 | CMSIS-NN -O2 (-Os) "
          "| per MAC -O2 | latency at 120 MHz | bit-exact |")
    print("|---" * 13 + "|")
    for key, small, fast, exact in rows:
        cmsis = CMSIS_NN_INSTRUCTIONS.get(key)
        anchor = "-" if cmsis is None else (f"{cmsis[0] / 1e6:.2f} M" + (
            f" ({cmsis[1] / 1e6:.2f} M)" if cmsis[1] else ""))
        best = min(small.instructions, fast.instructions)
        low, high = (best * c / 120e3 for c in CYCLES_PER_INSTRUCTION)
        print(f"| {key} | {small.macs / 1e6:.2f} M | {small.code:,} / {fast.code:,} B "
              f"| {small.weights:,} B | {small.arena:,} B ({small.lower_bound:,}) "
              f"| {small.scratch:,} B | {small.arena + small.io:,} B "
              f"| {TFLM_SMALLEST_ARENA[key]:,} B "
              f"| {small.instructions / 1e6:.2f} M / {fast.instructions / 1e6:.2f} M "
              f"| {anchor} | {fast.instructions / fast.macs:.2f} | {low:.1f}-{high:.1f} ms "
              f"| {'yes' if exact else 'NO'} |")


if __name__ == "__main__":
    main()
