"""Importing .tflite: int8 networks trained elsewhere, as int8 graphs.

What
----
Most int8 networks that run on microcontrollers were trained in TensorFlow
and ship as ``.tflite`` files: a flatbuffer holding the tensors (shape, type,
scale, zero point, constant bytes) and the operators in execution order.
``import_tflite`` reads one such file and builds the ``Int8Graph`` the rest of
the stack already understands, so the interpreter, the code generator and the
emulated Cortex-M run a model no one here trained, e.g. the four MLPerf Tiny
reference models::

    graph = import_tflite("kws_ref_model.tflite")
    graph.save("kws")                       # then: tinytorch deploy kws ...

Why it is short
---------------
The int8 graph *is* TFLite's integer spec (``kernels/int8`` transcribes
TFLite's reference kernels), so most of a .tflite carries over unchanged: the
same NHWC layout, the same convolution weight layout ``[out, kh, kw, in]``,
the same int32 biases.  What the importer decides is what TFLite leaves to
the kernel at run time:

* the rescale of each output channel, ``input_scale * weight_scale[c] /
  output_scale``, computed as TFLite Micro prepares it (in double, from the
  float32 scales the file stores), then split into ``(multiplier, shift)``;
* the fused activation, which becomes the output clamp ``[act_min, act_max]``
  (RELU, RELU6; as ``convert.py`` does for TinyTorch's own models);
* SAME padding, which becomes explicit ``[top, bottom, left, right]``: when
  the total is odd, TFLite puts the extra row at the bottom and the extra
  column at the right;
* a depthwise convolution's weights ``[1, kh, kw, out]``, which become a
  grouped convolution's ``[out, kh, kw, 1]`` with one group per input channel;
* a fully connected layer's input, flattened by TFLite implicitly and here by
  an explicit ``reshape`` when it is not already ``[1, features]``;
* a softmax's fixed-point rescale of its input, from the input scale and
  beta (``kernels.int8.softmax_parameters``).

Rounding: a .tflite records no rounding mode; the runtime it is built into
decides.  TFLite Micro's reference kernels and CMSIS-NN round twice (the
graph's ``"double"``, the default here), and the tests compare every
intermediate tensor with TFLite Micro's byte for byte.  For a runtime built
with ``TFLITE_SINGLE_ROUNDING``, import with ``rounding="single"``: the
multipliers are then split as that build splits them.

A file is untrusted input
-------------------------
Anything the importer does not understand is refused, never guessed: an
operator outside ``SUPPORTED_OPS`` by name and index, a float or int16
tensor, a weight with a zero point, a fused TANH, a batch other than 1.  The
flatbuffer is read with the ``tflite`` package (the schema's generated
reader); a damaged file makes it raise whatever Python raises on bad offsets,
which becomes a ``TFLiteImportError`` naming the file.  The graph is then
validated like any graph file.
"""
from __future__ import annotations

import os
import struct
from collections import Counter
from typing import Any, Callable

import numpy as np

from tinytorch.kernels.int8 import add_parameters, quantize_multiplier, softmax_parameters
from tinytorch.kernels.int8.checks import check_rounding
from tinytorch.quant.convert import activation_clamp
from tinytorch.quant.graph import GraphError, Int8Graph, Op, TensorInfo

# What the flatbuffer reader raises on offsets that point outside the file.
DAMAGED_FILE_ERRORS = (IndexError, struct.error, ValueError, TypeError, AttributeError,
                       UnicodeDecodeError, OverflowError, MemoryError)
MAX_FILE_BYTES = 64 * 1024 * 1024  # far above any model a microcontroller holds


class TFLiteImportError(ValueError):
    """A .tflite file that is damaged, or uses what the int8 graph cannot express."""


def _tflite_schema() -> Any:
    try:
        import tflite
    except ImportError:
        raise TFLiteImportError("importing .tflite needs the tflite package: "
                                "pip install 'tinytorch[tflite]'") from None
    return tflite


