"""What quantization cost: accuracy, per-layer noise, and size.

Three numbers tell whether an int8 model is good enough:

* **Accuracy**, float against int8, on the same test set: the only number the
  user of the model cares about.
* **Per-layer SQNR** (signal-to-quantization-noise ratio), the number that says
  *where* accuracy was lost.  For a layer with float output ``f`` and the int8
  output mapped back to real numbers ``d``,

      SQNR = 10 * log10( sum(f^2) / sum((f - d)^2) )   decibels.

  Each bit of resolution is worth about 6 dB; an int8 layer typically shows
  25-40 dB, and the noise compounds from layer to layer, so a sudden drop
  points at the layer whose range or weights quantize badly.
* **Size**: four bytes per float parameter against one per int8 weight, four
  per int32 bias, and eight per output channel for the requantization
  multiplier and shift.

The float side is the captured float model (batch norm folded, which changes
no outputs), so every int8 op has a float twin to compare with.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytorch import nn
from tinytorch.autograd import grad_mode
from tinytorch.quant.graph import Int8Graph
from tinytorch.quant.interpreter import Int8Interpreter, dequantize
from tinytorch.quant.prepare import prepare
from tinytorch.tensor import Tensor


@dataclass
class LayerNoise:
    name: str
    kind: str
    sqnr_db: float | None  # None for reshapes, whose values are the input's


@dataclass
class QuantizationReport:
    float_accuracy: float
    int8_accuracy: float
    layers: list[LayerNoise]
    float_bytes: int
    int8_bytes: int

    def __str__(self) -> str:
        lines = [f"accuracy  float {self.float_accuracy:6.2%}   int8 {self.int8_accuracy:6.2%}   "
                 f"(change {100 * (self.int8_accuracy - self.float_accuracy):+.2f} points)",
                 f"size      float {self.float_bytes:,} B   int8 {self.int8_bytes:,} B   "
                 f"({self.float_bytes / self.int8_bytes:.1f}x smaller)",
                 "", f"{'layer':<24} {'op':<18} {'SQNR (dB)':>9}"]
        for layer in self.layers:
            sqnr = "-" if layer.sqnr_db is None else f"{layer.sqnr_db:9.1f}"
            lines.append(f"{layer.name:<24} {layer.kind:<18} {sqnr:>9}")
        return "\n".join(lines)


def sqnr_db(reference: np.ndarray, approximation: np.ndarray) -> float:
    """10 log10(signal power / noise power); inf when the two are equal."""
    reference = np.asarray(reference, dtype=np.float64)
    noise = np.sum((reference - approximation) ** 2)
    signal = np.sum(reference ** 2)
    if noise == 0:
        return float("inf")
    return float(10 * np.log10(signal / noise)) if signal > 0 else float("-inf")


def graph_bytes(graph: Int8Graph) -> int:
    """Bytes of constants plus 8 per requantized output channel (int32 multiplier and shift)."""
    constants = sum(t.data.nbytes for t in graph.tensors.values() if t.is_constant)
    channels = sum(len(op.attributes.get("multiplier", [])) for op in graph.ops)
    return int(constants + 8 * channels)


def quantization_report(model: nn.Module, graph: Int8Graph, images: np.ndarray,
                        labels: np.ndarray) -> QuantizationReport:
    """Compare float ``model`` with its int8 ``graph`` on ``images`` (float, as the model takes them)."""
    images = np.asarray(images.array if isinstance(images, Tensor) else images, dtype=np.float32)
    labels = np.asarray(labels.array if isinstance(labels, Tensor) else labels)
    reference = prepare(model, images[:1])
    reference.observing = False
    with grad_mode.no_grad():
        float_outputs = [o.array for o in reference(Tensor(images), keep_outputs=True)]
    if len(float_outputs) != len(graph.ops):
        raise ValueError(f"quantization_report: the model has {len(float_outputs)} layers after "
                         f"capture, the graph {len(graph.ops)} ops; is this the model's graph?")
    interpreter = Int8Interpreter(graph)
    values = interpreter.invoke(interpreter.quantize_input(images), keep_intermediates=True)
    layers = []
    for op, float_output in zip(graph.ops, float_outputs):
        if op.type == "reshape":
            layers.append(LayerNoise(op.name, op.type, None))
            continue
        if float_output.ndim == 4:
            float_output = float_output.transpose(0, 2, 3, 1)
        info = graph.tensor(op.outputs[0])
        approximation = dequantize(values[op.outputs[0]], info.scale, info.zero_point)
        layers.append(LayerNoise(op.name, op.type, sqnr_db(float_output, approximation)))
    float_accuracy = float((float_outputs[-1].argmax(axis=-1) == labels).mean())
    int8_accuracy = float((values[graph.output].argmax(axis=-1) == labels).mean())
    float_bytes = sum(p.array.size * 4 for p in model.parameters())
    return QuantizationReport(float_accuracy, int8_accuracy, layers, int(float_bytes),
                              graph_bytes(graph))
