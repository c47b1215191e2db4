"""The Tensor: a numpy array that remembers how it was made.

A ``Tensor`` wraps one numpy array (``.data``) and adds what deep learning
needs on top:

* ``requires_grad``: whether gradients should flow to it;
* ``grad_fn``: the graph node (a ``Function``) that produced it, or None for a
  leaf that the user created;
* ``grad``: after ``backward()``, d(loss)/d(this tensor), as a Tensor.

All arithmetic lives in ``tinytorch/ops``; the methods here (``a + b``,
``x.sum(dim=1)``, ``x.reshape(2, -1)``) only forward to those functions, with
PyTorch's names and argument names so that what a student learns here
transfers.

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
        data = data.data
    array = np.array(data, dtype=dtype)  # always a copy, as torch.tensor makes
    if dtype is None and array.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
        array = array.astype(np.float32)  # Python floats: float32, PyTorch's default
    if dtype is None and array.dtype.kind not in "fiub":
        raise TypeError(f"tensor: cannot make a tensor from data of dtype {array.dtype}")
    return array


class Tensor:
    """A multi-dimensional array with automatic differentiation."""

    __slots__ = ("data", "grad", "requires_grad", "grad_fn", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # numpy operands defer to Tensor's operators

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data = as_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool) -> "Tensor":
        """Wrap an array without copying or checks: the fast path for operation results."""
        tensor = object.__new__(cls)
        tensor.data = array if isinstance(array, np.ndarray) else np.asarray(array)
        tensor.grad = None
        tensor.grad_fn = None
        tensor._retains_grad = False
        tensor.requires_grad = requires_grad
        return tensor

    # ----- autograd -----------------------------------------------------------
    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into the ``.grad`` of every leaf it depends on."""
        from tinytorch.autograd.engine import backward

        if isinstance(gradient, Tensor):
            gradient = gradient.data
        backward(self, None if gradient is None else np.asarray(gradient, self.dtype), retain_graph)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise RuntimeError(
                f"requires_grad_: only tensors of floating point dtype can require "
                f"gradients, got dtype {self.data.dtype}"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad flags of leaf tensors; "
                "use .detach() to get a tensor without history"
            )
        self.requires_grad = requires_grad
        return self

    def detach(self) -> "Tensor":
        """The same data (shared, not copied), cut off from the graph."""
        return Tensor._wrap(self.data, False)

    def retain_grad(self) -> None:
        """Also keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on Tensor that has requires_grad=False")
        self._retains_grad = True

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    # ----- properties -------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def dim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None) -> Any:
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator["Tensor"]:
        return (self[i] for i in range(len(self)))

    # ----- conversion -------------------------------------------------------------
    def item(self) -> Any:
        if self.data.size != 1:
            raise RuntimeError(
                f"item: a Tensor with {self.data.size} elements cannot be converted to Scalar"
            )
        return self.data.item()

    def numpy(self) -> np.ndarray:
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on Tensor that requires grad. "
                "Use tensor.detach().numpy() instead."
            )
        return self.data

    def tolist(self) -> Any:
        return self.data.tolist()

    def to(self, dtype: Any) -> "Tensor":
        """A copy converted to ``dtype`` (gradients flow back for float to float)."""
        from tinytorch.ops.pointwise import cast

        return cast(self, np.dtype(dtype))

    def float(self) -> "Tensor":
        return self.to(float32)

    def double(self) -> "Tensor":
        return self.to(float64)

    def long(self) -> "Tensor":
        return self.to(int64)

    def __float__(self) -> Any:
        return builtins.float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self.data.size} elements is ambiguous"
            )
        return bool(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    # ----- in-place updates (no graph; for initialization and optimizers) --------
    def _check_inplace(self, op: str) -> None:
        from tinytorch.autograd.grad_mode import is_grad_enabled

        if self.requires_grad and self.is_leaf and is_grad_enabled():
            raise RuntimeError(
                f"{op}: a leaf tensor that requires grad is being used in an in-place "
                "operation; wrap it in `with tinytorch.no_grad():`"
            )
        if self.grad_fn is not None and is_grad_enabled():
            # The graph does not record in-place changes, and a backward formula may
            # have saved this very array: the gradient would be silently wrong.
            raise RuntimeError(
                f"{op}: in-place change of a tensor computed by {self.grad_fn!r}, which is "
                "part of the autograd graph; TinyTorch does not record in-place operations. "
                "Compute a new tensor instead (for example with tinytorch.where)"
            )

    def zero_(self) -> "Tensor":
        return self.fill_(0)

    def fill_(self, value: Any) -> "Tensor":
        self._check_inplace("fill_")
        self.data[...] = value
        return self

    def copy_(self, source: Any) -> "Tensor":
        self._check_inplace("copy_")
        self.data[...] = source.data if isinstance(source, Tensor) else source
        return self

    def __setitem__(self, key: Any, value: Any) -> None:
        self._check_inplace("__setitem__")
        self.data[key] = value.data if isinstance(value, Tensor) else value

    # ----- printing ---------------------------------------------------------------
    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (float32, int64, np.dtype(bool)):
            extras.append(f"dtype=tinytorch.{self.data.dtype}")
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

    @property
    def T(self) -> "Tensor":
        return permute(self, tuple(reversed(range(self.ndim))))


def compare(numpy_comparison: Any, a: Any, b: Any) -> Tensor:
    """Elementwise comparison: a boolean tensor with no gradient."""
    a = a.data if isinstance(a, Tensor) else a
    b = b.data if isinstance(b, Tensor) else b
    return Tensor._wrap(numpy_comparison(a, b), False)


# The operations import Tensor from this module, so they are imported after it exists.
from tinytorch.ops import reduction  # noqa: E402
from tinytorch.ops.arithmetic import add, div, mul, neg, pow, sub  # noqa: E402
from tinytorch.ops.matmul import matmul  # noqa: E402
from tinytorch.ops.pointwise import (  # noqa: E402
    abs, clamp, exp, log, maximum, minimum, relu, sigmoid, sqrt, tanh)
from tinytorch.ops.shape import (  # noqa: E402
    expand, flatten, index, permute, reshape, squeeze, transpose, unsqueeze)
from tinytorch.ops.softmax import log_softmax, softmax  # noqa: E402