def _read_model(path: str | os.PathLike[str]) -> tuple[Any, Any, Any]:
    """(schema module, Model, SubGraph 0) of a .tflite file, after the file-level checks."""
    tflite = _tflite_schema()
    path = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)  # a bounded read: the path may be a device or pipe
    if len(data) > MAX_FILE_BYTES:
        raise TFLiteImportError(f"{path}: larger than {MAX_FILE_BYTES} bytes; not a model "
                                f"for a microcontroller")
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteImportError(f"{path}: not a .tflite file (no 'TFL3' identifier)")
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        if model.SubgraphsLength() != 1:
            raise TFLiteImportError(f"{path}: has {model.SubgraphsLength()} subgraphs; "
                                    f"only single-subgraph models can be imported")
        return tflite, model, model.Subgraphs(0)
    except TFLiteImportError:
        raise
    except DAMAGED_FILE_ERRORS as error:
        raise TFLiteImportError(f"{path}: damaged .tflite file ({error!r})") from None


def opcode_name(tflite: Any, model: Any, op: Any) -> str:
    """The builtin operator's name, e.g. ``CONV_2D``.  Newer files keep codes above 127
    in ``BuiltinCode`` and 127 in the deprecated byte, older ones only the byte."""
    code = model.OperatorCodes(op.OpcodeIndex())
    number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return tflite.BUILTIN_OPCODE2NAME.get(number, f"builtin operator {number}")


def opcode_counts(path: str | os.PathLike[str]) -> Counter:
    """How many times each operator occurs in a .tflite file: what an import would need."""
    tflite, model, subgraph = _read_model(path)
    try:
        return Counter(opcode_name(tflite, model, subgraph.Operators(i))
                       for i in range(subgraph.OperatorsLength()))
    except DAMAGED_FILE_ERRORS as error:
        raise TFLiteImportError(f"{os.fspath(path)}: damaged .tflite file ({error!r})") from None


def import_tflite(path: str | os.PathLike[str], name: str | None = None,
                  rounding: str = "double") -> Int8Graph:
    """Read an int8 ``.tflite`` model into a validated ``Int8Graph`` (see the module essay)."""
    check_rounding("import_tflite", rounding)
    tflite, model, subgraph = _read_model(path)
    name = name or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    importer = _Importer(tflite, model, subgraph, os.fspath(path), rounding)
    try:
        graph = importer.run(name)
    except TFLiteImportError:
        raise
    except DAMAGED_FILE_ERRORS as error:
        raise TFLiteImportError(f"{importer.where}: damaged .tflite file ({error!r})") from None
    try:
        return graph.validate()
    except GraphError as error:
        raise TFLiteImportError(f"{importer.where}: the imported graph is invalid: {error}") \
            from None


