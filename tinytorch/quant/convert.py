"""Convert: from a calibrated (or QAT-trained) model to the int8 graph.

This is where the int8 arithmetic is decided, once, for every layer (the graph
format it produces is specified in docs/int8_graph.md, the decisions behind it
in docs/quantization.md).  With ``s`` for scales and ``z`` for zero points, and
``round`` always ties away from zero (``kernels.int8.affine``):

* **Activations** take the (scale, zero point) their observer learned; pooling
  and reshaping keep their input's, since they only select or move values.
* **Weights** are symmetric per output channel: ``s_w[c] = max|W[c]| / 127``
  (or ``2^(bits-1) - 1`` for fewer bits), ``q = round(W / s_w[c])``.
* **Biases** are int32 at scale ``s_in * s_w[c]``, so they add straight into
  the int32 accumulator of ``sum((x_q - z_in) * w_q)``.
* **Requantization**: the accumulator is in units of ``s_in * s_w[c]``; the
  output wants units of ``s_out``, so it is multiplied by the real number
  ``M[c] = s_in * s_w[c] / s_out``, stored as an int32 multiplier and a shift
  by ``kernels.int8.quantize_multiplier``.
* **Fused activations** become the clamp: ReLU is ``q >= z_out``, ReLU6 also
  ``q <= z_out + round(6 / s_out)``.
* **Layout**: the float model is NCHW, the int8 graph NHWC.  Convolution
  weights ``[out, in, kh, kw]`` become ``[out, kh, kw, in]``.  Flattening is
  the subtle case: a float model flattens ``[C, H, W]`` channel-major, the int8
  graph flattens ``[H, W, C]`` channel-minor.  Rather than transposing data at
  run time, the columns of the fully connected layer that reads the flattened
  vector are permuted once, here, so both orders give the same dot products.
"""
from __future__ import annotations

import numpy as np

from tinytorch.kernels.int8 import add_parameters, quantize_multiplier, round_half_away_from_zero
from tinytorch.kernels.int8.requantize import INT32_MAX, INT32_MIN
from tinytorch.quant.capture import INPUT, Layer
from tinytorch.quant.graph import Int8Graph, Op, TensorInfo
from tinytorch.quant.int8_ops import OP_TYPES
from tinytorch.quant.prepare import PreparedModel


def nhwc_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """The int8 graph's shape (batch 1, NHWC) for one float sample of shape [C, H, W] or [F]."""
    if len(shape) == 3:
        channels, height, width = shape
        return (1, height, width, channels)
    return (1,) + tuple(shape)


def activation_clamp(activation: str | None, scale: float, zero_point: int) -> tuple[int, int]:
    """(act_min, act_max) that implement a fused activation on the int8 output."""
    if activation is None:
        return -128, 127
    low = max(-128, zero_point)
    if activation == "relu":
        return low, 127
    return low, int(min(127, zero_point + round_half_away_from_zero(6.0 / scale)))  # relu6


