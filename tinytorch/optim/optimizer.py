"""Optimizer: the part of training that changes the weights.

After ``loss.backward()`` every parameter holds d(loss)/d(parameter) in
``.grad``.  An optimizer turns those gradients into an update.  The base class
here does the bookkeeping every update rule shares, with PyTorch's layout:

* ``param_groups``: a list of dicts, each with its ``"params"`` and its own
  options (``lr``, ``momentum``, ...), so that, say, the last layer can learn
  faster than the rest;
* ``state``: per-parameter memory of the rule (momentum buffers, Adam's
  moment estimates), created lazily on the first step;
* ``zero_grad``, ``state_dict`` and ``load_state_dict``.

A subclass only writes ``update``: the rule for one parameter.  Updates work on the numpy arrays directly and
in place (``param.data``): they are not part of any graph, and an optimizer
step must not allocate a new tensor per parameter.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

import numpy as np

from tinytorch.tensor import Tensor


class Optimizer:
    """Base class: holds parameter groups and per-parameter state."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor) or not param.is_leaf:
                raise TypeError(f"{type(self).__name__}: can only optimize leaf Tensors, got {type(param).__name__}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{type(self).__name__}: some parameters appear in more than one parameter group")
        full = {**self.defaults, **group, "params": params}
        self.param_groups.append(full)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (gradients accumulate otherwise)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad.data[...] = 0

    def step(self) -> None:
        """Update every parameter that has a gradient, group by group."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    self.update(param, param.grad.data, group)

    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        """The update rule for one parameter; what each optimizer writes."""
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    # ----- checkpoints ------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """PyTorch's layout: parameters are replaced by their index across all groups."""
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                packed["params"].append(index_of[id(param)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    state[index_of[id(param)]] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else v)
                        for k, v in self.state[param].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore state saved by ``state_dict``; the groups must have the same sizes."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: loaded state dict has {len(saved_groups)} "
                f"parameter groups, the optimizer has {len(self.param_groups)}")
        for number, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: parameter group {number} has "
                    f"{len(saved['params'])} parameters in the state dict but "
                    f"{len(own['params'])} in the optimizer")
        param_of = {}
        for saved, own in zip(saved_groups, self.param_groups):
            param_of.update(zip(saved["params"], own["params"]))
        new_state = {}
        for index, entries in state_dict["state"].items():
            param = param_of[int(index)]
            restored = {}
            for key, value in entries.items():
                if isinstance(value, np.ndarray) and value.ndim:
                    if value.shape != param.shape:
                        raise ValueError(
                            f"{type(self).__name__}.load_state_dict: state {key!r} of parameter "
                            f"{index} has shape {value.shape}, the parameter has {param.shape}")
                    value = value.astype(param.dtype, copy=True)
                elif isinstance(value, np.ndarray):
                    value = value.item()
                restored[key] = value
            new_state[param] = restored
        self.state = new_state
        for saved, own in zip(saved_groups, self.param_groups):
            own.update({k: copy.deepcopy(v) for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items()) if key != "params"]
        return "\n".join(lines) + "\n)"


def check_positive(name: str, value: float, optimizer: str) -> None:
    """PyTorch's argument check and message, e.g. 'Invalid learning rate: -1'."""
    if not value >= 0.0:
        raise ValueError(f"{optimizer}: Invalid {name}: {value}")
