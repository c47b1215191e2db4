"""Optimizer: the part of training that changes the weights.

After ``loss.backward()`` every parameter holds d(loss)/d(parameter) in
``.grad``.  An optimizer turns those gradients into a change of the weights.
Every rule (SGD, Adam, ...) needs the same bookkeeping, which lives here, laid
out exactly as in PyTorch so that code and checkpoints read the same:

* ``param_groups``: a list of dicts, each with its ``"params"`` and its own
  copy of every option (``lr``, ``momentum``, ...).  Passing a list of dicts
  instead of a list of parameters lets, say, a pretrained backbone learn
  slowly while a new head learns fast:

      SGD([{"params": backbone.parameters(), "lr": 1e-4},
           {"params": head.parameters()}], lr=1e-2, momentum=0.9)

  Options missing from a group are filled in from the constructor's defaults.
  A learning-rate scheduler works by rewriting ``group["lr"]``.
* ``state``: per-parameter memory of the rule (a momentum buffer, Adam's two
  moment estimates), a dict keyed by the parameter itself and created lazily
  on its first step.
* ``zero_grad()``: gradients *accumulate* across ``backward`` calls, so a
  training step starts by clearing them.
* ``state_dict()`` / ``load_state_dict()``: everything needed to resume.  A
  checkpoint cannot hold parameter objects, so each parameter is replaced by
  its position, counted across all groups in order:

      {"state": {0: {"momentum_buffer": array}, 1: {...}},
       "param_groups": [{"lr": 0.1, "momentum": 0.9, ..., "params": [0, 1]}]}

A subclass writes only ``update(param, grad, group)``: the rule for one
parameter.  Updates work on the numpy arrays directly (``param.array``), in
place: an optimizer step is not part of any graph, and a step that allocated
new tensors would cost more than the arithmetic on a small model.  After each
update ``step`` bumps the parameter's version counter (``_mark_written``), so
that a graph built before the step, which may have saved the old weights for
its backward pass, raises instead of returning a silently wrong gradient.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from tinytorch.tensor import Tensor


class Optimizer:
    """Base class: holds parameter groups and per-parameter state; subclasses write ``update``."""

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            # A single tensor is iterable (over its rows): refuse it instead of
            # silently optimizing copies of its rows.
            raise TypeError(f"{name}: params argument given to the optimizer should be an "
                            f"iterable of Tensors or dicts, but got {type(params).__name__}")
        _check_ordered(params, name)
        self.defaults = dict(defaults)
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing ones come from the defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry, "
                            f"got {param_group!r:.80}")
        params = param_group["params"]
        _check_ordered(params, name)
        params = [params] if isinstance(params, Tensor) else list(params)
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but one of the "
                                f"params is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter appears twice in one parameter group")
        already_present = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in already_present for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append({**self.defaults, **param_group, "params": params})

    # ----- one training step ---------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient (``backward`` adds to what is there)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None  # free, and the next backward stores a fresh array
                elif param.grad is not None:
                    param.grad.array[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns ``closure()`` if one is given.

        The closure (which re-evaluates the loss) exists for PyTorch
        compatibility; none of the rules here needs to call it more than once.
        """
        loss = closure() if closure is not None else None
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:  # parameters unused by the loss are left alone
                    self.update(param, param.grad.array, group)
                    # The weights changed in place: a graph that saved them for its
                    # backward pass must now refuse to run (see autograd/versions.py).
                    param._mark_written()
        return loss

    def update(self, param: Tensor, grad: np.ndarray, group: dict[str, Any]) -> None:
        """Change ``param.array`` in place given its gradient and its group's options."""
        raise NotImplementedError(f"{type(self).__name__} must implement update()")

    # ----- checkpoints ----------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Options and state with parameters replaced by their index across all groups.

        The arrays are copies: the dict is a snapshot that later steps do not
        change (PyTorch returns references to its live state instead).
        """
        groups, index_of = [], {}
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            packed["params"] = []
            for param in group["params"]:
                index_of[id(param)] = len(index_of)
                packed["params"].append(index_of[id(param)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if param in self.state:
                    state[index_of[id(param)]] = {
                        key: value.copy() if isinstance(value, np.ndarray) else value
                        for key, value in self.state[param].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore options and state saved by ``state_dict`` (same group and parameter counts)."""
        name = f"{type(self).__name__}.load_state_dict"
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has a different number of parameter "
                             f"groups: {len(saved_groups)} in the state dict, "
                             f"{len(self.param_groups)} in the optimizer")
        param_of: dict[int, Tensor] = {}
        for number, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"{name}: parameter group {number} has {len(saved['params'])} "
                                 f"parameters in the state dict but {len(own['params'])} in the "
                                 "optimizer")
            missing = [key for key in self.defaults if key not in saved]
            if missing:
                raise ValueError(f"{name}: parameter group {number} of the state dict has no "
                                 f"{', '.join(map(repr, missing))}: was it saved by a different "
                                 "optimizer?")
            param_of.update(zip((int(index) for index in saved["params"]), own["params"]))

        new_state: dict[Tensor, dict[str, Any]] = {}
        for index, entries in state_dict["state"].items():
            if int(index) not in param_of:
                raise ValueError(f"{name}: the state dict has state for parameter {index}, which "
                                 "none of its parameter groups lists")
            param = param_of[int(index)]
            new_state[param] = {key: _restored_value(value, param, f"{name}: state {key!r} of "
                                                                   f"parameter {index}")
                                for key, value in entries.items()}
        # Validate everything before changing anything: a failed load leaves the optimizer as it was.
        self.state = new_state
        for saved, own in zip(saved_groups, self.param_groups):
            own.update({key: value for key, value in saved.items() if key != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            lines += [f"    {key}: {value}" for key, value in sorted(group.items()) if key != "params"]
        return "\n".join(lines) + "\n)"


def _check_ordered(params: Any, name: str) -> None:
    # state_dict identifies parameters by their position, and the order of a set
    # changes from one run to the next.
    if isinstance(params, (set, frozenset)):
        raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                        "collections, but the ordering of tensors in sets will change "
                        "between runs. Please use a list instead.")


def _restored_value(value: Any, param: Tensor, where: str) -> Any:
    """A copy of a saved state entry, in the parameter's dtype if it is an array like it."""
    if isinstance(value, Tensor):
        value = value.array
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()  # a step count saved as a 0-d array comes back as a number
    if isinstance(value, np.ndarray):
        if value.shape != param.shape:
            raise ValueError(f"{where} has shape {value.shape}, but the parameter has shape "
                             f"{param.shape}")
        # A copy, so the checkpoint and the optimizer never share memory.
        return value.astype(param.dtype, copy=True)
    return value


def check_non_negative(what: str, value: float, optimizer: str) -> None:
    """PyTorch's argument check and message, e.g. 'Invalid learning rate: -1'."""
    if not value >= 0.0:  # written so that NaN fails too
        raise ValueError(f"{optimizer}: Invalid {what}: {value}")
