"""The int8 op types: one entry each, saying what an op reads, requires and computes.

What
----
Every op of an int8 graph has a type: ``conv2d``, ``fully_connected``,
``max_pool2d``, ``avg_pool2d``, ``global_avg_pool2d``, ``add``, ``reshape`` or
``softmax``.
What the quantization stack knows about a type is its entry in ``OP_TYPES``:

* ``inputs``: how many tensors it reads, activations first, then constants
  (a layer with weights reads ``[x, weight, bias]``);
* ``attributes``: the attributes every op of the type carries
  (``docs/int8_graph.md`` defines each);
* ``output_shape``: the type's own rules on its inputs and attributes,
  checked by ``Int8Graph.validate``; it returns the output shape those rules
  give, which the graph compares with the shape it records;
* ``run``: how the interpreter computes it, one call of a
  ``tinytorch.kernels.int8`` function on int8 NHWC batches;
* ``keeps_quantization``: whether its output keeps its input's scale and zero
  point, because it only selects, averages or moves values (pooling,
  reshape).  The graph holds such an op to it, and ``prepare.py`` puts no
  observer after it;
* ``clamps`` (read off ``attributes``): whether its output ends in the clamp
  ``[act_min, act_max]``, which ``capture.py`` lets a following ReLU become.

Why one table
-------------
Validation and the interpreter read the same entry, so a type the graph
accepts is a type the interpreter runs, with the attributes the validation
guaranteed; capture, prepare and convert read it too, rather than keeping
lists of their own.  The rules every op obeys whatever its type (tensors
exist, are written once, in order; the output clamp ``act_min <= act_max``)
are in ``graph.py``, read after this file; ``GraphError``, the error of every
broken rule, is defined here because the type rules below are the first to
raise it.

Adding an op type
-----------------
Each layer of the stack has its one place:

* deciding it (float side, per layer): ``capture.py`` recognises the module
  and records its attributes, ``prepare.py`` runs it in float,
  ``convert.py`` computes its integer parameters;
* describing and running it: its kernel in ``kernels/int8/``, its
  entry here, its row in ``docs/int8_graph.md``;
* emitting it in C: its entry in ``codegen/c_kernels.py`` and its C file in
  ``codegen/c/``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from tinytorch.kernels import int8
# The generated C holds sizes, strides and multipliers in int32: no value may exceed this.
from tinytorch.kernels.int8.requantize import INT32_MAX
from tinytorch.kernels.int8.softmax import (MAX_ROW_LENGTH, OUTPUT_SCALE, OUTPUT_ZERO_POINT,
                                            check_softmax_parameters)

if TYPE_CHECKING:
    from tinytorch.quant.graph import Int8Graph, Op, TensorInfo


class GraphError(ValueError):
    """An int8 graph (in memory or on disk) breaks the format's rules."""


def is_int(value: Any) -> bool:
    """An int, and not a bool: JSON's true would otherwise pass for 1 (bool subclasses int)."""
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Int8OpType:
    """What one op type reads, requires and computes (see the module essay)."""
    inputs: int
    attributes: tuple[str, ...]
    output_shape: Callable[[str, "Int8Graph", "Op"], tuple[int, ...]]  # (what, graph, op)
    run: Callable[..., np.ndarray]  # (graph, op, *activation arrays) -> the output array
    keeps_quantization: bool = False

    @property
    def clamps(self) -> bool:
        """Whether its output ends in the clamp ``[act_min, act_max]``, where a ReLU fuses."""
        return "act_min" in self.attributes


# ---- conv2d: convolution (grouped, depthwise); weight [out, kh, kw, in / groups] ---------
def _conv2d_shape(what: str, graph: "Int8Graph", op: "Op") -> tuple[int, ...]:
    x, a = graph.tensor(op.inputs[0]), op.attributes
    channels = _image(what, x)[3]
    stride = _pair(what, "stride", a["stride"])
    padding = _padding(what, a["padding"])
    weight, _ = _weight_and_bias(what, graph, op, 4)
    groups = a["groups"]
    if not (is_int(groups) and groups > 0 and channels % groups == 0
            and weight.shape[0] % groups == 0 and weight.shape[3] * groups == channels):
        raise GraphError(f"{what}: weight {list(weight.shape)} and groups={groups!r} do "
                         f"not fit {channels} input channels")
    _check_per_channel(what, a, weight.shape[0])
    dilation = _pair(what, "dilation", a["dilation"])
    kernel = ((weight.shape[1] - 1) * dilation[0] + 1, (weight.shape[2] - 1) * dilation[1] + 1)
    return _window_output(what, x, kernel, stride, padding, weight.shape[0])


def _run_conv2d(graph: "Int8Graph", op: "Op", x: np.ndarray) -> np.ndarray:
    a = op.attributes
    return int8.conv2d(x, graph.tensor(op.inputs[1]).data, graph.tensor(op.inputs[2]).data,
                       graph.tensor(op.inputs[0]).zero_point,
                       graph.tensor(op.outputs[0]).zero_point, np.array(a["multiplier"]),
                       np.array(a["shift"]), stride=tuple(a["stride"]),
                       padding=tuple(a["padding"]), dilation=tuple(a["dilation"]),
                       groups=a["groups"], act_min=a["act_min"], act_max=a["act_max"],
                       rounding=graph.rounding)


# ---- fully_connected: weight [out, in] ---------------------------------------------------
def _fully_connected_shape(what: str, graph: "Int8Graph", op: "Op") -> tuple[int, ...]:
    x = graph.tensor(op.inputs[0])
    weight, _ = _weight_and_bias(what, graph, op, 2)
    if len(x.shape) != 2 or weight.shape[1] != x.shape[1]:
        raise GraphError(f"{what}: input {list(x.shape)} does not match weight "
                         f"{list(weight.shape)} (expected input [1, {weight.shape[1]}])")
    _check_per_channel(what, op.attributes, weight.shape[0])
    return (1, weight.shape[0])


def _run_fully_connected(graph: "Int8Graph", op: "Op", x: np.ndarray) -> np.ndarray:
    a = op.attributes
    return int8.fully_connected(x, graph.tensor(op.inputs[1]).data,
                                graph.tensor(op.inputs[2]).data,
                                graph.tensor(op.inputs[0]).zero_point,
                                graph.tensor(op.outputs[0]).zero_point,
                                np.array(a["multiplier"]), np.array(a["shift"]),
                                act_min=a["act_min"], act_max=a["act_max"],
                                rounding=graph.rounding)


# ---- max_pool2d, avg_pool2d: a window over each channel ----------------------------------
def _pool_shape(what: str, graph: "Int8Graph", op: "Op") -> tuple[int, ...]:
    x, a = graph.tensor(op.inputs[0]), op.attributes
    channels = _image(what, x)[3]
    stride = _pair(what, "stride", a["stride"])
    padding = _padding(what, a["padding"])
    kernel = _pair(what, "kernel", a["kernel"])
    return _window_output(what, x, kernel, stride, padding, channels)


def _run_max_pool2d(graph: "Int8Graph", op: "Op", x: np.ndarray) -> np.ndarray:
    a = op.attributes
    return int8.max_pool2d(x, tuple(a["kernel"]), tuple(a["stride"]), tuple(a["padding"]),
                           act_min=a["act_min"], act_max=a["act_max"])


def _run_avg_pool2d(graph: "Int8Graph", op: "Op", x: np.ndarray) -> np.ndarray:
    a = op.attributes
    return int8.avg_pool2d(x, tuple(a["kernel"]), tuple(a["stride"]), tuple(a["padding"]),
                           act_min=a["act_min"], act_max=a["act_max"])


# ---- global_avg_pool2d: the mean of each channel -----------------------------------------
def _global_avg_pool2d_shape(what: str, graph: "Int8Graph", op: "Op") -> tuple[int, ...]:
    return (1, 1, 1, _image(what, graph.tensor(op.inputs[0]))[3])


def _run_global_avg_pool2d(graph: "Int8Graph", op: "Op", x: np.ndarray) -> np.ndarray:
    window = x.shape[1:3]  # average pooling with one window as large as the image
    return int8.avg_pool2d(x, window, window, 0, act_min=op.attributes["act_min"],
                           act_max=op.attributes["act_max"])


# ---- add: two activations of one shape, each with its own scale --------------------------
def _add_shape(what: str, graph: "Int8Graph", op: "Op") -> tuple[int, ...]:
    x, b, a = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), op.attributes
    if b.shape != x.shape or b.is_constant:
        raise GraphError(f"{what}: inputs must be activations of one shape, got "
                         f"{list(x.shape)} and {list(b.shape)}")
    # As kernels.int8.add requires: (q - zero_point) * 2^left_shift fits in int32, and
    # each rescale is a multiplier below one (shift <= 0), as TFLite's ADD computes them.
    if not (is_int(a["left_shift"]) and 0 <= a["left_shift"] <= 23):
        raise GraphError(f"{what}: left_shift must be an int in [0, 23], so that "
                         f"(q - zero_point) * 2^left_shift fits in int32, "
                         f"got {a['left_shift']!r}")
    for side in ("a", "b", "output"):
        _check_rescale(what, f"{side}_multiplier", a[f"{side}_multiplier"],
                       f"{side}_shift", a[f"{side}_shift"], highest_shift=0)
    return x.shape


