"""Memory: keep freed blocks in the process instead of handing them back.

A training step allocates and frees the same large temporaries every time:
im2col matrices of several MiB, activations, gradients.  By default glibc's
``malloc`` serves blocks above a threshold with fresh pages from the operating
system and returns them on ``free``, so every step pays a page fault for
every 4 KiB it touches.  In a virtual machine a page fault can cost more than
the arithmetic: on the machine the benchmarks were recorded on, LeNet-5's
training step ran 1.6x faster once freed memory was kept.

``keep_freed_memory_in_process`` raises glibc's mmap and trim thresholds
(``mallopt``), so freed blocks go back to the heap and are reused by the next
allocation of that size.  This is the same bargain PyTorch's caching
allocator makes: the process keeps its peak memory instead of shrinking after
each step.  It is applied once, when the kernels layer is imported; on a
system without glibc it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util

MMAP_THRESHOLD, TRIM_THRESHOLD = -3, -1  # mallopt parameter numbers (malloc.h)


def keep_freed_memory_in_process(mmap_threshold: int = 32 << 20,
                                 trim_threshold: int = 1 << 30) -> bool:
    """Ask glibc to reuse freed blocks up to ``mmap_threshold`` bytes; True if it agreed."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(MMAP_THRESHOLD, mmap_threshold)
                    and libc.mallopt(TRIM_THRESHOLD, trim_threshold))
    except (OSError, AttributeError, TypeError):
        return False
