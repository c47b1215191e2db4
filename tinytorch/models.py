"""The reference models used by the demo, the benchmarks and the labs.

Small on purpose: each trains in seconds on a laptop CPU and later fits in the
flash of a microcontroller.

* ``digits_mlp``: 64 -> 128 -> 64 -> 10 with ReLU, the first network of the
  course, on 8x8 digit images flattened to 64 numbers.
"""
from __future__ import annotations

from tinytorch import nn


def digits_mlp() -> nn.Sequential:
    """A multilayer perceptron for 8x8 digits: 64-128-64-10 with ReLU."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )
