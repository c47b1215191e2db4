"""Dropout and Flatten: two layers that move no information between features.

``Dropout`` randomly zeroes activations during training so that the network
cannot lean on any single unit (a cheap form of ensembling); in ``eval()`` mode
it does nothing.  The random mask comes from TinyTorch's seeded generator, so
``manual_seed`` makes training runs repeat exactly.

``Flatten`` turns each sample's feature map (C, H, W) into one vector, the
bridge between convolutional and fully connected layers.
"""
from __future__ import annotations

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor


class Dropout(Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: probability has to be between 0 and 1, but got {p}")
        self.p = p

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Flatten(Module):
    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return F.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
