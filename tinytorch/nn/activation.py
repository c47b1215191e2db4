"""Activation layers: the nonlinearities between linear maps.

Without a nonlinearity, a stack of linear layers collapses into one linear
map.  These modules hold no parameters; each wraps the function of the same
name in ``nn.functional``.  ``ReLU`` is the default choice for hidden layers;
``ReLU6`` bounds it at 6, which suits int8 quantization (a known output range);
``LeakyReLU`` keeps a small slope for negative inputs, so a unit that
outputs negatives still gets a gradient (GAN discriminators use it);
``Sigmoid`` and ``Tanh`` squash to (0, 1) and (-1, 1).

The ReLU family accepts PyTorch's ``inplace`` flag so that models written
for PyTorch build unchanged, but always computes a new tensor (see
``F.leaky_relu``): the input keeps its values.
"""
from __future__ import annotations

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor


class _MaybeInplace(Module):
    # Not a common base of ReLU and ReLU6 on purpose: ReLU6 is not a ReLU
    # (code that asks isinstance(layer, nn.ReLU) must not see ReLU6).
    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_MaybeInplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input)


class ReLU6(_MaybeInplace):
    def forward(self, input: Tensor) -> Tensor:
        return F.relu6(input)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


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
