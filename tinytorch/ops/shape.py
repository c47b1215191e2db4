"""Shape operations: reshape, permute, expand, concatenate, stack, index.

None of these does arithmetic; they only move elements around (often without
copying: a reshape or a transpose is a new *view* of the same memory, with
different strides).  Their gradients move the gradient elements back:

* reshape   -> reshape the gradient to the input's shape
* permute   -> apply the inverse permutation
* expand    -> sum over the expanded axes (it is broadcasting, made explicit)
* cat/stack -> split the gradient into the pieces' slices
* indexing  -> scatter the gradient into zeros at the indexed positions; an
               index that picks the same element twice must *add* both
               gradients, which is what ``np.add.at`` does (plain assignment
               would keep only one of them).

squeeze, unsqueeze, flatten and view are all reshapes; transpose and t are
permutes.  split, chunk and narrow are basic indexing, so their pieces are
views sharing the input's memory (and its version counter), as in PyTorch;
clone and contiguous copy, and pass the gradient through unchanged.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinytorch.autograd.function import Function
from tinytorch.creation import _sizes
from tinytorch.ops.arithmetic import unbroadcast


class Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        try:
            return np.reshape(x, shape)
        except ValueError:
            raise RuntimeError(
                f"reshape: shape {tuple(shape)} is invalid for input of size {x.size} "
                f"(shape {x.shape})"
            ) from None

    @staticmethod
    def backward(ctx, grad):
        return np.reshape(grad, ctx.input_shape)


class Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return np.transpose(x, dims)

    @staticmethod
    def backward(ctx, grad):
        return np.transpose(grad, np.argsort(ctx.dims))


class Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        ctx.input_shape = x.shape
        return np.broadcast_to(x, shape)

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.input_shape)


class Cat(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        ctx.boundaries = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.boundaries, axis=ctx.axis))


class Stack(Function):
    @staticmethod
    def forward(ctx, *arrays, axis):
        ctx.axis = axis
        return np.stack(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        return tuple(np.moveaxis(grad, ctx.axis, 0))


class Index(Function):
    @staticmethod
    def forward(ctx, x, index):
        ctx.index, ctx.shape = index, x.shape
        return x[index]

    @staticmethod
    def backward(ctx, grad):
        grad_input = np.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic_index(ctx.index):
            grad_input[ctx.index] = grad  # basic indexing never repeats an element
        else:
            np.add.at(grad_input, ctx.index, grad)
        return grad_input


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, np.integer, slice)) for p in parts)


# ----- the functions the Tensor methods call ------------------------------------
def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    if not -ndim <= dim < ndim:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of "
            f"[{-ndim}, {ndim - 1}], but got {dim})"
        )
    return dim % ndim


def reshape(input: Any, *shape: Any) -> Any:
    """The same elements in a new shape; one size may be -1 (inferred)."""
    return Reshape.apply(input, _sizes(shape))


def permute(input: Any, *dims: Any) -> Any:
    """Reorder the dimensions: ``x.permute(0, 2, 3, 1)`` turns NCHW into NHWC."""
    dims = tuple(_wrap_dim(d, input.ndim, "permute") for d in _sizes(dims))
    if sorted(dims) != list(range(input.ndim)):
        raise RuntimeError(
            f"permute: dims {dims} are not a permutation of the {input.ndim} dimensions "
            f"of a tensor of shape {input.shape}"
        )
    return Permute.apply(input, dims)


def transpose(input: Any, dim0: int, dim1: int) -> Any:
    """Swap two dimensions."""
    dims = list(range(input.ndim))
    a, b = _wrap_dim(dim0, input.ndim, "transpose"), _wrap_dim(dim1, input.ndim, "transpose")
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, tuple(dims))


def squeeze(input: Any, dim: int | None = None) -> Any:
    """Remove dimensions of size 1 (only ``dim`` when given)."""
    if dim is None:
        shape = tuple(size for size in input.shape if size != 1)
    else:
        axis = _wrap_dim(dim, max(input.ndim, 1), "squeeze")
        shape = input.shape if input.ndim == 0 or input.shape[axis] != 1 else \
            input.shape[:axis] + input.shape[axis + 1:]
    return Reshape.apply(input, shape)


def unsqueeze(input: Any, dim: int) -> Any:
    """Insert a dimension of size 1 at ``dim``."""
    axis = _wrap_dim(dim, input.ndim + 1, "unsqueeze")
    return Reshape.apply(input, input.shape[:axis] + (1,) + input.shape[axis:])


def flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one."""
    if input.ndim == 0:
        return Reshape.apply(input, (1,))
    start = _wrap_dim(start_dim, input.ndim, "flatten")
    end = _wrap_dim(end_dim, input.ndim, "flatten")
    merged = int(np.prod(input.shape[start:end + 1]))
    return Reshape.apply(input, input.shape[:start] + (merged,) + input.shape[end + 1:])


