"""Saving and loading checkpoints: ``tinytorch.save(obj, path)``, ``tinytorch.load(path)``.

A checkpoint is whatever a training script needs to resume: a model's
``state_dict()``, an optimizer's state, the epoch number, some metrics, all
nested in dicts and lists.  Two things make writing one harder than it looks.

*Loading must never run code.*  Python's pickle (which PyTorch's format
builds on) can call any function while loading, so opening a checkpoint from
the internet can run a program.  TinyTorch's format holds only data: a numpy
``.npz`` archive (a zip file of ``.npy`` arrays) read with
``allow_pickle=False``, always.  The nested structure goes into a JSON
*manifest*, stored in the archive as one more array (of UTF-8 bytes):

    {"format": "tinytorch.save", "version": 1,
     "root": {"type": "dict", "items": [
        [{"type": "str", "value": "epoch"}, {"type": "int", "value": 3}],
        [{"type": "str", "value": "weight"},
         {"type": "tensor", "array": "array_0", "dtype": "float32", "shape": [4, 2]}]]}}

Every value is a tagged node, so what comes back has the type that went in:
an int key stays an int (JSON alone would turn it into a string, and an
optimizer's ``{"state": {0: ...}}`` would no longer match its parameters), a
tuple stays a tuple, a Tensor comes back as a Tensor (without
``requires_grad``, as in PyTorch) and a numpy array as an array.  An array
that appears twice (a weight shared by two layers) is stored once and comes
back shared.  Anything else is refused at save time, with the path to it.

*A crash must not destroy the last good checkpoint.*  Saving writes a
temporary file in the same directory, flushes it to disk (``fsync``), and
then renames it over the destination with ``os.replace``, which the operating
system performs atomically: a reader sees the old file or the new one, never
half of one.  If anything fails, the temporary file is removed and the old
checkpoint is untouched.  The new file keeps the old one's permission bits,
and a target that ``open(path, "w")`` could not write (a read-only file, a
directory we may not create files in) is refused with ``PermissionError``
before anything is written: a rename would otherwise replace a read-only file.

Loading checks everything before returning anything, and every problem (a
missing, truncated or corrupt file, an archive that is not a TinyTorch
checkpoint, a manifest that names a missing array, a format version newer than
this code) is a ``CheckpointError`` that names the file and what is wrong.
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import secrets
import stat
from typing import Any, BinaryIO, Union

import numpy as np

from tinytorch.tensor import Tensor

FORMAT_NAME = "tinytorch.save"
FORMAT_VERSION = 1
MANIFEST_ENTRY = "__tinytorch_manifest__"
SAVABLE_DTYPE_KINDS = "biufc"  # bool, integers, floats, complex: no objects, no strings

FileLike = Union[str, "os.PathLike[str]", BinaryIO]


class CheckpointError(RuntimeError):
    """A file that ``tinytorch.load`` cannot read as a TinyTorch checkpoint."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist (also a ``FileNotFoundError``)."""


