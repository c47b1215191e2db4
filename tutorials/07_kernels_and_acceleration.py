# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 07 — Kernels and acceleration with Numba
#
# A *kernel* is one tight loop nest over plain arrays: a matrix product, an
# im2col, a pooling window. Python runs such loops orders of magnitude slower
# than machine code (measured below), so TinyTorch writes its kernels with
# **Numba**: `@njit` compiles a Python function, on its first call, for the
# exact types it receives
# (`cache=True` keeps the machine code on disk for the next run). The
# kernels layer (`kernels/`) knows nothing of tensors or autograd; every kernel
# sits beside a plain-numpy reference of the same math.
#
# How fast *could* a kernel go? The **roofline** model says: a processor does
# at most P FLOP/s and moves at most W bytes/s from memory. A kernel doing F
# FLOPs per byte it moves (its *arithmetic intensity*) runs at best at
# min(P, F * W). Elementwise operations do about one FLOP per 8-24 bytes: they
# are memory bound, whatever the code. A product of two n x n matrices does
# 2n^3 FLOPs on 3n^2 numbers, so it *can* be compute bound, but only if each
# number fetched is reused many times from cache. This lab writes GEMM four
# ways, each reusing data better, and measures all of them against numpy's
# BLAS:
#
# 1. **naive** i-j-k: the formula as loops; the inner loop strides down a column of B;
# 2. **reordered** i-k-j: the inner loop walks rows of B and of the output
#    contiguously, and vectorizes;
# 3. **tiled**: blocks of rows of A against blocks of rows of B, reused while in cache;
# 4. **parallel tiled**: the row tiles spread over threads with `prange`.
#
# Read along in `kernels/gemm.py` (its opening essay goes deeper) and
# `kernels/threads.py`; `benchmarks/gemm.py` is the longer measurement.

# %%

import matplotlib.pyplot as plt
import numpy as np

import tinytorch
import time
import numba
from tinytorch.kernels import gemm
from tinytorch.app.labs.notebook import print_solution_regions, show


# %% [markdown]
# ## Where you write code
# Four functions in `kernels/gemm.py` (imported as `tinytorch.kernels.gemm`);
# each one's docstring says what to build, how, and gives a worked example:
#
# - `_reordered_ikj`: the three loops of a matrix product in i-k-j order;
# - `_multiply_block`: one block of rows times one block of the inner
#   dimension, the step the tiled kernels repeat;
# - `_tiled`: the product one (row tile, inner tile) block at a time;
# - `_parallel_tiled`: `_tiled` with its row tiles spread over threads.
#
# `tinytorch grade 07` runs this lab's tests on your code. The cell below asks
# the source where the four are (in your copy: the
# `NotImplementedError("Lab 07: ...")` each became).

# %%
print_solution_regions(7)

# %% [markdown]
# ## Facts from this machine
# Numba's thread pool, numpy's BLAS, and the kernels' default tile size.

# %%
print("Numba", numba.__version__, "| threads:", tinytorch.get_num_threads(),
      "| pool size:", numba.config.NUMBA_NUM_THREADS)
try:
    blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
    print("numpy", np.__version__, "| BLAS:", blas["name"], blas.get("version", ""))
except (AttributeError, KeyError, TypeError):
    print("numpy", np.__version__, "| BLAS: unknown")
print("default tile size:", gemm.DEFAULT_TILE_SIZE)
print("JIT disabled (NUMBA_DISABLE_JIT):", bool(numba.config.DISABLE_JIT))


def best_seconds(function, *arguments, repeats: int = 3) -> float:
    """The fastest of a few runs: the least disturbed by other work on the machine."""
    best = float("inf")
    for _ in range(repeats):
        began = time.perf_counter()
        function(*arguments)
        best = min(best, time.perf_counter() - began)
    return best


# %% [markdown]
# ## Compiled loops against interpreted loops
# `matmul_naive` runs the compiled `_naive_ijk`; `_naive_ijk.py_func` is the same
# Python source, interpreted. The first compiled call also compiles (or loads
# the machine code from Numba's cache).

# %%
generator = np.random.default_rng(0)
a = generator.standard_normal((48, 48))
b = generator.standard_normal((48, 48))
began = time.perf_counter()
gemm.matmul_naive(a, b)
first_call = time.perf_counter() - began
compiled = best_seconds(gemm.matmul_naive, a, b)
interpreted_loops = getattr(gemm._naive_ijk, "py_func", gemm._naive_ijk)
interpreted = best_seconds(interpreted_loops, a, b, repeats=1)
print(f"first compiled call (compile or cache load): {first_call * 1e3:8.1f} ms")
print(f"compiled:                                    {compiled * 1e3:8.3f} ms")
print(f"interpreted:                                 {interpreted * 1e3:8.1f} ms "
      f"({interpreted / compiled:,.0f}x slower)")

