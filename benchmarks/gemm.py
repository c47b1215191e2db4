"""GFLOP/s of the four Numba GEMM kernels against numpy's BLAS: the roofline lesson in numbers.

    python benchmarks/gemm.py                      # float64 and float32, n = 64 ... 512
    python benchmarks/gemm.py --sizes 1024 --dtype float64 --rounds 2
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/gemm.py   # one core each

Each size multiplies two random n x n matrices.  A product does 2 n^3
floating-point operations, so GFLOP/s = 2 n^3 / seconds / 1e9.  Every figure
is the best of several interleaved rounds after a warm-up call (Numba
compiles on the first call; compile time is not counted), via
``common.compare``.  The naive kernel is skipped above n = 256, where it
takes seconds.  Every result is checked against numpy's before timing.

Threads: numpy's BLAS and ``matmul_parallel_tiled`` use threads (one per core
unless OPENBLAS_NUM_THREADS / NUMBA_NUM_THREADS say otherwise); the other
three kernels run on one core.  Compare the serial kernels with a one-thread
BLAS (third command above) for a like-for-like race.  On a machine shared
with other jobs the figures drift between runs: run it more than once.  The
multi-threaded BLAS suffers most: on the 2-core machine these figures were
taken on, while another job held a core, a 128 x 128 float64 product
sometimes ran 10 to 20 times slower for whole seconds (every round of it);
one-thread runs never showed this.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numba
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compare, machine_description  # noqa: E402

from tinytorch.kernels import tune_process  # noqa: E402
from tinytorch.kernels.gemm import (  # noqa: E402
    DEFAULT_TILE_SIZE, matmul_naive, matmul_parallel_tiled, matmul_reference, matmul_reordered,
    matmul_tiled)

NAIVE_MAX_SIZE = 256
VARIANTS = {
    "naive": matmul_naive,
    "reordered": matmul_reordered,
    "tiled": matmul_tiled,
    "parallel": matmul_parallel_tiled,
    "numpy BLAS": matmul_reference,
}


def blas_description() -> str:
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        name = f"{blas['name']} {blas['version']}"
    except (AttributeError, KeyError, TypeError):
        name = "unknown BLAS"
    threads = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    return f"{name}, BLAS threads: {threads or 'default (one per core)'}"


def memory_bandwidth(megabytes: int = 64, repeats: int = 5) -> float:
    """Bytes per second of a large array copy (read + write), the memory roof of the roofline."""
    source = np.ones(megabytes * 2**20 // 8)
    destination = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(destination, source)
        best = min(best, time.perf_counter() - start)
    return 2 * source.nbytes / best


def run_size(size: int, dtype: np.dtype, rounds: int) -> dict[str, float]:
    """GFLOP/s of every variant on one n x n product."""
    rng = np.random.default_rng(size)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    expected = a @ b
    candidates = {}
    for name, function in VARIANTS.items():
        if name == "naive" and size > NAIVE_MAX_SIZE:
            continue
        # Also the warm-up that compiles the kernel (or loads it from the cache).
        np.testing.assert_allclose(function(a, b), expected,
                                   rtol=1e-3 if dtype == np.float32 else 1e-10, atol=1e-3)
        candidates[name] = lambda function=function: function(a, b)
    seconds = compare(candidates, rounds=rounds)
    return {name: 2 * size**3 / best / 1e9 for name, best in seconds.items()}


def print_table(dtype: np.dtype, sizes: list[int], rounds: int) -> dict[int, dict[str, float]]:
    names = list(VARIANTS)
    print(f"\n{dtype.name}: GFLOP/s (higher is better); last column = BLAS / best Numba kernel")
    print(f"{'n':>6}" + "".join(f"{name:>12}" for name in names) + f"{'BLAS/best':>11}")
    results = {}
    for size in sizes:
        rates = run_size(size, dtype, rounds)
        results[size] = rates
        cells = "".join(f"{rates[name]:12.2f}" if name in rates else f"{'-':>12}"
                        for name in names)
        best_numba = max(rate for name, rate in rates.items() if name != "numpy BLAS")
        print(f"{size:>6}{cells}{rates['numpy BLAS'] / best_numba:10.1f}x", flush=True)
    return results


def print_roofline_note(bandwidth: float, best_blas: float, dtype: str) -> None:
    gigabytes = bandwidth / 1e9
    ridge = best_blas / gigabytes
    memory_cap = gigabytes * 2 / 64
    print(f"""
Roofline note
  Memory roof: a 64 MiB array copy moves {gigabytes:.1f} GB/s.  Compute roof: taken as the best
  {dtype} BLAS rate above, {best_blas:.1f} GFLOP/s.  Ridge point: {ridge:.1f} FLOP/byte; below it
  a kernel is memory bound.
  GEMM could sit far above the ridge: n x n float64 does 2n^3 FLOPs on 3n^2 * 8 bytes, an
  intensity of n/12 FLOP/byte (5 at n = 64, 43 at n = 512) if every number crosses the
  memory bus once.  What each loop achieves depends on reuse:
  * naive i-j-k walks down columns of B, touching a new 64-byte cache line for every 2 FLOPs.
    At n = 64 a column stays in L1; from n = 128 it does not and the loop runs at L2 speed;
    were B fetched from main memory, 0.03 FLOP/byte would cap it near {memory_cap:.1f} GFLOP/s.
  * reordered i-k-j streams rows (every byte of a line used) and vectorizes, but loads and
    stores C[i, j] for every multiply-add: moving data in and out of L1, not arithmetic, limits it.
  * tiled keeps a block of B in cache for many rows of A; it pays once B no longer fits in
    the last-level cache: with a 32 MiB cache, from n = 2048 in float64 (try --sizes 2048).
  * BLAS holds a block of C in registers (register blocking), packs A and B into the order
    its hand-tuned SIMD micro-kernel reads them, and so nears the compute roof.""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512])
    parser.add_argument("--dtype", choices=["float32", "float64", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds per variant")
    args = parser.parse_args()
    tune_process()  # before Numba starts its threads

    print(f"GEMM kernels vs numpy BLAS - {machine_description()}")
    print(f"numpy {np.__version__} ({blas_description()}), Numba {numba.__version__} "
          f"(threads for 'parallel': {numba.get_num_threads()}), tile size {DEFAULT_TILE_SIZE}")
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    best_blas = {}
    for dtype in dtypes:
        results = print_table(np.dtype(dtype), args.sizes, args.rounds)
        best_blas[dtype] = max(rates["numpy BLAS"] for rates in results.values())
    print_roofline_note(memory_bandwidth(), best_blas[dtypes[0]], dtypes[0])


if __name__ == "__main__":
    main()
