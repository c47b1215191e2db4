"""Process tuning: two settings that make training faster, for programs that own their process.

A library should not change the process that imports it: the same Python
process may be a notebook kernel that also runs PyTorch, a web server, or a
test runner, and its owner decides how memory and threads behave.  So
``import tinytorch`` changes nothing.  The two settings below are what a
program that *does* own its process (the ``tinytorch`` command, the
benchmarks, your training script) may ask for with one call,
:func:`tune_process`, as its first step.

**Idle OpenMP threads sleep** (``OMP_WAIT_POLICY=passive``).  Numba's
parallel loops run on a pool of OpenMP threads, numpy's matrix products on
BLAS threads.  After a parallel loop the OpenMP threads *spin*, burning a
core while waiting for the next loop, because waking a sleeping thread costs
microseconds.  On a machine with few cores the spinning threads starve the
BLAS threads: a 0.1 ms matrix product was measured taking 24 ms.  With the
passive policy idle threads sleep instead.  The setting is an environment
variable that the OpenMP runtime reads once, when it is loaded, so it applies
to every OpenMP runtime loaded afterwards (PyTorch's too, if it is imported
later) and to child processes; and it must come before Numba starts its
thread pool (the first parallel kernel, or the first ``get_num_threads`` /
``set_num_threads``): after that, :func:`tune_process` refuses rather than
pretend.  An ``OMP_WAIT_POLICY`` already in the environment is respected.

**Freed memory stays in the process** (glibc's ``mallopt``).  A training
step allocates and frees the same large temporaries every time: im2col
matrices of several MiB, activations, gradients.  By default glibc's
``malloc`` serves blocks above a threshold with fresh pages from the
operating system and returns them on ``free``, so every step pays a page
fault for every 4 KiB it touches.  In a virtual machine a page fault can cost
more than the arithmetic: on the machine the benchmarks were recorded on,
LeNet-5's training step ran 1.6x faster once freed memory was kept.  Raising
glibc's mmap and trim thresholds sends freed blocks back to the heap, where
the next allocation of that size reuses them.  This is the bargain PyTorch's
caching allocator makes: the process keeps its peak memory instead of
shrinking after each step.  It holds for every allocation of the process, from
any library, cannot be undone, and does nothing on a system without glibc.

``python benchmarks/process_tuning.py`` measures what the two buy, in fresh
processes with and without them.
"""
from __future__ import annotations

import os
import sys
from typing import NamedTuple

MMAP_THRESHOLD, TRIM_THRESHOLD = -3, -1  # mallopt parameter numbers (malloc.h)
WAIT_POLICY = "OMP_WAIT_POLICY"


class ProcessTuning(NamedTuple):
    """What :func:`tune_process` left in place."""
    wait_policy: str            # OMP_WAIT_POLICY as the OpenMP runtime will read it
    keeps_freed_memory: bool    # glibc agreed to keep freed blocks


def keep_freed_memory_in_process(mmap_threshold: int = 32 << 20,
                                 trim_threshold: int = 1 << 30) -> bool:
    """Ask glibc to reuse freed blocks up to ``mmap_threshold`` bytes; True if it agreed."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(MMAP_THRESHOLD, mmap_threshold)
                    and libc.mallopt(TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError, TypeError):
        return False


def numba_threads_started() -> bool:
    """Whether Numba has started its thread pool (and so read the OpenMP environment)."""
    pool = sys.modules.get("numba.np.ufunc.parallel")  # not imported: cannot have started
    return bool(getattr(pool, "_is_initialized", False))


def tune_process() -> ProcessTuning:
    """Let idle OpenMP threads sleep and keep freed memory in the process, for the whole process.

    Call it first, before any kernel runs; it raises ``RuntimeError`` if Numba's
    threads have already started without a wait policy, since setting one then
    would change nothing.  Calling it again is harmless.
    """
    if WAIT_POLICY not in os.environ:
        if numba_threads_started():
            raise RuntimeError(
                "tune_process: Numba's threads have already started, so OMP_WAIT_POLICY can no "
                "longer take effect; call tinytorch.kernels.tune_process() before the first "
                "kernel runs (or set OMP_WAIT_POLICY=passive in the environment)")
        os.environ[WAIT_POLICY] = "passive"
    return ProcessTuning(os.environ[WAIT_POLICY], keep_freed_memory_in_process())
