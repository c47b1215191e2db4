"""The Tensor: a numpy array that remembers how it was made.

A ``Tensor`` wraps one numpy array (``.array``) and adds what deep learning
needs on top:

* ``requires_grad``: whether gradients should flow to it;
* ``grad_fn``: the graph node (a ``Function``) that produced it, or None for a
  leaf that the user created;
* ``grad``: after ``backward()``, d(loss)/d(this tensor), as a Tensor;
* a version counter, shared with every tensor viewing the same memory, that
  counts in-place writes so that backward can refuse values overwritten
  since the forward pass (see ``autograd/versions.py``).

``.data`` is, as in PyTorch, another Tensor on the same memory, cut off from
the graph: ``p.data.mul_(0.5)`` changes ``p`` without recording anything.
``.array`` is the numpy array itself, which the operations compute with.

All arithmetic lives in ``tinytorch/ops``; the methods here (``a + b``,
``x.sum(dim=1)``, ``x.reshape(2, -1)``) only forward to those functions, with
PyTorch's names and argument names so that what a student learns here
transfers.

In-place operations (``x += 1``, ``x.add_(1)``, ``x[0] = 5``, ``x.fill_(0)``)
write into the existing memory.  TinyTorch does not record them in the graph,
so under grad mode they are refused on tensors that take part in it (see
``_check_in_place``); under ``no_grad``, where optimizers and initializers
work, they are always allowed.

Dtypes follow PyTorch: Python floats become float32 (not numpy's float64),
Python ints become int64, booleans stay bool, and a numpy array keeps its
dtype.  Only floating point tensors may require gradients.
"""
from __future__ import annotations

import builtins
from typing import Any, Iterator

import numpy as np

float32, float64, int64 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64)


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert ``data`` to a fresh numpy array with PyTorch's dtype rules."""
    if isinstance(data, Tensor):
        data = data.array
    array = np.array(data, dtype=dtype)  # always a copy, as torch.tensor makes
    if dtype is None and array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        array = array.astype(np.float32)  # Python floats: float32, PyTorch's default
    if dtype is None and array.dtype.kind not in "fiub":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {array.dtype}")
    return array


