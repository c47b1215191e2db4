"""BatchNorm1d and BatchNorm2d: the batch-normalization layers (the math: ``ops/normalization.py``).

Both normalize each channel (dim 1) over every other dimension of the batch;
they differ only in the inputs they accept: ``BatchNorm1d`` takes features
(N, C) or sequences (N, C, L), ``BatchNorm2d`` takes images (N, C, H, W).  So
one class, ``_BatchNorm``, holds the layer and each subclass names its
shapes, as in PyTorch.

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


class _BatchNorm(Module):
    dims: tuple[int, ...]  # the input ranks a subclass accepts
    layout: str            # the input shape its errors show, with C for the channels

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features, np.float32)) if affine else None
        # bias=False keeps gamma but drops beta (a following layer adds its own).
        self.bias = Parameter(np.zeros(num_features, np.float32)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, np.float32)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, np.float32)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, input: Tensor) -> Tensor:
        if input.ndim not in self.dims:
            ranks = " or ".join(f"{rank}D" for rank in self.dims)
            raise ValueError(f"{self!r}: expected {ranks} input (got {input.ndim}D input of "
                             f"shape {input.shape})")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape "
                             f"{self.layout.replace('C', str(self.num_features))}, got {input.shape}")
        # Without running statistics there is nothing else to normalize with.
        batch_statistics = self.training or self.running_mean is None
        return F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                            batch_statistics, self.momentum, self.eps, self.num_batches_tracked)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of features (N, C) or sequences (N, C, L)."""

    dims, layout = (2, 3), "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalization of images (N, C, H, W)."""

    dims, layout = (4,), "(N, C, H, W)"
