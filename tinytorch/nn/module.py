"""Module: the unit networks are built from.

A neural network is a function with parameters.  ``Module`` packages the two:
a subclass stores its parameters and sub-modules as attributes in
``__init__`` and computes its output in ``forward``.  Everything else is
bookkeeping that every model needs and nobody wants to write twice:

* **Registration.**  Assigning a ``Parameter`` or a ``Module`` to an attribute
  records it (``__setattr__`` below), so ``parameters()`` can find every
  weight in a model of any depth, by walking the tree of sub-modules.
* **Buffers.**  State that is saved but not learned (batch norm's running
  statistics) is registered with ``register_buffer``.
* **Modes.**  ``train()`` and ``eval()`` flip ``training`` on the whole tree;
  dropout and batch norm behave differently in each.
* **state_dict.**  A flat, ordered mapping from dotted names (``"0.weight"``,
  ``"features.3.bias"``, PyTorch's names) to tensors: what a checkpoint
  stores.  ``load_state_dict`` checks every key, shape, dtype and value
  *before* copying anything, so a bad checkpoint leaves the model untouched.
* **Hooks.**  ``register_forward_hook`` lets tools observe outputs without
  editing the model (calibrating a quantizer does exactly that).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, NamedTuple

import numpy as np

from tinytorch.device import check_cpu
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class for all layers and models."""

    training: bool

    def __init__(self) -> None:
        # object.__setattr__: our own __setattr__ needs these dicts to exist first.
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----- calling ------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        output = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                replaced = hook(self, args, output)
                if replaced is not None:
                    output = replaced
        return output

    def register_forward_hook(self, hook: Callable[["Module", tuple, Any], Any]) -> "RemovableHandle":
        """Call ``hook(module, inputs, output)`` after every forward; returns a handle."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    # ----- registration -----------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        parameters = self.__dict__.get("_parameters")
        if parameters is None:
            raise AttributeError(
                f"cannot assign attribute {name!r} before {type(self).__name__}.__init__() "
                "called Module.__init__() (call super().__init__() first)"
            )
        if isinstance(value, (Parameter, Module)):
            # record value under name in self._parameters or self._modules (after self._forget(name))
            # BEGIN SOLUTION lab 03
            self._forget(name)
            registry = self._parameters if isinstance(value, Parameter) else self._modules
            registry[name] = value
            # END SOLUTION
        elif name in self._parameters or name in self._modules:
            if value is not None:  # a plain tensor or number must not silently replace a weight
                kind = "parameter" if name in self._parameters else "child module"
                expected = "tinytorch.nn.Parameter" if kind == "parameter" else "Module"
                raise TypeError(f"cannot assign {type(value).__name__!r} as {kind} {name!r} "
                                f"({expected} or None expected)")
            (self._parameters if name in self._parameters else self._modules)[name] = None
        elif name in self._buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__!r} as buffer {name!r} "
                                "(Tensor or None expected)")
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and
        # sub-modules live in their registries, not in __dict__.
        for registry in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(registry)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is saved in ``state_dict`` (unless not persistent) but not learned."""
        if "." in name or not name:
            raise KeyError(f"register_buffer: buffer name can't contain '.' or be empty, got {name!r}")
        self._forget(name)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        self._modules[name] = module

    # ----- walking the tree -------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        """This module and every descendant, each once, with dotted names."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child_name}" if name else child_name, child)
                        for child_name, child in module._modules.items() if child is not None]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator["Module"]:
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Any]]:
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_name}.{name}" if module_name else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every parameter once (shared ones are not repeated), with dotted names."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ----- modes and gradients ----------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Set training mode on this module and all descendants."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.array[...] = 0

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call ``fn`` on every descendant, then on this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args: Any, device: Any = None, dtype: Any = None,
           non_blocking: bool = False) -> "Module":
        """Convert floating point parameters and buffers to ``dtype`` in place; returns self.

        PyTorch's forms: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``,
        ``to(tensor)`` (its dtype) and the keywords ``device=``, ``dtype=``.
        TinyTorch runs on the CPU only, so the only device accepted is the CPU
        (``"cpu"`` or a ``tinytorch.device("cpu")``), where everything already is.
        """
        for arg in args:
            if isinstance(arg, bool):
                continue  # non_blocking, given by position: nothing is ever in flight
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif _is_dtype(arg):
                dtype = arg
            else:
                device = arg
        if device is not None:
            check_cpu(device, "Module.to")
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind not in "fc":
            raise TypeError(f"nn.Module.to only accepts floating point or complex dtypes, but "
                            f"got desired dtype={dtype}")
        for tensor in [*self.parameters(), *self.buffers()]:
            if tensor.array.dtype.kind == "f":
                tensor.array = tensor.array.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad.array = tensor.grad.array.astype(dtype)
        return self

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    # ----- state_dict -------------------------------------------------------------
    def state_dict(self, prefix: str = "") -> "OrderedDict[str, Tensor]":
        """Parameters and persistent buffers by dotted name (sharing memory with the model)."""
        return OrderedDict((prefix + name, tensor.detach()) for name, tensor in self._tensors_by_name().items())

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into this model's tensors, all of them or none.

        Every key, shape, dtype and value is checked before the first tensor
        is written, so a bad checkpoint leaves the model exactly as it was.
        With ``strict=False`` missing and unexpected keys are allowed (and
        returned); a mismatched shape or an unusable value is always an error.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        own = self._tensors_by_name()
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        problems, converted = [], {}
        for key, target in own.items():
            if key in state_dict:
                value, problem = _value_for(key, state_dict[key], target)
                if problem:
                    problems.append(problem)
                else:
                    converted[key] = value
        if strict:
            if missing:
                problems.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
            if unexpected:
                problems.insert(int(bool(missing)),
                                "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if problems:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(problems)
            )
        # Only now, with every value known to fit, does anything change.
        for key, value in converted.items():
            own[key].array[...] = value
            own[key]._mark_written()  # a graph that saved the old values must not use them
        return IncompatibleKeys(missing, unexpected)

    def _tensors_by_name(self) -> dict[str, Tensor]:
        """What state_dict holds, as the model's own tensors (not detached copies)."""
        # walk self.named_modules(); key every parameter and persistent buffer by its dotted name
        # BEGIN SOLUTION lab 03
        tensors = {}
        for module_name, module in self.named_modules():
            dotted = f"{module_name}." if module_name else ""
            for name, param in module._parameters.items():
                if param is not None:
                    tensors[dotted + name] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    tensors[dotted + name] = buffer
        return tensors
        # END SOLUTION

    # ----- printing ---------------------------------------------------------------
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(module).replace("\n", "\n  ")
                 for name, module in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        head = f"{type(self).__name__}(" + (self.extra_repr() + "\n" if self.extra_repr() else "\n")
        return head + "".join(f"  {line}\n" for line in lines) + ")"


