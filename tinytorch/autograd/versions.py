"""Version counters: how autograd notices that a saved value was overwritten.

A backward formula often needs values from the forward pass: ``y = w * x``
saves ``x`` and ``w``, because dy/dw = x.  If ``x`` is changed in place
between the forward and the backward (``x[0] = 100``, ``x.fill_(0)``,
``x += 1``, or a write through ``x.data``, ``x.detach()`` or a view such as
``x.view(-1)``), the saved array has changed too, since it *is* the same
memory, and the gradient comes out silently wrong.

PyTorch's answer, which TinyTorch copies, is a counter per storage:

* every tensor that shares memory with another (views, ``detach()``,
  ``.data``) shares its ``VersionCounter``;
* every in-place write bumps it;
* when an operation saves an array for backward, it also writes down which
  counter that array belongs to and the counter's value at that moment;
* the backward pass compares, and raises instead of using a changed value.

Counters are created lazily: most tensors are never viewed, saved or written
in place, and a training step creates hundreds of them, so a tensor gets a
counter only when something needs to share or remember it.

Arrays are matched to tensors by their memory owner: numpy gives every view
a ``base`` that points at the array owning the memory, so two arrays with
the same owner share memory.  (Writes through ``tensor.numpy()`` go straight
to the memory and are invisible here, as in PyTorch.)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tinytorch.autograd.function import Function
    from tinytorch.tensor import Tensor


class VersionCounter:
    """How many in-place writes one piece of memory has seen."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


def memory_owner(array: Any) -> Any:
    """The array that owns ``array``'s memory (itself unless it is a view)."""
    base = getattr(array, "base", None)
    return array if base is None else base


def share_counter_with_views(result: "Tensor", tensors: list) -> None:
    """Give ``result`` the counter of the input tensor whose memory it views, if any."""
    owner = result.array.base
    for tensor in tensors:
        if memory_owner(tensor.array) is owner:
            result._version_counter = tensor._shared_version_counter()
            return


def remember_saved_versions(node: "Function", tensors: list, result: "Tensor") -> None:
    """Note, for each saved array that is a tensor's memory, its counter's value now.

    ``tensors`` are the operation's tensor inputs.  This runs once per recorded
    operation of every forward pass, so it is written for speed: a saved array
    is most often an input's array itself, and a few identity tests settle it.
    """
    remembered = []
    for saved in node._saved:
        if type(saved) is not np.ndarray:
            continue
        owner = saved if saved.base is None else saved.base
        for tensor in (*tensors, result):
            array = tensor.array
            if array is owner or array.base is owner:
                counter = tensor._version_counter or tensor._shared_version_counter()
                remembered.append((counter, counter.value, saved))
                break
    node.saved_versions = tuple(remembered)


def check_saved_versions(node: "Function") -> None:
    """Raise if an array ``node`` saved was written in place after it was saved."""
    for counter, saved_at, array in node.saved_versions:
        if counter.value != saved_at:
            raise RuntimeError(
                f"{type(node).__name__}Backward: one of the variables needed for gradient "
                f"computation has been modified by an inplace operation: [{array.dtype} "
                f"tensor of shape {tuple(array.shape)}] is at version {counter.value}; "
                f"expected version {saved_at} instead. Hint: a value this operation "
                "saved during the forward pass was overwritten in place (an indexed "
                "assignment, a method ending in _, an operator such as +=, or a write "
                "through .data, .detach() or a view) before backward; compute a new "
                "tensor instead, or make the change after backward."
            )
