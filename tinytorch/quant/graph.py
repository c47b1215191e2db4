"""The int8 graph: what a quantized network *is*, independent of how it runs.

Quantization ends here.  A trained float model, once calibrated, folded and
rounded, becomes a small, explicit data structure: a list of integer
operations in execution order, the tensors they read and write (each with its
shape, scale and zero point), and the constant weights.  Nothing in it refers
back to Python modules or to float arithmetic; two programs read it:

* ``Int8Interpreter`` runs it on the ``tinytorch.kernels.int8`` kernels, the
  oracle for everything downstream;
* ``tinytorch.codegen`` turns it into C for a microcontroller, which must give
  the same bytes.

Because two programs depend on it, the graph is a *contract*, written down in
``docs/int8_graph.md`` and enforced by ``Int8Graph.validate``: every rule the
document states is checked here, and a violation raises ``GraphError`` naming
the op or tensor at fault.  A graph that passes validation can be run and
compiled without further checks.

On disk a graph is two files with one stem: ``name.json`` (the structure, for
people and diffs) and ``name.npz`` (the constants, one array per tensor, read
with ``allow_pickle=False``).  Both are written atomically.
"""
from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinytorch.serialization import write_atomically

FORMAT_NAME = "tinytorch-int8-graph"
FORMAT_VERSION = 1
ROUNDINGS = ("double", "single")
INPUT_LAYOUTS = ("NCHW", "NC")
INT32_MAX = 2**31 - 1

# Each op type's attributes; per-channel lists are checked against the output channels.
POOL_ATTRIBUTES = ("kernel", "stride", "padding", "act_min", "act_max")
OP_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "conv2d": ("stride", "padding", "dilation", "groups", "multiplier", "shift",
               "act_min", "act_max"),
    "fully_connected": ("multiplier", "shift", "act_min", "act_max"),
    "max_pool2d": POOL_ATTRIBUTES,
    "avg_pool2d": POOL_ATTRIBUTES,
    "global_avg_pool2d": ("act_min", "act_max"),
    "add": ("left_shift", "a_multiplier", "a_shift", "b_multiplier", "b_shift",
            "output_multiplier", "output_shift", "act_min", "act_max"),
    "reshape": (),
}
OP_INPUT_COUNTS = {"conv2d": 3, "fully_connected": 3, "add": 2}  # all others: 1


class GraphError(ValueError):
    """An int8 graph (in memory or on disk) breaks the format's rules."""


