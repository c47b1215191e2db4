"""The kernels layer: Numba loops on plain numpy arrays, each beside a numpy reference.

Nothing here knows about Tensor or autograd; ``tinytorch/ops`` wraps these
functions as differentiable operations.  Importing this package compiles
nothing: Numba compiles each kernel on its first call and caches the machine
code on disk (``cache=True``), so later runs start fast.

Importing it also changes nothing in the process: the two process-wide
settings that make training faster (idle OpenMP threads sleep, freed memory
stays in the process) are applied only by :func:`tune_process`, which a
program that owns its process calls first; ``process.py`` explains both.
"""
from tinytorch.kernels.process import tune_process  # noqa: F401
