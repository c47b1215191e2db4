"""Lab 07 — kernels and acceleration with Numba: the reordered, tiled and parallel tiled GEMM
kernels of kernels/gemm.py.

Every test is a probe (tinytorch.app.labs.expect): it runs the kernels students
write in lab 07 on fixed operands and hands over the products; the lab's
answer key holds what the reference solution produces.  The operands hold
small integers, so every partial sum is exact in floating point: a kernel
that drops, repeats or misplaces one product cannot hide behind a tolerance,
and the products are checked exactly.  Nothing from later labs is used.
"""
import numpy as np
import pytest

from tinytorch.kernels import gemm
from tinytorch.app.labs import expect

# (rows, inner, columns): non-square, sizes no tile divides, one row, one
# column, an inner dimension of 1, and a size above the default tile of 64.
SHAPES = [(7, 5, 3), (13, 6, 11), (1, 9, 6), (8, 7, 1), (6, 1, 5), (70, 67, 4)]


def integer_operands(rows, inner, columns, dtype=np.float64, seed=0):
    generator = np.random.default_rng(seed)
    a = generator.integers(-4, 5, size=(rows, inner)).astype(dtype)
    b = generator.integers(-4, 5, size=(inner, columns)).astype(dtype)
    return a, b


@pytest.mark.parametrize("shape", [pytest.param(shape, id="{}x{} times {}x{}".format(
    shape[0], shape[1], shape[1], shape[2])) for shape in SHAPES])
def test_reordered_multiplies_integer_matrices(shape):
    a, b = integer_operands(*shape)
    expect.value(gemm.matmul_reordered(a, b), what="the product")


def test_reordered_keeps_float32():
    a, b = integer_operands(9, 8, 7, dtype=np.float32)
    out = gemm.matmul_reordered(a, b)
    expect.value(str(out.dtype), what="the product's dtype")
    expect.value(out, what="the product")


def test_multiply_block_adds_one_block_and_nothing_else():
    a, b = integer_operands(6, 7, 5, seed=1)
    out = np.arange(30, dtype=np.float64).reshape(6, 5)
    gemm._multiply_block(a, b, out, 2, 5, 1, 4)
    expect.value(out, what="out (0..29) after adding a[2:5, 1:4] @ b[1:4] to its rows 2..4")


@pytest.mark.parametrize("tile_size", [pytest.param(size, id=f"tile_size {size}")
                                       for size in (1, 3, 4, 64, 200)])
@pytest.mark.parametrize("kernel", ["matmul_tiled", "matmul_parallel_tiled"])
def test_tiled_kernels_multiply_integer_matrices_with_any_tile_size(kernel, tile_size):
    for shape in SHAPES:
        a, b = integer_operands(*shape, seed=2)
        expect.value(getattr(gemm, kernel)(a, b, tile_size=tile_size),
                     what="the product of a {}x{} and a {}x{} matrix".format(
                         shape[0], shape[1], shape[1], shape[2]))


@pytest.mark.parametrize("kernel", ["matmul_reordered", "matmul_tiled", "matmul_parallel_tiled"])
def test_every_variant_multiplies_random_float32(kernel):
    generator = np.random.default_rng(4)
    a = generator.standard_normal((33, 29)).astype(np.float32)
    b = generator.standard_normal((29, 31)).astype(np.float32)
    out = getattr(gemm, kernel)(a, b)
    expect.value(str(out.dtype), what="the product's dtype")
    # float32 sums of 29 terms: the order of the additions may differ from the reference's.
    expect.value(out, rtol=1e-4, atol=1e-4, what="the product")