class _Importer:
    """One file's tensors and operators, turned into graph tensors and ops one by one."""

    def __init__(self, tflite: Any, model: Any, subgraph: Any, where: str,
                 rounding: str) -> None:
        self.tflite, self.model, self.subgraph, self.where = tflite, model, subgraph, where
        self.rounding = rounding
        self.tensors: dict[str, TensorInfo] = {}
        self.ops: list[Op] = []
        self.op_index = -1
        self.op_name = ""

    # ---- the whole file ------------------------------------------------------------
    def run(self, name: str) -> Int8Graph:
        subgraph = self.subgraph
        if subgraph.InputsLength() != 1 or subgraph.OutputsLength() != 1:
            raise TFLiteImportError(f"{self.where}: the model must have one input and one "
                                    f"output, it has {subgraph.InputsLength()} and "
                                    f"{subgraph.OutputsLength()}")
        graph_input = self.activation(int(subgraph.Inputs(0)))
        for index in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(index)
            self.op_index, self.op_name = index, opcode_name(self.tflite, self.model, op)
            build = SUPPORTED_OPS.get(self.op_name)
            if build is None:
                raise TFLiteImportError(
                    f"{self.where}: operator #{index} is {self.op_name}, which the int8 graph "
                    f"does not support (supported: {', '.join(sorted(SUPPORTED_OPS))})")
            build(self, op)
        layout = {4: "NHWC", 2: "NC"}.get(len(self.tensors[graph_input].shape))
        if layout is None:
            raise TFLiteImportError(f"{self.where}: input shape "
                                    f"{list(self.tensors[graph_input].shape)} is neither an "
                                    f"image [1, H, W, C] nor features [1, F]")
        return Int8Graph(name, self.tensors, self.ops, graph_input,
                         self.activation(int(subgraph.Outputs(0))), rounding=self.rounding,
                         input_layout=layout)

    @property
    def what(self) -> str:
        return f"{self.where}: operator #{self.op_index} ({self.op_name})"

    # ---- tensors -------------------------------------------------------------------
    def _tensor(self, index: int) -> tuple[Any, str, tuple[int, ...], np.ndarray, np.ndarray]:
        if not 0 <= index < self.subgraph.TensorsLength():
            raise TFLiteImportError(f"{self.what}: tensor index {index} does not exist")
        t = self.subgraph.Tensors(index)
        q = t.Quantization()
        scales = q.ScaleAsNumpy() if q is not None and q.ScaleLength() else np.zeros(0)
        zero_points = (q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength()
                       else np.zeros(0, dtype=np.int64))
        return t, f"t{index}", tuple(int(d) for d in t.ShapeAsNumpy()), scales, zero_points

    def activation(self, index: int) -> str:
        """The graph tensor of an int8 activation (created on first use)."""
        t, name, shape, scales, zero_points = self._tensor(index)
        if name in self.tensors:
            return name
        if t.Type() != self.tflite.TensorType.INT8:
            raise TFLiteImportError(f"{self.what}: tensor #{index} {shape} has type "
                                    f"{_type_name(self.tflite, t.Type())}; only int8 "
                                    f"activations can be imported")
        if len(scales) != 1 or len(zero_points) != 1:
            raise TFLiteImportError(f"{self.what}: activation tensor #{index} must have one "
                                    f"scale and zero point, it has {len(scales)}")
        _check_scales(self.what, index, scales)
        if not shape or shape[0] != 1:
            raise TFLiteImportError(f"{self.what}: activation tensor #{index} has shape "
                                    f"{list(shape)}; the batch must be 1")
        self.tensors[name] = TensorInfo(name, shape, "int8", float(scales[0]),
                                        int(zero_points[0]))
        return name

    def constant(self, index: int, dtype: str, channels: int) -> tuple[np.ndarray, list[float]]:
        """A weight or bias: its values and one scale per output channel."""
        t, _, shape, scales, zero_points = self._tensor(index)
        expected = {"int8": self.tflite.TensorType.INT8, "int32": self.tflite.TensorType.INT32}
        if t.Type() != expected[dtype]:
            raise TFLiteImportError(f"{self.what}: constant tensor #{index} has type "
                                    f"{_type_name(self.tflite, t.Type())}, expected {dtype}")
        raw = self.model.Buffers(t.Buffer()).DataAsNumpy()
        values = np.frombuffer(np.asarray(raw, dtype=np.uint8).tobytes(), dtype=dtype)
        if not isinstance(raw, np.ndarray) or values.size != int(np.prod(shape)):
            raise TFLiteImportError(f"{self.what}: constant tensor #{index} {list(shape)} has "
                                    f"no data, or the wrong amount; only constant weights "
                                    f"and biases can be imported")
        if np.any(zero_points != 0):
            raise TFLiteImportError(f"{self.what}: constant tensor #{index} has a non-zero "
                                    f"zero point; weights and biases must be symmetric")
        if len(scales) not in (1, channels):
            raise TFLiteImportError(f"{self.what}: constant tensor #{index} has "
                                    f"{len(scales)} scales for {channels} output channels")
        _check_scales(self.what, index, scales)
        if dtype == "int8" and values.min(initial=0) < -127:
            raise TFLiteImportError(f"{self.what}: weight tensor #{index} holds -128; int8 "
                                    f"weights must lie in [-127, 127]")
        per_channel = [float(s) for s in np.broadcast_to(scales, (channels,))]
        return values.reshape(shape).copy(), per_channel

    def add_constant(self, name: str, values: np.ndarray, scales: list[float]) -> str:
        self.tensors[name] = TensorInfo(name, values.shape, str(values.dtype), scales, 0, values)
        return name

    def weights(self, op: Any, weight: np.ndarray, scales: list[float]) -> list[str]:
        """Graph names of a layer's weight and bias (zeros when the file has none)."""
        channels = weight.shape[0]
        bias_index = int(op.Inputs(2)) if op.InputsLength() > 2 else -1
        if bias_index >= 0:
            bias, _ = self.constant(bias_index, "int32", channels)
            if bias.shape != (channels,):
                raise TFLiteImportError(f"{self.what}: bias {list(bias.shape)} does not match "
                                        f"{channels} output channels")
        else:
            bias = np.zeros(channels, dtype=np.int32)
        x_scale = self.tensors[self.activation(int(op.Inputs(0)))].scale
        stem = f"op{self.op_index}"
        return [self.add_constant(f"{stem}_weight", weight, scales),
                self.add_constant(f"{stem}_bias", bias, [x_scale * s for s in scales])]

    # ---- what every layer with weights decides ---------------------------------------
    def rescale(self, x: str, out: str, weight_scales: list[float]) -> dict[str, list[int]]:
        """Each channel's ``input_scale * weight_scale / output_scale`` as (multiplier, shift)."""
        x_scale, out_scale = self.tensors[x].scale, self.tensors[out].scale
        pairs = [quantize_multiplier(x_scale * s / out_scale, self.rounding)
                 for s in weight_scales]
        return {"multiplier": [m for m, _ in pairs], "shift": [s for _, s in pairs]}

    def clamp(self, fused: int, out: str) -> dict[str, int]:
        """The output clamp that implements a fused activation."""
        names = {v: k for k, v in vars(self.tflite.ActivationFunctionType).items()
                 if not k.startswith("_")}
        activation = {"NONE": None, "RELU": "relu", "RELU6": "relu6"}.get(names.get(fused, ""), "?")
        if activation == "?":
            raise TFLiteImportError(f"{self.what}: fused activation "
                                    f"{names.get(fused, fused)} is not supported "
                                    f"(supported: NONE, RELU, RELU6)")
        info = self.tensors[out]
        act_min, act_max = activation_clamp(activation, info.scale, info.zero_point)
        return {"act_min": act_min, "act_max": act_max}

    def window(self, options: Any, x: str, kernel: tuple[int, int],
               dilation: tuple[int, int] = (1, 1)) -> dict[str, list[int]]:
        """Stride and explicit padding of a sliding window; SAME's odd row goes last."""
        stride = [int(options.StrideH()), int(options.StrideW())]
        if min(stride) < 1 or min(dilation) < 1:
            raise TFLiteImportError(f"{self.what}: stride {stride} and dilation "
                                    f"{list(dilation)} must be >= 1")
        padding = [0, 0, 0, 0]
        if options.Padding() == self.tflite.Padding.SAME:
            _, height, width, _ = self.tensors[x].shape
            padding = [*same_padding(height, kernel[0], stride[0], dilation[0]),
                       *same_padding(width, kernel[1], stride[1], dilation[1])]
        elif options.Padding() != self.tflite.Padding.VALID:
            raise TFLiteImportError(f"{self.what}: unknown padding {options.Padding()}")
        return {"stride": stride, "padding": padding}

    def options(self, op: Any, kind: Callable[[], Any]) -> Any:
        table = op.BuiltinOptions()
        if table is None:
            raise TFLiteImportError(f"{self.what}: its options are missing")
        options = kind()
        options.Init(table.Bytes, table.Pos)
        return options

    def io(self, op: Any, inputs: int) -> tuple[list[str], str]:
        if op.InputsLength() < inputs or op.OutputsLength() != 1:
            raise TFLiteImportError(f"{self.what}: expected at least {inputs} inputs and one "
                                    f"output, got {op.InputsLength()} and {op.OutputsLength()}")
        names = [self.activation(int(op.Inputs(i))) for i in range(inputs)]
        return names, self.activation(int(op.Outputs(0)))

    def emit(self, op_type: str, inputs: list[str], out: str, **attributes: Any) -> None:
        self.ops.append(Op(op_type, f"op{self.op_index}_{self.op_name.lower()}", inputs, [out],
                           attributes))


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TFLite's SAME padding of one axis: (before, after), the zeros added on each side.

    SAME means "as many outputs as ``ceil(size / stride)``": the window,
    which reaches ``(kernel - 1) * dilation + 1`` values, must fit on the
    padded axis at each of the ``out`` positions, the last one beginning at
    ``(out - 1) * stride``.  The padding needed in total is what that last
    window reaches past the end of the input, or 0 if it does not reach it.
    TFLite splits the total in two with the smaller half *before*: an odd
    extra row goes at the bottom, an odd extra column at the right.  Put it
    on the other side and every output near the edges moves by a row or a
    column, which TFLite Micro's outputs, compared byte for byte, reveal.

    Worked example: the keyword-spotting model's first convolution has a
    10 x 4 kernel with stride 2 on 49 x 10 features.  Rows: out = 25, the
    last window begins at 48 and reaches 10 rows, to 57, while the input
    ends at 48, so 9 rows of padding: (4, 5).  Columns: out = 5, the last
    window begins at 8 and reaches 4 columns, to 11, 2 past the end: (1, 1).
    With stride 1 and a 3-wide kernel, any size gives (1, 1); a kernel of 1
    gives (0, 0); size 5, kernel 2, stride 2: out = 3, the last window
    begins at 4 and reaches 2, to 5, 1 past the end: (0, 1).
    """
    # the total padding the last of ceil(size / stride) windows needs, smaller half before
    # BEGIN SOLUTION lab 11
    reach = (kernel - 1) * dilation + 1
    out = (size + stride - 1) // stride
    total = max(0, (out - 1) * stride + reach - size)
    return total // 2, total - total // 2
    # END SOLUTION


# ---- one builder per operator ------------------------------------------------------------
def _conv_2d(importer: _Importer, op: Any) -> None:
    options = importer.options(op, importer.tflite.Conv2DOptions)
    (x,), out = importer.io(op, 1)
    weight, scales = importer.constant(int(op.Inputs(1)), "int8", _channels(importer, op, 0))
    if weight.ndim != 4:
        raise TFLiteImportError(f"{importer.what}: weight {list(weight.shape)} is not "
                                f"[out, kh, kw, in]")
    channels = importer.tensors[x].shape[-1]
    groups = channels // weight.shape[3] if weight.shape[3] else 0
    _convolution(importer, op, options, x, out, weight, scales, groups)


def _depthwise_conv_2d(importer: _Importer, op: Any) -> None:
    options = importer.options(op, importer.tflite.DepthwiseConv2DOptions)
    (x,), out = importer.io(op, 1)
    weight, scales = importer.constant(int(op.Inputs(1)), "int8", _channels(importer, op, 3))
    channels = importer.tensors[x].shape[-1]
    if weight.ndim != 4 or weight.shape[0] != 1 or weight.shape[3] != channels:
        # A depth multiplier above 1 would need the channel order of TFLite's output
        # (input channel major) mapped onto groups; none of the models in view use it.
        raise TFLiteImportError(f"{importer.what}: weight {list(weight.shape)} must be "
                                f"[1, kh, kw, {channels}] (depth multiplier 1)")
    weight = np.ascontiguousarray(weight[0].transpose(2, 0, 1)[..., None])  # [out, kh, kw, 1]
    _convolution(importer, op, options, x, out, weight, scales, groups=channels)


def _convolution(importer: _Importer, op: Any, options: Any, x: str, out: str,
                 weight: np.ndarray, scales: list[float], groups: int) -> None:
    """The graph's ``conv2d`` for a convolution whose weight is ``[out, kh, kw, in / groups]``."""
    dilation = (int(options.DilationHFactor()), int(options.DilationWFactor()))
    importer.emit("conv2d", [x] + importer.weights(op, weight, scales), out,
                  **importer.window(options, x, weight.shape[1:3], dilation),
                  dilation=list(dilation), groups=groups,
                  **importer.rescale(x, out, scales),
                  **importer.clamp(options.FusedActivationFunction(), out))


