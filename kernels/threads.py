"""Threads: how many cores the parallel kernels may use.

Numba runs a ``prange`` loop on a pool of worker threads: the iterations are
split into chunks and each thread takes some.  That is free speed when each
iteration does real work, and a loss when it does not: waking the workers,
handing out chunks and waiting for the slowest one costs microseconds on an
idle machine and far more on a busy one.  So the kernels run in parallel only
where it pays (each kernel file says where), and this file lets you choose
how many threads they may use.

:func:`set_num_threads` and :func:`get_num_threads` wrap Numba's functions of
the same names, with a clear error message.  As in Numba, the setting belongs
to the calling Python thread and cannot exceed the pool size fixed when Numba
starts (the environment variable ``NUMBA_NUM_THREADS``, by default the number
of cores).  numpy's BLAS threads are separate and are not affected.

Numba starts its pool at the first parallel kernel or the first call of
either function, and reads the OpenMP environment then, once: settings such
as ``process.py``'s wait policy must come before.

Numba is imported inside the functions, not at the top of the file: importing
this module stays free, as the kernels layer promises.
"""
from __future__ import annotations

import operator


def get_num_threads() -> int:
    """Number of threads the parallel kernels may use (in this Python thread)."""
    import numba

    return int(numba.get_num_threads())


def set_num_threads(n: int) -> None:
    """Let the parallel kernels use ``n`` threads, 1 <= n <= the Numba pool size."""
    import numba

    if isinstance(n, bool):
        raise TypeError(f"set_num_threads: n must be an int, got bool {n!r}")
    try:
        count = operator.index(n)  # ints and numpy integers, not floats or strings
    except TypeError:
        raise TypeError(f"set_num_threads: n must be an int, got {type(n).__name__} {n!r}") from None
    ceiling = numba.config.NUMBA_NUM_THREADS
    if not 1 <= count <= ceiling:
        raise ValueError(
            f"set_num_threads: n must be between 1 and {ceiling} (the Numba thread pool "
            f"size, fixed by the environment variable NUMBA_NUM_THREADS when Numba starts), "
            f"got {count}")
    numba.set_num_threads(count)