# %% [markdown]
# ## All four agree with numpy
# Same FLOPs, same answer (up to rounding: a different order of additions).

# %%
a = generator.standard_normal((67, 45))
b = generator.standard_normal((45, 31))
variants = {"naive": gemm.matmul_naive, "reordered": gemm.matmul_reordered,
            "tiled": gemm.matmul_tiled, "parallel tiled": gemm.matmul_parallel_tiled}
for name, kernel in variants.items():
    gap = np.max(np.abs(kernel(a, b) - a @ b))
    print(f"{name:15} largest difference from numpy: {gap:.1e}")
    assert gap < 1e-10

# %% [markdown]
# ## Experiment 1: GFLOP/s against matrix size
# A product of n x n matrices is 2n^3 floating-point operations. Every kernel
# is timed after a warm-up call (compile time not counted), best of five.

# %%
sizes = [64, 128, 256]
variants["numpy BLAS"] = gemm.matmul_reference
rates = {name: [] for name in variants}
for size in sizes:
    a = generator.standard_normal((size, size))
    b = generator.standard_normal((size, size))
    for name, kernel in variants.items():
        kernel(a, b)  # warm-up: compile or load, fill the caches
        rates[name].append(2 * size**3 / best_seconds(kernel, a, b, repeats=5) / 1e9)
print("GFLOP/s, float64")
print(f"{'n':>5} " + " ".join(f"{name:>15}" for name in variants))
for index, size in enumerate(sizes):
    print(f"{size:>5} " + " ".join(f"{rates[name][index]:>15.2f}" for name in variants))

figure, axis = plt.subplots(figsize=(6.5, 3.5))
for name, values in rates.items():
    axis.plot(sizes, values, "o-", label=name)
axis.set_xscale("log", base=2)
axis.set_yscale("log")
axis.set_xlabel("n (n x n times n x n)")
axis.set_ylabel("GFLOP/s")
axis.legend(fontsize=8)
axis.set_title("Same arithmetic, different memory traffic")
show(figure, "07_gflops_by_size")

# %% [markdown]
# ## Experiment 2: the roofline
# Two measured roofs: memory bandwidth (a large array copy, read plus write)
# and the best compute rate seen here (numpy's BLAS on the largest matrix,
# a lower bound of the processor's true peak). A GEMM's *possible*
# arithmetic intensity, reading each matrix once, is 2n^3 / (3n^2 * 8 bytes)
# = n / 12 FLOP/byte in float64; an elementwise add `c = a + b` does 1 FLOP
# per 24 bytes.

# %%
source = np.ones(4 * 2**20)  # 32 MiB: larger than the caches
destination = np.empty_like(source)
copy_bandwidth = 2 * source.nbytes / best_seconds(np.copyto, destination, source, repeats=5)
addend, total = np.ones_like(source), np.empty_like(source)
add_rate = source.size / best_seconds(np.add, source, addend, total, repeats=5)
# The memory roof: the faster of the two streams, counting the bytes each
# reads and writes (copy: 16 per element, add: 24).
bandwidth = max(copy_bandwidth, 24 * add_rate)
compute_roof = max(rates["numpy BLAS"]) * 1e9
ridge = compute_roof / bandwidth
print(f"memory bandwidth: {bandwidth / 1e9:.1f} GB/s, compute roof: {compute_roof / 1e9:.1f} "
      f"GFLOP/s, ridge point: {ridge:.1f} FLOP/byte")
print(f"elementwise add: {add_rate / 1e9:.2f} GFLOP/s at 1/24 FLOP/byte "
      f"(its roof there: {bandwidth / 24 / 1e9:.2f})")
for size in sizes:
    side = "compute" if size / 12 > ridge else "memory"
    print(f"GEMM n = {size}: possible intensity {size / 12:.1f} FLOP/byte, "
          f"on the {side}-bound side")

intensity = np.logspace(-2, 2.5, 200)
figure, axis = plt.subplots(figsize=(7, 4))
axis.loglog(intensity, np.minimum(compute_roof, intensity * bandwidth) / 1e9, "k-",
            label="roofline (measured roofs)")
axis.loglog([1 / 24], [add_rate / 1e9], "s", label="elementwise add")
for name, values in rates.items():
    axis.loglog(np.array(sizes) / 12, values, "o-", label=f"GEMM, {name}")
