"""Devices: where a tensor's memory lives, and why TinyTorch has only one.

In PyTorch a tensor lives on a *device*: the CPU's main memory, or the memory
of an accelerator such as a CUDA GPU.  Arithmetic only happens between
tensors on the same device, and ``x.to("cuda")`` copies ``x`` across.  Code
written for PyTorch is therefore full of device boilerplate:

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)
    x = torch.zeros(3, device=device)

TinyTorch computes with numpy, so every tensor is on the CPU.  To let such
code run unchanged, the boilerplate is accepted: ``tinytorch.device`` exists,
``tinytorch.cuda.is_available()`` answers False, and every function that
takes a ``device`` takes the CPU.  Naming a device is harmless, as in
PyTorch (``tinytorch.device("cuda")`` constructs fine); *using* one that is
not the CPU raises a single, clear error:

    RuntimeError: zeros: TinyTorch runs on the CPU only; device 'cuda' is not available

A device is written ``"type"`` or ``"type:index"`` (``"cuda:1"``); the
index, when given, is a non-negative integer.  ``Tensor.to`` mixes devices
and dtypes in one call (``x.to("cpu", tinytorch.float64)``,
``x.to(other_tensor)``, ``x.to(dtype=...)``); ``to_arguments`` sorts out
which argument is which, following PyTorch's three overloads.
"""
from __future__ import annotations

from typing import Any

import numpy as np

# The device types PyTorch's parser recognizes; any of them may be *named*.
KNOWN_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip",
               "ve", "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
               "privateuseone")


class device:
    """A device name: ``device("cpu")``, ``device("cuda:1")``, ``device("cuda", 0)``."""

    __slots__ = ("index", "type")

    def __init__(self, type: Any, index: int | None = None) -> None:
        if isinstance(getattr(type, "type", None), str):  # ours, or another library's device
            type, index = type.type, getattr(type, "index", None) if index is None else index
        elif isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            # A bare number means an accelerator's index in PyTorch.
            raise RuntimeError(
                f"device: TinyTorch runs on the CPU only; device {int(type)} (an accelerator "
                "index) is not available"
            )
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu', got {type!r}")
        name, _, index_text = type.partition(":")
        if name not in KNOWN_TYPES:
            raise RuntimeError(
                f"Expected one of {', '.join(KNOWN_TYPES)} device type at start of device "
                f"string: {type}"
            )
        if index_text or ":" in type:
            if index is not None:
                raise RuntimeError(
                    f"type (string) must not include an index because index was passed "
                    f"explicitly: {type}"
                )
            if not index_text.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}'")
            index = int(index_text)
        if index is not None and index < 0:
            raise RuntimeError("Device index must not be negative")
        self.type = name
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def check_cpu(where: Any, op: str) -> None:
    """Accept ``None``, ``"cpu"``, ``"cpu:0"`` or a cpu ``device``; raise for anything else."""
    if where is None or where is CPU or where == "cpu":
        return  # the common cases, decided without parsing
    if isinstance(where, str) and _names_a_dtype(where):
        raise RuntimeError(
            f"{op}: {where!r} is not a device; to change the dtype pass one such as "
            f"tinytorch.{np.dtype(where)}"
        )
    if device(where).type != "cpu":
        raise RuntimeError(
            f"{op}: TinyTorch runs on the CPU only; device '{device(where)}' is not available"
        )


def _names_a_dtype(text: str) -> bool:
    try:
        np.dtype(text)
    except TypeError:
        return False
    return True


def is_dtype(value: Any) -> bool:
    """A numpy dtype, a numpy scalar type (``np.float32``) or Python's float/int/bool."""
    return isinstance(value, np.dtype) or (
        isinstance(value, type) and (issubclass(value, np.generic) or value in (float, int, bool)))


def to_arguments(op: str, args: tuple, kwargs: dict) -> tuple[np.dtype | None, bool]:
    """Read ``Tensor.to``'s arguments: ``(dtype or None, copy)``; refuse non-CPU devices.

    PyTorch's overloads are ``to(dtype, non_blocking=False, copy=False)``,
    ``to(device=None, dtype=None, non_blocking=False, copy=False)`` and
    ``to(other_tensor, non_blocking=False, copy=False)``.
    """
    from tinytorch.tensor import Tensor

    unknown = set(kwargs) - {"dtype", "device", "non_blocking", "copy", "memory_format"}
    if unknown:
        raise TypeError(f"{op}() got an unexpected keyword argument '{min(unknown)}'")
    args = list(args)
    dtype = where = None
    if args and isinstance(args[0], Tensor):
        dtype = args.pop(0).dtype
    elif args and is_dtype(args[0]):
        dtype = args.pop(0)
    elif args and not isinstance(args[0], bool):
        where = args.pop(0)
        if args and is_dtype(args[0]):
            dtype = args.pop(0)
    flags = dict(zip(("non_blocking", "copy"), args))
    if len(args) > 2 or any(not isinstance(flag, bool) for flag in flags.values()):
        raise TypeError(f"{op}() received an invalid combination of arguments: {tuple(args)!r} "
                        "(expected a dtype, a device or a tensor, then non_blocking and copy)")
    for name in ("dtype", "device"):
        if name in kwargs and (dtype if name == "dtype" else where) is not None:
            raise TypeError(f"{op}() got multiple values for argument '{name}'")
    dtype = kwargs.get("dtype", dtype)
    where = kwargs.get("device", where)
    check_cpu(where, op)
    if dtype is not None and not is_dtype(dtype):
        raise TypeError(f"{op}(): dtype must be a dtype such as tinytorch.float64, got {dtype!r}")
    return (None if dtype is None else np.dtype(dtype)), bool(kwargs.get("copy", flags.get("copy", False)))
