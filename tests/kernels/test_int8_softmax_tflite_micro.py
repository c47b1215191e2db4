"""int8 softmax against TensorFlow Lite Micro itself, byte for byte.

Two sources of softmax inputs, each run through TFLite Micro's SOFTMAX kernel
and through ``tinytorch.kernels.int8.softmax`` with parameters from
``softmax_parameters`` (given the scale and beta TFLite Micro was given):

* the MLPerf Tiny models that end in SOFTMAX (keyword spotting, ResNet-8,
  visual wake words): TFLite Micro runs the whole model with every tensor kept,
  and the softmax's input tensor is read back, so the logits are real ones;
* a model of one SOFTMAX op, written here with the ``tflite`` package's
  flatbuffer builders, for logits chosen to be hard: every pair of int8
  values, ties, near-ties, rows of the longest length, scales from the
  smallest TFLite accepts to ones so large that the rescale factor is capped.

The comparison is sharp enough to fail: float softmax rounded to 1/256
differs from TFLite Micro on some of the hard rows (checked below), while the
integer kernel must differ on none.
"""
import importlib
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
import tflite

from tinytorch.app.mlperf_tiny import FOLDER
from tinytorch.kernels.int8 import softmax, softmax_parameters

try:
    from tflite_micro.python.tflite_micro import runtime
except ImportError:  # the package's other layout
    from tflite_micro import runtime

MODELS = FOLDER  # the MLPerf Tiny models shipped in the package
MODELS_WITH_SOFTMAX = ["kws_ref_model.tflite", "pretrainedResnet_quant.tflite",
                       "vww_96_int8.tflite"]


def schema(name):
    """A module of the ``tflite`` package (its classes shadow the modules' names)."""
    return importlib.import_module(f"tflite.{name}")


def softmax_op(model_bytes):
    """(input tensor index, output tensor index, input scale, beta) of the model's SOFTMAX."""
    model = tflite.Model.GetRootAsModel(model_bytes, 0)
    graph = model.Subgraphs(0)
    codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    ops = [graph.Operators(i) for i in range(graph.OperatorsLength())
           if codes[graph.Operators(i).OpcodeIndex()] == tflite.BuiltinOperator.SOFTMAX]
    assert len(ops) == 1
    op = ops[0]
    options = tflite.SoftmaxOptions()
    table = op.BuiltinOptions()
    options.Init(table.Bytes, table.Pos)
    scale = float(graph.Tensors(op.Inputs(0)).Quantization().ScaleAsNumpy()[0])
    output_quantization = graph.Tensors(op.Outputs(0)).Quantization()
    assert output_quantization.ScaleAsNumpy()[0] == np.float32(1 / 256)
    assert output_quantization.ZeroPointAsNumpy()[0] == -128
    return op.Inputs(0), op.Outputs(0), scale, float(options.Beta())


