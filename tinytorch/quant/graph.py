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
the op or tensor at fault.  The rules of each op type (its inputs, attributes
and shapes) are that type's entry in ``int8_ops.py``, a chapter read before
this one, which also defines ``GraphError`` (importable from here too); the
rules every tensor and every op obeys are here.  A graph that passes
validation can be run and compiled without further checks.

On disk a graph is two files with one stem: ``name.json`` (the structure, for
people and diffs) and ``name.npz`` (the constants, one array per tensor, read
with ``allow_pickle=False``).  Each is written atomically, but no file system
replaces two files at once: a crash between the two writes, or one file copied
without the other, pairs a structure with constants it was not saved with, and
when only the weights differ every shape still matches, so nothing else would
notice.  Hence the .json records the sha256 of the .npz's bytes
(``constants_sha256``).  ``save`` writes the .npz first and the .json last;
``load`` reads the .npz once, compares its hash *before* parsing it, and refuses
a pair that does not belong together with a GraphError naming both files.

A graph file may also be damaged or written by someone hostile, so ``load``
treats both files as untrusted input.  Whatever goes wrong (a truncated zip, a
JSON nested 100 000 deep, ``true`` where an int belongs: Python's bool *is* an
int, so every int check says ``is_int``; a dimension too large for the C's
int32 fields) ends in a GraphError naming the file and the value at fault,
never in an exception of another kind.  ``tests/quant/test_graph_fuzz.py``
damages saved graphs at random to hold the format to that.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinytorch.quant.int8_ops import INT32_MAX, OP_TYPES, GraphError, is_int
from tinytorch.serialization import write_atomically

FORMAT_NAME = "tinytorch-int8-graph"
FORMAT_VERSION = 2  # 2: the .json records the sha256 of its .npz (constants_sha256)
ROUNDINGS = ("double", "single")
INPUT_LAYOUTS = ("NCHW", "NHWC", "NC")

# What np.load raises on a damaged or hostile .npz.  NumPy documents no such list;
# these were met by cutting and corrupting files (see the tests).
NPZ_READ_ERRORS = (
    zipfile.BadZipFile,   # no zip directory at the end, or a CRC that does not match
    EOFError,             # an empty file, or a member cut short
    ValueError,           # a bad .npy header; an object array, refused by allow_pickle=False
    OSError, KeyError,    # a seek past the end; a member the directory names but lacks
    zlib.error,           # broken compressed data
    NotImplementedError,  # a compression method zipfile does not know
    RuntimeError,         # a member flagged as encrypted
    MemoryError,          # a .npy header claiming more values than memory holds
)


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
        if isinstance(self.shape, list):  # JSON and callers may hand in lists
            self.shape = tuple(self.shape)  # anything else is left for validate to refuse

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
        for key in ("name", "input", "output"):
            if not isinstance(getattr(self, key), str):
                raise GraphError(f"{where}: the graph's {key} must be a string, "
                                 f"got {getattr(self, key)!r}")
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
        for index, op in enumerate(self.ops):
            _check_op_fields(where, index, op)
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
        # np.savez stores (no compression) with fixed timestamps, so the same constants
        # give the same bytes: saving an unchanged graph again leaves its hash unchanged.
        buffer = io.BytesIO()
        np.savez(buffer, **constants)
        constants_bytes = buffer.getvalue()
        document = self.to_json()
        document["constants_sha256"] = hashlib.sha256(constants_bytes).hexdigest()
        structure = _readable_json(document).encode("utf-8")
        # Constants first, structure last: a crash in between leaves the old .json, whose
        # hash does not match the new .npz, so load refuses the pair (see the module essay).
        write_atomically(npz_path, constants_bytes, op="Int8Graph.save")
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
        except RecursionError:  # the parser recurses once per [ or {
            raise GraphError(f"int8 graph {json_path}: cannot read: nested too deeply") from None
        try:
            _check_format(document)
            recorded = document.get("constants_sha256")
            if not (isinstance(recorded, str) and re.fullmatch("[0-9a-f]{64}", recorded)):
                raise GraphError(f"constants_sha256 must be the sha256 of the .npz, 64 hex "
                                 f"digits, got {recorded!r}")
        except GraphError as error:
            raise GraphError(f"{json_path}: {error}") from None
        try:
            with open(npz_path, "rb") as file:
                constants_bytes = file.read()  # read once: the bytes hashed are the bytes parsed
        except OSError as error:
            raise GraphError(f"int8 graph {npz_path}: cannot read constants: {error}") from None
        # Before parsing: constants from another save are a wrong pair, not a damaged file.
        actual = hashlib.sha256(constants_bytes).hexdigest()
        if actual != recorded:
            raise GraphError(f"int8 graph {json_path} and {npz_path} do not belong together: "
                             f"the .json was saved with constants of sha256 {recorded[:16]}..., "
                             f"the .npz holds {actual[:16]}... (a save interrupted between "
                             f"the two files, or files from two different saves)")
        arrays = _read_constants(npz_path, constants_bytes)
        try:
            return cls.from_json(document, arrays).validate()
        except GraphError as error:
            raise GraphError(f"{json_path}: {error}") from None

    @classmethod
    def from_json(cls, document: Any, arrays: dict[str, np.ndarray]) -> "Int8Graph":
        """The graph a parsed .json describes, constants taken from ``arrays``; not validated.

        Only the containers are checked here, so that their contents can be found;
        the values are kept as they are, for ``validate`` to judge and name.
        """
        _check_format(document)
        missing = [key for key in ("name", "rounding", "input", "output", "tensors", "ops")
                   if key not in document]
        if missing:
            raise GraphError(f"the document lacks the fields {missing}")
        if not isinstance(document["tensors"], dict):
            raise GraphError(f"tensors must be a JSON object (name: tensor), "
                             f"got {type(document['tensors']).__name__}")
        if not isinstance(document["ops"], list):
            raise GraphError(f"ops must be a list, got {type(document['ops']).__name__}")
        tensors = {name: _tensor_from_json(name, entry, arrays)
                   for name, entry in document["tensors"].items()}
        ops = [_op_from_json(index, entry) for index, entry in enumerate(document["ops"])]
        return cls(document["name"], tensors, ops, document["input"], document["output"],
                   document["rounding"], document.get("input_layout", "NCHW"))


