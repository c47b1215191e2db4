"""Parameter: a tensor that a Module learns.

A ``Parameter`` is an ordinary leaf tensor with ``requires_grad=True`` whose
type tells ``Module`` to register it: assigning ``self.weight =
Parameter(...)`` inside a module is all it takes for ``model.parameters()``,
the optimizer and ``state_dict`` to find it.
"""
from __future__ import annotations

from typing import Any

from tinytorch.tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor; registered automatically when assigned to a Module."""

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = []
        super().__init__(data.array if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