def _fully_connected(importer: _Importer, op: Any) -> None:
    options = importer.options(op, importer.tflite.FullyConnectedOptions)
    (x,), out = importer.io(op, 1)
    weight, scales = importer.constant(int(op.Inputs(1)), "int8", _channels(importer, op, 0))
    if weight.ndim != 2:
        raise TFLiteImportError(f"{importer.what}: weight {list(weight.shape)} is not "
                                f"[out, in]")
    info = importer.tensors[x]
    if len(info.shape) != 2:  # TFLite flattens the input implicitly; the graph says so
        flat = f"{x}_flat"
        importer.tensors[flat] = TensorInfo(flat, (1, info.size), "int8", info.scale,
                                            info.zero_point)
        importer.emit("reshape", [x], flat)
        x = flat
    if len(importer.tensors[out].shape) != 2:
        raise TFLiteImportError(f"{importer.what}: output {list(importer.tensors[out].shape)} "
                                f"must be [1, features]")
    importer.emit("fully_connected", [x] + importer.weights(op, weight, scales), out,
                  **importer.rescale(x, out, scales),
                  **importer.clamp(options.FusedActivationFunction(), out))


def _add(importer: _Importer, op: Any) -> None:
    options = importer.options(op, importer.tflite.AddOptions)
    (a, b), out = importer.io(op, 2)
    t = importer.tensors
    importer.emit("add", [a, b], out, **add_parameters(t[a].scale, t[b].scale, t[out].scale,
                                                       rounding=importer.rounding),
                  **importer.clamp(options.FusedActivationFunction(), out))


