"""Every GEMM variant against numpy's ``a @ b``, plus the wrappers' error messages.

Shapes stay small so the suite also runs quickly with NUMBA_DISABLE_JIT=1,
where every kernel is plain Python.
"""
import numpy as np
import pytest

from tinytorch.kernels.gemm import (
    matmul_naive, matmul_parallel_tiled, matmul_reference, matmul_reordered, matmul_tiled)

VARIANTS = {
    "naive": matmul_naive,
    "reordered": matmul_reordered,
    "tiled": matmul_tiled,
    "tiled_4": lambda a, b: matmul_tiled(a, b, tile_size=4),
    "tiled_1": lambda a, b: matmul_tiled(a, b, tile_size=1),
    "parallel_tiled": matmul_parallel_tiled,
    "parallel_tiled_4": lambda a, b: matmul_parallel_tiled(a, b, tile_size=4),
    "reference": matmul_reference,
}

# (rows, inner, columns): non-square, not multiples of 4 (the small tile above),
# a single row, a single column, an inner dimension of 1, and a size above the
# default tile of 64 so the default-tile kernels cut more than one tile.
SHAPES = [(7, 5, 3), (3, 10, 9), (13, 6, 11), (1, 9, 6), (8, 7, 1), (1, 1, 1),
          (6, 1, 5), (70, 3, 4), (3, 67, 2)]

TOLERANCE = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


def random_operands(shape, dtype, seed):
    rows, inner, columns = shape
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((rows, inner)).astype(dtype),
            rng.standard_normal((inner, columns)).astype(dtype))


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: "x".join(map(str, shape)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_variant_equals_numpy(variant, shape, dtype):
    a, b = random_operands(shape, dtype, seed=sum(shape))
    out = VARIANTS[variant](a, b)
    assert out.shape == (shape[0], shape[2])
    assert out.dtype == dtype
    np.testing.assert_allclose(out, a @ b, **TOLERANCE[dtype])


@pytest.mark.parametrize("variant", VARIANTS)
def test_inputs_are_not_modified_and_output_is_new(variant):
    a, b = random_operands((5, 4, 6), np.float64, seed=1)
    a_before, b_before = a.copy(), b.copy()
    out = VARIANTS[variant](a, b)
    np.testing.assert_array_equal(a, a_before)
    np.testing.assert_array_equal(b, b_before)
    assert not np.shares_memory(out, a) and not np.shares_memory(out, b)


@pytest.mark.parametrize("variant", VARIANTS)
def test_non_contiguous_operands(variant):
    # Transposed and strided views reach the kernels as C-contiguous copies.
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 10))[:, ::2]           # (6, 5), strided
    b = rng.standard_normal((7, 5)).T                   # (5, 7), Fortran order
    np.testing.assert_allclose(VARIANTS[variant](a, b), a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_empty_inner_dimension_gives_zeros(variant):
    a, b = np.ones((3, 0)), np.ones((0, 4))
    np.testing.assert_array_equal(VARIANTS[variant](a, b), np.zeros((3, 4)))


def test_every_tile_size_gives_the_same_product():
    a, b = random_operands((9, 11, 5), np.float64, seed=3)
    expected = a @ b
    for tile_size in (1, 2, 3, 5, 8, 11, 100):
        np.testing.assert_allclose(matmul_tiled(a, b, tile_size), expected, rtol=1e-12)
        np.testing.assert_allclose(matmul_parallel_tiled(a, b, tile_size), expected, rtol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_mismatched_inner_dimensions_name_both_shapes(variant):
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 2\)"):
        VARIANTS[variant](np.ones((3, 4)), np.ones((5, 2)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_operands_must_be_matrices(variant):
    with pytest.raises(ValueError, match=r"2-D.*\(4,\) and \(4, 2\)"):
        VARIANTS[variant](np.ones(4), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"2-D.*\(2, 3\) and \(1, 3, 2\)"):
        VARIANTS[variant](np.ones((2, 3)), np.ones((1, 3, 2)))


@pytest.mark.parametrize("variant", VARIANTS)
def test_dtypes_must_be_one_float_precision(variant):
    with pytest.raises(TypeError, match="float32 and float64"):
        VARIANTS[variant](np.ones((2, 2), np.float32), np.ones((2, 2), np.float64))
    with pytest.raises(TypeError, match="int64 and int64"):
        VARIANTS[variant](np.ones((2, 2), np.int64), np.ones((2, 2), np.int64))


@pytest.mark.parametrize("variant", VARIANTS)
def test_operands_must_be_numpy_arrays(variant):
    with pytest.raises(TypeError, match="a must be a numpy array, got list"):
        VARIANTS[variant]([[1.0]], np.ones((1, 1)))


@pytest.mark.parametrize("function", [matmul_tiled, matmul_parallel_tiled])
def test_tile_size_must_be_a_positive_int(function):
    a, b = np.ones((2, 2)), np.ones((2, 2))
    with pytest.raises(ValueError, match="tile_size must be at least 1, got 0"):
        function(a, b, tile_size=0)
    with pytest.raises(ValueError, match="got -8"):
        function(a, b, tile_size=-8)
    with pytest.raises(TypeError, match="tile_size must be an int"):
        function(a, b, tile_size=2.0)
    with pytest.raises(TypeError, match="tile_size must be an int"):
        function(a, b, tile_size=True)
