"""Linear: the fully connected layer, y = x W^T + b.

Every output feature is a weighted sum of every input feature plus a bias.
The weight has shape (out_features, in_features), PyTorch's layout, so row i
holds the weights of output i; the computation is ``F.linear`` (one fused
operation, see ``tinytorch/ops/matmul.py``).  Initialization follows PyTorch
exactly (``init.py`` explains the bound 1/sqrt(in_features)).
"""
from __future__ import annotations

import math

import numpy as np

from tinytorch.nn import functional as F
from tinytorch.nn import init
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor


class Linear(Module):
    """Applies y = x W^T + b to the last dimension of the input."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: np.dtype | None = None) -> None:
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(
                f"Linear: in_features and out_features must be positive, got "
                f"{in_features} and {out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        dtype = dtype or np.float32
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(np.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        if input.shape[-1:] != (self.in_features,):
            raise RuntimeError(
                f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                f"expected input with {self.in_features} features in its last dimension, "
                f"got input of shape {input.shape}"
            )
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer)."""

    def forward(self, input: Tensor) -> Tensor:
        return input