def _pool(op_type: str) -> Callable[[_Importer, Any], None]:
    def build(importer: _Importer, op: Any) -> None:
        options = importer.options(op, importer.tflite.Pool2DOptions)
        (x,), out = importer.io(op, 1)
        kernel = (int(options.FilterHeight()), int(options.FilterWidth()))
        if min(kernel) < 1:
            raise TFLiteImportError(f"{importer.what}: filter {list(kernel)} must be >= 1")
        importer.emit(op_type, [x], out, kernel=list(kernel),
                      **importer.window(options, x, kernel),
                      **importer.clamp(options.FusedActivationFunction(), out))
    return build


def _reshape(importer: _Importer, op: Any) -> None:
    # The new shape is the output tensor's; the optional shape input is not needed.
    (x,), out = importer.io(op, 1)
    importer.emit("reshape", [x], out)


def _softmax(importer: _Importer, op: Any) -> None:
    options = importer.options(op, importer.tflite.SoftmaxOptions)
    (x,), out = importer.io(op, 1)
    y = importer.tensors[out]
    if (y.scale, y.zero_point) != (1 / 256, -128):
        # TFLite Micro's int8 softmax requires this output; the graph's op assumes it.
        raise TFLiteImportError(f"{importer.what}: output scale {y.scale} and zero point "
                                f"{y.zero_point}; int8 softmax outputs scale 1/256, zero "
                                f"point -128")
    importer.emit("softmax", [x], out,
                  **softmax_parameters(importer.tensors[x].scale, float(options.Beta()),
                                       importer.rounding))


