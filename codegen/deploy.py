"""Deploying an int8 graph: C source, a build for a target, its size, and an emulated run.

What
----
``deploy`` is the whole back end in one call, and ``tinytorch deploy`` is
its command line:

    graph (.json + .npz) -> C (emitter) -> build for the target (toolchain)
        -> flash / RAM report and budget check (elf_report)
        -> optionally: run it on the emulated core and compare with the interpreter,
           and profile one inference op by op (profile)
        -> write the C into the output directory

Everything that can fail is done first, in a scratch directory: the
arguments are checked, the graph is loaded and validated, the C is built,
the budgets (``flash`` / ``ram`` in bytes) are checked on the built image and
the emulated run is made.  Only then is the output directory written, and
only if it is empty or was written by TinyTorch before (``output_directory``
explains the manifest).  A model that does not fit, an argument out of range
or a directory holding the user's own files leaves the output untouched, and
the error says why.

Running a model
---------------
``HostModel`` loads a host build through ctypes and ``CoreModel`` runs a
firmware build on the emulator; both take int8 inputs ``[N, ...]`` (one
sample per call of ``<name>_invoke``) and return int8 outputs, so tests and
the command line compare them with ``Int8Interpreter`` byte for byte.
"""
from __future__ import annotations

import ctypes
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import toolchain
from .elf_report import ElfReport, check_budget, read_elf_report
from .emitter import GeneratedModel, generate_model, model_files, write_model
from .emulator import CortexM
from .output_directory import check_writable, write_files
from .profile import ModelProfile, profile_model


def model_sources(generated: GeneratedModel, directory: Path) -> list[Path]:
    """The .c files of a model written into ``directory`` (model first, then kernels)."""
    directory = Path(directory)
    return [directory / relative for relative in model_files(generated)
            if relative.endswith(".c")]


def build_model(generated: GeneratedModel, directory: Path, target: str,
                optimization: str = "-Os", extra_flags: list[str] = (),
                toolchain_name: str | None = None) -> Path:
    """Write the model into ``directory`` and build it: a .so for "host", an .elf otherwise.

    ``extra_flags`` go to the compiler, e.g. ``["-DTT_REFERENCE_KERNELS"]`` to
    build the reference C on a core that has the DSP extension;
    ``toolchain_name`` picks the cross compiler ("zig" or "gcc", see toolchain).
    """
    write_model(generated, directory)
    sources = model_sources(generated, directory)
    suffix = optimization.lstrip("-")
    if target == "host":
        return toolchain.build_host_library(sources, directory / f"{generated.name}-{suffix}.so",
                                            [directory], optimization, extra_flags)
    return toolchain.build_firmware(sources, directory / f"{generated.name}-{target}-{suffix}.elf",
                                    target, [directory], optimization,
                                    keep_symbols=[f"{generated.name}_invoke"],
                                    extra_flags=extra_flags, toolchain=toolchain_name)


def _check_inputs(name: str, inputs: np.ndarray, input_size: int) -> np.ndarray:
    inputs = np.ascontiguousarray(inputs)
    if inputs.dtype != np.int8 or inputs[0].size != input_size:
        raise ValueError(f"{name}_invoke: expected int8 samples of {input_size} values each, "
                         f"got {inputs.dtype} {list(inputs.shape)}")
    return inputs


class HostModel:
    """A host build of a generated model, called through ctypes."""

    def __init__(self, library: Path, generated: GeneratedModel, graph):
        self.library = ctypes.CDLL(str(library))
        self.invoke = getattr(self.library, f"{generated.name}_invoke")
        self.name = generated.name
        self.input_size = graph.tensor(graph.input).size
        self.output_shape = graph.tensor(graph.output).shape[1:]

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        inputs = _check_inputs(self.name, inputs, self.input_size)
        outputs = np.zeros((len(inputs), *self.output_shape), dtype=np.int8)
        for sample, output in zip(inputs, outputs):
            status = self.invoke(sample.ctypes.data_as(ctypes.c_void_p),
                                 output.ctypes.data_as(ctypes.c_void_p))
            if status != 0:
                raise RuntimeError(f"{self.name}_invoke returned {status}")
        return outputs


class CoreModel:
    """A firmware build of a generated model on an emulated Cortex-M core.

    ``trap_unaligned=True`` runs it as if the firmware set CCR.UNALIGN_TRP: an
    unaligned halfword or word access raises ``EmulationError`` (see emulator).
    """

    def __init__(self, elf: Path, target: str, generated: GeneratedModel, graph,
                 trap_unaligned: bool = False):
        self.core = CortexM(elf, target, trap_unaligned=trap_unaligned)
        self.name = generated.name
        self.input_size = graph.tensor(graph.input).size
        self.output_shape = graph.tensor(graph.output).shape[1:]
        self.instructions: list[int] = []  # per sample of the last call

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        inputs = _check_inputs(self.name, inputs, self.input_size)
        output_size = int(np.prod(self.output_shape))
        outputs = np.zeros((len(inputs), *self.output_shape), dtype=np.int8)
        self.instructions = []
        self.core.release_all()
        input_address = self.core.allocate(self.input_size)
        output_address = self.core.allocate(output_size)
        for sample, output in zip(inputs, outputs):
            self.core.write(input_address, sample.tobytes())
            result = self.core.call(f"{self.name}_invoke", input_address, output_address)
            if result.return_value != 0:
                raise RuntimeError(f"{self.name}_invoke returned {result.return_value}")
            output[...] = np.frombuffer(self.core.read(output_address, output_size),
                                        np.int8).reshape(self.output_shape)
            self.instructions.append(result.instructions)
        return outputs


