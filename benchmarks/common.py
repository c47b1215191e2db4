"""Shared helpers for the benchmark scripts: threads, timing, machine description, torch lookup.

This module imports nothing heavy, so a script can call ``pin_threads`` from
it before numpy and Numba load.
"""
from __future__ import annotations

import datetime
import os
import platform
import timeit
from typing import Any, Callable


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMBA_NUM_THREADS")


def pin_threads(threads: int) -> None:
    """Give BLAS, OpenMP and Numba ``threads`` threads; only works before they load."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)


def compare(candidates: dict[str, Callable[[], Any]], rounds: int = 7,
            seconds_per_round: float = 0.1) -> dict[str, float]:
    """Best seconds per call of each candidate, measured in interleaved rounds.

    The machine is shared and its speed drifts; timing the candidates in turn,
    round after round, and keeping each one's best round exposes them all to
    the same conditions.
    """
    timers = {}
    for name, function in candidates.items():
        function()  # warm up (first calls compile kernels and fill caches)
        timer = timeit.Timer(function)
        number, elapsed = timer.autorange()
        timers[name] = (timer, max(1, int(number * seconds_per_round / max(elapsed, 1e-9))))
    best = {name: float("inf") for name in candidates}
    for _ in range(rounds):
        for name, (timer, number) in timers.items():
            best[name] = min(best[name], timer.timeit(number) / number)
    return best


def print_timings(timings: dict[str, float], unit: str = "ms", reference: str = "pytorch") -> None:
    """One line per candidate, in milliseconds, with its ratio to ``reference`` when measured."""
    for candidate, seconds in timings.items():
        line = f"  {candidate:<16} {seconds * 1e3:8.3f} {unit}"
        if reference in timings:
            line += f"   {seconds / timings[reference]:6.2f}x PyTorch"
        print(line)


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