# ----- saving: object -> (manifest, arrays) ------------------------------------------
class _Encoder:
    """Turns a nested object into JSON-ready nodes, collecting its arrays on the way."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._entry_by_array_id: dict[int, str] = {}
        self._open_containers: set[int] = set()

    def encode(self, obj: Any, path: str) -> dict[str, Any]:
        # Order matters: True is an int in Python, and np.float64 is a float, yet each
        # must come back as the type it was.
        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):
            return {"type": "bool", "value": obj}
        if isinstance(obj, str):
            return {"type": "str", "value": str(obj)}
        if isinstance(obj, np.generic):
            return self._array_node("numpy_scalar", np.asarray(obj), path)
        if isinstance(obj, int):
            return {"type": "int", "value": int(obj)}
        if isinstance(obj, float):
            return {"type": "float", "value": float(obj)}  # json writes NaN/Infinity too
        if isinstance(obj, Tensor):
            return self._array_node("tensor", obj.array, path)
        if isinstance(obj, np.ndarray):
            return self._array_node("ndarray", obj, path)
        if isinstance(obj, (dict, list, tuple)):
            return self._container_node(obj, path)
        raise TypeError(f"tinytorch.save: cannot save {path} of type {type(obj).__name__}; "
                        "supported: dict, list, tuple, Tensor, numpy array, int, float, bool, "
                        "str, None")

    def _array_node(self, kind: str, array: np.ndarray, path: str) -> dict[str, Any]:
        if array.dtype.kind not in SAVABLE_DTYPE_KINDS:
            raise TypeError(f"tinytorch.save: cannot save {path}: arrays of dtype {array.dtype} "
                            "are not supported (only bool, integer, float and complex)")
        entry = self._entry_by_array_id.get(id(array))
        if entry is None:  # first time this array is seen: store it
            entry = f"array_{len(self.arrays)}"
            self.arrays[entry] = array  # keeps it alive, so its id stays unique
            self._entry_by_array_id[id(array)] = entry
        return {"type": kind, "array": entry, "dtype": array.dtype.str,
                "shape": list(array.shape)}

    def _container_node(self, obj: Any, path: str) -> dict[str, Any]:
        if id(obj) in self._open_containers:
            raise ValueError(f"tinytorch.save: cannot save {path}: it contains itself "
                             "(a reference cycle)")
        self._open_containers.add(id(obj))
        try:
            if isinstance(obj, dict):
                items = []
                for key, value in obj.items():
                    if not isinstance(key, (str, int)) or isinstance(key, bool):
                        raise TypeError(f"tinytorch.save: cannot save {path}: dict keys must be "
                                        f"str or int, got key {key!r} of type "
                                        f"{type(key).__name__}")
                    items.append([self.encode(key, path), self.encode(value, f"{path}[{key!r}]")])
                return {"type": "dict", "items": items}
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"type": kind,
                    "items": [self.encode(value, f"{path}[{i}]") for i, value in enumerate(obj)]}
        finally:
            self._open_containers.discard(id(obj))


def _archive_bytes(obj: Any) -> bytes:
    """The complete checkpoint file, built in memory (so a bad object writes nothing)."""
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root}
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode("utf-8")
    buffer = io.BytesIO()
    # Written through a file object: given a path, numpy would append ".npz" to it.
    np.savez(buffer, **{MANIFEST_ENTRY: np.frombuffer(manifest_bytes, dtype=np.uint8)},
             **encoder.arrays)
    return buffer.getvalue()


def write_atomically(path: str, payload: bytes, op: str = "tinytorch.save") -> None:
    """Replace ``path`` by a file holding ``payload``, all at once or not at all.

    ``op`` names the caller in the errors (a missing directory, no permission).
    """
    # Through a symbolic link to the real file, so the link survives the rename.
    target = os.path.realpath(path)
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{op}: cannot write {path!r}: directory "
                                f"{directory!r} does not exist")
    existing = _check_writable(path, target, directory, op)
    while True:
        temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            # 0o666 filtered by the umask: the same permissions a plain open() gives.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(descriptor, "wb") as file:
            if existing is not None:
                # The new file takes the old one's place, so it takes its permissions (and,
                # where allowed, its owner) too, before any byte is written.
                os.chmod(temporary, stat.S_IMODE(existing.st_mode))
                if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):
                        os.chown(temporary, existing.st_uid, existing.st_gid)
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it visible
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _sync_directory(directory)


def _check_writable(path: str, target: str, directory: str, op: str) -> os.stat_result | None:
    """Refuse, before writing anything, what ``open(path, "w")`` would refuse.

    Renaming a new file over the old one needs permission on the *directory*
    only, so without this check a read-only checkpoint would be replaced
    without a word.  The operating system decides, as it does for ``open``:
    ``os.access`` asks it with the process's effective ids (so root, which
    may write any file, may also replace a read-only one).  Returns the
    existing file's status, or None when there is no file yet.
    """
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise IsADirectoryError(errno.EISDIR, f"{op}: cannot write a checkpoint over a "
                                "directory", path)
    effective = os.access in os.supports_effective_ids
    if existing is not None and not os.access(target, os.W_OK, effective_ids=effective):
        raise PermissionError(errno.EACCES, f"{op}: permission denied: the file is "
                              "read-only for this user, so it is left as it is", path)
    if not os.access(directory, os.W_OK | os.X_OK, effective_ids=effective):
        raise PermissionError(errno.EACCES, f"{op}: permission denied: cannot create files "
                              f"in directory {directory!r}", path)
    return existing


def _sync_directory(directory: str) -> None:
    """Make a rename in ``directory`` survive a power cut (POSIX; a no-op elsewhere)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` (nested dicts/lists/tuples of Tensors, arrays and plain values) to ``f``.

    ``f`` is a path, written atomically (the name is used exactly as given;
    no extension is added), or a binary file object.
    """
    payload = _archive_bytes(obj)
    if hasattr(f, "write"):
        f.write(payload)  # a file object: the caller owns it, and its atomicity
        return
    write_atomically(os.fspath(f), payload)


# ----- loading: (manifest, arrays) -> object ---------------------------------------
class _Decoder:
    """Rebuilds the object from manifest nodes, checking each one."""

    def __init__(self, arrays: dict[str, np.ndarray], source: str) -> None:
        self.arrays = arrays
        self.source = source
        self._tensor_by_entry: dict[str, Tensor] = {}

    def fail(self, problem: str) -> CheckpointError:
        return CheckpointError(f"tinytorch.load: {self.source}: {problem}")

    def decode(self, node: Any, path: str) -> Any:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            raise self.fail(f"manifest entry for {path} is malformed: {node!r:.80}")
        kind = node["type"]
        if kind == "none":
            return None
        if kind in ("bool", "int", "float", "str"):
            return self._plain_value(kind, node, path)
        if kind in ("tensor", "ndarray", "numpy_scalar"):
            array = self._array(node, path)
            if kind == "tensor":
                entry = node["array"]
                if entry not in self._tensor_by_entry:  # one Tensor per stored array
                    self._tensor_by_entry[entry] = Tensor._wrap(array, False)
                return self._tensor_by_entry[entry]
            return array if kind == "ndarray" else array[()]
        if kind in ("list", "tuple"):
            items = node.get("items")
            if not isinstance(items, list):
                raise self.fail(f"manifest entry for {path} has no item list")
            values = [self.decode(item, f"{path}[{i}]") for i, item in enumerate(items)]
            return values if kind == "list" else tuple(values)
        if kind == "dict":
            return self._dict(node, path)
        raise self.fail(f"manifest entry for {path} has unknown type {kind!r}")

    def _plain_value(self, kind: str, node: dict[str, Any], path: str) -> Any:
        value = node.get("value")
        expected = {"bool": bool, "int": int, "float": (float, int), "str": str}[kind]
        if not isinstance(value, expected) or (kind in ("int", "float") and isinstance(value, bool)):
            raise self.fail(f"manifest entry for {path} should hold a {kind}, got {value!r:.80}")
        return float(value) if kind == "float" else value

    def _array(self, node: dict[str, Any], path: str) -> np.ndarray:
        entry = node.get("array")
        if entry not in self.arrays:
            raise self.fail(f"manifest refers to array {entry!r} (for {path}), which is not "
                            "in the file")
        array = self.arrays[entry]
        if array.dtype.str != node.get("dtype") or list(array.shape) != node.get("shape"):
            raise self.fail(f"array {entry!r} (for {path}) has dtype {array.dtype.str} and shape "
                            f"{list(array.shape)}, but the manifest says {node.get('dtype')} and "
                            f"{node.get('shape')}")
        return array

    def _dict(self, node: dict[str, Any], path: str) -> dict[Any, Any]:
        items = node.get("items")
        if not isinstance(items, list) or not all(isinstance(p, list) and len(p) == 2 for p in items):
            raise self.fail(f"manifest entry for {path} has no list of key/value pairs")
        result = {}
        for key_node, value_node in items:
            key = self.decode(key_node, f"a key of {path}")
            if not isinstance(key, (str, int)):
                raise self.fail(f"manifest entry for {path} has a key of type {type(key).__name__}")
            result[key] = self.decode(value_node, f"{path}[{key!r}]")
        return result


ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip


def _read_arrays(file: BinaryIO, source: str) -> dict[str, np.ndarray]:
    """Every array in the archive, fully read, never unpickling anything."""
    start = file.tell()
    signature = file.read(4)
    if signature not in ZIP_SIGNATURES:
        # Checked here because np.load takes anything it does not recognize for a pickle.
        what = "an empty file" if not signature else "not an .npz (zip) archive"
        raise CheckpointError(f"tinytorch.load: {source}: not a TinyTorch checkpoint ({what})")
    file.seek(start)
    try:
        with np.load(file, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except Exception as error:  # parsing untrusted bytes: zipfile and numpy raise many kinds
        detail = str(error) or type(error).__name__
        if "allow_pickle" in detail:
            raise CheckpointError(f"tinytorch.load: {source}: refused: the file holds Python "
                                  "objects (pickled data), which tinytorch.load never "
                                  "unpickles") from None
        raise CheckpointError(f"tinytorch.load: {source}: not a valid TinyTorch checkpoint "
                              f"(truncated or corrupt file?): {detail}") from None


def _read_manifest(arrays: dict[str, np.ndarray], source: str) -> dict[str, Any]:
    if MANIFEST_ENTRY not in arrays:
        listing = ", ".join(sorted(arrays)[:5]) or "none"
        raise CheckpointError(f"tinytorch.load: {source}: not a TinyTorch checkpoint (an .npz "
                              f"archive without a manifest; its arrays: {listing})")
    raw = arrays.pop(MANIFEST_ENTRY)
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"tinytorch.load: {source}: the manifest is not a byte array")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"tinytorch.load: {source}: the manifest is not valid JSON "
                              f"({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise CheckpointError(f"tinytorch.load: {source}: not a TinyTorch checkpoint (the "
                              "manifest does not name the tinytorch.save format)")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise CheckpointError(f"tinytorch.load: {source}: invalid format version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"tinytorch.load: {source}: written in format version {version} "
                              f"by a newer TinyTorch; this version reads up to {FORMAT_VERSION}. "
                              "Upgrade TinyTorch to load it.")
    if "root" not in manifest:
        raise CheckpointError(f"tinytorch.load: {source}: the manifest has no root object")
    return manifest


def load(f: FileLike, map_location: Any = None, *, weights_only: bool | None = True) -> Any:
    """Load an object saved by ``tinytorch.save`` from a path or a binary file object.

    ``map_location`` and ``weights_only`` are accepted for code written for
    PyTorch.  Every tensor loads onto the CPU, the only device TinyTorch has,
    so ``map_location`` may be None, ``"cpu"``, a CPU device, or a dict that
    maps to the CPU.  ``weights_only`` must stay true: a checkpoint holds data
    only, and there are no pickled objects for ``weights_only=False`` to allow.
    """
    if weights_only is not None and not weights_only:
        raise ValueError("tinytorch.load: weights_only=False asks to unpickle arbitrary "
                         "Python objects, which TinyTorch never does: a checkpoint is data only "
                         "(an .npz archive of arrays and a JSON manifest), and loading one "
                         "never runs code. Drop weights_only=False; the tensors, numbers, "
                         "strings, dicts, lists and tuples it holds load as they are.")
    _check_map_location(map_location)
    if hasattr(f, "read"):
        source = repr(getattr(f, "name", "<file object>"))
        arrays = _read_arrays(f, source)
    else:
        source = repr(os.fspath(f))
        try:
            with open(f, "rb") as file:
                arrays = _read_arrays(file, source)
        except FileNotFoundError:
            raise CheckpointNotFoundError(f"tinytorch.load: {source}: no such file") from None
        except IsADirectoryError:
            raise CheckpointError(f"tinytorch.load: {source}: is a directory, not a file") from None
    manifest = _read_manifest(arrays, source)
    return _Decoder(arrays, source).decode(manifest["root"], "obj")


def _check_map_location(map_location: Any) -> None:
    from tinytorch.device import check_cpu  # the one rule for device arguments

    if map_location is None:
        return
    if isinstance(map_location, dict):
        for device in map_location.values():
            check_cpu(device, "tinytorch.load")
        return
    if callable(map_location) and not isinstance(map_location, str):
        raise TypeError("tinytorch.load: map_location must be None, 'cpu', a device or a dict "
                        "of devices; a function is not supported (every tensor loads onto the "
                        "CPU)")
    check_cpu(map_location, "tinytorch.load")
