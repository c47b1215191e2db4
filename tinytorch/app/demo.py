"""The end-to-end demo: from handwritten digits to int8 C on an emulated microcontroller.

``tinytorch demo`` runs the main job of the whole stack, one data path with no
back-and-forth:

    digits -> DataLoader -> nn model -> train (autograd + optim)
           -> calibrate (observers) -> fold BN / fuse ReLU -> int8 graph
           -> int8 interpreter (kernels) -> C source (codegen)
           -> build for the host and for a Cortex-M -> ELF size report
           -> run the test set on the host build and on the emulated core
           -> compare every output byte with the interpreter

and prints one summary: float and int8 accuracy, flash and RAM, the arena
against its lower bound, instructions per inference and what they mean in
milliseconds, and the bit-exact verdict.

Each step is a call into the chapter that explains it (``training.py``,
``quant/``, ``codegen/``); this file only strings them together.  It belongs
to the application layer (``tinytorch.app``), on top of every layer, so it
may reach ``tinytorch.codegen``; it does so inside ``run_end_to_end`` so
that ``tinytorch demo --train-only`` never loads the code generator.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinytorch import nn, optim
from tinytorch.datasets import load_digits
from tinytorch.models import digits_cnn, digits_mlp
from tinytorch.random import manual_seed
from tinytorch.training import evaluate, train_epoch
from tinytorch.utils.data import DataLoader, TensorDataset
from tinytorch.utils.progress import progress_bar


MODELS = {"mlp": (digits_mlp, "an MLP 64-128-64-10", "digits_mlp"),
          "cnn": (digits_cnn, "a CNN (conv 1->8, pool, conv 8->16, pool, linear 64->10)",
                  "digits_cnn")}


@dataclass
class DemoResult:
    model: nn.Module
    train_accuracy: float
    test_accuracy: float
    seconds: float


def train_digits(model_name: str = "mlp", epochs: int = 20, batch_size: int = 32,
                 lr: float = 0.05, seed: int = 0, show_progress: bool = True) -> DemoResult:
    """Train a digits model with SGD + momentum and return it with its accuracies."""
    if model_name not in MODELS:
        raise ValueError(f"demo: unknown model {model_name!r}; choose one of {sorted(MODELS)}")
    started = time.perf_counter()
    manual_seed(seed)
    train_images, train_labels = load_digits("train")
    test_images, test_labels = load_digits("test")
    train_loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=batch_size,
                              shuffle=True)
    test_loader = DataLoader(TensorDataset(test_images, test_labels), batch_size=256)

    model = MODELS[model_name][0]()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    loss_function = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        train_epoch(model, train_loader, loss_function, optimizer,
                    description=f"epoch {epoch + 1:>2}/{epochs}", show_progress=show_progress)
    return DemoResult(model, evaluate(model, train_loader), evaluate(model, test_loader),
                      time.perf_counter() - started)


def main(model_name: str = "mlp", epochs: int = 20, seed: int = 0,
         show_progress: bool = True) -> DemoResult:
    """Train only, and print the accuracies (``tinytorch demo --train-only``)."""
    print(f"Training {MODELS[model_name][1]} on 8x8 digits ({epochs} epochs, seed {seed})")
    result = train_digits(model_name, epochs=epochs, seed=seed, show_progress=show_progress)
    print(f"train accuracy {result.train_accuracy:6.2%}")
    print(f"test accuracy  {result.test_accuracy:6.2%}   ({result.seconds:.1f} s)")
    return result


# Emulated instructions are not cycles: on silicon, wait states and pipeline stalls
# give roughly 2.4-2.8 cycles per instruction (measured against a published latency).
CYCLES_PER_INSTRUCTION = (2.4, 2.8)
COMPILER_NAMES = {"zig": "Zig's clang", "gcc": "arm-none-eabi-gcc"}


@dataclass
class EndToEndResult:
    training: DemoResult
    int8_accuracy: float
    target: str
    flash: int
    code: int
    weights: int
    ram: int
    arena: int
    lower_bound: int
    macs: int
    instructions: int          # per inference on the emulated core (mean over the test set)
    samples: int
    host_exact: int            # test images whose host output equals the interpreter's
    core_exact: int            # ... and whose emulated-core output does
    clock_mhz: float
    output_directory: Path | None
    compiler: str = "zig"      # the cross compiler that built the firmware: "zig" or "gcc"

    @property
    def bit_exact(self) -> bool:
        return self.host_exact == self.core_exact == self.samples

    def summary(self) -> str:
        low, high = (self.instructions * c / (self.clock_mhz * 1e3) for c in CYCLES_PER_INSTRUCTION)
        verdict = "yes" if self.bit_exact else "NO"
        rows = [
            ("float32 accuracy", f"{self.training.test_accuracy:.2%}"),
            ("int8 accuracy", f"{self.int8_accuracy:.2%}  (change "
                              f"{100 * (self.int8_accuracy - self.training.test_accuracy):+.2f} "
                              f"points)"),
            ("flash", f"{self.flash:,} B  (code {self.code:,} B, weights {self.weights:,} B; "
                      f"built with {COMPILER_NAMES[self.compiler]} -Os)"),
            ("RAM", f"{self.ram:,} B  (arena {self.arena:,} B, lower bound "
                    f"{self.lower_bound:,} B, rest is stack)"),
            ("instructions", f"{self.instructions:,} per inference on {self.target} "
                             f"({self.instructions / self.macs:.2f} per multiply-add)"),
            ("latency (est.)", f"{low:.1f}-{high:.1f} ms at {self.clock_mhz:g} MHz "
                               f"({CYCLES_PER_INSTRUCTION[0]}-{CYCLES_PER_INSTRUCTION[1]} cycles "
                               f"per emulated instruction)"),
            ("bit-exact", f"{verdict}: host {self.host_exact}/{self.samples}, {self.target} "
                          f"{self.core_exact}/{self.samples} test images equal the int8 "
                          f"interpreter on every byte"),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        if self.output_directory is not None:
            lines.append(f"{'files':<{width}}  {self.output_directory} (C source, host library, "
                         f"ELF)")
        return "\n".join(lines)


def run_end_to_end(model_name: str = "cnn", epochs: int = 20, seed: int = 0,
                   target: str = "cortex-m4", out: str | None = None, clock_mhz: float = 100.0,
                   show_progress: bool = True,
                   toolchain_name: str | None = None) -> EndToEndResult:
    """Train, quantize, generate C, build, run host and emulated core, compare; print as it goes.

    ``out`` (optional) receives the C and both builds, once everything has run; like
    ``tinytorch deploy --out`` it must be new, empty or written by TinyTorch before.
    """
    from tinytorch.codegen import toolchain
    from tinytorch.codegen.deploy import CoreModel, HostModel, build_model
    from tinytorch.codegen.elf_report import read_elf_report
    from tinytorch.codegen.emitter import generate_model, model_files
    from tinytorch.codegen.output_directory import check_writable, write_files
    from tinytorch.quant import Int8Interpreter
    from tinytorch.app.quantize import quantize_digits_model

    def step(number: int, text: str) -> None:
        print(f"[{number}/5] {text}", flush=True)

    # Arguments that would fail late are checked before training.
    compiler = toolchain.cross_compiler(toolchain_name)[1]
    if out is not None:
        check_writable(Path(out), {})

    step(1, f"training {MODELS[model_name][1]} on 8x8 digits ({epochs} epochs, seed {seed})")
    training = train_digits(model_name, epochs=epochs, seed=seed, show_progress=show_progress)
    print(f"      test accuracy {training.test_accuracy:.2%} ({training.seconds:.1f} s)")

    step(2, "quantizing to int8: calibrate, fold, convert")
    graph, report = quantize_digits_model(training.model, MODELS[model_name][2],
                                          show_progress=show_progress)
    print(f"      {len(graph.ops)} int8 ops; int8 accuracy {report.int8_accuracy:.2%}")

    step(3, "generating C")
    generated = generate_model(graph)
    print(f"      {generated.name}.c / {generated.name}.h, {generated.macs:,} multiply-adds "
          f"per inference; {generated.plan.summary()}")
    with tempfile.TemporaryDirectory(prefix="tinytorch-demo-") as scratch:
        directory = Path(scratch)
        step(4, f"building for the host and for {target} (the first {target} build "
                f"compiles its runtime library, about 15 s)")
        library = build_model(generated, directory, "host")
        host = HostModel(library, generated, graph)
        elf = build_model(generated, directory, target, toolchain_name=toolchain_name)
        size = read_elf_report(elf, weight_prefix=f"{generated.name}_")
        core = CoreModel(elf, target, generated, graph)

        test_images = load_digits("test")[0].array
        step(5, f"running the {len(test_images)} test images on the interpreter, the host "
                f"build and the emulated {target}")
        interpreter = Int8Interpreter(graph)
        inputs = interpreter.quantize_input(test_images)
        expected = interpreter.invoke(inputs)
        host_outputs = host(inputs)
        core_outputs, instructions = [], []
        chunks = [inputs[i:i + 20] for i in range(0, len(inputs), 20)]
        for chunk in progress_bar(chunks, f"      {target}", enabled=show_progress):
            core_outputs.append(core(chunk))
            instructions += core.instructions
        core_outputs = np.concatenate(core_outputs)
        if out is not None:
            files = model_files(generated, runtime=True)
            files.update({path.name: path.read_bytes() for path in (library, elf)})
            write_files(Path(out), files)

    def exact(outputs: np.ndarray) -> int:
        return int((outputs == expected).reshape(len(expected), -1).all(axis=1).sum())

    return EndToEndResult(training, report.int8_accuracy, target, size.flash, size.code, size.weights,
                          size.ram, generated.plan.arena_size, generated.plan.lower_bound,
                          generated.macs, int(round(np.mean(instructions))), len(expected),
                          exact(host_outputs), exact(core_outputs), clock_mhz,
                          Path(out) if out else None, compiler)
