"""BatchNorm2d: the batch-normalization layer (see ``ops/normalization.py`` for the math).

The layer owns ``weight`` (gamma, initialized to 1) and ``bias`` (beta, 0) as
parameters, and three buffers that are saved in the state_dict under
PyTorch's names but not learned: ``running_mean``, ``running_var`` and
``num_batches_tracked``.  ``train()`` normalizes with batch statistics and
updates the running ones; ``eval()`` uses the running ones.
"""
from __future__ import annotations

import numpy as np

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor


class BatchNorm2d(Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, np.float32)) if affine else None
        self.bias = Parameter(np.zeros(num_features, np.float32)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim != 4 or input.shape[1] != self.num_features:
            raise ValueError(
                f"{self!r}: expected input of shape (N, {self.num_features}, H, W), got {input.shape}")
        # Without running statistics there is nothing else to normalize with.
        batch_statistics = self.training or self.running_mean is None
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            batch_statistics, self.momentum, self.eps, self.num_batches_tracked)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")