@dataclass
class TensorInfo:
    """One tensor: an int8 activation, or a constant (int8 weight, int32 bias).

    ``scale`` is a float for activations, one float per output channel for
    weights and biases.  ``data`` holds a constant's values, None otherwise.
    """
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | list[float]
    zero_point: int = 0
    data: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.shape = tuple(self.shape)  # JSON and callers may hand in lists

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass
class Op:
    """One integer operation: its type, a name from the float model, tensor names, attributes."""
    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Int8Graph:
    """A quantized network: ops in execution order over named tensors (see the module essay)."""
    name: str
    tensors: dict[str, TensorInfo]
    ops: list[Op]
    input: str
    output: str
    rounding: str = "double"
    input_layout: str = "NCHW"

    # ---- reading -------------------------------------------------------------------
    def tensor(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise GraphError(f"int8 graph {self.name!r}: no tensor named {name!r}") from None

    def __repr__(self) -> str:
        ops = ", ".join(f"{op.type}:{op.name}" for op in self.ops)
        return f"Int8Graph({self.name!r}, rounding={self.rounding!r}, ops=[{ops}])"

    # ---- checking ------------------------------------------------------------------
    def validate(self) -> "Int8Graph":
        """Check every rule of the format; raise GraphError naming the culprit.  Returns self."""
        where = f"int8 graph {self.name!r}"
        if self.rounding not in ROUNDINGS:
            raise GraphError(f"{where}: rounding must be one of {ROUNDINGS}, got {self.rounding!r}")
        if self.input_layout not in INPUT_LAYOUTS:
            raise GraphError(f"{where}: input_layout must be one of {INPUT_LAYOUTS}, "
                             f"got {self.input_layout!r}")
        for name, info in self.tensors.items():
            _check_tensor(where, name, info)
        graph_input = self.tensor(self.input)
        if graph_input.is_constant or graph_input.dtype != "int8":
            raise GraphError(f"{where}: input tensor {self.input!r} must be an int8 activation")
        if graph_input.shape[0] != 1:
            raise GraphError(f"{where}: input tensor {self.input!r} must have batch dimension 1, "
                             f"got shape {list(graph_input.shape)}")
        available = {self.input} | {n for n, t in self.tensors.items() if t.is_constant}
        for op in self.ops:
            for name in op.inputs:
                self.tensor(name)  # exists
                if name not in available:
                    raise GraphError(f"{where}: op {op.name!r} ({op.type}) reads tensor "
                                     f"{name!r} before any op writes it")
            for name in op.outputs:
                if self.tensor(name).is_constant or name in available:
                    raise GraphError(f"{where}: op {op.name!r} ({op.type}) writes tensor "
                                     f"{name!r}, which is a constant or already written")
                available.add(name)
            _check_op(self, op)
        if self.output not in available or self.tensor(self.output).is_constant:
            raise GraphError(f"{where}: output tensor {self.output!r} is not written by any op")
        unused = set(self.tensors) - available
        if unused:
            raise GraphError(f"{where}: tensors {sorted(unused)} are neither constants nor "
                             f"written by any op")
        return self

    # ---- files ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``<stem>.json`` and ``<stem>.npz`` (``path`` may name either, or the stem)."""
        self.validate()
        json_path, npz_path = graph_paths(path)
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        constants = {name: t.data for name, t in self.tensors.items() if t.is_constant}
        buffer = io.BytesIO()
        np.savez(buffer, **constants)
        structure = _readable_json(self.to_json()).encode("utf-8")
        # Constants first: a crash in between leaves the old JSON, which still loads
        # only if the constants it names still match (validated on load).
        write_atomically(npz_path, buffer.getvalue(), op="Int8Graph.save")
        write_atomically(json_path, structure + b"\n", op="Int8Graph.save")

    def to_json(self) -> dict[str, Any]:
        tensors = {}
        for name, t in self.tensors.items():
            entry = {"shape": list(t.shape), "dtype": t.dtype, "scale": t.scale,
                     "zero_point": t.zero_point}
            if t.is_constant:
                entry["constant"] = True
            tensors[name] = entry
        ops = [{"type": op.type, "name": op.name, "inputs": list(op.inputs),
                "outputs": list(op.outputs), "attributes": op.attributes} for op in self.ops]
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "name": self.name,
                "rounding": self.rounding, "input": self.input, "output": self.output,
                "input_layout": self.input_layout, "tensors": tensors, "ops": ops}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "Int8Graph":
        """Read and validate a graph written by ``save``; GraphError says what is wrong."""
        json_path, npz_path = graph_paths(path)
        try:
            with open(json_path, encoding="utf-8") as file:
                document = json.load(file)
        except (OSError, ValueError) as error:
            raise GraphError(f"int8 graph {json_path}: cannot read: {error}") from None
        try:
            with np.load(npz_path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError) as error:
            raise GraphError(f"int8 graph {npz_path}: cannot read constants: {error}") from None
        try:
            return cls.from_json(document, arrays).validate()
        except GraphError as error:
            raise GraphError(f"{json_path}: {error}") from None

    @classmethod
    def from_json(cls, document: Any, arrays: dict[str, np.ndarray]) -> "Int8Graph":
        if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
            raise GraphError(f"not an int8 graph (format must be {FORMAT_NAME!r})")
        if document.get("version") != FORMAT_VERSION:
            raise GraphError(f"format version {document.get('version')!r} is not supported "
                             f"(this TinyTorch reads version {FORMAT_VERSION})")
        try:
            tensors = {}
            for name, entry in document["tensors"].items():
                data = None
                if entry.get("constant", False):
                    if name not in arrays:
                        raise GraphError(f"constant tensor {name!r} is missing from the .npz")
                    data = arrays[name]
                tensors[name] = TensorInfo(name, tuple(entry["shape"]), entry["dtype"],
                                           entry["scale"], entry["zero_point"], data)
            ops = [Op(o["type"], o["name"], list(o["inputs"]), list(o["outputs"]),
                      dict(o.get("attributes", {}))) for o in document["ops"]]
            return cls(document["name"], tensors, ops, document["input"], document["output"],
                       document["rounding"], document.get("input_layout", "NCHW"))
        except (KeyError, TypeError, AttributeError) as error:
            raise GraphError(f"malformed graph document: missing or wrong field {error}") from None