# ---- reading files -----------------------------------------------------------------------
def _check_format(document: Any) -> None:
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise GraphError(f"not an int8 graph (format must be {FORMAT_NAME!r})")
    version = document.get("version")
    if not (is_int(version) and version == FORMAT_VERSION):
        raise GraphError(f"format version {version!r} is not supported "
                         f"(this TinyTorch reads version {FORMAT_VERSION})")


def _read_constants(npz_path: str, constants_bytes: bytes) -> dict[str, np.ndarray]:
    """The arrays in an .npz's bytes; damage of any kind is a GraphError naming the file."""
    cannot_read = f"int8 graph {npz_path}: cannot read constants"
    try:
        # np.savez stores its members uncompressed; a compressed one could inflate to any
        # size (a zip bomb), so it is refused before anything is decompressed.
        with zipfile.ZipFile(io.BytesIO(constants_bytes)) as archive:
            packed = [i.filename for i in archive.infolist()
                      if i.compress_type != zipfile.ZIP_STORED]
        if packed:
            raise ValueError(f"compressed members {packed[:3]} (TinyTorch stores them "
                             f"uncompressed)")
        loaded = np.load(io.BytesIO(constants_bytes), allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):  # np.load also reads a lone .npy
            raise ValueError("it holds a single .npy array, not an .npz archive")
        with loaded as archive:
            arrays = {name: archive[name] for name in archive.files}
    except NPZ_READ_ERRORS as error:
        raise GraphError(f"{cannot_read}: {error}") from None
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):  # np.load returns other members as raw bytes
            raise GraphError(f"{cannot_read}: member {name!r} is not a .npy array")
    return arrays


def _tensor_from_json(name: str, entry: Any, arrays: dict[str, np.ndarray]) -> TensorInfo:
    if not isinstance(entry, dict):
        raise GraphError(f"tensor {name!r} must be a JSON object, got {entry!r}")
    missing = [key for key in ("shape", "dtype", "scale", "zero_point") if key not in entry]
    if missing:
        raise GraphError(f"tensor {name!r}: missing fields {missing}")
    constant = entry.get("constant", False)
    if not isinstance(constant, bool):
        raise GraphError(f"tensor {name!r}: constant must be true or false, got {constant!r}")
    data = None
    if constant:
        if name not in arrays:
            raise GraphError(f"constant tensor {name!r} is missing from the .npz")
        data = arrays[name]
    return TensorInfo(name, entry["shape"], entry["dtype"], _copied(entry["scale"]),
                      entry["zero_point"], data)


def _op_from_json(index: int, entry: Any) -> Op:
    if not isinstance(entry, dict):
        raise GraphError(f"op #{index} must be a JSON object, got {entry!r}")
    missing = [key for key in ("type", "name", "inputs", "outputs") if key not in entry]
    if missing:
        raise GraphError(f"op #{index}: missing fields {missing}")
    return Op(entry["type"], entry["name"], _copied(entry["inputs"]), _copied(entry["outputs"]),
              _copied(entry.get("attributes", {})))


def _copied(value: Any) -> Any:
    """A shallow copy of a list or dict, so that editing the graph does not edit the
    document it came from; any other value as it is, for validate to judge."""
    if isinstance(value, list):
        return list(value)
    return dict(value) if isinstance(value, dict) else value


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
def _is_real(value: Any) -> bool:
    return isinstance(value, float) or is_int(value)