def _run_add(graph: "Int8Graph", op: "Op", x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = op.attributes
    return int8.add(x, y, graph.tensor(op.inputs[0]).zero_point, a["a_multiplier"],
                    a["a_shift"], graph.tensor(op.inputs[1]).zero_point, a["b_multiplier"],
                    a["b_shift"], graph.tensor(op.outputs[0]).zero_point,
                    a["output_multiplier"], a["output_shift"], act_min=a["act_min"],
                    act_max=a["act_max"], left_shift=a["left_shift"], rounding=graph.rounding)


# ---- reshape: the same bytes under another shape (a flatten) -----------------------------
def _reshape_shape(what: str, graph: "Int8Graph", op: "Op") -> tuple[int, ...]:
    x, out = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    if out.size != x.size:
        raise GraphError(f"{what}: cannot reshape {list(x.shape)} ({x.size} values) to "
                         f"{list(out.shape)} ({out.size} values)")
    return out.shape


def _run_reshape(graph: "Int8Graph", op: "Op", x: np.ndarray) -> np.ndarray:
    return x.reshape((x.shape[0],) + graph.tensor(op.outputs[0]).shape[1:])


# ---- softmax: probabilities over the last axis, in units of 1/256 -----------------------
def _softmax_shape(what: str, graph: "Int8Graph", op: "Op") -> tuple[int, ...]:
    x, out, a = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0]), op.attributes
    # As kernels.int8.softmax requires: a row's exponentials must sum to less than 512.
    if x.shape[-1] > MAX_ROW_LENGTH:
        raise GraphError(f"{what}: the last axis of input {list(x.shape)} holds more than "
                         f"{MAX_ROW_LENGTH} values (TFLite's int8 softmax needs the sum of a "
                         f"row's exponentials below 512)")
    # TFLite's int8 softmax has one output quantization: a probability p is 256 * p - 128.
    if (out.scale, out.zero_point) != (OUTPUT_SCALE, OUTPUT_ZERO_POINT):
        raise GraphError(f"{what}: output {out.name!r} must have scale 1/256 and zero point "
                         f"-128, got ({out.scale}, {out.zero_point})")
    try:
        check_softmax_parameters(what, a["input_multiplier"], a["input_left_shift"],
                                 a["diff_min"], graph.rounding)
    except ValueError as error:
        raise GraphError(str(error)) from None
    return x.shape


def _run_softmax(graph: "Int8Graph", op: "Op", x: np.ndarray) -> np.ndarray:
    a = op.attributes
    return int8.softmax(x, a["input_multiplier"], a["input_left_shift"], a["diff_min"],
                        rounding=graph.rounding)


POOL_ATTRIBUTES = ("kernel", "stride", "padding", "act_min", "act_max")
OP_TYPES: dict[str, Int8OpType] = {
    "conv2d": Int8OpType(
        inputs=3, attributes=("stride", "padding", "dilation", "groups", "multiplier", "shift",
                              "act_min", "act_max"),
        output_shape=_conv2d_shape, run=_run_conv2d),
    "fully_connected": Int8OpType(
        inputs=3, attributes=("multiplier", "shift", "act_min", "act_max"),
        output_shape=_fully_connected_shape, run=_run_fully_connected),
    "max_pool2d": Int8OpType(inputs=1, attributes=POOL_ATTRIBUTES, output_shape=_pool_shape,
                             run=_run_max_pool2d, keeps_quantization=True),
    "avg_pool2d": Int8OpType(inputs=1, attributes=POOL_ATTRIBUTES, output_shape=_pool_shape,
                             run=_run_avg_pool2d, keeps_quantization=True),
    "global_avg_pool2d": Int8OpType(
        inputs=1, attributes=("act_min", "act_max"), output_shape=_global_avg_pool2d_shape,
        run=_run_global_avg_pool2d, keeps_quantization=True),
    "add": Int8OpType(
        inputs=2, attributes=("left_shift", "a_multiplier", "a_shift", "b_multiplier",
                              "b_shift", "output_multiplier", "output_shift", "act_min",
                              "act_max"),
        output_shape=_add_shape, run=_run_add),
    "reshape": Int8OpType(inputs=1, attributes=(), output_shape=_reshape_shape,
                          run=_run_reshape, keeps_quantization=True),
    "softmax": Int8OpType(inputs=1, attributes=("input_multiplier", "input_left_shift",
                                                "diff_min"),
                          output_shape=_softmax_shape, run=_run_softmax),
}


