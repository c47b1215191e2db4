"""Function: one differentiable operation, its compute and its gradient.

Every operation in TinyTorch, from ``a + b`` to a convolution, is a subclass of
``Function`` with two static methods:

* ``forward(ctx, *arrays, **options) -> ndarray`` computes the result from
  plain numpy arrays (tensors are unwrapped before the call), and saves on
  ``ctx`` whatever the gradient will need;
* ``backward(ctx, grad_output) -> grad per input`` receives d(loss)/d(output)
  as a numpy array and returns d(loss)/d(input) for each positional input of
  ``forward`` (``None`` for inputs that are not tensors or need no gradient).

``Function.apply(*inputs, **options)`` runs ``forward`` and, when grad mode is
on and some input requires a gradient, records the call in the graph: the
``ctx`` object becomes the result's ``grad_fn`` and remembers the inputs
that need gradients (its ``parents``).  The
graph is a DAG of these nodes; ``Tensor.backward`` walks it in reverse
topological order (see ``engine.py``).

The split between compute and gradient is deliberate: a student writes a new
operation as two small pure functions of numpy arrays and never touches the
graph machinery.  Because ``backward`` works on numpy arrays, not tensors,
TinyTorch has no higher-order gradients; in exchange an operation costs one
object and one numpy call, which keeps small models fast.

Rule for every ``backward``: never modify ``grad_output`` in place; it may be a
read-only broadcast view, or shared with another input's gradient.  Rule for
every ``forward``: keep arrays the backward needs with ``save_for_backward``,
not as plain ``ctx`` attributes, so that an in-place write to them between
forward and backward is caught (see ``versions.py``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.autograd import grad_mode
from tinytorch.autograd.versions import (
    check_saved_versions, remember_saved_versions, share_counter_with_views)
from tinytorch.tensor import Tensor


class Function:
    """Base class of all differentiable operations; an instance is a graph node."""

    # Filled in by ``apply``; class-level defaults keep a node cheap to create.
    # ``parents`` holds (position, tensor) for each input that needs a gradient:
    # the edges the backward pass follows.
    parents: tuple = ()
    needs_input_grad: tuple[bool, ...] = ()
    _saved: tuple = ()
    _released = False
    saved_versions: tuple = ()  # (counter, value when saved, array): see versions.py

    # ----- what a subclass writes -------------------------------------------
    @staticmethod
    def forward(ctx: "Function", *args: Any, **kwargs: Any) -> np.ndarray:
        raise NotImplementedError

    @staticmethod
    def backward(ctx: "Function", grad_output: np.ndarray) -> Any:
        raise NotImplementedError

    # ----- what forward and backward call -------------------------------------
    def save_for_backward(self, *arrays: Any) -> None:
        """Keep ``arrays`` until backward; freed after it unless retain_graph."""
        self._saved = arrays

    @property
    def saved_tensors(self) -> tuple:
        if self._released:
            raise RuntimeError(
                f"{type(self).__name__}Backward: trying to backward through the graph a "
                "second time (or to use saved values after they were freed). Saved "
                "values are freed by .backward(); call .backward(retain_graph=True) "
                "the first time if you need to backward twice."
            )
        if self.saved_versions:
            check_saved_versions(self)
        return self._saved

    def release(self) -> None:
        """Free the saved arrays; a later backward through this node raises."""
        self._saved = ()
        self.saved_versions = ()
        self._released = True

    # ----- the glue ----------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record the call if needed."""
        ctx = cls()
        arrays = []
        parents = []
        tensors = []
        for position, value in enumerate(inputs):
            if isinstance(value, Tensor):
                arrays.append(value.array)
                tensors.append(value)
                if value.requires_grad:
                    parents.append((position, value))
            else:
                arrays.append(value)
        record = grad_mode._grad_enabled and bool(parents)
        if record:
            needs = [False] * len(inputs)
            for position, _ in parents:
                needs[position] = True
            ctx.needs_input_grad = tuple(needs)
        else:
            ctx.needs_input_grad = (False,) * len(inputs)
        output = cls.forward(ctx, *arrays, **options)
        result = Tensor._wrap(output, record)
        if result.array.base is not None:  # a view (reshape, indexing...) shares a counter
            share_counter_with_views(result, tensors)
        if record:
            ctx.parents = tuple(parents)
            result.grad_fn = ctx
            if ctx._saved:
                remember_saved_versions(ctx, tensors, result)
        return result

    @property
    def next_functions(self) -> tuple:
        """One (node, 0) pair per input, as in PyTorch: where this node sends gradients.

        A leaf appears as an ``AccumulateGrad`` holding it; an input that needs
        no gradient as (None, 0).
        """
        parents = dict(self.parents)
        return tuple(
            ((parents[position].grad_fn or AccumulateGrad(parents[position]))
             if position in parents else None, 0)
            for position in range(len(self.needs_input_grad))
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


class AccumulateGrad:
    """How a leaf shows in ``next_functions``: its gradient is added into ``variable.grad``."""

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    def __repr__(self) -> str:
        return "<AccumulateGrad>"
