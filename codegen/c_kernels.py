"""The C kernels a model calls: one entry per kernel, everything the emitter needs to know.

What
----
Every op of an int8 graph becomes one call of a kernel in ``codegen/c/``.
``C_KERNELS`` has one ``CKernel`` entry per kernel, which says:

* ``files``: the C files that define it, copied into the model's
  ``tinytorch/`` directory when the model calls it;
* ``call``: how to write its call, given the op: the constants it reads
  (weights, a parameter struct), then the one statement, as C text;
* ``scratch_values``: the int16 scratch the call needs on the DSP path, as a
  formula of the op's shapes, CMSIS-NN's ``*_get_buffer_size()``: the model
  declares one scratch buffer, as large as its largest call needs (the
  kernel's declaration in ``tinytorch_kernels.h`` states the same formula);
* ``products_per_output``: the multiply-accumulates behind one output value,
  which ``accumulator_bounds.MAX_PATCH`` limits and which, times the outputs,
  counts the model's MACs.

``c_kernel_name`` picks the kernel of an op: its type, except that a
convolution whose groups each read one input channel is depthwise, a kernel
of its own with its own weight layout (TFLite's ``[kh][kw][out]``, which lets
the DSP path load four channels at once).

Adding an op
------------
An op type the graph format knows (``tinytorch/quant/int8_ops.py``) needs,
here, a C file in ``codegen/c/`` with its declaration in
``tinytorch_kernels.h``, and one entry below.

Where it sits
-------------
``emitter.py`` walks the graph and, for each op, asks this table; the calls
use the emitter's helpers (``ModelWriter``) to write constants, so that every
C name and every struct literal is made in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .accumulator_bounds import bounded_rescale

if TYPE_CHECKING:
    from tinytorch.quant.graph import Int8Graph, Op

    from .emitter import ModelWriter


def _none(graph: "Int8Graph", op: "Op") -> int:
    return 0


@dataclass(frozen=True)
class CKernel:
    """One C kernel: its files, its call, its scratch and its products (see the module essay)."""
    files: tuple[str, ...]
    call: Callable[["ModelWriter", "Op", str], str | None]  # (writer, op, C prefix) -> C text
    scratch_values: Callable[["Int8Graph", "Op"], int] = _none
    products_per_output: Callable[["Int8Graph", "Op"], int] = _none


def c_kernel_name(op: "Op", graph: "Int8Graph") -> str:
    """The name of the ``C_KERNELS`` entry that runs ``op`` (see the module essay)."""
    if (op.type == "conv2d" and op.attributes["groups"] > 1
            and graph.tensor(op.inputs[1]).shape[3] == 1):
        return "depthwise_conv2d"
    return op.type


def _weights_per_output(graph: "Int8Graph", op: "Op") -> int:
    """One output channel's weights: each is one product per output value."""
    return int(np.prod(graph.tensor(op.inputs[1]).shape[1:]))


# ---- requantization: TFLite's, or the bounded form where proven ------------------------
def bounded_requantization(op: "Op", graph: "Int8Graph") -> list[tuple[int, ...]] | None:
    """The per-channel constants of ``tt_requantize_bounded`` (a ``tt_channel_rescale`` each)
    for ``op``, a layer with weights, or None where they do not apply: they need double
    rounding and the proof of ``accumulator_bounds.bounded_rescale``."""
    if graph.rounding != "double":
        return None
    x, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    return bounded_rescale(graph.tensor(op.inputs[1]).data, graph.tensor(op.inputs[2]).data,
                           op.attributes["multiplier"], op.attributes["shift"], x.zero_point,
                           out.zero_point)


def _rescale_table(writer: "ModelWriter", prefix: str, rescale: list[tuple[int, ...]]) -> str:
    rows = ",\n    ".join("{" + ", ".join(map(str, row)) + "}" for row in rescale)
    writer.constant(f"static const tt_channel_rescale {prefix}_rescale"
                    f"[{len(rescale)}] = {{\n    {rows}\n}};\n")
    return f"{prefix}_rescale"