def _value_for(key: str, value: Any, target: Tensor) -> tuple[np.ndarray | None, str | None]:
    """``value`` as an array of ``target``'s dtype and shape, or why it cannot be one.

    A float checkpoint loads into a float32 or float64 model alike, but a
    conversion that would change a value is refused rather than done quietly:
    2.5 into an integer buffer, 300 into uint8, a finite 1e300 into float32
    (which would become inf), or complex numbers (which would lose their
    imaginary part).
    """
    if isinstance(value, Tensor):
        value = value.array
    if not isinstance(value, (np.ndarray, np.generic, int, float)):
        return None, (f'While copying the parameter named "{key}", expected a Tensor or numpy '
                      f"array from checkpoint but received {type(value)}")
    value = np.asarray(value)
    if value.shape != target.shape:
        return None, (f"size mismatch for {key}: copying a param with shape {value.shape} from "
                      f"checkpoint, the shape in current model is {target.shape}.")
    if value.dtype.kind not in "biuf":
        return None, (f"dtype mismatch for {key}: cannot copy {value.dtype} values from "
                      f"checkpoint into a tensor of dtype {target.dtype}.")
    with np.errstate(all="ignore"):  # overflow is detected below, not warned about
        converted = value.astype(target.dtype)
    if target.dtype.kind == "f":
        changed = np.isfinite(value) & ~np.isfinite(converted)
        what = f"values too large for {target.dtype}"
    else:
        with np.errstate(all="ignore"):
            changed = converted != value  # NaN is never equal, so it is refused too
        what = f"values that {target.dtype} cannot hold exactly"
    if np.any(changed):
        first = value[changed].flat[0].item()
        return None, (f"value mismatch for {key}: the checkpoint holds {what} (for example "
                      f"{first!r} of dtype {value.dtype}).")
    return converted, None


def _is_dtype(value: Any) -> bool:
    return isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic))


class RemovableHandle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook."""

    _next_id = 0

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