def _channels(importer: _Importer, op: Any, axis: int) -> int:
    """Output channels of a layer: its weight's dimension ``axis``."""
    _, _, shape, _, _ = importer._tensor(int(op.Inputs(1)))
    if len(shape) <= axis:
        raise TFLiteImportError(f"{importer.what}: weight shape {list(shape)} is too short")
    return shape[axis]


def _check_scales(what: str, index: int, scales: np.ndarray) -> None:
    # Every rescale divides by a scale: a zero, NaN or infinity would end in a
    # ZeroDivisionError or a meaningless multiplier rather than a clear refusal.
    if not np.all(np.isfinite(scales) & (scales > 0)):
        raise TFLiteImportError(f"{what}: tensor #{index} has scales {list(scales)}; "
                                f"scales must be finite and > 0")


def _type_name(tflite: Any, number: int) -> str:
    names = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
    return names.get(number, f"type {number}")


SUPPORTED_OPS: dict[str, Callable[[_Importer, Any], None]] = {
    "CONV_2D": _conv_2d,
    "DEPTHWISE_CONV_2D": _depthwise_conv_2d,
    "FULLY_CONNECTED": _fully_connected,
    "ADD": _add,
    "AVERAGE_POOL_2D": _pool("avg_pool2d"),
    "MAX_POOL_2D": _pool("max_pool2d"),
    "RESHAPE": _reshape,
    "SOFTMAX": _softmax,
}

__all__ = ["SUPPORTED_OPS", "TFLiteImportError", "import_tflite", "opcode_counts",
           "same_padding"]
