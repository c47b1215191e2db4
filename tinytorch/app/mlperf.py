"""A model no one here trained, end to end: MLPerf Tiny through our C on an emulated Cortex-M.

``tinytorch demo --model kws`` (or ``resnet``, ``vww``, ``ad``) runs one of
the four MLPerf Tiny reference models, the int8 ``.tflite`` files TinyML
engineers benchmark microcontrollers with, along the back half of the stack:

    .tflite -> int8 graph (tflite_import) -> C source (codegen)
            -> build for the host and for a Cortex-M -> ELF size report
            -> run edge and random inputs on the interpreter, TensorFlow Lite Micro,
               the host build and the emulated core -> compare every byte

There is no training and no accuracy here: the package holds none of the
benchmark's datasets (speech, CIFAR-10, person images, machine sounds).
What shows the model is right is agreement, byte for byte, with TensorFlow
Lite Micro, the runtime the files were made for (every activation, when its
Python package is installed), and of our C with our interpreter.  Lab 11
puts these figures beside a model students train themselves.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytorch.app.demo import COMPILER_NAMES, CYCLES_PER_INSTRUCTION
from tinytorch.app.mlperf_tiny import MODELS
from tinytorch.app.tflite_micro import Comparison, edge_and_random_inputs
from tinytorch.utils.progress import progress_bar


@dataclass
class ReferenceRun:
    """What one MLPerf Tiny model measured on one target."""
    key: str
    ops: int
    macs: int
    target: str
    optimization: str
    compiler: str
    code: int                    # flash: the program
    weights: int                 # flash: weights, biases and requantization constants
    ram: int
    arena: int
    lower_bound: int
    scratch: int                 # bytes of int16 DSP scratch, outside the arena
    io: int                      # bytes of the input and output, which the caller owns
    instructions: int            # per inference on the emulated core (mean)
    samples: int
    host_exact: int              # inputs whose host output equals the interpreter's
    core_exact: int              # ... and whose emulated-core output does
    tflite_micro: Comparison | None  # None when its package is not installed
    clock_mhz: float
    seconds: float

    @property
    def bit_exact(self) -> bool:
        return (self.host_exact == self.core_exact == self.samples
                and (self.tflite_micro is None or self.tflite_micro.bit_exact))

    def summary(self) -> str:
        low, high = (self.instructions * c / (self.clock_mhz * 1e3) for c in CYCLES_PER_INSTRUCTION)
        oracle = (self.tflite_micro.summary() if self.tflite_micro is not None else
                  "not checked (pip install tflite-micro to compare every activation)")
        rows = [
            ("model", f"{self.key}: {MODELS[self.key].task}; {self.ops} int8 ops, "
                      f"{self.macs:,} multiply-adds"),
            ("flash", f"{self.code + self.weights:,} B  (code {self.code:,} B, weights "
                      f"{self.weights:,} B; {COMPILER_NAMES[self.compiler]} "
                      f"{self.optimization})"),
            ("RAM", f"{self.ram:,} B  (arena {self.arena:,} B, lower bound "
                    f"{self.lower_bound:,} B; DSP scratch {self.scratch:,} B; the rest is "
                    f"stack; the caller's input and output, {self.io:,} B, come on top)"),
            ("instructions", f"{self.instructions:,} per inference on {self.target} "
                             f"({self.instructions / self.macs:.2f} per multiply-add)"),
            ("latency (est.)", f"{low:.1f}-{high:.1f} ms at {self.clock_mhz:g} MHz "
                               f"({CYCLES_PER_INSTRUCTION[0]}-{CYCLES_PER_INSTRUCTION[1]} cycles "
                               f"per emulated instruction)"),
            ("TFLite Micro", oracle),
            ("bit-exact", f"{'yes' if self.bit_exact else 'NO'}: host {self.host_exact}/"
                          f"{self.samples}, {self.target} {self.core_exact}/{self.samples} "
                          f"inputs equal the int8 interpreter on every byte"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def run_reference_model(key: str, target: str = "cortex-m4", samples: int = 8,
                        optimization: str = "-Os", clock_mhz: float = 120.0,
                        show_progress: bool = True, toolchain_name: str | None = None,
                        compare_with_tflite_micro: bool = True) -> ReferenceRun:
    """Import, generate, build, run and compare one MLPerf Tiny model; print as it goes."""
    from tinytorch.codegen import toolchain
    from tinytorch.codegen.deploy import CoreModel, HostModel, build_model
    from tinytorch.codegen.elf_report import read_elf_report
    from tinytorch.codegen.emitter import generate_model
    from tinytorch.quant import Int8Interpreter
    from tinytorch.quant.tflite_import import import_tflite

    if key not in MODELS:
        raise ValueError(f"demo: unknown MLPerf Tiny model {key!r}; choose one of "
                         f"{', '.join(MODELS)}")
    if samples < 2:
        raise ValueError(f"demo: run at least 2 inputs (all -128 and all 127), got {samples}")
    compiler = toolchain.cross_compiler(toolchain_name)[1]  # fail before the slow part
    started = time.perf_counter()

    def step(number: int, text: str) -> None:
        print(f"[{number}/4] {text}", flush=True)

    model = MODELS[key]
    step(1, f"importing {model.file} ({model.task})")
    graph = import_tflite(model.path, name=key)
    inputs = edge_and_random_inputs(graph, samples)
    expected = Int8Interpreter(graph).invoke(inputs)
    comparison = None
    if compare_with_tflite_micro:
        try:
            from tinytorch.app.tflite_micro import compare_with_tflite_micro as compare
            comparison = compare(model.path, graph, inputs)
        except RuntimeError as missing:  # the package is not installed
            print(f"      {missing}")
        else:
            print(f"      {comparison.summary()}")

    step(2, "generating C")
    generated = generate_model(graph)
    print(f"      {generated.name}.c / {generated.name}.h, {generated.macs:,} multiply-adds per "
          f"inference; {generated.plan.summary()}")
    with tempfile.TemporaryDirectory(prefix="tinytorch-mlperf-") as scratch:
        directory = Path(scratch)
        step(3, f"building for the host and for {target} ({optimization})")
        host = HostModel(build_model(generated, directory, "host"), generated, graph)
        elf = build_model(generated, directory, target, optimization,
                          toolchain_name=toolchain_name)
        size = read_elf_report(elf, weight_prefix=f"{generated.name}_")
        core = CoreModel(elf, target, generated, graph)
        step(4, f"running {samples} inputs (all -128, all 127, random) on the host build and "
                f"the emulated {target}")
        host_outputs = host(inputs)
        core_outputs, instructions = [], []
        for x in progress_bar(inputs, f"      {target}", enabled=show_progress):
            core_outputs.append(core(x[None]))
            instructions += core.instructions
    core_outputs = np.concatenate(core_outputs)

    def exact(outputs: np.ndarray) -> int:
        return int((outputs == expected).reshape(samples, -1).all(axis=1).sum())

    return ReferenceRun(key, len(graph.ops), generated.macs, target, optimization, compiler,
                        size.code, size.weights, size.ram, generated.plan.arena_size,
                        generated.plan.lower_bound, 2 * generated.scratch_values,
                        graph.tensor(graph.input).size + graph.tensor(graph.output).size,
                        int(round(np.mean(instructions))), samples,
                        exact(host_outputs), exact(core_outputs), comparison, clock_mhz,
                        time.perf_counter() - started)
