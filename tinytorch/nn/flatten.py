"""Flatten: the bridge from convolutional to fully connected layers.

A convolution produces a feature map of shape (N, C, H, W); a ``Linear``
layer wants one vector per sample, (N, features).  ``Flatten`` merges the
dimensions ``start_dim`` .. ``end_dim`` into one, by default every dimension
after the batch: (N, C, H, W) becomes (N, C*H*W).  Nothing is computed and
nothing learned; the values keep their row-major order, so the gradient flows
back through the same reshape, undone.

The work is ``tinytorch.nn.functional.flatten`` (a reshape, see
``tinytorch/ops/shape.py``).  The module keeps PyTorch's defaults, which
differ from the function's: ``nn.Flatten`` starts at dimension 1 and keeps
the batch, ``flatten`` starts at 0.
"""
from __future__ import annotations

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