def graph_paths(path: str | os.PathLike[str]) -> tuple[str, str]:
    """(json path, npz path) for a graph named by either file or by its stem."""
    stem = os.fspath(path)
    for extension in (".json", ".npz"):
        if stem.endswith(extension):
            stem = stem[: -len(extension)]
    return stem + ".json", stem + ".npz"


def _readable_json(document: dict[str, Any]) -> str:
    """Indented JSON with every list of plain values on one line (shapes, multipliers)."""
    text = json.dumps(document, indent=1)
    # JSON strings cannot hold a raw newline, so newlines inside a flat list are layout.
    return re.sub(r"\[\s*\n([^\[\]{}]*?)\n\s*\]",
                  lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1).strip()) + "]", text)


# ---- the rules, one function per kind of thing ----------------------------------------
def _check_tensor(where: str, name: str, t: TensorInfo) -> None:
    what = f"{where}: tensor {name!r}"
    if not (isinstance(t.shape, tuple) and t.shape and
            all(isinstance(d, int) and d > 0 for d in t.shape)):
        raise GraphError(f"{what}: shape must be a non-empty list of positive ints, "
                         f"got {t.shape!r}")
    if not isinstance(t.zero_point, int) or not -128 <= t.zero_point <= 127:
        raise GraphError(f"{what}: zero_point must be an int in [-128, 127], got {t.zero_point!r}")
    if t.is_constant:
        if t.dtype not in ("int8", "int32"):
            raise GraphError(f"{what}: constant dtype must be int8 or int32, got {t.dtype!r}")
        if t.data.dtype != np.dtype(t.dtype):
            raise GraphError(f"{what}: data has dtype {t.data.dtype}, the graph says {t.dtype}")
        if tuple(t.data.shape) != t.shape:
            raise GraphError(f"{what}: data has shape {list(t.data.shape)}, "
                             f"the graph says {list(t.shape)}")
        if t.dtype == "int8" and (t.zero_point != 0 or t.data.min(initial=0) < -127):
            raise GraphError(f"{what}: int8 weights must be symmetric: zero point 0, "
                             f"values in [-127, 127]")
        scales = t.scale if isinstance(t.scale, list) else [t.scale]
    else:
        if t.dtype != "int8":
            raise GraphError(f"{what}: activations must be int8, got dtype {t.dtype!r}")
        if isinstance(t.scale, list):
            raise GraphError(f"{what}: activations have one scale, got a list")
        scales = [t.scale]
    if not all(isinstance(s, (int, float)) and np.isfinite(s) and s > 0 for s in scales):
        raise GraphError(f"{what}: scales must be finite positive numbers, got {t.scale!r}")


def _check_op(graph: Int8Graph, op: Op) -> None:
    what = f"int8 graph {graph.name!r}: op {op.name!r} ({op.type})"
    if op.type not in OP_ATTRIBUTES:
        raise GraphError(f"{what}: unknown op type; supported: {sorted(OP_ATTRIBUTES)}")
    expected_inputs = OP_INPUT_COUNTS.get(op.type, 1)
    if len(op.inputs) != expected_inputs or len(op.outputs) != 1:
        raise GraphError(f"{what}: takes {expected_inputs} inputs and 1 output, got "
                         f"{len(op.inputs)} inputs {op.inputs} and outputs {op.outputs}")
    missing = [a for a in OP_ATTRIBUTES[op.type] if a not in op.attributes]
    if missing:
        raise GraphError(f"{what}: missing attributes {missing}")
    a = op.attributes
    x = graph.tensor(op.inputs[0])
    out = graph.tensor(op.outputs[0])
    if x.is_constant:
        raise GraphError(f"{what}: its first input {x.name!r} must be an activation")
    if "act_min" in a:
        if not (isinstance(a["act_min"], int) and isinstance(a["act_max"], int)
                and -128 <= a["act_min"] <= a["act_max"] <= 127):
            raise GraphError(f"{what}: need -128 <= act_min <= act_max <= 127, "
                             f"got {a['act_min']!r}, {a['act_max']!r}")
    shape = _output_shape(what, graph, op, x, a)
    if tuple(shape) != out.shape:
        raise GraphError(f"{what}: output {out.name!r} should have shape {list(shape)}, "
                         f"the graph says {list(out.shape)}")
    if op.type in ("max_pool2d", "avg_pool2d", "global_avg_pool2d", "reshape"):
        if (out.scale, out.zero_point) != (x.scale, x.zero_point):
            raise GraphError(f"{what}: output {out.name!r} must keep the input's scale and "
                             f"zero point ({x.scale}, {x.zero_point}), got "
                             f"({out.scale}, {out.zero_point})")