def _check_tensor(where: str, name: str, t: TensorInfo) -> None:
    what = f"{where}: tensor {name!r}"
    if not isinstance(name, str):
        raise GraphError(f"{where}: tensor names must be strings, got {name!r}")
    if not (isinstance(t.shape, tuple) and t.shape and
            all(is_int(d) and 1 <= d <= INT32_MAX for d in t.shape)):
        raise GraphError(f"{what}: shape must be a non-empty list of ints in [1, 2^31 - 1], "
                         f"got {t.shape!r}")
    values = math.prod(t.shape)
    if values > INT32_MAX:
        raise GraphError(f"{what}: shape {list(t.shape)} holds {values} values, more than a "
                         f"C int32 can count (2^31 - 1)")
    if not (is_int(t.zero_point) and -128 <= t.zero_point <= 127):
        raise GraphError(f"{what}: zero_point must be an int in [-128, 127], got {t.zero_point!r}")
    if t.is_constant:
        if t.dtype not in ("int8", "int32"):
            raise GraphError(f"{what}: constant dtype must be int8 or int32, got {t.dtype!r}")
        if not isinstance(t.data, np.ndarray):
            raise GraphError(f"{what}: data must be a numpy array, got {type(t.data).__name__}")
        if t.data.dtype != np.dtype(t.dtype):
            raise GraphError(f"{what}: data has dtype {t.data.dtype}, the graph says {t.dtype}")
        if tuple(t.data.shape) != t.shape:
            raise GraphError(f"{what}: data has shape {list(t.data.shape)}, "
                             f"the graph says {list(t.shape)}")
        if t.dtype == "int8" and (t.zero_point != 0 or t.data.min(initial=0) < -127):
            raise GraphError(f"{what}: int8 weights must be symmetric: zero point 0, "
                             f"values in [-127, 127]")
        # Weights and biases: a scale per output channel (shape[0]); a short list would
        # leave the last channels without one.
        if not (isinstance(t.scale, list) and len(t.scale) == t.shape[0]):
            raise GraphError(f"{what}: a constant has one scale per output channel: a list of "
                             f"{t.shape[0]} numbers, got {t.scale!r}")
        scales = t.scale
    else:
        if t.dtype != "int8":
            raise GraphError(f"{what}: activations must be int8, got dtype {t.dtype!r}")
        if isinstance(t.scale, list):
            raise GraphError(f"{what}: activations have one scale, got a list")
        scales = [t.scale]
    # NaN fails both comparisons; so does a JSON integer too large for any float (10**400).
    if not all(_is_real(s) and 0 < s <= sys.float_info.max for s in scales):
        raise GraphError(f"{what}: scales must be finite positive numbers, got {t.scale!r}")


def _check_op_fields(where: str, index: int, op: Op) -> None:
    """The types the rules rely on: names to look tensors up by, a dict of attributes."""
    if not isinstance(op.name, str):
        raise GraphError(f"{where}: op #{index}: name must be a string, got {op.name!r}")
    if not isinstance(op.type, str):
        raise GraphError(f"{where}: op {op.name!r}: type must be a string, got {op.type!r}")
    what = f"{where}: op {op.name!r} ({op.type})"
    for key in ("inputs", "outputs"):
        names = getattr(op, key)
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise GraphError(f"{what}: {key} must be a list of tensor names, got {names!r}")
    if not isinstance(op.attributes, dict):
        raise GraphError(f"{what}: attributes must be a JSON object (name: value), "
                         f"got {op.attributes!r}")


def _check_op(graph: Int8Graph, op: Op) -> None:
    """The rules of every op, then those of its type (``int8_ops.OP_TYPES``)."""
    what = f"int8 graph {graph.name!r}: op {op.name!r} ({op.type})"
    if op.type not in OP_TYPES:
        raise GraphError(f"{what}: unknown op type; supported: {sorted(OP_TYPES)}")
    op_type = OP_TYPES[op.type]
    if len(op.inputs) != op_type.inputs or len(op.outputs) != 1:
        raise GraphError(f"{what}: takes {op_type.inputs} inputs and 1 output, got "
                         f"{len(op.inputs)} inputs {op.inputs} and outputs {op.outputs}")
    missing = [a for a in op_type.attributes if a not in op.attributes]
    if missing:
        raise GraphError(f"{what}: missing attributes {missing}")
    a = op.attributes
    x = graph.tensor(op.inputs[0])
    out = graph.tensor(op.outputs[0])
    if x.is_constant:
        raise GraphError(f"{what}: its first input {x.name!r} must be an activation")
    if "act_min" in a:
        if not (is_int(a["act_min"]) and is_int(a["act_max"])
                and -128 <= a["act_min"] <= a["act_max"] <= 127):
            raise GraphError(f"{what}: need -128 <= act_min <= act_max <= 127, "
                             f"got {a['act_min']!r}, {a['act_max']!r}")
    shape = op_type.output_shape(what, graph, op)
    if tuple(shape) != out.shape:
        raise GraphError(f"{what}: output {out.name!r} should have shape {list(shape)}, "
                         f"the graph says {list(out.shape)}")
    if op_type.keeps_quantization:
        if (out.scale, out.zero_point) != (x.scale, x.zero_point):
            raise GraphError(f"{what}: output {out.name!r} must keep the input's scale and "
                             f"zero point ({x.scale}, {x.zero_point}), got "
                             f"({out.scale}, {out.zero_point})")