def _weights_and_requantization(writer: "ModelWriter", op: "Op", prefix: str,
                                weight: np.ndarray) -> list[str]:
    """The arguments weight, bias, multiplier, shift, rescale of ``tt_conv2d`` and
    ``tt_fully_connected``: the bounded constants where proven (bias, multiplier and shift
    then 0), else TFLite's arrays and rescale 0."""
    rescale = bounded_requantization(op, writer.graph)
    if rescale is None:
        return [*writer.requantization_arrays(prefix, op, weight), "0"]
    return [writer.array("int8_t", f"{prefix}_weight", weight), "0", "0", "0",
            _rescale_table(writer, prefix, rescale)]


# ---- convolution: tt_conv2d --------------------------------------------------------------
def _conv2d_call(writer: "ModelWriter", op: "Op", prefix: str) -> str:
    a, weight = op.attributes, writer.graph.tensor(op.inputs[1])
    window = writer.window(prefix, op, weight.shape[1:3], a["stride"], a["dilation"],
                           a["padding"])
    quantization = writer.quantization(prefix, op)
    arguments = _weights_and_requantization(writer, op, prefix, weight.data)
    return writer.call("tt_conv2d", [window, str(a["groups"]), quantization,
                                     writer.pointer(op.inputs[0]), *arguments,
                                     writer.pointer(op.outputs[0]), "SCRATCH"])


def _conv2d_scratch(graph: "Int8Graph", op: "Op") -> int:
    """Two im2col columns, one receptive field each: 2 * kh * kw * (in / groups)."""
    return 2 * _weights_per_output(graph, op)


# ---- depthwise convolution: tt_depthwise_conv2d, or _bounded where proven --------------
def _depthwise_weight(graph: "Int8Graph", op: "Op") -> np.ndarray:
    return graph.tensor(op.inputs[1]).data[..., 0].transpose(1, 2, 0)  # [kh][kw][out]


def bounded_depthwise_rescale(op: "Op", graph: "Int8Graph") -> list[tuple[int, ...]] | None:
    """The per-channel constants of ``tt_depthwise_conv2d_bounded`` for the depthwise
    ``op``, or None where that kernel does not apply: it needs depth multiplier 1,
    double rounding, and the proof of ``accumulator_bounds.bounded_rescale``."""
    x, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if x.shape[3] != out.shape[3]:
        return None
    return bounded_requantization(op, graph)


def _depthwise_conv2d_call(writer: "ModelWriter", op: "Op", prefix: str) -> str:
    graph, a = writer.graph, op.attributes
    window = writer.window(prefix, op, graph.tensor(op.inputs[1]).shape[1:3], a["stride"],
                           a["dilation"], a["padding"])
    quantization = writer.quantization(prefix, op)
    x, out = writer.pointer(op.inputs[0]), writer.pointer(op.outputs[0])
    rescale = bounded_depthwise_rescale(op, graph)
    if rescale is None:
        arrays = writer.requantization_arrays(prefix, op, _depthwise_weight(graph, op))
        return writer.call("tt_depthwise_conv2d", [window, quantization, x, *arrays, out])
    weight = writer.array("int8_t", f"{prefix}_weight", _depthwise_weight(graph, op))
    return writer.call("tt_depthwise_conv2d_bounded",
                       [window, quantization, x, weight, _rescale_table(writer, prefix, rescale),
                        out])


# ---- fully connected: tt_fully_connected -------------------------------------------------
def _fully_connected_call(writer: "ModelWriter", op: "Op", prefix: str) -> str:
    weight = writer.graph.tensor(op.inputs[1])
    out_features, in_features = weight.shape
    quantization = writer.quantization(prefix, op)
    arguments = _weights_and_requantization(writer, op, prefix, weight.data)
    return writer.call("tt_fully_connected", [str(in_features), str(out_features), quantization,
                                              writer.pointer(op.inputs[0]), *arguments,
                                              writer.pointer(op.outputs[0]), "SCRATCH"])


def _fully_connected_scratch(graph: "Int8Graph", op: "Op") -> int:
    """The input vector widened to int16: in_features values."""
    return graph.tensor(op.inputs[1]).shape[1]


