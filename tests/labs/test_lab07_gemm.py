"""Lab 07: the reordered, tiled and parallel tiled GEMM kernels of kernels/gemm.py.

Every kernel is compared with numpy's product of the same operands.  The
operands hold small integers, so every partial sum is exact in floating
point and a kernel that drops, repeats or misplaces one product cannot hide
behind a tolerance.
"""
import numpy as np
import pytest

from tinytorch.kernels import gemm

# (rows, inner, columns): non-square, sizes no tile divides, one row, one
# column, an inner dimension of 1, and a size above the default tile of 64.
SHAPES = [(7, 5, 3), (13, 6, 11), (1, 9, 6), (8, 7, 1), (6, 1, 5), (70, 67, 4)]


def integer_operands(rows, inner, columns, dtype=np.float64, seed=0):
    generator = np.random.default_rng(seed)
    a = generator.integers(-4, 5, size=(rows, inner)).astype(dtype)
    b = generator.integers(-4, 5, size=(inner, columns)).astype(dtype)
    return a, b


def expected_product(a, b):
    return np.einsum("ik,kj->ij", a.astype(np.float64), b.astype(np.float64))


def test_reordered_matches_numpy():
    for shape in SHAPES:
        a, b = integer_operands(*shape)
        np.testing.assert_array_equal(gemm.matmul_reordered(a, b), expected_product(a, b),
                                      err_msg=f"(rows, inner, columns) = {shape}")


def test_reordered_keeps_float32():
    a, b = integer_operands(9, 8, 7, dtype=np.float32)
    out = gemm.matmul_reordered(a, b)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected_product(a, b))


def test_multiply_block_adds_one_block_and_nothing_else():
    a, b = integer_operands(6, 7, 5, seed=1)
    start = np.arange(30, dtype=np.float64).reshape(6, 5)
    out = start.copy()
    gemm._multiply_block(a, b, out, 2, 5, 1, 4)
    expected = start.copy()
    expected[2:5] += expected_product(a[2:5, 1:4], b[1:4])
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("kernel", ["matmul_tiled", "matmul_parallel_tiled"])
def test_tiled_kernels_match_numpy_for_any_tile_size(kernel):
    for shape in SHAPES:
        a, b = integer_operands(*shape, seed=2)
        for tile_size in (1, 3, 4, 64, 200):
            out = getattr(gemm, kernel)(a, b, tile_size=tile_size)
            np.testing.assert_array_equal(
                out, expected_product(a, b),
                err_msg=f"{kernel}, (rows, inner, columns) = {shape}, tile_size={tile_size}")


def test_every_variant_agrees_on_random_float32():
    generator = np.random.default_rng(4)
    a = generator.standard_normal((33, 29)).astype(np.float32)
    b = generator.standard_normal((29, 31)).astype(np.float32)
    expected = expected_product(a, b)
    for kernel in (gemm.matmul_reordered, gemm.matmul_tiled, gemm.matmul_parallel_tiled):
        out = kernel(a, b)
        assert out.dtype == np.float32, kernel.__name__
        np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4, err_msg=kernel.__name__)
