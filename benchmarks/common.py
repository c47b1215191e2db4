"""Shared helpers for the benchmark scripts: timing, machine description, torch lookup."""
from __future__ import annotations

import datetime
import os
import platform
import timeit
from typing import Any, Callable


def best_time(function: Callable[[], Any], repeat: int = 7, min_seconds: float = 0.2) -> float:
    """Best-of-``repeat`` seconds per call, each repeat running at least ``min_seconds``."""
    function()  # warm up (first calls compile kernels and fill caches)
    timer = timeit.Timer(function)
    number, _ = timer.autorange()
    number = max(number, int(number * min_seconds / 0.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    today = datetime.date.today().isoformat()
    return (f"{today}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def import_torch(threads: int = 1) -> Any:
    """PyTorch with ``threads`` intra-op threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch
