"""TensorFlow Lite Micro as the oracle for imported models.

An imported model is right when it computes what the runtime it was made for
computes.  TensorFlow Lite Micro (the ``tflite-micro`` package, a dependency
of the tests, not of TinyTorch) runs the same ``.tflite`` file in Python with
its reference kernels; keeping every tensor (``kPreserveAllTensors``) lets us
compare not only the output but every intermediate activation, so a
difference is found at the first layer that makes it.

The importer names each graph tensor after the file's tensor index (``t12``
is the file's tensor 12), which is how the two sets of tensors are paired
here; the importer's own tensors (the flattened input of a fully connected
layer, ``t12_flat``) have no counterpart and are skipped.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from tinytorch.quant import Int8Graph, Int8Interpreter

ARENA_BYTES = 32 * 1024 * 1024


def tflite_micro_interpreter(path: str | os.PathLike[str]):
    """A TFLite Micro interpreter for ``path`` that keeps every intermediate tensor."""
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise RuntimeError("comparing with TensorFlow Lite Micro needs its Python package: "
                           "pip install tflite-micro") from None
    # Kept tensors are never shared, so the arena must hold all of them: be generous.
    # (The keyword is spelled this way in the package's API.)
    return runtime.Interpreter.from_file(
        os.fspath(path), arena_size=ARENA_BYTES,
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)


@dataclass
class Comparison:
    """Every activation of a graph against TFLite Micro's, over some inputs."""
    inputs: int
    bytes_compared: int
    bytes_differing: int
    first_difference: str | None  # the first tensor that differs, and on which input

    @property
    def bit_exact(self) -> bool:
        return self.bytes_differing == 0

    def summary(self) -> str:
        verdict = "bit-exact" if self.bit_exact else \
            f"{self.bytes_differing:,} bytes DIFFER (first: {self.first_difference})"
        return (f"every activation against TensorFlow Lite Micro, {self.inputs} inputs, "
                f"{self.bytes_compared:,} bytes: {verdict}")


def compare_with_tflite_micro(path: str | os.PathLike[str], graph: Int8Graph,
                              inputs: np.ndarray) -> Comparison:
    """Run ``inputs`` (int8, ``[N, *input shape]``) through the interpreter and TFLite Micro
    and compare every tensor the two share."""
    reference = tflite_micro_interpreter(path)
    interpreter = Int8Interpreter(graph)
    compared = differing = 0
    first = None
    for number, x in enumerate(inputs):
        reference.set_input(x[None], 0)
        reference.invoke()
        ours = interpreter.invoke(x[None], keep_intermediates=True)
        for name, value in ours.items():
            match = re.fullmatch(r"t(\d+)", name)
            if match is None:
                continue
            theirs = reference.GetTensor(int(match.group(1)), 0)["tensor_data"]
            wrong = int(np.count_nonzero(theirs.reshape(value.shape) != value))
            compared += value.size
            differing += wrong
            if wrong and first is None:
                first = f"tensor {name} on input {number}"
    return Comparison(len(inputs), compared, differing, first)


def edge_and_random_inputs(graph: Int8Graph, count: int, seed: int = 0) -> np.ndarray:
    """``count`` int8 inputs for a graph: all -128, all 127, then uniformly random."""
    shape = graph.tensor(graph.input).shape[1:]
    rng = np.random.default_rng(seed)
    inputs = rng.integers(-128, 128, (count, *shape)).astype(np.int8)
    inputs[:1] = -128
    inputs[1:2] = 127
    return inputs