@dataclass
class DeployResult:
    generated: GeneratedModel
    target: str
    files: list[Path]
    report: ElfReport | None          # None for the host
    instructions: int | None = None   # per inference, when emulated
    bit_exact: bool | None = None     # against the interpreter, when emulated
    profile: ModelProfile | None = None  # op by op, on the first emulated input

    def summary(self) -> str:
        lines = [f"model {self.generated.name}: {self.generated.macs:,} MACs per inference",
                 self.generated.plan.summary()]
        if self.report is not None:
            lines.append(self.report.format())
        if self.instructions is not None:
            lines.append(f"{self.target}: {self.instructions:,} instructions per inference "
                         f"({self.instructions / max(self.generated.macs, 1):.2f} per MAC)")
        if self.bit_exact is not None:
            lines.append(f"{self.target}: bit-exact with the interpreter: "
                         f"{'yes' if self.bit_exact else 'NO'}")
        if self.profile is not None:
            lines.append(self.profile.table())
        return "\n".join(lines)


def deploy(graph, target: str, out: Path, optimization: str = "-Os", flash: int | None = None,
           ram: int | None = None, emulate_samples: int = 0, seed: int = 0,
           toolchain_name: str | None = None, profile: bool = False) -> DeployResult:
    """Check, generate, build, check the budget, optionally emulate, then write ``out``.

    ``graph`` is an ``Int8Graph`` or the path of a saved one.  With
    ``emulate_samples > 0`` that many random int8 inputs run on the target
    (the emulated core, or the host build) and on ``Int8Interpreter``.
    ``out`` must be empty, new, or written by TinyTorch before
    (``output_directory``); nothing is written unless every step succeeded.
    ``profile`` also runs the first of those inputs (one, if none are asked
    for) op by op on the emulated core (``profile.py``).
    """
    from tinytorch.quant import Int8Graph, Int8Interpreter

    if target not in toolchain.TARGET_NAMES:
        raise toolchain.ToolchainError(f"unknown target {target!r}; choose one of "
                                       f"{', '.join(toolchain.TARGET_NAMES)}")
    if optimization not in toolchain.OPTIMIZATIONS:
        raise ValueError(f"deploy: optimization must be one of {toolchain.OPTIMIZATIONS}, "
                         f"got {optimization!r}")
    if isinstance(emulate_samples, bool) or not isinstance(emulate_samples, int) \
            or emulate_samples < 0:
        raise ValueError(f"deploy: the number of samples to emulate must be an int >= 0, "
                         f"got {emulate_samples!r}")
    for what, budget in (("flash", flash), ("RAM", ram)):
        if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int)
                                   or budget <= 0):
            raise ValueError(f"deploy: the {what} budget must be a positive number of bytes, "
                             f"got {budget!r}")
    if target == "host" and (flash is not None or ram is not None):
        raise ValueError("deploy: flash / RAM budgets apply to a Cortex-M target, not the host")
    if target == "host" and profile:
        raise ValueError("deploy: a profile counts instructions on an emulated Cortex-M, "
                         "not on the host")
    if target != "host":
        toolchain.cross_compiler(toolchain_name)  # the chosen compiler exists, before any work
    if not isinstance(graph, Int8Graph):
        graph = Int8Graph.load(graph)
    generated = generate_model(graph)
    files = model_files(generated, runtime=target != "host")
    check_writable(Path(out), files)  # again when writing; here to fail before the slow part
    with tempfile.TemporaryDirectory(prefix="tinytorch-deploy-") as scratch:
        built = build_model(generated, Path(scratch), target, optimization,
                            toolchain_name=toolchain_name)
        report = None
        if target != "host":
            report = read_elf_report(built, weight_prefix=f"{generated.name}_")
            check_budget(report, flash, ram, what=f"model {generated.name} on {target}")
        result = DeployResult(generated, target, [], report)
        info = graph.tensor(graph.input)
        rng = np.random.default_rng(seed)
        inputs = rng.integers(-128, 128, (max(emulate_samples, int(profile)),
                                          *info.shape[1:])).astype(np.int8)
        if profile:
            result.profile = profile_model(built, target, generated, graph, inputs[0])
        if emulate_samples:
            if target == "host":
                model = HostModel(built, generated, graph)
                outputs = model(inputs)
            else:
                model = CoreModel(built, target, generated, graph)
                outputs = model(inputs)
                result.instructions = max(model.instructions)
            result.bit_exact = bool(np.array_equal(outputs, Int8Interpreter(graph).invoke(inputs)))
    result.files = write_files(Path(out), files)
    return result