@pytest.mark.parametrize("filename", MODELS_WITH_SOFTMAX)
def test_the_softmax_of_mlperf_tiny_models_matches_tflite_micro(filename):
    path = MODELS / filename
    logits_index, probabilities_index, scale, beta = softmax_op(path.read_bytes())
    parameters = softmax_parameters(scale, beta)
    interpreter = runtime.Interpreter.from_file(
        str(path), intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    shape = interpreter.get_input_details(0)["shape"]
    rng = np.random.default_rng(0)
    inputs = [np.full(shape, -128, np.int8), np.full(shape, 127, np.int8)]
    inputs += [rng.integers(-128, 128, shape).astype(np.int8) for _ in range(48)]
    compared = differing = between_the_ends = 0
    for x in inputs:
        interpreter.set_input(x, 0)
        interpreter.invoke()
        logits = interpreter.GetTensor(logits_index, 0)["tensor_data"]
        expected = interpreter.GetTensor(probabilities_index, 0)["tensor_data"]
        np.testing.assert_array_equal(expected, interpreter.get_output(0))
        got = softmax(logits, **parameters)
        compared += expected.size
        differing += int((got != expected).sum())
        between_the_ends += int(((expected > -128) & (expected < 127)).sum())
    assert differing == 0, f"{differing} of {compared} bytes differ"
    assert compared == 50 * int(np.prod(expected.shape))
    assert between_the_ends > 0  # not only saturated outputs: the rounding was exercised


# ---- a model of one SOFTMAX op, built here ------------------------------------------------
def _vector(builder, start, values, kind):
    start(builder, len(values))
    for value in reversed(values):
        getattr(builder, f"Prepend{kind}")(value)
    return builder.EndVector()


def _tables(builder, start, offsets):
    start(builder, len(offsets))
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def one_softmax_model(input_scale, shape, beta=1.0):
    """A .tflite model: int8 [shape] (scale input_scale, zero point 0) -> SOFTMAX -> int8
    (scale 1/256, zero point -128)."""
    Q, T, O, G, M = (schema(n) for n in ("QuantizationParameters", "Tensor", "Operator",
                                          "SubGraph", "Model"))
    b = flatbuffers.Builder(1024)
    tensors = []
    for name, scale, zero_point in (("logits", input_scale, 0), ("probabilities", 1 / 256, -128)):
        name = b.CreateString(name)
        scales = _vector(b, Q.StartScaleVector, [scale], "Float32")
        zero_points = _vector(b, Q.StartZeroPointVector, [zero_point], "Int64")
        Q.Start(b)
        Q.AddScale(b, scales)
        Q.AddZeroPoint(b, zero_points)
        quantization = Q.End(b)
        dimensions = _vector(b, T.StartShapeVector, list(shape), "Int32")
        T.Start(b)
        T.AddShape(b, dimensions)
        T.AddType(b, tflite.TensorType.INT8)
        T.AddBuffer(b, 0)
        T.AddName(b, name)
        T.AddQuantization(b, quantization)
        tensors.append(T.End(b))
    S = schema("SoftmaxOptions")
    S.Start(b)
    S.AddBeta(b, beta)
    options = S.End(b)
    inputs, outputs = (_vector(b, O.StartInputsVector, [0], "Int32"),
                       _vector(b, O.StartOutputsVector, [1], "Int32"))
    O.Start(b)
    O.AddOpcodeIndex(b, 0)
    O.AddInputs(b, inputs)
    O.AddOutputs(b, outputs)
    O.AddBuiltinOptionsType(b, tflite.BuiltinOptions.SoftmaxOptions)
    O.AddBuiltinOptions(b, options)
    operator = O.End(b)
    tensor_vector = _tables(b, G.StartTensorsVector, tensors)
    operator_vector = _tables(b, G.StartOperatorsVector, [operator])
    inputs, outputs = (_vector(b, G.StartInputsVector, [0], "Int32"),
                       _vector(b, G.StartOutputsVector, [1], "Int32"))
    G.Start(b)
    G.AddTensors(b, tensor_vector)
    G.AddInputs(b, inputs)
    G.AddOutputs(b, outputs)
    G.AddOperators(b, operator_vector)
    subgraph = G.End(b)
    C = schema("OperatorCode")
    C.Start(b)
    C.AddDeprecatedBuiltinCode(b, tflite.BuiltinOperator.SOFTMAX)
    C.AddBuiltinCode(b, tflite.BuiltinOperator.SOFTMAX)
    C.AddVersion(b, 2)
    code = C.End(b)
    B = schema("Buffer")
    B.Start(b)
    empty_buffer = B.End(b)  # buffer 0: the empty buffer every activation points to
    codes = _tables(b, M.StartOperatorCodesVector, [code])
    subgraphs = _tables(b, M.StartSubgraphsVector, [subgraph])
    buffers = _tables(b, M.StartBuffersVector, [empty_buffer])
    M.Start(b)
    M.AddVersion(b, 3)
    M.AddOperatorCodes(b, codes)
    M.AddSubgraphs(b, subgraphs)
    M.AddBuffers(b, buffers)
    b.Finish(M.End(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def tflite_micro_softmax(x, input_scale):
    interpreter = runtime.Interpreter.from_bytes(one_softmax_model(input_scale, x.shape),
                                                 arena_size=2 * x.size + 65536)
    interpreter.set_input(x, 0)
    interpreter.invoke()
    return interpreter.get_output(0)


def hard_rows(rng):
    values = np.arange(-128, 128)
    every_pair = np.stack(np.meshgrid(values, values), -1).reshape(-1, 2)
    # Short rows of small differences at every spread: near-ties, where rounding decides.
    near = rng.integers(-128, 128, (40000, 5)) // rng.integers(1, 64, (40000, 1))
    long_rows = np.concatenate([np.full((1, 511), v) for v in (-128, 0, 127)]
                               + [rng.integers(-128, 128, (2, 511)),
                                  rng.integers(-2, 3, (2, 511))])
    return [every_pair.astype(np.int8), near.astype(np.int8), long_rows.astype(np.int8)]


SCALES = [2e-8, 1e-6, 1e-4, 0.003, 0.0146, 0.07, 0.1447, 0.1719, 0.5, 1.0, 4.0, 40.0]


def test_hard_rows_match_tflite_micro_and_float_softmax_does_not():
    rng = np.random.default_rng(1)
    compared = differing = float_differing = 0
    for scale in SCALES:
        parameters = softmax_parameters(scale)
        for x in hard_rows(rng):
            expected = tflite_micro_softmax(x, scale)
            got = softmax(x, **parameters)
            compared += x.size
            differing += int((got != expected).sum())
            real = float(np.float32(scale)) * x.astype(np.float64)
            e = np.exp(real - real.max(axis=1, keepdims=True))
            rounded = np.floor(e / e.sum(axis=1, keepdims=True) * 256 + 0.5) - 128
            float_differing += int((np.minimum(rounded, 127) != expected).sum())
    assert differing == 0, f"{differing} of {compared} bytes differ"
    assert compared > 4_000_000
    assert float_differing > 0  # the rows are hard enough to tell a near miss