def _output_shape(what: str, graph: Int8Graph, op: Op, x: TensorInfo,
                  a: dict[str, Any]) -> tuple[int, ...]:
    """The output shape the op's rules give, after checking its inputs' shapes."""
    if op.type == "reshape":
        out = graph.tensor(op.outputs[0])
        if out.size != x.size:
            raise GraphError(f"{what}: cannot reshape {list(x.shape)} ({x.size} values) to "
                             f"{list(out.shape)} ({out.size} values)")
        return out.shape
    if op.type == "add":
        b = graph.tensor(op.inputs[1])
        if b.shape != x.shape or b.is_constant:
            raise GraphError(f"{what}: inputs must be activations of one shape, got "
                             f"{list(x.shape)} and {list(b.shape)}")
        _check_multipliers(what, [a["a_multiplier"], a["b_multiplier"], a["output_multiplier"]],
                           [a["a_shift"], a["b_shift"], a["output_shift"]])
        return x.shape
    if op.type == "fully_connected":
        weight, bias = _weight_and_bias(what, graph, op, 2)
        if len(x.shape) != 2 or weight.shape[1] != x.shape[1]:
            raise GraphError(f"{what}: input {list(x.shape)} does not match weight "
                             f"{list(weight.shape)} (expected input [1, {weight.shape[1]}])")
        _check_per_channel(what, a, weight.shape[0])
        return (1, weight.shape[0])
    if len(x.shape) != 4:
        raise GraphError(f"{what}: input {x.name!r} must be NHWC [1, H, W, C], "
                         f"got {list(x.shape)}")
    _, height, width, channels = x.shape
    if op.type == "global_avg_pool2d":
        return (1, 1, 1, channels)
    stride = _pair(what, "stride", a["stride"])
    top, bottom, left, right = _padding(what, a["padding"])
    if op.type == "conv2d":
        weight, bias = _weight_and_bias(what, graph, op, 4)
        groups = a["groups"]
        if not (isinstance(groups, int) and groups > 0 and channels % groups == 0
                and weight.shape[0] % groups == 0 and weight.shape[3] * groups == channels):
            raise GraphError(f"{what}: weight {list(weight.shape)} and groups={groups!r} do "
                             f"not fit {channels} input channels")
        _check_per_channel(what, a, weight.shape[0])
        dilation = _pair(what, "dilation", a["dilation"])
        kernel = ((weight.shape[1] - 1) * dilation[0] + 1, (weight.shape[2] - 1) * dilation[1] + 1)
        out_channels = weight.shape[0]
    else:
        kernel = _pair(what, "kernel", a["kernel"])
        out_channels = channels
    out_h = (height + top + bottom - kernel[0]) // stride[0] + 1
    out_w = (width + left + right - kernel[1]) // stride[1] + 1
    if out_h < 1 or out_w < 1:
        raise GraphError(f"{what}: window {kernel} does not fit input {list(x.shape)} "
                         f"with padding {[top, bottom, left, right]}")
    return (1, out_h, out_w, out_channels)


def _weight_and_bias(what: str, graph: Int8Graph, op: Op, ndim: int):
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
    _check_multipliers(what, a["multiplier"], a["shift"])


def _check_multipliers(what: str, multipliers: list, shifts: list) -> None:
    for m, s in zip(multipliers, shifts):
        if not (isinstance(m, int) and 0 <= m <= INT32_MAX):
            raise GraphError(f"{what}: multiplier {m!r} is not an int in [0, 2^31 - 1]")
        if not (isinstance(s, int) and -31 <= s <= 30):
            raise GraphError(f"{what}: shift {s!r} is not an int in [-31, 30]")


def _pair(what: str, key: str, value: Any) -> tuple[int, int]:
    if not (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and v > 0 for v in value)):
        raise GraphError(f"{what}: {key} must be [h, w] of positive ints, got {value!r}")
    return value[0], value[1]


def _padding(what: str, value: Any) -> tuple[int, int, int, int]:
    if not (isinstance(value, list) and len(value) == 4
            and all(isinstance(v, int) and v >= 0 for v in value)):
        raise GraphError(f"{what}: padding must be [top, bottom, left, right] of ints >= 0, "
                         f"got {value!r}")
    return tuple(value)
