"""GEMM: four matrix multiplications, and why the framework still calls BLAS.

What
----
``C = A @ B`` with A of shape (n, k) and B of shape (k, m) computes

    C[i, j] = sum over p of A[i, p] * B[p, j]

n * m * k multiply-adds, ``2 n m k`` floating-point operations (FLOPs).  The
name GEMM ("general matrix multiply") comes from BLAS, the Basic Linear
Algebra Subprograms.  Linear layers are GEMMs, convolutions become GEMMs after
im2col, and attention is two of them: most of the arithmetic in deep learning
happens in this one loop nest.  This chapter writes it four times, each a
small step faster, then measures all four against numpy's ``a @ b``, which
calls an optimized BLAS library (OpenBLAS here).

The roofline: how fast *could* it go?
-------------------------------------
A processor has two limits.  It can do at most P FLOPs per second (its
compute peak) and move at most W bytes per second from memory (its
bandwidth).  A kernel that does F FLOPs for every byte it moves - its
*arithmetic intensity* F, in FLOP/byte - runs at best at

    min(P, F * W)        FLOP/s                   (the "roofline")

Below the ridge point F = P / W a kernel is *memory bound*: faster arithmetic
would not help, only moving fewer bytes would.  Above it the kernel is
*compute bound*.  Elementwise operations do one FLOP per element and move
every element through memory: ReLU reads one number and writes one, add
reads two and writes one, so 16 or 24 bytes per FLOP in float64 (8 or 12 in
float32): hopelessly memory bound.  GEMM is different.  For square n x n
matrices it does 2 n^3 FLOPs on only 3 n^2 numbers, so its *possible*
intensity grows with n:

    2 n^3 / (3 n^2 * 8 bytes) = n / 12 FLOP/byte      (float64)

about 43 FLOP/byte at n = 512, far above the ridge of the machine measured
below (3 to 9 FLOP/byte; ``benchmarks/gemm.py`` prints it).  GEMM can be
compute bound, but only if each number, once fetched, is reused many times
from a fast cache instead of being fetched again.  Everything below is about reuse.

1. Naive (i-j-k).  The textbook formula as loops.  The innermost loop walks
   down a *column* of B: ``B[p, j]``, ``B[p + 1, j]``, ... are m elements
   apart in memory, because numpy stores rows contiguously (C order).  Memory
   arrives in 64-byte cache lines, so each step uses 8 bytes of a line; the
   other 56 serve the next seven columns j only if the line is still in the
   L1 cache when they come.  Capacity does not decide that (a column of a
   128 x 128 float64 B is 128 lines, 8 KiB, and L1 holds 32 KiB); the
   *stride* does.  A line's address bits choose the one cache *set* (of 64
   here, 8 lines each) it may live in; rows 2^k floats apart share those bits,
   so a power-of-two n crowds a whole column into a few sets: 8 sets at
   n = 64 (64 lines, just enough), 4 at n = 128 and 2 at n = 256 (32 and 16
   lines for a column of 128 and 256).  Lines then evict each other before
   they are reused: *conflict misses*.  Measured on the machine below, in
   GFLOP/s: 3.8 at n = 64; 2.5 at n = 128 against 3.4 at n = 127 and 129;
   0.9 at n = 256 against 2.8 at n = 257.  The loop is also one chain of
   dependent additions, so the processor cannot overlap them.
2. Reordered (i-k-j).  The same sum, loops swapped: for each ``A[i, p]``, add
   ``A[i, p] * B[p, :]`` to ``C[i, :]``.  The inner loop now walks a row of B
   and a row of C with unit stride: every byte of every cache line is used,
   and the independent updates of ``C[i, j]`` let the compiler use SIMD
   instructions (4 float64 or 8 float32 at a time with AVX2).  Same FLOPs;
   measured 4x faster at n = 64, 17x at n = 256 (the naive loop's
   power-of-two worst case, item 1).  Loop order is a memory-layout decision.
3. Tiled (cache blocking).  Reordering streams all of B through the cache
   once per row of A.  While B fits in the last-level cache (32 MiB here)
   that is cheap; beyond it, B comes from main memory n times.  Tiling cuts
   the rows of A and the inner dimension into tiles, so ``tile_size`` rows of
   B, loaded once, serve ``tile_size`` rows of A before they are evicted.  At
   n <= 512 tiled and reordered run within about 30% of each other (tiled
   ahead at 512, a little behind below); at n = 2048 float64, where B is
   32 MiB, reordered falls to 2.6 GFLOP/s and tiled keeps 8.3.
4. Parallel tiled.  Different row tiles of C depend on no one else's
   output, so each thread takes whole row tiles (``prange``).  No two threads
   ever write the same element, so there is no race and no lock.  With T
   cores the best case is T times faster; small matrices gain nothing (at
   n = 64 there is a single row tile) and starting threads costs microseconds.

Why BLAS still wins
-------------------
Reordered and tiled share an inner loop that loads ``C[i, j]``, adds one
product and stores it back: two loads and a store per multiply-add, so moving
data in and out of L1, not arithmetic, sets their speed.  A good BLAS applies
all four ideas above and three more that are hard to express in Numba:
*register blocking* (a micro-kernel keeps, say, a 4 x 8 block of C in vector
registers for the whole inner loop, so each load of A or B feeds many fused
multiply-adds), *SIMD tuned per processor* (hand-written assembly for AVX2,
AVX-512, NEON, chosen at run time) and *packing* (copying blocks of A and B
into contiguous buffers in exactly the order the micro-kernel reads them).
Measured with ``benchmarks/gemm.py`` on a 2-core AMD EPYC (AVX2, FMA), shared
with other jobs (so repeated runs vary by about 20%), GFLOP/s for a
512 x 512 float64 product:

    kernel             one thread each    two threads each
    naive (n = 256)          0.9                0.8
    reordered               10.4               12.5
    tiled                   13.9               13.8
    parallel tiled          14.3               21.3
    numpy (OpenBLAS)        38.2               64.5

BLAS is 2.7 to 3 times faster than the best kernel here (float32: 80 against
29 GFLOP/s on one core) and about 45 times faster than the naive loop (both at
n = 256, where conflict misses slow the naive loop about threefold: item 1).

That gap is why ``tinytorch/ops/matmul.py`` computes ``matmul`` and
``linear`` with numpy's ``@`` (BLAS) rather than with these kernels.  This
file is for understanding where the speed comes from, not for training.

Where it sits
-------------
A kernels-layer chapter: plain numpy arrays in and out, no Tensor.  Each
public function validates its operands (``check_matmul_operands``), makes
them C-contiguous (the loop-order argument assumes row-major storage), and
calls a ``@njit(cache=True)`` kernel; the parallel one also passes
``parallel=True``.  ``matmul_reference`` is the numpy product the tests
compare every variant with.  With ``NUMBA_DISABLE_JIT=1`` every kernel is
ordinary Python that a debugger can step through (slowly: keep shapes
small).  ``tinytorch.kernels.threads`` sets how many threads the parallel
kernel uses.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
DEFAULT_TILE_SIZE = 64


# --- 1. Checking the operands ------------------------------------------------

def check_matmul_operands(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate ``a`` (n, k) and ``b`` (k, m); return them C-contiguous.

    Both must be 2-D numpy arrays of the same floating dtype (float32 or
    float64); numpy would silently promote mixed dtypes, but a kernel compiled
    for one precision should not guess which one you meant.
    """
    for name, array in (("a", a), ("b", b)):
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{op}: {name} must be a numpy array, got {type(array).__name__}")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{op}: both operands must be 2-D matrices, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.dtype not in SUPPORTED_DTYPES or b.dtype != a.dtype:
        raise TypeError(f"{op}: operands must both be float32 or both float64, got "
                        f"{a.dtype} and {b.dtype} (convert them with .astype)")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be multiplied: "
                         f"a has {a.shape[1]} columns but b has {b.shape[0]} rows")
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def check_tile_size(op: str, tile_size: int) -> int:
    if isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer)):
        raise TypeError(f"{op}: tile_size must be an int, got {type(tile_size).__name__}")
    if tile_size < 1:
        raise ValueError(f"{op}: tile_size must be at least 1, got {tile_size}")
    return int(tile_size)


