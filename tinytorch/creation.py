"""Making tensors: from data, filled with constants, ranges and random numbers.

Every function takes PyTorch's arguments (``dtype``, ``device``,
``requires_grad``) and follows its default dtypes: float32 for anything
floating point, int64 for integer ranges.  ``device`` accepts only the CPU
(see ``device.py``).  Random tensors draw from ``tinytorch.random``'s generator, so
``manual_seed`` makes them repeat.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinytorch.device import check_cpu
from tinytorch.random import Generator, numpy_generator
from tinytorch.tensor import Tensor

DEFAULT_FLOAT = np.dtype(np.float32)


def _sizes(shape: Sequence[Any]) -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))`` as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(int(size) for size in shape)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    tensor = Tensor._wrap(array, False)
    return tensor.requires_grad_(True) if requires_grad else tensor


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested list or array)."""
    check_cpu(device, "tensor")
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, without a copy when it already is one of the right dtype.

    A tensor is returned as it is; a numpy array shares its memory with the
    result (writes to one show in the other) unless ``dtype`` asks for a
    conversion; anything else (lists, numbers) is copied as ``tensor`` does.
    """
    check_cpu(device, "as_tensor")
    dtype = None if dtype is None else np.dtype(dtype)
    if isinstance(data, Tensor):
        return data if dtype is None or dtype == data.dtype else data.to(dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        if data.dtype.kind not in "fiub":
            raise TypeError(
                f"as_tensor: can't convert np.ndarray of type {data.dtype}; the supported "
                "types are floating point, integer and bool"
            )
        if dtype is None or dtype == data.dtype:
            return Tensor._wrap(np.asarray(data), False)
    return Tensor(data, dtype=dtype)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy), keeping its dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array, False)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    check_cpu(device, "zeros")
    return _make(np.zeros(_sizes(size), dtype=dtype or DEFAULT_FLOAT), requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    check_cpu(device, "ones")
    return _make(np.ones(_sizes(size), dtype=dtype or DEFAULT_FLOAT), requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    check_cpu(device, "empty")
    return _make(np.empty(_sizes(size), dtype=dtype or DEFAULT_FLOAT), requires_grad)


def full(size: Sequence[int], fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    check_cpu(device, "full")
    if dtype is None:
        dtype = np.array(fill_value).dtype if not isinstance(fill_value, float) else DEFAULT_FLOAT
    return _make(np.full(_sizes((size,)), fill_value, dtype=dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    check_cpu(device, "eye")
    return _make(np.eye(n, m, dtype=dtype or DEFAULT_FLOAT), requires_grad)


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to (not including) ``end``: int64 for integer arguments."""
    check_cpu(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        all_ints = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if all_ints else DEFAULT_FLOAT
    return _make(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    check_cpu(device, "linspace")
    return _make(np.linspace(start, end, steps, dtype=dtype or DEFAULT_FLOAT), requires_grad)


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None,
         device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples from [0, 1)."""
    check_cpu(device, "rand")
    array = numpy_generator(generator).random(_sizes(size), dtype=np.dtype(dtype or DEFAULT_FLOAT))
    return _make(array, requires_grad)


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None,
          device: Any = None, requires_grad: bool = False) -> Tensor:
    """Samples from the standard normal distribution."""
    check_cpu(device, "randn")
    dtype = np.dtype(dtype or DEFAULT_FLOAT)
    array = numpy_generator(generator).standard_normal(_sizes(size), dtype=dtype)
    return _make(array, requires_grad)


def randint(low: int, high: Any = None, size: Sequence[int] | None = None, *,
            generator: Generator | None = None, dtype: Any = np.int64, device: Any = None) -> Tensor:
    """Random integers from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``."""
    check_cpu(device, "randint")
    if size is None:
        # PyTorch's two-argument form: the second argument is the size, not high.
        if high is None or isinstance(high, (int, np.integer)):
            raise TypeError(
                "randint: missing the size argument; call randint(high, size) or "
                "randint(low, high, size), e.g. randint(10, (3,))"
            )
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    array = numpy_generator(generator).integers(low, high, size=_sizes((size,)), dtype=dtype)
    return Tensor._wrap(array, False)


def randperm(n: int, *, generator: Generator | None = None, device: Any = None) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    check_cpu(device, "randperm")
    return Tensor._wrap(numpy_generator(generator).permutation(n).astype(np.int64), False)


def zeros_like(input: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return zeros(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def ones_like(input: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return ones(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def full_like(input: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(input.shape, fill_value, dtype=dtype or input.dtype, device=device,
                requires_grad=requires_grad)


def rand_like(input: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return rand(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)


def randn_like(input: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return randn(input.shape, dtype=dtype or input.dtype, device=device, requires_grad=requires_grad)