# ---- pooling: tt_max_pool2d, tt_avg_pool2d, tt_global_avg_pool2d ------------------------
def _pool_call(writer: "ModelWriter", op: "Op", prefix: str) -> str:
    a = op.attributes
    window = writer.window(prefix, op, a["kernel"], a["stride"], [1, 1], a["padding"])
    return writer.call(f"tt_{op.type}", [window, str(a["act_min"]), str(a["act_max"]),
                                         writer.pointer(op.inputs[0]),
                                         writer.pointer(op.outputs[0])])


def _global_avg_pool2d_call(writer: "ModelWriter", op: "Op", prefix: str) -> str:
    a = op.attributes
    _, height, width, channels = writer.graph.tensor(op.inputs[0]).shape
    sizes = [str(v) for v in (height, width, channels, a["act_min"], a["act_max"])]
    return writer.call("tt_global_avg_pool2d",
                       sizes + [writer.pointer(op.inputs[0]), writer.pointer(op.outputs[0])])


# ---- residual addition: tt_add -----------------------------------------------------------
def _add_call(writer: "ModelWriter", op: "Op", prefix: str) -> str:
    graph, a = writer.graph, op.attributes
    a_info, b_info = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1])
    out_info = graph.tensor(op.outputs[0])
    values = [a_info.zero_point, a["a_multiplier"], a["a_shift"], b_info.zero_point,
              a["b_multiplier"], a["b_shift"], out_info.zero_point,
              a["output_multiplier"], a["output_shift"], a["left_shift"], a["act_min"],
              a["act_max"], int(graph.rounding == "single")]
    writer.constant(f"static const tt_add_parameters {prefix}_parameters = "
                    f"{{{', '.join(map(str, values))}}};\n")
    return writer.call("tt_add", [f"&{prefix}_parameters", str(out_info.size),
                                  writer.pointer(op.inputs[0]), writer.pointer(op.inputs[1]),
                                  writer.pointer(op.outputs[0])])


# ---- softmax: tt_softmax -----------------------------------------------------------------
def _softmax_call(writer: "ModelWriter", op: "Op", prefix: str) -> str:
    graph, a = writer.graph, op.attributes
    x = graph.tensor(op.inputs[0])
    values = [a["input_multiplier"], a["input_left_shift"], a["diff_min"],
              int(graph.rounding == "single")]
    writer.constant(f"static const tt_softmax_parameters {prefix}_parameters = "
                    f"{{{', '.join(map(str, values))}}};\n")
    depth = x.shape[-1]
    return writer.call("tt_softmax", [f"&{prefix}_parameters", str(x.size // depth), str(depth),
                                      writer.pointer(op.inputs[0]),
                                      writer.pointer(op.outputs[0])])


# ---- reshape: no kernel ------------------------------------------------------------------
def _reshape_call(writer: "ModelWriter", op: "Op", prefix: str) -> None:
    return None  # the same bytes under another shape: the arena plan aliases them


C_KERNELS: dict[str, CKernel] = {
    "conv2d": CKernel(files=("conv2d.c", "matmul_dsp.c"), call=_conv2d_call,
                      scratch_values=_conv2d_scratch, products_per_output=_weights_per_output),
    "depthwise_conv2d": CKernel(files=("depthwise_conv2d.c",), call=_depthwise_conv2d_call,
                                products_per_output=_weights_per_output),
    "fully_connected": CKernel(files=("fully_connected.c", "matmul_dsp.c"),
                               call=_fully_connected_call,
                               scratch_values=_fully_connected_scratch,
                               products_per_output=_weights_per_output),
    "max_pool2d": CKernel(files=("max_pool2d.c",), call=_pool_call),
    "avg_pool2d": CKernel(files=("avg_pool2d.c",), call=_pool_call),
    "global_avg_pool2d": CKernel(files=("global_avg_pool2d.c",), call=_global_avg_pool2d_call),
    "add": CKernel(files=("add.c",), call=_add_call),
    "reshape": CKernel(files=(), call=_reshape_call),
    "softmax": CKernel(files=("softmax.c",), call=_softmax_call),
}