class Tensor:
    """A multi-dimensional array with automatic differentiation."""

    __slots__ = ("array", "grad", "requires_grad", "grad_fn", "_retains_grad",
                 "_version_counter", "__weakref__")
    __array_priority__ = 1000  # numpy operands defer to Tensor's operators

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.array = as_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn = None
        self._retains_grad = False
        self._version_counter: VersionCounter | None = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool) -> "Tensor":
        """Wrap an array without copying or checks: the fast path for operation results."""
        tensor = object.__new__(cls)
        tensor.array = array if isinstance(array, np.ndarray) else np.asarray(array)
        tensor.grad = None
        tensor.grad_fn = None
        tensor._retains_grad = False
        tensor._version_counter = None
        tensor.requires_grad = requires_grad
        return tensor

    # ----- autograd -----------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf it depends on.

        ``gradient`` is d(something)/d(self) (1 for a one-element tensor when
        omitted); with ``inputs``, only those tensors receive a gradient.
        """
        from tinytorch.autograd.gradients import backward

        backward(self, None if gradient is None else (gradient,), retain_graph, create_graph,
                 inputs)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.array.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad_: only tensors of floating point dtype can require "
                f"gradients, got dtype {self.array.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad flags of leaf tensors; "
                "use .detach() to get a tensor without history"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> "Tensor":
        """The same memory (shared, not copied, same version counter), cut off from the graph."""
        alias = Tensor._wrap(self.array, False)
        alias._version_counter = self._shared_version_counter()
        return alias

    @property
    def data(self) -> "Tensor":
        """A detached tensor on the same memory (writes to it change this tensor)."""
        return self.detach()

    @data.setter
    def data(self, value: Any) -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data: expected a Tensor, got {type(value).__name__}")
        self.array = value.array
        self._version_counter = value._shared_version_counter()

    @property
    def _version(self) -> int:
        """In-place writes to this memory since something first shared or saved it."""
        counter = self._version_counter
        return 0 if counter is None else counter.value

    def _shared_version_counter(self) -> VersionCounter:
        if self._version_counter is None:
            self._version_counter = VersionCounter()
        return self._version_counter

    def _mark_written(self) -> None:
        """Count one in-place write (call after changing ``self.array`` in place)."""
        counter = self._version_counter
        if counter is not None:  # no counter yet: nobody shares or saved this memory
            counter.value += 1

    def retain_grad(self) -> None:
        """Also keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        """Whether ``backward`` keeps ``.grad`` for this non-leaf tensor (``retain_grad()``)."""
        return self._retains_grad and self.grad_fn is not None

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    # ----- properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.array.shape

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    def size(self, dim: int | None = None) -> Any:
        return self.array.shape if dim is None else self.array.shape[dim]

    def numel(self) -> int:
        return int(self.array.size)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.array)

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))

    # ----- conversion -------------------------------------------------------------
    def item(self) -> Any:
        if self.array.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self.array.size} elements cannot be converted to Scalar"
            )
        return self.array.item()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self.array

    def tolist(self) -> Any:
        return self.array.tolist()

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """This tensor as another dtype: ``to(dtype)``, ``to(device, dtype)``, ``to(other)``.

        As in PyTorch, ``self`` comes back when nothing changes (``copy=True``
        forces a copy); a conversion is a new tensor through which gradients
        flow back for float to float.  The only device is the CPU.
        """
        from tinytorch.ops.pointwise import cast

        dtype, copy = to_arguments("to", args, kwargs)
        if dtype is None or dtype == self.array.dtype:
            return clone(self) if copy else self
        return cast(self, dtype)

    def float(self) -> "Tensor":
        return self.to(float32)

    def double(self) -> "Tensor":
        return self.to(float64)

    def long(self) -> "Tensor":
        return self.to(int64)

    def int(self) -> "Tensor":
        return self.to(np.int32)

    def bool(self) -> "Tensor":
        return self.to(np.bool_)

    def type(self, dtype: Any = None, non_blocking: Any = False, **kwargs: Any) -> Any:
        """With no dtype, the type's name ('tinytorch.FloatTensor'); else ``self.to(dtype)``."""
        if dtype is None:
            return f"tinytorch.{scalar_type_name(self.array.dtype)}Tensor"
        if isinstance(dtype, str):
            names = {f"{prefix}.{name}Tensor": dtype_name for dtype_name, name in
                     SCALAR_TYPE_NAMES.items() for prefix in ("tinytorch", "torch")}
            if dtype not in names:
                raise ValueError(f"invalid type: {dtype!r}")
            dtype = names[dtype]
        elif not is_dtype(dtype):
            raise ValueError(f"invalid type: {dtype!r}")
        return self.to(np.dtype(dtype))

    # ----- devices: the CPU is the only one (see device.py) -----------------------
    @property
    def device(self) -> Any:
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    def cpu(self) -> "Tensor":
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "Tensor":
        name = "cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device
        check_cpu(name, "cuda")
        return self

    def __index__(self) -> int:
        """An integer tensor of one element used as a Python integer (``range(n)``, ``xs[i]``)."""
        if self.array.dtype.kind not in "biu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.array.reshape(-1)[0])

    def __float__(self) -> Any:
        return builtins.float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self.array.size} elements is ambiguous"
            )
        return bool(self.array)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.array if dtype is None else self.array.astype(dtype)

    # ----- in-place operations ---------------------------------------------------
    def _check_in_place(self, op: str, *operands: Any) -> None:
        """Refuse an in-place write that the graph would need to record."""
        if not grad_mode._grad_enabled:
            return  # under no_grad nothing is recorded: optimizers and init work here
        if self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                f"{op}: a leaf Variable that requires grad is being used in an in-place "
                "operation. Wrap the update in `with tinytorch.no_grad():`"
            )
        if self.grad_fn is not None:
            raise RuntimeError(
                f"{op}: in-place change of a tensor computed by {self.grad_fn!r}, which is "
                "part of the autograd graph. TinyTorch does not record in-place "
                "operations (PyTorch does); compute a new tensor instead, e.g. "
                "`x = x + y` rather than `x += y`"
            )
        for operand in operands:
            if isinstance(operand, Tensor) and operand.requires_grad:
                raise RuntimeError(
                    f"{op}: writing a tensor that requires grad into one that does not "
                    "would make it part of the autograd graph, and TinyTorch does not "
                    "record in-place operations (PyTorch does); compute a new tensor "
                    "instead, e.g. `x = x + y` or `tinytorch.where(mask, y, x)`"
                )

    def _store(self, op: str, result: "Tensor") -> "Tensor":
        """Write ``result`` (computed out of place) into this tensor's memory."""
        if result.shape != self.shape:
            raise RuntimeError(
                f"{op}: output with shape {list(self.shape)} doesn't match the broadcast "
                f"shape {list(result.shape)}"
            )
        if not _can_cast(result.dtype, self.dtype):
            raise RuntimeError(
                f"{op}: result type {result.dtype} can't be cast to the desired output "
                f"type {self.dtype}"
            )
        self._writable_array(op)[...] = result.array
        self._mark_written()
        return self

    def _writable_array(self, op: str) -> np.ndarray:
        if not self.array.flags.writeable:
            raise RuntimeError(
                f"{op}: unsupported operation: this tensor (shape {list(self.shape)}) is a "
                "broadcast view in which several elements share one memory location; "
                "call .clone() first"
            )
        return self.array

    def add_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        self._check_in_place("add_", other)
        return self._store("add_", add(self, other if alpha == 1 else mul(other, alpha)))

    def sub_(self, other: Any, *, alpha: Any = 1) -> "Tensor":
        self._check_in_place("sub_", other)
        return self._store("sub_", sub(self, other if alpha == 1 else mul(other, alpha)))

    def mul_(self, other: Any) -> "Tensor":
        self._check_in_place("mul_", other)
        return self._store("mul_", mul(self, other))

    def div_(self, other: Any) -> "Tensor":
        self._check_in_place("div_", other)
        return self._store("div_", div(self, other))

    def clamp_(self, min: Any = None, max: Any = None) -> "Tensor":
        self._check_in_place("clamp_", min, max)
        return self._store("clamp_", clamp(self, min, max))

    clip_ = clamp_

    def fill_(self, value: Any) -> "Tensor":
        self._check_in_place("fill_", value)
        if isinstance(value, Tensor) and value.ndim:
            raise RuntimeError(
                f"fill_: only supports 0-dimension value tensor but got tensor with "
                f"{value.ndim} dimensions"
            )
        return self._store("fill_", full_like(self, value.item() if isinstance(value, Tensor)
                                              else value))

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def copy_(self, source: Any) -> "Tensor":
        self._check_in_place("copy_", source)
        source = source if isinstance(source, Tensor) else Tensor(source)
        try:
            broadcast = np.broadcast_to(source.array, self.shape)
        except ValueError:
            raise RuntimeError(
                f"copy_: the source of shape {list(source.shape)} cannot be broadcast to "
                f"the destination's shape {list(self.shape)}"
            ) from None
        self._writable_array("copy_")[...] = broadcast  # any dtype converts, as in PyTorch
        self._mark_written()
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_in_place("__setitem__", value)
        self._writable_array("__setitem__")[numpy_key(key)] = (
            value.array if isinstance(value, Tensor) else value)
        self._mark_written()

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)

    # ----- printing ---------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self.array, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.array.dtype not in (float32, int64, np.dtype(bool)):
            extras.append(f"dtype=tinytorch.{self.array.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    __hash__ = object.__hash__

    # ----- operators: each forwards to a function in tinytorch.ops --------------
    def __add__(self, other): return add(self, other)
    def __radd__(self, other): return add(other, self)
    def __sub__(self, other): return sub(self, other)
    def __rsub__(self, other): return sub(other, self)
    def __mul__(self, other): return mul(self, other)
    def __rmul__(self, other): return mul(other, self)
    def __truediv__(self, other): return div(self, other)
    def __rtruediv__(self, other): return div(other, self)
    def __pow__(self, exponent): return pow(self, exponent)
    def __rpow__(self, base): return pow(base, self)
    def __matmul__(self, other): return matmul(self, other)
    def __rmatmul__(self, other): return matmul(other, self)
    def __neg__(self): return neg(self)
    def __abs__(self): return abs(self)
    def __getitem__(self, key): return index(self, key)

    def __eq__(self, other): return compare(np.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return compare(np.not_equal, self, other)  # type: ignore[override]
    def __lt__(self, other): return compare(np.less, self, other)
    def __le__(self, other): return compare(np.less_equal, self, other)
    def __gt__(self, other): return compare(np.greater, self, other)
    def __ge__(self, other): return compare(np.greater_equal, self, other)

    def __floordiv__(self, other): return floor_divide(self, other)
    def __rfloordiv__(self, other): return floor_divide(other, self)
    def __mod__(self, other): return remainder(self, other)
    def __rmod__(self, other): return remainder(other, self)
    def __and__(self, other): return logical.bitwise_and(self, other)
    def __rand__(self, other): return logical.bitwise_and(other, self)
    def __or__(self, other): return logical.bitwise_or(self, other)
    def __ror__(self, other): return logical.bitwise_or(other, self)
    def __xor__(self, other): return logical.bitwise_xor(self, other)
    def __rxor__(self, other): return logical.bitwise_xor(other, self)
    def __invert__(self): return logical.bitwise_not(self)

    def __ifloordiv__(self, other):
        self._check_in_place("__ifloordiv__", other)
        return self._store("__ifloordiv__", floor_divide(self, other))

    def __imod__(self, other):
        self._check_in_place("__imod__", other)
        return self._store("__imod__", remainder(self, other))

    def __iand__(self, other):
        self._check_in_place("__iand__", other)
        return self._store("__iand__", logical.bitwise_and(self, other))

    def __ior__(self, other):
        self._check_in_place("__ior__", other)
        return self._store("__ior__", logical.bitwise_or(self, other))

    def __ixor__(self, other):
        self._check_in_place("__ixor__", other)
        return self._store("__ixor__", logical.bitwise_xor(self, other))

    def masked_fill_(self, mask, value):
        check_mask(mask)
        self._check_in_place("masked_fill_", value)
        return self._store("masked_fill_", masked_fill(self, mask, value))

    def add(self, other): return add(self, other)
    def sub(self, other): return sub(self, other)
    def mul(self, other): return mul(self, other)
    def div(self, other): return div(self, other)
    def matmul(self, other): return matmul(self, other)
    def exp(self): return exp(self)
    def log(self): return log(self)
    def sqrt(self): return sqrt(self)
    def abs(self): return abs(self)
    def relu(self): return relu(self)
    def sigmoid(self): return sigmoid(self)
    def tanh(self): return tanh(self)
    def clamp(self, min=None, max=None): return clamp(self, min, max)
    clip = clamp
    def maximum(self, other): return maximum(self, other)
    def minimum(self, other): return minimum(self, other)
    def softmax(self, dim): return softmax(self, dim)
    def log_softmax(self, dim): return log_softmax(self, dim)

    def sum(self, dim=None, keepdim=False): return reduction.sum(self, dim, keepdim)
    def mean(self, dim=None, keepdim=False): return reduction.mean(self, dim, keepdim)
    def var(self, dim=None, *, correction=1, keepdim=False, unbiased=None):
        return reduction.var(self, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)
    def std(self, dim=None, *, correction=1, keepdim=False, unbiased=None):
        return reduction.std(self, dim, correction=correction, keepdim=keepdim, unbiased=unbiased)
    def max(self, dim=None, keepdim=False):
        return maximum(self, dim) if isinstance(dim, Tensor) else reduction.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False):
        return minimum(self, dim) if isinstance(dim, Tensor) else reduction.min(self, dim, keepdim)
    def argmax(self, dim=None, keepdim=False): return reduction.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return reduction.argmin(self, dim, keepdim)

    def reshape(self, *shape): return reshape(self, *shape)
    def view(self, *shape): return reshape(self, *shape)
    def permute(self, *dims): return permute(self, *dims)
    def transpose(self, dim0, dim1): return transpose(self, dim0, dim1)
    def squeeze(self, dim=None): return squeeze(self, dim)
    def unsqueeze(self, dim): return unsqueeze(self, dim)
    def flatten(self, start_dim=0, end_dim=-1): return flatten(self, start_dim, end_dim)
    def expand(self, *sizes): return expand(self, *sizes)
    def expand_as(self, other): return expand(self, other.shape)

    def pow(self, exponent): return pow(self, exponent)
    def sin(self): return sin(self)
    def cos(self): return cos(self)
    def floor_divide(self, other): return floor_divide(self, other)
    def remainder(self, other): return remainder(self, other)
    def mm(self, mat2): return mm(self, mat2)
    def bmm(self, mat2): return bmm(self, mat2)
    def t(self): return t(self)
    # New tensors of this one's dtype (unless told otherwise), as PyTorch's new_* make.
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return creation.tensor(data, dtype or self.dtype, device, requires_grad)
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return creation.zeros(*size, dtype=dtype or self.dtype, device=device,
                              requires_grad=requires_grad)
    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return creation.ones(*size, dtype=dtype or self.dtype, device=device,
                             requires_grad=requires_grad)
    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return creation.empty(*size, dtype=dtype or self.dtype, device=device,
                              requires_grad=requires_grad)
    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return creation.full(size, fill_value, dtype=dtype or self.dtype, device=device,
                             requires_grad=requires_grad)

    def clone(self): return clone(self)
    def contiguous(self): return contiguous(self)
    def is_contiguous(self) -> bool: return builtins.bool(self.array.flags.c_contiguous)
    def narrow(self, dim, start, length): return narrow(self, dim, start, length)
    def split(self, split_size, dim=0): return split(self, split_size, dim)
    def chunk(self, chunks, dim=0): return chunk(self, chunks, dim)
    def gather(self, dim, index): return gather(self, dim, index)
    def masked_fill(self, mask, value): return masked_fill(self, mask, value)
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return reduction.norm(self, p, dim, keepdim, dtype)
    def any(self, dim=None, keepdim=False): return logical.any(self, dim, keepdim)
    def all(self, dim=None, keepdim=False): return logical.all(self, dim, keepdim)
    def bitwise_and(self, other): return logical.bitwise_and(self, other)
    def bitwise_or(self, other): return logical.bitwise_or(self, other)
    def bitwise_xor(self, other): return logical.bitwise_xor(self, other)
    def bitwise_not(self): return logical.bitwise_not(self)
    def logical_not(self): return logical.logical_not(self)
    def equal(self, other) -> bool: return logical.equal(self, other)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return logical.allclose(self, other, rtol, atol, equal_nan)

    @property
    def T(self) -> "Tensor":
        return permute(self, tuple(reversed(range(self.ndim))))


def _can_cast(source: np.dtype, target: np.dtype) -> bool:
    """PyTorch's rule for in-place results: no float into integers, nothing into bool."""
    if target.kind == "b":
        return source.kind == "b"
    return not (source.kind in "fc" and target.kind in "iub")


def compare(numpy_comparison: Any, a: Any, b: Any) -> Tensor:
    """Elementwise comparison: a boolean tensor with no gradient."""
    a = a.array if isinstance(a, Tensor) else a
    b = b.array if isinstance(b, Tensor) else b
    return Tensor._wrap(numpy_comparison(a, b), False)


# Autograd and the operations import Tensor from this module, so they come after it.
from tinytorch.autograd import grad_mode  # noqa: E402
from tinytorch.autograd.versions import VersionCounter  # noqa: E402
from tinytorch import creation  # noqa: E402
from tinytorch.creation import full_like  # noqa: E402
from tinytorch.ops import reduction  # noqa: E402
from tinytorch.ops.arithmetic import add, div, mul, neg, pow, sub  # noqa: E402
from tinytorch.ops.matmul import matmul  # noqa: E402
from tinytorch.ops.pointwise import (  # noqa: E402
    abs, clamp, exp, log, maximum, minimum, relu, sigmoid, sqrt, tanh)
from tinytorch.ops.shape import (  # noqa: E402
    expand, flatten, index, numpy_key, permute, reshape, squeeze, transpose, unsqueeze)
from tinytorch.ops.softmax import log_softmax, softmax  # noqa: E402
from tinytorch.device import CPU, check_cpu, is_dtype, to_arguments  # noqa: E402
from tinytorch.ops import logical  # noqa: E402
from tinytorch.ops.arithmetic import (  # noqa: E402
    SCALAR_TYPE_NAMES, floor_divide, remainder, scalar_type_name)
from tinytorch.ops.indexing import check_mask, gather, masked_fill  # noqa: E402
from tinytorch.ops.matmul import bmm, mm  # noqa: E402
from tinytorch.ops.pointwise import cos, sin  # noqa: E402
from tinytorch.ops.shape import chunk, clone, contiguous, narrow, split, t  # noqa: E402
