"""Containers: Sequential and ModuleList.

Most small networks are a straight line of layers, each feeding the next.
``Sequential`` is that line as a module: its sub-modules are registered under
the names "0", "1", ... (so a state_dict has keys like ``"0.weight"``, as in
PyTorch) and ``forward`` threads the input through them in order.
``ModuleList`` only holds modules (registering their parameters) and leaves
the wiring to your own ``forward``.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterable, Iterator

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
        if not -len(modules) <= index < len(modules):
            raise IndexError(f"Sequential: index {index} is out of range for {len(modules)} modules")
        return modules[index][1]

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
