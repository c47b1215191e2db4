"""Containers: Sequential, ModuleList and ModuleDict.

Most small networks are a straight line of layers, each feeding the next.
``Sequential`` is that line as a module: its sub-modules are registered under
the names "0", "1", ... (so a state_dict has keys like ``"0.weight"``, as in
PyTorch) and ``forward`` threads the input through them in order.
``ModuleList`` only holds modules (registering their parameters) and leaves
the wiring to your own ``forward``; ``ModuleDict`` does the same with names
you choose, which become the state_dict prefixes (``"encoder.weight"``).
A plain Python list or dict of layers would hide them from ``parameters()``,
``state_dict()`` and ``train()``: that is why these containers exist.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from tinytorch.nn.module import Module


class Sequential(Module):
    """Modules applied one after another: ``Sequential(nn.Linear(4, 8), nn.ReLU())``."""

    def __init__(self, *modules: Any) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            named = list(modules[0].items())
        else:
            named = [(str(i), module) for i, module in enumerate(modules)]
        for name, module in named:
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: entry {name!r} is a {type(module).__name__}, not a Module")
            self.add_module(name, module)

    def forward(self, input: Any) -> Any:
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(modules[index]))
        return modules[self._position(index)][1]

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace one layer (``model[2] = nn.Linear(...)``), keeping its name."""
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: cannot assign a {type(module).__name__} as a layer")
        name = list(self._modules)[self._position(index)]
        self._modules[name] = module

    def __delitem__(self, index: int) -> None:
        """Remove one layer; the later layers are renumbered "0", "1", ... as in PyTorch."""
        del self._modules[list(self._modules)[self._position(index)]]
        remaining = list(self._modules.values())
        self._modules.clear()
        for position, module in enumerate(remaining):
            self._modules[str(position)] = module

    def _position(self, index: int) -> int:
        if not -len(self) <= index < len(self):
            raise IndexError(f"Sequential: index {index} is out of range for {len(self)} modules")
        return index % len(self)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered with the parent."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self)), module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class ModuleDict(Module):
    """Modules by name, used like a dict: ``nn.ModuleDict({"encoder": ..., "head": ...})``.

    Keys keep their insertion order (as in a dict) and must be strings
    without dots, since they become parts of dotted parameter names.
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module | None) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: module name should be a string, got {type(key).__name__}")
        if not key or "." in key:
            raise KeyError(f"ModuleDict: module name can't contain \".\" or be empty, got {key!r}")
        if key not in self._modules and hasattr(self, key):
            raise KeyError(f"ModuleDict: attribute {key!r} already exists")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"ModuleDict: entry {key!r} is a {type(module).__name__}, not a Module")
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace entries from a mapping or from (name, module) pairs."""
        if isinstance(modules, (Mapping, ModuleDict)):
            pairs: Iterable = modules.items()
        elif isinstance(modules, Iterable) and not isinstance(modules, str):
            pairs = modules
        else:
            raise TypeError(f"ModuleDict.update should be called with an iterable of key/value "
                            f"pairs, but got {type(modules).__name__}")
        for position, pair in enumerate(pairs):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"ModuleDict.update: element #{position} should be a (name, "
                                 f"module) pair, got {pair!r}")
            self[pair[0]] = pair[1]