def expand(input: Any, *sizes: Any) -> Any:
    """Broadcast to a larger shape without copying; -1 keeps a size."""
    sizes = _sizes(sizes)
    leading = len(sizes) - input.ndim
    if leading < 0:
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(sizes)}) must be greater or equal "
            f"to the number of dimensions in the tensor ({input.ndim})"
        )
    if -1 in sizes[:leading]:
        raise RuntimeError(
            f"expand: the expanded size -1 is not allowed in a new leading dimension "
            f"(expanding shape {input.shape} to {sizes})"
        )
    # the target shape: sizes, with each -1 replaced by the input's size on that axis
    # BEGIN SOLUTION lab 01
    shape = tuple(input.shape[i - leading] if size == -1 else size for i, size in enumerate(sizes))
    # END SOLUTION
    try:
        np.broadcast_shapes(input.shape, shape)
    except ValueError:
        raise RuntimeError(f"expand: cannot expand shape {input.shape} to {shape}") from None
    return Expand.apply(input, shape)


def cat(tensors: Sequence[Any], dim: int = 0) -> Any:
    """Join tensors along an existing dimension."""
    if not tensors:
        raise RuntimeError("cat: expected a non-empty sequence of tensors")
    first = tensors[0]
    axis = _wrap_dim(dim, first.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or t.shape[:axis] + t.shape[axis + 1:] != \
                first.shape[:axis] + first.shape[axis + 1:]:
            raise RuntimeError(
                f"cat: sizes of tensors must match except in dimension {axis}; tensor 0 "
                f"has shape {first.shape} but tensor {i} has shape {t.shape}"
            )
    return Cat.apply(*tensors, axis=axis)


def stack(tensors: Sequence[Any], dim: int = 0) -> Any:
    """Join same-shape tensors along a new dimension."""
    if not tensors:
        raise RuntimeError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                f"stack: expects each tensor to be equal size, but got {tensors[0].shape} "
                f"at entry 0 and {t.shape} at entry {i}"
            )
    axis = _wrap_dim(dim, tensors[0].ndim + 1, "stack")
    return Stack.apply(*tensors, axis=axis)


def numpy_key(key: Any) -> Any:
    """An indexing key with its tensors (masks, index lists) as numpy arrays."""
    from tinytorch.tensor import Tensor

    if isinstance(key, Tensor):
        return key.array
    if isinstance(key, tuple):
        return tuple(k.array if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


def index(input: Any, key: Any) -> Any:
    """``input[key]`` with numpy's basic and integer-array indexing."""
    key = numpy_key(key)
    try:
        return Index.apply(input, key)
    except IndexError as error:
        raise IndexError(f"index: {error} (tensor of shape {input.shape})") from None


# ----- copies, transposes and pieces ----------------------------------------------
class Clone(Function):
    """A copy in new memory; the gradient passes through unchanged."""

    @staticmethod
    def forward(ctx, x, order="K"):
        return np.array(x, copy=True, order=order)  # "K" keeps the layout, "C" is row-major

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(input: Any) -> Any:
    """A copy of ``input`` in new memory, still connected to the graph."""
    return Clone.apply(input)


def contiguous(input: Any) -> Any:
    """``input`` itself when its elements lie in row-major order in memory, else a copy that does.

    A transpose or a strided slice is a view whose rows are scattered through
    memory; some code (a C kernel, ``view`` in PyTorch) needs them in order.
    """
    if input.array.flags.c_contiguous:
        return input
    return Clone.apply(input, order="C")


def t(input: Any) -> Any:
    """The transpose of a matrix; vectors and 0-d tensors are returned as they are."""
    if input.ndim > 2:
        raise RuntimeError(
            f"t() expects a tensor with <= 2 dimensions, but self is {input.ndim}D "
            f"(shape {tuple(input.shape)}); use transpose(dim0, dim1) or permute"
        )
    return Permute.apply(input, tuple(reversed(range(input.ndim))))


def narrow(input: Any, dim: int, start: int, length: int) -> Any:
    """Elements ``start`` .. ``start + length - 1`` along ``dim``: a view, sharing memory."""
    if input.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    axis = _wrap_dim(dim, input.ndim, "narrow")
    size = input.shape[axis]
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension size ({size}) "
            f"of a tensor of shape {tuple(input.shape)}"
        )
    return Index.apply(input, (slice(None),) * axis + (slice(start, start + length),))


# split and chunk return views (PyTorch's do too): the pieces share memory and
# the version counter with the input, so writing into a piece changes the
# input, and autograd notices the write.

def split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be shorter), or of the given sizes."""
    if tensor.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    axis = _wrap_dim(dim, tensor.ndim, "split")
    size = tensor.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        piece = int(split_size_or_sections)
        if piece < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={piece}")
        if piece == 0 and size != 0:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
        count = max(-(-size // piece), 1) if piece else 1
        sections = [piece] * (count - 1) + [size - piece * (count - 1)]
    else:
        sections = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sections):
            raise RuntimeError(
                f"split_with_sizes expects split_sizes have only non-negative entries, but got "
                f"split_sizes={sections}")
        if sum(sections) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {axis}), but got split_sizes={sections}")
    starts = np.cumsum([0] + sections[:-1])
    return tuple(narrow(tensor, axis, int(start), length) for start, length in zip(starts, sections))


def chunk(input: Any, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of equal size ceil(n / chunks) along ``dim`` (the last smaller)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if input.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    size = input.shape[_wrap_dim(dim, input.ndim, "chunk")]
    if size == 0:  # PyTorch keeps the number of (empty) chunks here
        return split(input, [0] * chunks, dim)
    return split(input, -(-size // chunks), dim)