# --- 2. Naive: i-j-k, the formula as written ---------------------------------

@njit(cache=True)
def _naive_ijk(a, b):
    rows, inner = a.shape
    columns = b.shape[1]
    out = np.zeros((rows, columns), dtype=a.dtype)
    for i in range(rows):
        for j in range(columns):
            # Start from out's zero so the sum stays in the operands' precision,
            # as BLAS does (a Python 0.0 would make it float64 for float32 input).
            total = out[i, j]
            for p in range(inner):
                total += a[i, p] * b[p, j]  # b[p, j]: a stride of `columns` elements
            out[i, j] = total
    return out


def matmul_naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` by the i-j-k triple loop: one dot product per output element."""
    a, b = check_matmul_operands("matmul_naive", a, b)
    return _naive_ijk(a, b)


# --- 3. Reordered: i-k-j, unit stride in the inner loop ----------------------

@njit(cache=True)
def _reordered_ikj(a, b):
    """out = a @ b with the loops in i-k-j order.

    The same three loops as ``_naive_ijk`` with the two inner ones swapped:
    for each row i and inner index p, ``a[i, p]`` is read once and
    ``a[i, p] * b[p, j]`` is added to ``out[i, j]`` for every column j.  The
    innermost loop then walks row p of b and row i of out with unit stride,
    and its updates do not depend on each other (no running total), so the
    compiler can use SIMD instructions.

    Worked example: a = [[1, 2]], b = [[3, 4], [5, 6]].  p = 0 adds
    1 * [3, 4] to out[0]; p = 1 adds 2 * [5, 6]: out = [[13, 16]].
    """
    rows, inner = a.shape
    columns = b.shape[1]
    out = np.zeros((rows, columns), dtype=a.dtype)
    # BEGIN SOLUTION lab 07
    for i in range(rows):
        for p in range(inner):
            a_ip = a[i, p]
            # out[i, :] += a[i, p] * b[p, :]: both rows are contiguous, and the
            # updates are independent of each other, so this loop vectorizes.
            for j in range(columns):
                out[i, j] += a_ip * b[p, j]
    # END SOLUTION
    return out


def matmul_reordered(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` by the i-k-j loop order: the inner loop walks rows of b and of the output."""
    a, b = check_matmul_operands("matmul_reordered", a, b)
    return _reordered_ikj(a, b)


# --- 4. Tiled: multiply block by block so each block is reused from cache ----
# Rows of A and the inner dimension are cut into tiles; the columns stay whole,
# so the innermost loop keeps the full row length that vector loops need to
# pay for their start-up (64-wide column tiles were measured 35-45% slower
# here at n = 512 and 1024).  The block of B in use is then tile_size rows x all columns: 256 KiB
# for 512 float64 columns and tile_size 64, which fits in a core's L2 cache.

@njit(cache=True)
def _multiply_block(a, b, out, row_start, row_stop, inner_start, inner_stop):
    """out[rows, :] += a[rows, inner] @ b[inner, :], in i-k-j order.

    The i-k-j loops of ``_reordered_ikj`` restricted to one block: i over
    ``range(row_start, row_stop)``, p over ``range(inner_start, inner_stop)``,
    j over all columns.  It accumulates into ``out`` (``+=``) because the
    caller adds the blocks of the inner dimension one after another.  The
    rows ``out[i]`` and ``b[p]`` are taken as views before the j loop, and j
    runs from 0: Numba lets negative indices count from the end, and only a
    loop that starts at 0 lets it prove j >= 0, drop that check and vectorize.

    Worked example: with rows 0..2 and inner 0..2 of 4 x 4 matrices, the
    call adds ``a[0:2, 0:2] @ b[0:2, :]`` to ``out[0:2, :]``.
    """
    columns = b.shape[1]
    # BEGIN SOLUTION lab 07
    for i in range(row_start, row_stop):
        out_row = out[i]
        for p in range(inner_start, inner_stop):
            a_ip = a[i, p]
            b_row = b[p]
            for j in range(columns):  # from 0: see the docstring
                out_row[j] += a_ip * b_row[j]
    # END SOLUTION


@njit(cache=True)
def _tiled(a, b, tile_size):
    """out = a @ b, one (row tile, inner tile) block at a time.

    Two loops over tile starts, ``range(0, rows, tile_size)`` over the rows
    of a and ``range(0, inner, tile_size)`` over the inner dimension; each
    tile stops at its start plus ``tile_size``, clipped to the matrix (the
    last tile may be partial).  Each block is one call of
    ``_multiply_block``.  Row tiles are the outer loop and inner tiles the
    inner one, so a row tile of out is finished before the next one starts.

    Worked example: rows = 5, tile_size = 2 gives the row tiles [0, 2),
    [2, 4) and [4, 5).
    """
    rows, inner = a.shape
    out = np.zeros((rows, b.shape[1]), dtype=a.dtype)
    # BEGIN SOLUTION lab 07
    for row_start in range(0, rows, tile_size):
        row_stop = min(row_start + tile_size, rows)  # the last tile may be partial
        for inner_start in range(0, inner, tile_size):
            inner_stop = min(inner_start + tile_size, inner)
            # These tile_size rows of B now serve tile_size rows of A while
            # they are still in cache, instead of one.
            _multiply_block(a, b, out, row_start, row_stop, inner_start, inner_stop)
    # END SOLUTION
    return out


def matmul_tiled(a: np.ndarray, b: np.ndarray, tile_size: int = DEFAULT_TILE_SIZE) -> np.ndarray:
    """``a @ b`` with cache blocking: tile_size rows of a against tile_size rows of b at a time.

    Any positive ``tile_size`` gives the same result; 32 to 128 ran fastest here.
    """
    a, b = check_matmul_operands("matmul_tiled", a, b)
    return _tiled(a, b, check_tile_size("matmul_tiled", tile_size))


# --- 5. Parallel tiled: threads take whole row tiles -------------------------

@njit(parallel=True, cache=True)
def _parallel_tiled(a, b, tile_size):
    """``_tiled`` with its row-tile loop spread over threads.

    ``prange`` wants a plain count, not a stepped range, so the loop runs
    over tile *numbers*: the row tiles are counted rounding up, and tile t
    covers rows ``[t * tile_size, (t + 1) * tile_size)``, clipped.  Inside,
    the inner-tile loop and ``_multiply_block`` are exactly as in ``_tiled``.
    An exception raised inside a ``prange`` loop does not reach the caller
    intact, so a bug in ``_multiply_block`` shows itself more clearly
    through ``_tiled``.

    Worked example: rows = 5, tile_size = 2: three tiles (numbers 0, 1, 2).
    """
    rows, inner = a.shape
    out = np.zeros((rows, b.shape[1]), dtype=a.dtype)
    # BEGIN SOLUTION lab 07
    row_tiles = (rows + tile_size - 1) // tile_size
    # Iteration `tile` writes only rows [tile * tile_size, (tile + 1) * tile_size)
    # of out and only reads a and b: no two threads touch the same output element.
    for tile in prange(row_tiles):
        row_start = tile * tile_size
        row_stop = min(row_start + tile_size, rows)
        for inner_start in range(0, inner, tile_size):
            inner_stop = min(inner_start + tile_size, inner)
            _multiply_block(a, b, out, row_start, row_stop, inner_start, inner_stop)
    # END SOLUTION
    return out


def matmul_parallel_tiled(a: np.ndarray, b: np.ndarray,
                          tile_size: int = DEFAULT_TILE_SIZE) -> np.ndarray:
    """``a @ b`` tiled as ``matmul_tiled``, with row tiles spread over Numba's threads.

    The thread count is Numba's (``tinytorch.kernels.threads.set_num_threads``).
    With fewer row tiles than threads some threads idle: 100 rows with
    ``tile_size=64`` make two tiles, so at most two threads work.
    """
    a, b = check_matmul_operands("matmul_parallel_tiled", a, b)
    return _parallel_tiled(a, b, check_tile_size("matmul_parallel_tiled", tile_size))


# --- 6. The reference: numpy's BLAS ------------------------------------------

def matmul_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` by numpy, which calls its BLAS library: the answer and the speed to beat."""
    a, b = check_matmul_operands("matmul_reference", a, b)
    return a @ b
