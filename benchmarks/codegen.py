"""Generated C on an emulated Cortex-M4: size, memory and instructions, layer by layer and whole.

For single layers in the shapes CMSIS-NN's figures were measured on, and for
two whole networks with random weights (the digits CNN and MLPerf Tiny's
keyword-spotting DS-CNN), it prints:

* flash (code apart from weights) and RAM of the Cortex-M4 firmware,
* the arena against the live-activation lower bound,
* instructions per inference and per multiply-accumulate, for the reference
  C (built with -DTT_REFERENCE_KERNELS) and the DSP path, at -Os and -O2
  (the depthwise layer twice: through the bounded kernel the emitter picks for
  it, and through the general kernel it falls back to),

and checks on the way that every build is bit-exact with the int8 interpreter.
Instruction counts are exact and repeatable; latency on silicon is roughly
2.4-2.8 cycles per counted instruction (flash wait states, pipeline stalls).

    python benchmarks/codegen.py            # everything (a few minutes)
    python benchmarks/codegen.py --quick    # layers only, -Os only
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np

from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.elf_report import read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.example_graphs import GraphBuilder, digits_cnn, ds_cnn
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


def measure(graph, directory: Path, optimization: str, reference: bool) -> dict:
    """Build for the M4, run one random input, check it, count instructions."""
    generated = generate_model(graph)
    flags = ["-DTT_REFERENCE_KERNELS"] if reference else []
    elf = build_model(generated, directory, "cortex-m4", optimization, flags)
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    inputs = np.random.default_rng(0).integers(
        -128, 128, (1, *graph.tensor(graph.input).shape[1:])).astype(np.int8)
    model = CoreModel(elf, "cortex-m4", generated, graph)
    if not np.array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs)):
        raise AssertionError(f"{generated.name} {optimization}: C differs from the interpreter")
    instructions = model.instructions[0]
    return dict(instructions=instructions, per_mac=instructions / generated.macs,
                macs=generated.macs, report=report, plan=generated.plan)


def layers(workdir: Path, optimizations: list[str]) -> None:
    print("\nSingle layers on an emulated Cortex-M4: instructions per MAC "
          "(CMSIS-NN -O2 / -Os for scale)")
    print(f"{'layer':<28}{'MACs':>9}  " + "".join(
        f"{'ref ' + o:>10}{'DSP ' + o:>10}" for o in optimizations) + "   CMSIS-NN  DSP/CMSIS")
    for name, graph in single_layer_graphs(np.random.default_rng(1)).items():
        layer_row(workdir, optimizations, name, name, graph)
        if "depthwise" in name:
            # The same layer through tt_depthwise_conv2d, the kernel the emitter
            # falls back to when it cannot prove the accumulators small.
            with mock.patch("tinytorch.codegen.emitter.bounded_depthwise_rescale",
                            return_value=None):
                layer_row(workdir, optimizations, name, "  (general kernel)", graph)


def layer_row(workdir: Path, optimizations: list[str], name: str, label: str, graph) -> None:
    row, macs, ratio = "", 0, ""
    for optimization in optimizations:
        for reference in (True, False):
            m = measure(graph, workdir / f"{graph.name}{label.strip()}{optimization}{reference}",
                        optimization, reference)
            row += f"{m['per_mac']:>10.2f}"
            macs = m["macs"]
            if not reference:
                cmsis = CMSIS_NN[name][0 if optimization == "-O2" else 1]
                ratio += f" {m['per_mac'] / cmsis:.2f}x({optimization})"
    cmsis = "/".join(f"{v:.2f}" for v in CMSIS_NN[name])
    print(f"{label:<28}{macs:>9,}  {row}   {cmsis:>9} {ratio}")


def networks(workdir: Path, optimizations: list[str]) -> None:
    rng = np.random.default_rng(2)
    for graph in (digits_cnn(rng), ds_cnn(rng)):
        print(f"\n{graph.name}: " + ", ".join(f"{op.type}" for op in graph.ops))
        for optimization in optimizations:
            for reference in (True, False):
                m = measure(graph, workdir / f"{graph.name}{optimization}{reference}",
                            optimization, reference)
                report, path = m["report"], "reference C" if reference else "DSP path"
                print(f"  {optimization} {path:<12} flash {report.flash:>7,} B (code "
                      f"{report.code:>6,} B, weights {report.weights:>7,} B)  RAM "
                      f"{report.ram:>7,} B  {m['instructions']:>11,} instructions "
                      f"({m['per_mac']:.2f} per MAC, {m['macs']:,} MACs)")
        print(f"  {m['plan'].summary()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="single layers at -Os only")
    args = parser.parse_args()
    print(f"{time.strftime('%Y-%m-%d')}  {platform.machine()}  {platform.processor() or ''}  "
          f"Python {platform.python_version()}")
    optimizations = ["-Os"] if args.quick else ["-Os", "-O2"]
    with tempfile.TemporaryDirectory(prefix="tinytorch-codegen-bench-") as workdir:
        layers(Path(workdir), optimizations)
        if not args.quick:
            networks(Path(workdir), optimizations)


if __name__ == "__main__":
    main()
