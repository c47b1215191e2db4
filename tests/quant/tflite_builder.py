"""Writing small .tflite files for the importer's tests, with the schema's flatbuffer builder.

The four MLPerf Tiny models exercise what real models use; these files
exercise the rest, above all what the importer must refuse (an unsupported
operator, a fused TANH, a float tensor, a weight of -128), and operators with
options the four models leave out, which TensorFlow Lite Micro then runs too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite

TYPES = {"int8": tflite.TensorType.INT8, "int32": tflite.TensorType.INT32,
         "float32": tflite.TensorType.FLOAT32}


@dataclass
class Tensor:
    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: list[float] = field(default_factory=lambda: [0.05])
    zero_point: list[int] = field(default_factory=lambda: [0])
    data: np.ndarray | None = None  # a constant's values
    quantized_dimension: int = 0


@dataclass
class Operator:
    opcode: int                      # a tflite.BuiltinOperator value
    inputs: list[int]
    outputs: list[int]
    options: str | None = None       # e.g. "Conv2DOptions"
    option_values: dict = field(default_factory=dict)  # e.g. {"StrideH": 2}


def build_model(tensors: list[Tensor], operators: list[Operator], inputs: list[int],
                outputs: list[int]) -> bytes:
    """The bytes of a .tflite file with one subgraph."""
    b = flatbuffers.Builder(1024)

    def int_vector(start, values, prepend="PrependInt32"):
        start(b, len(values))
        for v in reversed(values):
            getattr(b, prepend)(v)
        return b.EndVector()

    # Buffers: 0 is the empty buffer; each constant gets its own.
    buffer_data = [None] + [t.data for t in tensors if t.data is not None]
    buffers = []
    for data in buffer_data:
        vector = None
        if data is not None:
            vector = b.CreateByteVector(np.ascontiguousarray(data).tobytes())
        tflite.BufferStart(b)
        if vector is not None:
            tflite.BufferAddData(b, vector)
        buffers.append(tflite.BufferEnd(b))

    tensor_offsets, next_buffer = [], 1
    for index, t in enumerate(tensors):
        name = b.CreateString(f"tensor{index}")
        shape = int_vector(tflite.TensorStartShapeVector, list(t.shape))
        scale = int_vector(tflite.QuantizationParametersStartScaleVector, t.scale,
                           "PrependFloat32")
        zero = int_vector(tflite.QuantizationParametersStartZeroPointVector, t.zero_point,
                          "PrependInt64")
        tflite.QuantizationParametersStart(b)
        tflite.QuantizationParametersAddScale(b, scale)
        tflite.QuantizationParametersAddZeroPoint(b, zero)
        tflite.QuantizationParametersAddQuantizedDimension(b, t.quantized_dimension)
        quantization = tflite.QuantizationParametersEnd(b)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, TYPES[t.dtype])
        tflite.TensorAddName(b, name)
        tflite.TensorAddQuantization(b, quantization)
        if t.data is not None:
            tflite.TensorAddBuffer(b, next_buffer)
            next_buffer += 1
        tensor_offsets.append(tflite.TensorEnd(b))

    codes = sorted({op.opcode for op in operators})
    operator_offsets = []
    for op in operators:
        options = None
        if op.options is not None:
            getattr(tflite, f"{op.options}Start")(b)
            for key, value in op.option_values.items():
                getattr(tflite, f"{op.options}Add{key}")(b, value)
            options = getattr(tflite, f"{op.options}End")(b)
        op_inputs = int_vector(tflite.OperatorStartInputsVector, op.inputs)
        op_outputs = int_vector(tflite.OperatorStartOutputsVector, op.outputs)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, codes.index(op.opcode))
        tflite.OperatorAddInputs(b, op_inputs)
        tflite.OperatorAddOutputs(b, op_outputs)
        if options is not None:
            tflite.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, op.options))
            tflite.OperatorAddBuiltinOptions(b, options)
        operator_offsets.append(tflite.OperatorEnd(b))

    def table_vector(start, offsets):
        start(b, len(offsets))
        for offset in reversed(offsets):
            b.PrependUOffsetTRelative(offset)
        return b.EndVector()

    subgraph_tensors = table_vector(tflite.SubGraphStartTensorsVector, tensor_offsets)
    subgraph_operators = table_vector(tflite.SubGraphStartOperatorsVector, operator_offsets)
    subgraph_inputs = int_vector(tflite.SubGraphStartInputsVector, inputs)
    subgraph_outputs = int_vector(tflite.SubGraphStartOutputsVector, outputs)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, subgraph_tensors)
    tflite.SubGraphAddOperators(b, subgraph_operators)
    tflite.SubGraphAddInputs(b, subgraph_inputs)
    tflite.SubGraphAddOutputs(b, subgraph_outputs)
    subgraph = tflite.SubGraphEnd(b)

    code_offsets = []
    for code in codes:
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddVersion(b, 1)
        code_offsets.append(tflite.OperatorCodeEnd(b))

    model_codes = table_vector(tflite.ModelStartOperatorCodesVector, code_offsets)
    model_subgraphs = table_vector(tflite.ModelStartSubgraphsVector, [subgraph])
    model_buffers = table_vector(tflite.ModelStartBuffersVector, buffers)
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, model_codes)
    tflite.ModelAddSubgraphs(b, model_subgraphs)
    tflite.ModelAddBuffers(b, model_buffers)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def conv_model(activation: int = tflite.ActivationFunctionType.RELU, padding: int = 0,
               stride: int = 1, weight_low: int = -127, seed: int = 0,
               height: int = 7, width: int = 6, channels: int = 3, out_channels: int = 4,
               kernel: int = 3, extra: Operator | None = None,
               extra_tensors: list[Tensor] = ()) -> bytes:
    """One CONV_2D (per-channel weights, bias), optionally followed by ``extra``."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(weight_low, 128, (out_channels, kernel, kernel, channels)).astype(np.int8)
    weight_scale = list(rng.uniform(0.002, 0.02, out_channels))
    bias = rng.integers(-2000, 2000, out_channels).astype(np.int32)
    out_h = (height + stride - 1) // stride if padding == 0 else (height - kernel) // stride + 1
    out_w = (width + stride - 1) // stride if padding == 0 else (width - kernel) // stride + 1
    tensors = [
        Tensor((1, height, width, channels), scale=[0.1], zero_point=[-5]),
        Tensor(weight.shape, data=weight, scale=weight_scale, zero_point=[0] * out_channels),
        Tensor(bias.shape, "int32", data=bias, scale=[0.1 * s for s in weight_scale],
               zero_point=[0] * out_channels),
        Tensor((1, out_h, out_w, out_channels), scale=[0.07], zero_point=[3]),
        *extra_tensors,
    ]
    operators = [Operator(tflite.BuiltinOperator.CONV_2D, [0, 1, 2], [3], "Conv2DOptions",
                          {"Padding": padding, "StrideH": stride, "StrideW": stride,
                           "FusedActivationFunction": activation,
                           "DilationHFactor": 1, "DilationWFactor": 1})]
    if extra is not None:
        operators.append(extra)
    return build_model(tensors, operators, [0], [operators[-1].outputs[0]])
