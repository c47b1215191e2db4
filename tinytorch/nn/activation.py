"""Activation layers: the nonlinearities between linear maps.

Without a nonlinearity, a stack of linear layers collapses into one linear
map.  These modules hold no parameters; each wraps the function of the same
name in ``nn.functional``.  ``ReLU`` is the default choice for hidden layers;
``ReLU6`` bounds it at 6, which suits int8 quantization (a known output range);
``Sigmoid`` and ``Tanh`` squash to (0, 1) and (-1, 1).
"""
from __future__ import annotations

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor


class ReLU(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class ReLU6(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input)


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softmax(Module):
    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim)
