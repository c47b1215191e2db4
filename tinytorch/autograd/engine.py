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

Unless ``retain_graph=True``, each node frees its saved arrays as soon as it
has been used, so memory peaks during the forward pass, not after.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

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
             retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf of the graph."""
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

    pending: dict[int, np.ndarray] = {id(root): gradient}
    handed_out = {id(gradient)}  # arrays someone else holds: a leaf must copy these
    for tensor in topological_order(root):
        grad = pending.pop(id(tensor), None)
        if grad is None:
            continue
        node = tensor.grad_fn
        if node is None or tensor._retains_grad:
            _accumulate_into_leaf(tensor, grad, handed_out)
        if node is None:
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
                # constant inside some backward must not turn float32 gradients into
                # float64 ones, nor change a leaf's .grad dtype on the next backward.
                parent_grad = parent_grad.astype(parent.array.dtype)
            # TODO: add parent_grad into pending[id(parent)] (a tensor used twice gets the sum)
            # BEGIN SOLUTION lab 02
            key = id(parent)
            if key in pending:
                pending[key] = pending[key] + parent_grad
            else:
                pending[key] = parent_grad
            # END SOLUTION
        if not retain_graph:
            node.release()


def _accumulate_into_leaf(tensor: "Tensor", grad: np.ndarray, handed_out: set[int]) -> None:
    from tinytorch.tensor import Tensor

    if grad.shape != tensor.shape:
        raise RuntimeError(
            f"backward: gradient of shape {grad.shape} computed for a tensor of shape "
            f"{tensor.shape} (an operation's backward returned the wrong shape)"
        )
    if tensor.grad is None:
        # ``.grad`` must be an array nobody else holds: users and optimizers modify
        # it in place (clip_grad_norm_ does).  Most gradients arrive freshly made by
        # a backward and can be kept as they are; a view (reshape, broadcast) or an
        # array already given to another tensor (an addition passes the same
        # gradient to both inputs) is copied.
        owned = grad.base is None and grad.flags.writeable and id(grad) not in handed_out
        handed_out.add(id(grad))
        tensor.grad = Tensor._wrap(grad if owned else grad.copy(), False)
    else:
        tensor.grad.array = tensor.grad.array + grad
