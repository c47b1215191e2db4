"""Lab 07, graded by the autograder only (probes: see tinytorch.app.labs.expect).

Shapes stay small: the lab checks run these kernels as plain Python
(NUMBA_DISABLE_JIT=1).
"""
import numpy as np
import pytest

from tinytorch.kernels import gemm
from tinytorch.app.labs import expect

KERNELS = [pytest.param(name, id=name.removeprefix("matmul_").replace("_", " "))
           for name in ("matmul_reordered", "matmul_tiled", "matmul_parallel_tiled")]
TILED = [pytest.param(name, id=name.removeprefix("matmul_").replace("_", " "))
         for name in ("matmul_tiled", "matmul_parallel_tiled")]


def integer_operands(rows, inner, columns, dtype=np.float64, seed=0):
    generator = np.random.default_rng(seed)
    a = generator.integers(-5, 6, size=(rows, inner)).astype(dtype)
    b = generator.integers(-5, 6, size=(inner, columns)).astype(dtype)
    return a, b


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("shape", [pytest.param((3, 0, 4), id="an inner dimension of 0"),
                                   pytest.param((0, 5, 2), id="no rows"),
                                   pytest.param((4, 3, 0), id="no columns")])
def test_empty_products(kernel, shape):
    a, b = integer_operands(*shape, seed=20)
    out = getattr(gemm, kernel)(a, b)
    expect.value(out.shape, what="the product's shape")
    expect.value(out, what="the product")


@pytest.mark.parametrize("kernel", KERNELS)
def test_operands_that_are_transposed_views(kernel):
    a, b = integer_operands(9, 6, 7, seed=21)
    # a.T and b.T are Fortran-ordered views: the product of (7x6 view of b.T) and (6x9 view of a.T).
    expect.value(getattr(gemm, kernel)(b.T, a.T), what="b.T @ a.T")


@pytest.mark.parametrize("kernel", KERNELS)
def test_operands_that_are_strided_slices(kernel):
    a, b = integer_operands(12, 10, 8, seed=22)
    expect.value(getattr(gemm, kernel)(a[::2, 1::3], b[1::3, ::2]),
                 what="a[::2, 1::3] @ b[1::3, ::2]")


@pytest.mark.parametrize("kernel", KERNELS)
def test_float64_with_fractions(kernel):
    generator = np.random.default_rng(23)
    a, b = generator.standard_normal((11, 17)), generator.standard_normal((17, 5))
    out = getattr(gemm, kernel)(a, b)
    expect.value(str(out.dtype), what="the product's dtype")
    expect.value(out, rtol=1e-10, atol=1e-12, what="the product")


def test_multiply_block_of_an_empty_block_changes_nothing():
    a, b = integer_operands(4, 4, 3, seed=24)
    out = np.full((4, 3), 7.0)
    gemm._multiply_block(a, b, out, 2, 2, 0, 4)
    gemm._multiply_block(a, b, out, 0, 4, 3, 3)
    expect.value(out, what="out (all 7) after two empty blocks (rows 2..2, then inner 3..3)")
    gemm._multiply_block(a, b, out, 3, 4, 3, 4)
    expect.value(out, what="out after adding a[3, 3] * b[3] to row 3")


def test_multiply_block_of_the_last_rows_and_inner_indices_in_float32():
    a, b = integer_operands(6, 7, 4, dtype=np.float32, seed=25)
    out = np.ones((6, 4), dtype=np.float32)
    gemm._multiply_block(a, b, out, 4, 6, 5, 7)
    expect.value(str(out.dtype), what="out's dtype")
    expect.value(out, what="out (all 1) after adding a[4:6, 5:7] @ b[5:7] to its rows 4..5")


def test_multiply_blocks_of_the_inner_dimension_add_up():
    a, b = integer_operands(5, 9, 3, seed=26)
    out = np.zeros((5, 3))
    for start, stop in ((0, 2), (2, 7), (7, 9)):
        gemm._multiply_block(a, b, out, 0, 5, start, stop)
    expect.value(out, what="out after the blocks of inner indices 0..1, 2..6 and 7..8")


@pytest.mark.parametrize("kernel", TILED)
@pytest.mark.parametrize("shape, tile_size", [
    pytest.param((8, 5, 3), 8, id="one row tile exactly as tall as a"),
    pytest.param((8, 5, 3), 4, id="a tile size that divides the rows but not the inner size"),
    pytest.param((2, 9, 3), 4, id="fewer rows than a tile, several inner tiles"),
    pytest.param((9, 2, 3), 4, id="several row tiles, fewer inner indices than a tile"),
    pytest.param((17, 4, 2), 1, id="one row and one inner index per tile"),
    pytest.param((40, 3, 2), 7, id="a tall matrix whose last row tile has 5 rows"),
    pytest.param((130, 70, 2), 64, id="the default tile size with two partial tiles"),
])
def test_tiled_kernels_with_uneven_tiles(kernel, shape, tile_size):
    a, b = integer_operands(*shape, seed=27)
    expect.value(getattr(gemm, kernel)(a, b, tile_size=tile_size), what="the product")


@pytest.mark.parametrize("kernel", TILED)
def test_tiled_kernels_keep_float32(kernel):
    a, b = integer_operands(10, 9, 6, dtype=np.float32, seed=28)
    out = getattr(gemm, kernel)(a, b, tile_size=4)
    expect.value(str(out.dtype), what="the product's dtype")
    expect.value(out, what="the product")