# ---- the rules shared by several types ---------------------------------------------------
def _image(what: str, x: "TensorInfo") -> tuple[int, ...]:
    if len(x.shape) != 4:
        raise GraphError(f"{what}: input {x.name!r} must be NHWC [1, H, W, C], "
                         f"got {list(x.shape)}")
    return x.shape


def _window_output(what: str, x: "TensorInfo", kernel: tuple[int, int],
                   stride: tuple[int, int], padding: tuple[int, int, int, int],
                   out_channels: int) -> tuple[int, ...]:
    """The output shape of a sliding window (convolution, pooling) over the image ``x``."""
    _, height, width, _ = x.shape
    top, bottom, left, right = padding
    # Padding reaches at most kernel - 1 beyond the edge (TFLite's SAME never more): a row
    # of padding alone would be wasted work, and a bound keeps the C's index arithmetic
    # (output index * stride - padding) far from int32's limits.
    if max(top, bottom) >= kernel[0] or max(left, right) >= kernel[1]:
        raise GraphError(f"{what}: padding {[top, bottom, left, right]} must be smaller than "
                         f"the window {list(kernel)} on each side")
    out_h = (height + top + bottom - kernel[0]) // stride[0] + 1
    out_w = (width + left + right - kernel[1]) // stride[1] + 1
    if out_h < 1 or out_w < 1:
        raise GraphError(f"{what}: window {kernel} does not fit input {list(x.shape)} "
                         f"with padding {[top, bottom, left, right]}")
    return (1, out_h, out_w, out_channels)


def _weight_and_bias(what: str, graph: "Int8Graph", op: "Op", ndim: int):
    weight, bias = graph.tensor(op.inputs[1]), graph.tensor(op.inputs[2])
    if not weight.is_constant or weight.dtype != "int8" or len(weight.shape) != ndim:
        raise GraphError(f"{what}: weight {weight.name!r} must be an int8 constant with "
                         f"{ndim} dimensions, got {weight.dtype} {list(weight.shape)}")
    if not bias.is_constant or bias.dtype != "int32" or bias.shape != (weight.shape[0],):
        raise GraphError(f"{what}: bias {bias.name!r} must be an int32 constant of shape "
                         f"[{weight.shape[0]}], got {bias.dtype} {list(bias.shape)}")
    return weight, bias


def _check_per_channel(what: str, a: dict[str, Any], channels: int) -> None:
    for key in ("multiplier", "shift"):
        if not isinstance(a[key], list) or len(a[key]) != channels:
            raise GraphError(f"{what}: {key} must be a list of {channels} ints (one per "
                             f"output channel), got {a[key]!r}")
    for multiplier, shift in zip(a["multiplier"], a["shift"]):
        _check_rescale(what, "multiplier", multiplier, "shift", shift, highest_shift=30)


def _check_rescale(what: str, multiplier_name: str, multiplier: Any, shift_name: str,
                   shift: Any, highest_shift: int) -> None:
    """One (multiplier, shift) pair, as ``kernels.int8.quantize_multiplier`` returns them."""
    if not (is_int(multiplier) and 0 <= multiplier <= INT32_MAX):
        raise GraphError(f"{what}: {multiplier_name} {multiplier!r} is not an int in "
                         f"[0, 2^31 - 1]")
    if not (is_int(shift) and -31 <= shift <= highest_shift):
        raise GraphError(f"{what}: {shift_name} {shift!r} is not an int in "
                         f"[-31, {highest_shift}]")


def _pair(what: str, key: str, value: Any) -> tuple[int, int]:
    """A graph file's ``[h, w]``.  Not the kernels' ``as_pair``: a file is untrusted input, so
    only a JSON list of bounded ints passes, and the error is the file's ``GraphError``."""
    if not (isinstance(value, list) and len(value) == 2
            and all(is_int(v) and 1 <= v <= INT32_MAX for v in value)):
        raise GraphError(f"{what}: {key} must be [h, w] of ints in [1, 2^31 - 1], "
                         f"got {value!r}")
    return value[0], value[1]


def _padding(what: str, value: Any) -> tuple[int, int, int, int]:
    if not (isinstance(value, list) and len(value) == 4
            and all(is_int(v) and 0 <= v <= INT32_MAX for v in value)):
        raise GraphError(f"{what}: padding must be [top, bottom, left, right] of ints in "
                         f"[0, 2^31 - 1], got {value!r}")
    return tuple(value)
