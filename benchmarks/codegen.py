"""Generated C on an emulated Cortex-M4: size, memory and instructions, layer by layer and whole.

For single layers in the shapes CMSIS-NN's figures were measured on, and for
two whole networks with random weights (the digits CNN and MLPerf Tiny's
keyword-spotting DS-CNN), it prints:

* flash (code apart from weights) and RAM of the Cortex-M4 firmware,
* the arena against the live-activation lower bound,
* instructions per inference and per multiply-accumulate, for the reference
  C (built with -DTT_REFERENCE_KERNELS) and the DSP path, at -Os and -O2
  (each layer twice: with the bounded requantization the emitter picks where
  it proves it exact, and with TFLite's, which it falls back to),

for each cross compiler (Zig's clang and arm-none-eabi-gcc, where installed),
and checks on the way that every build is bit-exact with the int8 interpreter
on six inputs (four random, all -128, all 127).  Instruction counts are the
mean over those inputs; they are exact and repeatable, and vary little with
the data (a clamp taken or not).  Latency on silicon is roughly 2.4-2.8
cycles per counted instruction (flash wait states, pipeline stalls).

    python benchmarks/codegen.py                    # everything (several minutes)
    python benchmarks/codegen.py --quick            # layers only, -Os only
    python benchmarks/codegen.py --toolchain gcc    # one compiler only
"""
from __future__ import annotations

import argparse
import platform
import shutil
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.elf_report import read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.example_graphs import GraphBuilder, digits_cnn, ds_cnn
from tinytorch.kernels import tune_process
from tinytorch.quant import Int8Interpreter

# CMSIS-NN, int8, DSP path, gcc -O2 (-Os), on an emulated Cortex-M4: instructions per MAC.
CMSIS_NN = {"3x3 conv 8x8x8 -> 16": (2.88, 3.89), "1x1 conv 25x5x64 -> 64": (2.09, 2.37),
            "3x3 depthwise 25x5x64": (7.79, 9.66), "fully connected 256 -> 120": (2.07, 3.07)}


def single_layer_graphs(rng) -> dict:
    graphs = {}
    g = GraphBuilder("conv3x3", (1, 8, 8, 8), rng)
    g.conv("conv", 16)
    graphs["3x3 conv 8x8x8 -> 16"] = g.build()
    g = GraphBuilder("conv1x1", (1, 25, 5, 64), rng)
    g.conv("conv", 64, kernel=(1, 1), padding=(0, 0, 0, 0))
    graphs["1x1 conv 25x5x64 -> 64"] = g.build()
    g = GraphBuilder("depthwise3x3", (1, 25, 5, 64), rng)
    g.depthwise("depthwise")
    graphs["3x3 depthwise 25x5x64"] = g.build()
    g = GraphBuilder("fc", (1, 256), rng)
    g.linear("fc", 120)
    graphs["fully connected 256 -> 120"] = g.build()
    return graphs


def test_inputs(graph) -> np.ndarray:
    """Four random inputs, then the two extremes: all -128 and all 127."""
    shape = graph.tensor(graph.input).shape[1:]
    random = np.random.default_rng(0).integers(-128, 128, (4, *shape))
    return np.concatenate([random, np.full((1, *shape), -128), np.full((1, *shape), 127)]
                          ).astype(np.int8)


def measure(graph, directory: Path, optimization: str, reference: bool, toolchain: str) -> dict:
    """Build for the M4, run the test inputs, check them, count instructions (mean)."""
    generated = generate_model(graph)
    flags = ["-DTT_REFERENCE_KERNELS"] if reference else []
    elf = build_model(generated, directory, "cortex-m4", optimization, flags,
                      toolchain_name=toolchain)
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    inputs = test_inputs(graph)
    model = CoreModel(elf, "cortex-m4", generated, graph)
    if not np.array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs)):
        raise AssertionError(f"{generated.name} {optimization} ({toolchain}): C differs from "
                             f"the interpreter")
    instructions = round(float(np.mean(model.instructions)))
    return dict(instructions=instructions, per_mac=instructions / generated.macs,
                macs=generated.macs, report=report, plan=generated.plan)