def convert(prepared: PreparedModel, rounding: str = "double", name: str | None = None) -> Int8Graph:
    """The int8 graph of a calibrated / QAT-trained ``PreparedModel``; validated."""
    if not isinstance(prepared, PreparedModel):
        raise TypeError(f"convert: expected the result of tinytorch.quant.prepare or prepare_qat, "
                        f"got {type(prepared).__name__}")
    name = name or prepared.name
    layers = prepared.layers
    image_input = len(prepared.input_shape) == 3
    input_scale, input_zero_point = prepared.input_observer.qparams()
    tensors = {"input": TensorInfo("input", nhwc_shape(prepared.input_shape), "int8",
                                   input_scale, input_zero_point)}
    ops: list[Op] = []
    output_names: list[str] = []
    # For vectors flattened from an image: the float [C, H, W] they came from.
    flattened_from: list[tuple[int, ...] | None] = []

    def source(index: int) -> tuple[str, TensorInfo, tuple[int, ...] | None]:
        if index == INPUT:
            return "input", tensors["input"], None
        return output_names[index], tensors[output_names[index]], flattened_from[index]

    for index, layer in enumerate(layers):
        input_name, x, flat_source = source(layer.inputs[0])
        out_name = f"{layer.name}.out"
        if index in prepared.observers:
            scale, zero_point = prepared.observers[index].qparams()
        else:  # pooling and reshape keep their input's quantization
            scale, zero_point = x.scale, x.zero_point
        tensors[out_name] = TensorInfo(out_name, nhwc_shape(layer.shape), "int8", scale,
                                       zero_point)
        act_min, act_max = activation_clamp(layer.activation, scale, zero_point)
        attributes = dict(layer.attributes)
        inputs = [input_name]
        if layer.kind in ("conv2d", "fully_connected"):
            weight, bias = prepared.weight_and_bias(index)
            if layer.kind == "fully_connected" and flat_source is not None:
                weight = _columns_in_nhwc_order(weight, flat_source)
            w_scales = prepared.weight_scales(index)
            qmax = 2 ** (prepared.weight_bits - 1) - 1
            shape = (-1,) + (1,) * (weight.ndim - 1)
            q_weight = np.clip(round_half_away_from_zero(weight / w_scales.reshape(shape)),
                               -qmax, qmax)
            if layer.kind == "conv2d":
                q_weight = q_weight.transpose(0, 2, 3, 1)  # [out, kh, kw, in / groups]
            bias_scales = x.scale * w_scales
            q_bias = np.clip(round_half_away_from_zero(bias / bias_scales), INT32_MIN, INT32_MAX)
            for suffix, data, dtype, scales in (("weight", q_weight, "int8", w_scales),
                                                ("bias", q_bias, "int32", bias_scales)):
                tensor_name = f"{layer.name}.{suffix}"
                tensors[tensor_name] = TensorInfo(tensor_name, data.shape, dtype,
                                                  [float(s) for s in scales], 0,
                                                  np.ascontiguousarray(data.astype(dtype)))
                inputs.append(tensor_name)
            pairs = [quantize_multiplier(float(x.scale * s / scale), rounding) for s in w_scales]
            attributes["multiplier"] = [int(m) for m, _ in pairs]
            attributes["shift"] = [int(s) for _, s in pairs]
        elif layer.kind == "add":
            other_name, other, other_flat = source(layer.inputs[1])
            if other_flat != flat_source:
                raise ValueError(f"convert: add {layer.name!r} adds vectors flattened from "
                                 f"different shapes ({flat_source} and {other_flat})")
            inputs.append(other_name)
            parameters = add_parameters(x.scale, other.scale, scale, rounding=rounding)
            attributes.update({key: int(value) for key, value in parameters.items()})
        if OP_TYPES[layer.kind].clamps:
            attributes["act_min"], attributes["act_max"] = act_min, act_max
        ops.append(Op(layer.kind, layer.name, inputs, [out_name], attributes))
        output_names.append(out_name)
        if layer.kind == "reshape":
            flattened_from.append(_float_shape(layers, layer.inputs[0], prepared.input_shape))
        elif layer.kind == "add":
            flattened_from.append(flat_source)
        else:
            flattened_from.append(None)
    graph = Int8Graph(name, tensors, ops, "input", output_names[-1], rounding,
                      "NCHW" if image_input else "NC")
    return graph.validate()


def _float_shape(layers: list[Layer], index: int, input_shape: tuple[int, ...]):
    shape = tuple(input_shape) if index == INPUT else layers[index].shape
    return shape if len(shape) == 3 else None


def _columns_in_nhwc_order(weight: np.ndarray, image_shape: tuple[int, int, int]) -> np.ndarray:
    """Permute a linear layer's input columns from NCHW-flatten to NHWC-flatten order.

    Column ``c*H*W + h*W + w`` of ``weight`` ([out, C*H*W]) must move to column
    ``h*W*C + w*C + c``.  Approach: view the columns as [C, H, W], transpose to
    [H, W, C], flatten again.  Example: C=2, H=1, W=2 turns columns
    [c0w0, c0w1, c1w0, c1w1] into [c0w0, c1w0, c0w1, c1w1].
    """
    # reorder the columns of weight from [C, H, W] to [H, W, C] order
    # BEGIN SOLUTION lab 08
    channels, height, width = image_shape
    out_features = weight.shape[0]
    return (weight.reshape(out_features, channels, height, width)
            .transpose(0, 2, 3, 1).reshape(out_features, -1))
    # END SOLUTION
