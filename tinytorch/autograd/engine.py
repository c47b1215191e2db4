"""The backward pass: reverse-mode differentiation over the recorded graph.

After a forward pass, every tensor that needs a gradient points at the node
that made it (``tensor.grad_fn``), and every node points at its inputs.  To
get d(loss)/d(everything) we apply the chain rule from the loss backwards:

1. Order the tensors so that each comes before the tensors it was computed
   from (a reverse topological order).  A node's gradient is complete only
   once every consumer of its output has contributed, and this order
   guarantees that.  The sort is an explicit-stack depth-first search, not a
   recursive one, so a chain of 100,000 operations is as easy as a chain of 3.
2. Walk that order, carrying a dict ``tensor -> gradient so far``.  For each
   tensor, hand its gradient to its node's ``backward``, and add what comes
   back into the dict entries of the node's inputs (a tensor used twice gets
   the sum of both contributions: that is the multivariate chain rule).
3. Leaves (tensors the user made, such as parameters) receive their finished
   gradient in ``.grad``, *added* to whatever was there, as in PyTorch; that
   is why training loops call ``zero_grad()``.

Unless ``retain_graph=True``, each node frees its saved arrays as soon as its
backward has run, and each gradient leaves the dict once it has been passed
on.  Memory therefore peaks where the forward pass ends and the backward pass
begins (every saved array still held, the first gradients being made) and
falls as the walk proceeds.  The tensors themselves, and their values, stay
alive until the walk ends: the order it follows holds them.

The same walk serves ``backward(inputs=...)`` and ``autograd.grad`` (see
``gradients.py``): given the tensors whose gradients are wanted, it first
drops every tensor that leads to none of them, and stops at a wanted tensor
with nothing wanted below it, so no work is spent on the rest of the graph.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    from tinytorch.tensor import Tensor


def topological_order(root: "Tensor") -> list["Tensor"]:
    """Tensors reachable from ``root`` that need gradients, consumers first."""
    # BEGIN SOLUTION lab 02
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:  # everything it was computed from is already in `order`
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        node = tensor.grad_fn
        if node is not None:
            for _, parent in node.parents:
                if id(parent) not in visited:
                    stack.append((parent, False))
    order.reverse()
    return order
    # END SOLUTION


def backward(root: "Tensor", gradient: np.ndarray | None = None,
             retain_graph: bool = False, inputs: "Sequence[Tensor] | None" = None,
             accumulate_grad: bool = True) -> list[np.ndarray | None] | None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf of the graph.

    With ``inputs``, only those tensors receive gradients (a non-leaf input
    keeps its ``.grad`` from then on, as after ``retain_grad()``), and only the
    part of the graph that leads to them is walked.  With
    ``accumulate_grad=False`` no leaf's ``.grad`` is touched: the gradient of
    each of ``inputs`` is returned instead (None where none arrived), which is
    what ``tinytorch.autograd.grad`` builds on.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: element 0 of tensors does not require grad and does not have a "
            "grad_fn (did you create it under no_grad, or from tensors with "
            "requires_grad=False?)"
        )
    if gradient is None:
        if root.array.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, "
                f"but the output has shape {root.shape}; pass a gradient of that shape"
            )
        gradient = np.ones_like(root.array)
    elif np.shape(gradient) != root.shape:
        raise RuntimeError(
            f"backward: gradient has shape {np.shape(gradient)} but the output has "
            f"shape {root.shape}"
        )

    order = topological_order(root)
    # Nodes whose backward is skipped: none, unless ``inputs`` prunes the walk.
    stop_at: set[int] | frozenset[int] = frozenset()
    captured: dict[int, np.ndarray | None] | None = None
    if inputs is not None:
        order, stop_at = _restrict_to_inputs(order, inputs)
        if not accumulate_grad:
            captured = {id(tensor): None for tensor in inputs}
        for tensor in inputs:
            if tensor.grad_fn is not None and accumulate_grad:
                tensor._retains_grad = True

    pending: dict[int, np.ndarray] = {id(root): gradient}
    handed_out = {id(gradient)}  # arrays someone else holds: a leaf must copy these
    for tensor in order:
        tensor_id = id(tensor)
        grad = pending.pop(tensor_id, None)
        if grad is None:
            continue
        node = tensor.grad_fn
        if captured is not None:  # autograd.grad: hand gradients back, write no leaf's .grad
            if tensor_id in captured:
                captured[tensor_id] = _owned(grad, handed_out)
            if node is not None and tensor._retains_grad:
                _accumulate_into_leaf(tensor, grad, handed_out)
        elif node is None or tensor._retains_grad:
            _accumulate_into_leaf(tensor, grad, handed_out)
        if node is None or tensor_id in stop_at:
            continue
        if node._released:
            node.saved_tensors  # raises the "backward through the graph twice" error
        input_grads = node.backward(node, grad)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for position, parent in node.parents:
            parent_grad = input_grads[position]
            if parent_grad is None:
                continue
            if parent_grad.dtype != parent.array.dtype:
                # A gradient has its input's dtype (PyTorch casts here too): a float64
                # constant inside some backward must not turn the float32 gradients
                # below it, and so a float32 leaf's .grad, into float64 ones.
                parent_grad = parent_grad.astype(parent.array.dtype)
            # add parent_grad into pending[id(parent)] (a tensor used twice gets the sum)
            # BEGIN SOLUTION lab 02
            key = id(parent)
            if key in pending:
                pending[key] = pending[key] + parent_grad
            else:
                pending[key] = parent_grad
            # END SOLUTION
        if not retain_graph:
            node.release()
    if captured is None:
        return None
    return [captured[id(tensor)] for tensor in inputs]


def _restrict_to_inputs(order: list["Tensor"], inputs: "Sequence[Tensor]"
                        ) -> tuple[list["Tensor"], set[int]]:
    """The part of ``order`` that leads to ``inputs``, and the tensors to stop at.

    A tensor matters if it is one of the inputs or if some input lies below it.
    Walking ``order`` backwards visits every tensor after the tensors it was
    computed from, so one pass decides both.  An input with no other input
    below it is where the walk stops: its node's backward is never run.
    """
    wanted = {id(tensor) for tensor in inputs}
    leads_to_an_input: set[int] = set()
    for tensor in reversed(order):
        node = tensor.grad_fn
        if node is not None and any(id(parent) in wanted or id(parent) in leads_to_an_input
                                    for _, parent in node.parents):
            leads_to_an_input.add(id(tensor))
    kept = [tensor for tensor in order
            if id(tensor) in leads_to_an_input or id(tensor) in wanted]
    stop_at = {id(tensor) for tensor in kept if id(tensor) not in leads_to_an_input}
    return kept, stop_at


def _owned(grad: np.ndarray, handed_out: set[int]) -> np.ndarray:
    """``grad`` itself if nobody else holds it, else a copy; either way, now handed out.

    Gradients given to users (``.grad``, the results of ``autograd.grad``) get
    modified in place (``clip_grad_norm_`` does), so each must own its memory.
    Most arrive freshly made by a backward and can be kept as they are; a view
    (reshape, broadcast) or an array already given to another tensor (an
    addition passes the same gradient to both inputs) is copied.
    """
    owned = grad.base is None and grad.flags.writeable and id(grad) not in handed_out
    handed_out.add(id(grad))
    return grad if owned else grad.copy()


def _accumulate_into_leaf(tensor: "Tensor", grad: np.ndarray, handed_out: set[int]) -> None:
    from tinytorch.tensor import Tensor

    if grad.shape != tensor.shape:
        raise RuntimeError(
            f"backward: gradient of shape {grad.shape} computed for a tensor of shape "
            f"{tensor.shape} (an operation's backward returned the wrong shape)"
        )
    if tensor.grad is None:
        tensor.grad = Tensor._wrap(_owned(grad, handed_out), False)
    else:
        tensor.grad.array = tensor.grad.array + grad
