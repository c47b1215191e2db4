"""int8 quantization: from a trained float model to the integer network a microcontroller runs.

    prepared = quant.prepare(model, example_batch)      # capture, fold BN, fuse ReLU
    quant.calibrate(prepared, train_loader, num_batches=10)
    graph = quant.convert(prepared)                      # the int8 graph
    quant.Int8Interpreter(graph).predict(test_images)

Read the files in this order (after ``kernels/int8/affine.py``, which
introduces scales, zero points and the one rounding rule):

1. ``observers.py``   watching activations to learn their ranges (calibration)
2. ``fake_quant.py``  quantization-aware training: the rounding, simulated in float
3. ``int8_ops.py``    every int8 operation: inputs, attributes, shape rule, how it runs
4. ``capture.py``     reading a model as layers; batch-norm folding, ReLU fusion
5. ``prepare.py``     the observed model; calibration
6. ``graph.py``       the int8 graph: the contract with the interpreter and the C generator
7. ``convert.py``     the integer arithmetic of every layer, decided once
8. ``interpreter.py`` running an int8 graph on the integer kernels (the oracle)
9. ``report.py``      what quantization cost: accuracy, per-layer SQNR, size
"""
from tinytorch.quant.capture import UnsupportedLayerError, capture
from tinytorch.quant.convert import convert
from tinytorch.quant.fake_quant import FakeQuantize
from tinytorch.quant.graph import GraphError, Int8Graph, Op, TensorInfo
from tinytorch.quant.interpreter import Int8Interpreter, dequantize, quantize
from tinytorch.quant.observers import (MinMaxObserver, MovingAverageMinMaxObserver,
                                       PercentileObserver)
from tinytorch.quant.prepare import PreparedModel, calibrate, prepare, prepare_qat

__all__ = ["FakeQuantize", "GraphError", "Int8Graph", "Int8Interpreter", "MinMaxObserver",
           "MovingAverageMinMaxObserver", "Op", "PercentileObserver", "PreparedModel", "TensorInfo",
           "UnsupportedLayerError", "calibrate", "capture", "convert", "dequantize", "prepare",
           "prepare_qat", "quantize"]