def layers(workdir: Path, optimizations: list[str], toolchain: str) -> None:
    print(f"\nSingle layers on an emulated Cortex-M4, built with {toolchain}: instructions per "
          f"MAC (CMSIS-NN -O2 / -Os for scale)")
    print(f"{'layer':<28}{'MACs':>9}  " + "".join(
        f"{'ref ' + o:>10}{'DSP ' + o:>10}" for o in optimizations) + "   CMSIS-NN  DSP/CMSIS")
    for name, graph in single_layer_graphs(np.random.default_rng(1)).items():
        layer_row(workdir, optimizations, name, name, graph, toolchain)
        # The same layer with TFLite's requantization, which the emitter falls
        # back to when it cannot prove the accumulators small (for depthwise,
        # the kernel tt_depthwise_conv2d).
        with mock.patch("tinytorch.codegen.c_kernels.bounded_requantization",
                        return_value=None):
            layer_row(workdir, optimizations, name, "  (TFLite requantization)", graph,
                      toolchain)


def layer_row(workdir: Path, optimizations: list[str], name: str, label: str, graph,
              toolchain: str) -> None:
    row, macs, ratio = "", 0, ""
    for optimization in optimizations:
        for reference in (True, False):
            m = measure(graph, workdir / f"{toolchain}{graph.name}{label.strip()}{optimization}"
                                         f"{reference}", optimization, reference, toolchain)
            row += f"{m['per_mac']:>10.2f}"
            macs = m["macs"]
            if not reference:
                cmsis = CMSIS_NN[name][0 if optimization == "-O2" else 1]
                ratio += f" {m['per_mac'] / cmsis:.2f}x({optimization})"
    cmsis = "/".join(f"{v:.2f}" for v in CMSIS_NN[name])
    print(f"{label:<28}{macs:>9,}  {row}   {cmsis:>9} {ratio}")


def networks(workdir: Path, optimizations: list[str], toolchain: str) -> None:
    rng = np.random.default_rng(2)
    for graph in (digits_cnn(rng), ds_cnn(rng)):
        print(f"\n{graph.name}, built with {toolchain}: "
              + ", ".join(f"{op.type}" for op in graph.ops))
        for optimization in optimizations:
            for reference in (True, False):
                m = measure(graph, workdir / f"{toolchain}{graph.name}{optimization}{reference}",
                            optimization, reference, toolchain)
                report, path = m["report"], "reference C" if reference else "DSP path"
                print(f"  {optimization} {path:<12} flash {report.flash:>7,} B (code "
                      f"{report.code:>6,} B, weights {report.weights:>7,} B)  RAM "
                      f"{report.ram:>7,} B  {m['instructions']:>11,} instructions "
                      f"({m['per_mac']:.2f} per MAC, {m['macs']:,} MACs)")
        print(f"  {m['plan'].summary()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="single layers at -Os only")
    parser.add_argument("--toolchain", choices=["zig", "gcc"],
                        help="one cross compiler (default: zig, and gcc where installed)")
    args = parser.parse_args()
    tune_process()  # before Numba starts its threads
    print(f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {platform.processor() or ''}  "
          f"Python {platform.python_version()}")
    optimizations = ["-Os"] if args.quick else ["-Os", "-O2"]
    toolchains = [args.toolchain] if args.toolchain else ["zig"]
    if not args.toolchain:
        if shutil.which("arm-none-eabi-gcc"):
            toolchains.append("gcc")
        else:
            print("arm-none-eabi-gcc is not on PATH: zig only")
    with tempfile.TemporaryDirectory(prefix="tinytorch-codegen-bench-") as workdir:
        for toolchain in toolchains:
            layers(Path(workdir), optimizations, toolchain)
            if not args.quick:
                networks(Path(workdir), optimizations, toolchain)


if __name__ == "__main__":
    main()
