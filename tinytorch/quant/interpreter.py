"""The int8 interpreter: runs an int8 graph, op by op, on the integer kernels.

This is the oracle of the whole lower half of the stack.  The generated C must
produce exactly the bytes this interpreter produces, on a laptop and on a
microcontroller, so the interpreter itself is kept as plain as possible: a
dictionary from tensor names to int8 arrays, and a loop over the graph's ops
that runs each with its type's ``run`` in ``int8_ops.py``: one call of a
``tinytorch.kernels.int8`` function with the parameters the graph stores.
There is no float anywhere between ``invoke``'s input and its output.

Floats appear only at the two doors, and they are kept outside ``invoke``:

* ``quantize_input`` turns a float batch into int8 (the graph input's scale
  and zero point, rounding half away from zero as TFLite's QUANTIZE does, with
  ``kernels.int8.affine.quantize``, the stack's one rounding rule), and
  transposes images from the float model's NCHW to the graph's NHWC;
* ``dequantize_output`` maps int8 logits back to real numbers, and
  ``predict`` takes the argmax, which is all a classifier needs.

The graph describes one sample (batch dimension 1); the interpreter runs a
whole batch at once by replacing that 1, since every kernel takes NHWC batches.
"""
from __future__ import annotations

import numpy as np

from tinytorch.kernels.int8.affine import dequantize, quantize  # re-exported: the two doors
from tinytorch.quant.graph import GraphError, Int8Graph
from tinytorch.quant.int8_ops import OP_TYPES


class Int8Interpreter:
    """Runs an ``Int8Graph`` on the int8 kernels; bit-exact by construction."""

    def __init__(self, graph: Int8Graph) -> None:
        self.graph = graph.validate()

    # ---- integer in, integer out ---------------------------------------------------
    def invoke(self, x: np.ndarray, keep_intermediates: bool = False):
        """Run the graph on int8 ``x`` of shape ``[N, *input_shape[1:]]``.

        Returns the int8 output ``[N, ...]``; with ``keep_intermediates`` a dict
        from every activation tensor's name to its int8 value instead.
        """
        graph = self.graph
        expected = graph.tensor(graph.input).shape[1:]
        x = np.asarray(x)
        if x.dtype != np.int8 or x.ndim != len(expected) + 1 or x.shape[1:] != expected:
            raise ValueError(f"Int8Interpreter({graph.name!r}).invoke: expected int8 input of "
                             f"shape [N, {', '.join(map(str, expected))}], got {x.dtype} "
                             f"{list(x.shape)}")
        values = {graph.input: x}  # the activations; a run reads constants from the graph
        for op in graph.ops:
            activations = [values[n] for n in op.inputs if not graph.tensor(n).is_constant]
            values[op.outputs[0]] = OP_TYPES[op.type].run(graph, op, *activations)
        return values if keep_intermediates else values[graph.output]

    __call__ = invoke

    # ---- the doors to the float world --------------------------------------------
    def quantize_input(self, x: np.ndarray) -> np.ndarray:
        """A float batch in the float model's layout -> the graph's int8 NHWC input."""
        graph = self.graph
        x = np.asarray(x, dtype=np.float32)
        if graph.input_layout == "NCHW" and x.ndim == 4:
            x = x.transpose(0, 2, 3, 1)
        info = graph.tensor(graph.input)
        if x.shape[1:] != info.shape[1:]:
            raise ValueError(f"Int8Interpreter({graph.name!r}).quantize_input: float input "
                             f"{list(np.asarray(x).shape)} does not match the graph input "
                             f"{list(info.shape)} (layout {graph.input_layout})")
        return quantize(x, info.scale, info.zero_point)

    def dequantize_output(self, q: np.ndarray) -> np.ndarray:
        info = self.graph.tensor(self.graph.output)
        return dequantize(q, info.scale, info.zero_point)

    def predict(self, x: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Class indices for a float batch: quantize, invoke, argmax of the int8 logits."""
        x = np.asarray(x)
        predictions = [self.invoke(self.quantize_input(x[i:i + batch_size])).argmax(axis=-1)
                       for i in range(0, len(x), batch_size)]
        return np.concatenate(predictions) if predictions else np.zeros(0, dtype=np.int64)


__all__ = ["Int8Interpreter", "quantize", "dequantize", "GraphError"]
