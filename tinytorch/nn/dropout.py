"""Dropout: zero random activations while training.

``Dropout`` randomly zeroes activations during training so that the network
cannot lean on any single unit (a cheap form of ensembling); in ``eval()`` mode
it does nothing.  The activations it keeps are scaled by 1 / (1 - p)
("inverted dropout"), so each one's expected value is the same in training
and evaluation.  The random mask comes from TinyTorch's seeded generator, so
``manual_seed`` makes training runs repeat exactly.
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
