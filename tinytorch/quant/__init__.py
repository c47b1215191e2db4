"""int8 quantization: from a trained float model to the integer network a microcontroller runs.

Read the files in this order:

1. ``observers.py``   watching activations to learn their ranges (calibration)
2. ``graph.py``       the int8 graph: the contract with the interpreter and the C generator
3. ``interpreter.py`` running an int8 graph on the integer kernels (the oracle)
"""
from tinytorch.quant.graph import GraphError, Int8Graph, Op, TensorInfo, load_graph, save_graph
from tinytorch.quant.interpreter import Int8Interpreter, dequantize, quantize

__all__ = ["GraphError", "Int8Graph", "Int8Interpreter", "Op", "TensorInfo", "dequantize",
           "load_graph", "quantize", "save_graph"]
