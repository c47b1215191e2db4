"""The kernels layer: Numba loops on plain numpy arrays, each beside a numpy reference.

Nothing here knows about Tensor or autograd; ``tinytorch/ops`` wraps these
functions as differentiable operations.  Importing this package compiles
nothing: Numba compiles each kernel on its first call and caches the machine
code on disk (``cache=True``), so later runs start fast.

Two process-wide settings are made here.  The first, ``memory.py`` explains:
freed temporaries stay in the process for reuse.  The second must happen
before Numba starts any thread: OpenMP worker threads must not *spin* while
waiting for work.  Numba's parallel
loops run on OpenMP threads, and numpy's matrix products on BLAS threads; on
a machine with few cores, threads of one pool spinning between parallel loops
starve the other pool, and a 0.1 ms matrix product was measured taking 24 ms.
A passive wait policy makes idle OpenMP threads sleep instead.  An explicit
``OMP_WAIT_POLICY`` in the environment is respected.
"""
import os

from tinytorch.kernels.memory import keep_freed_memory_in_process

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
keep_freed_memory_in_process()
