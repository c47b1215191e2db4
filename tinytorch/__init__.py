"""TinyTorch: a from-scratch deep learning framework, from tensors to int8 C.

``import tinytorch`` gives PyTorch's top-level names for the subset that
exists: ``tinytorch.tensor``, ``tinytorch.zeros``, ``tinytorch.no_grad``,
``tinytorch.manual_seed``, and the sub-packages ``nn``, ``optim``,
``autograd`` and ``utils.data``.  Importing is cheap on purpose: no kernel is
compiled and no toolchain is probed until something needs it.
"""
import numpy as np

from tinytorch.tensor import Tensor  # noqa: I001  (first: the operations need it)
from tinytorch import autograd
from tinytorch.autograd.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from tinytorch.creation import (
    arange, empty, eye, from_numpy, full, full_like, linspace, ones, ones_like, rand,
    rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from tinytorch.ops.arithmetic import add, div, mul, neg, pow, sub
from tinytorch.ops.matmul import matmul
from tinytorch.ops.pointwise import (
    abs, clamp, clip, exp, log, maximum, minimum, relu, sigmoid, sqrt, tanh, where)
from tinytorch.ops.reduction import argmax, argmin, max, mean, min, std, sum, var
from tinytorch.ops.shape import (
    cat, expand, flatten, permute, reshape, squeeze, stack, transpose, unsqueeze)
from tinytorch.ops.softmax import log_softmax, softmax
from tinytorch.creation import as_tensor
from tinytorch.device import device
from tinytorch import cuda
from tinytorch.ops.arithmetic import floor_divide, remainder
from tinytorch.ops.indexing import gather, masked_fill
from tinytorch.ops.logical import (
    all, allclose, any, bitwise_and, bitwise_not, bitwise_or, bitwise_xor, equal, logical_not)
from tinytorch.ops.matmul import bmm, mm
from tinytorch.ops.pointwise import cos, sin
from tinytorch.ops.reduction import norm
from tinytorch.ops.shape import chunk, clone, narrow, split, t
from tinytorch.random import Generator, initial_seed, manual_seed, seed
from tinytorch import nn, optim, utils
from tinytorch.serialization import load, save
from tinytorch.kernels.threads import get_num_threads, set_num_threads

float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
int64 = long = np.dtype(np.int64)
int32 = np.dtype(np.int32)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)

__version__ = "0.1.0"