axis.axvline(ridge, color="0.7", linestyle=":")
axis.set_xlabel("arithmetic intensity (FLOP/byte)")
axis.set_ylabel("GFLOP/s")
axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
show(figure, "07_roofline")

# %% [markdown]
# The add sits on the slanted roof: memory bound, and no code can fix that,
# only fusing it with other work. The GEMMs' possible intensity grows with n,
# past the ridge (printed above), where only the compute roof would limit
# them; yet the naive loop stays far below any roof:
# its inner loop strides down a column of B and uses one number per cache
# line fetched. The intensity on the x axis is what the algorithm
# *allows*; reaching it takes reuse from cache and registers, which is what
# reordering, tiling and, further still, BLAS's register blocking and packing
# provide.
#
# Measurements on a shared machine are noisy. A multi-threaded BLAS suffers
# most: while another program holds a core, a small product can run ten
# times slower for seconds at a time. If one point falls far out of line,
# run the cell again.
#
# ## Experiment 3: tile size
# Tiled GEMM on a 384 x 384 product, for a range of tile sizes. Tiles too small
# pay loop overhead on every block; tiles too large no longer fit in cache.

# %%
size = 384
a = generator.standard_normal((size, size))
b = generator.standard_normal((size, size))
tile_sizes = [4, 8, 16, 32, 64, 128, 384]
gemm.matmul_tiled(a, b, tile_size=8)
tile_rates = [2 * size**3 / best_seconds(gemm.matmul_tiled, a, b, tile) / 1e9
              for tile in tile_sizes]
for tile, rate in zip(tile_sizes, tile_rates):
    print(f"tile {tile:>4}: {rate:6.2f} GFLOP/s")

figure, axis = plt.subplots(figsize=(5.5, 3))
axis.semilogx(tile_sizes, tile_rates, "o-", base=2)
axis.axvline(gemm.DEFAULT_TILE_SIZE, color="0.7", linestyle=":", label="default tile size")
axis.set_xlabel("tile size")
axis.set_ylabel("GFLOP/s")
axis.legend()
show(figure, "07_tile_size")

# %% [markdown]
# ## Experiment 4: threads
# The parallel kernel gives each thread whole row tiles. With one thread it is
# the tiled kernel; with more it can be up to that many times faster, if the
# cores are free (other programs on the machine take their share).

# %%
pool = tinytorch.get_num_threads()
thread_counts = list(range(1, pool + 1))
thread_rates = []
for threads in thread_counts:
    tinytorch.set_num_threads(threads)
    gemm.matmul_parallel_tiled(a, b)
    thread_rates.append(2 * size**3 / best_seconds(gemm.matmul_parallel_tiled, a, b) / 1e9)
    print(f"{threads} thread(s): {thread_rates[-1]:6.2f} GFLOP/s")
tinytorch.set_num_threads(pool)

figure, axis = plt.subplots(figsize=(5, 3))
axis.plot(thread_counts, thread_rates, "o-", label="parallel tiled")
axis.plot(thread_counts, [thread_rates[0] * count for count in thread_counts], "--",
          label="perfect scaling")
axis.set_xlabel("threads")
axis.set_ylabel("GFLOP/s")
axis.set_xticks(thread_counts)
axis.legend()
show(figure, "07_threads")

# %% [markdown]
# ## Why TinyTorch still calls BLAS
# Read the ratio off the table of Experiment 1: on the largest size numpy's BLAS
# is several times faster than the best kernel here. `tinytorch/ops/matmul.py`
# therefore computes `matmul` and `linear` with numpy's `@`; these kernels are
# for understanding where the speed comes from.

# %%
best_kernel = max((name for name in rates if name != "numpy BLAS"), key=lambda n: rates[n][-1])
print(f"n = {sizes[-1]}: numpy BLAS {rates['numpy BLAS'][-1]:.1f} GFLOP/s, best kernel "
      f"({best_kernel}) {rates[best_kernel][-1]:.1f} GFLOP/s: "
      f"{rates['numpy BLAS'][-1] / rates[best_kernel][-1]:.1f}x")

# %% [markdown]
# ## Exercise ideas
# 1. Run Experiment 1 in float32. Which kernels gain, and by how much? (SIMD
#    registers hold twice as many float32 numbers.)
# 2. Try the j-i-k and k-i-j loop orders. Predict from the strides which will
#    be fast, then measure.
# 3. Run this notebook with `NUMBA_DISABLE_JIT=1` in the environment: the
#    kernels become plain Python you can step through in a debugger. How much
#    slower is each?
