"""Batch-norm kernels against the whole-array numpy reference and central differences."""
import numpy as np
import pytest

from tinytorch.kernels.batchnorm import (batch_norm_backward, batch_norm_backward_reference,
                                         batch_norm_forward, batch_norm_reference)

SHAPES = [(4, 3, 5, 2), (6, 2), (3, 4, 7), (2, 1, 3, 3)]
EPS = 1e-5


def make(shape, dtype, seed=0, affine=True):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 2 + 0.5).astype(dtype)
    channels = shape[1]
    weight = rng.uniform(0.5, 1.5, channels).astype(dtype) if affine else None
    bias = rng.standard_normal(channels).astype(dtype) if affine else None
    return rng, x, weight, bias


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("affine", [True, False])
def test_training_forward_matches_reference(shape, dtype, affine):
    _, x, weight, bias = make(shape, dtype, affine=affine)
    out, mean, var, inverse_std = batch_norm_forward(x, weight, bias, EPS)
    expected, expected_mean, expected_var = batch_norm_reference(x, weight, bias, EPS)
    assert out.dtype == dtype and out.shape == x.shape
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(var, expected_var, rtol=1e-12)  # biased: divides by N*H*W
    np.testing.assert_allclose(inverse_std, 1 / np.sqrt(expected_var + EPS), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_evaluation_forward_uses_the_given_statistics(shape):
    rng, x, weight, bias = make(shape, np.float64, seed=1)
    mean = rng.standard_normal(shape[1])
    var = rng.uniform(0.5, 2.0, shape[1])
    out, used_mean, used_var, inverse_std = batch_norm_forward(x, weight, bias, EPS, mean, var)
    expected, _, _ = batch_norm_reference(x, weight, bias, EPS, mean, var)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(used_mean, mean)
    np.testing.assert_array_equal(used_var, var)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("batch_statistics", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_backward_matches_reference(shape, batch_statistics, affine):
    rng, x, weight, bias = make(shape, np.float64, seed=2, affine=affine)
    statistics = () if batch_statistics else (rng.standard_normal(shape[1]),
                                              rng.uniform(0.5, 2.0, shape[1]))
    _, mean, var, inverse_std = batch_norm_forward(x, weight, bias, EPS, *statistics)
    grad = rng.standard_normal(shape)
    got = batch_norm_backward(grad, x, mean, inverse_std, weight, batch_statistics)
    expected = batch_norm_backward_reference(grad, x, mean, var, weight, EPS, batch_statistics)
    for name, value, reference in zip(("grad_x", "grad_weight", "grad_bias"), got, expected):
        np.testing.assert_allclose(value, reference, rtol=1e-10, atol=1e-12, err_msg=name)
    # Without grad_x, the parameter gradients are unchanged.
    grad_x, grad_weight, grad_bias = batch_norm_backward(grad, x, mean, inverse_std, weight,
                                                         batch_statistics, False)
    assert grad_x is None
    np.testing.assert_array_equal(grad_weight, got[1])
    np.testing.assert_array_equal(grad_bias, got[2])


def test_float32_gradients_keep_the_input_dtype():
    rng, x, weight, bias = make((4, 3, 2, 2), np.float32, seed=3)
    _, mean, var, inverse_std = batch_norm_forward(x, weight, bias, EPS)
    grad = rng.standard_normal(x.shape).astype(np.float32)
    grad_x, grad_weight, grad_bias = batch_norm_backward(grad, x, mean, inverse_std, weight, True)
    assert grad_x.dtype == np.float32
    expected = batch_norm_backward_reference(grad, x, mean, var, weight, EPS, True)
    np.testing.assert_allclose(grad_x, expected[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("batch_statistics", [True, False])
def test_backward_matches_central_differences(batch_statistics):
    # Independent of the reference's formulas: perturb each input and parameter.
    rng, x, weight, bias = make((3, 2, 2, 2), np.float64, seed=4)
    statistics = () if batch_statistics else (rng.standard_normal(2), rng.uniform(0.5, 2.0, 2))
    direction = rng.standard_normal(x.shape)

    def loss(x, weight, bias):
        return (direction * batch_norm_forward(x, weight, bias, EPS, *statistics)[0]).sum()

    _, mean, _, inverse_std = batch_norm_forward(x, weight, bias, EPS, *statistics)
    grads = batch_norm_backward(direction, x, mean, inverse_std, weight, batch_statistics)
    step = 1e-6
    for array, grad in zip((x, weight, bias), grads):
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + step
            plus = loss(x, weight, bias)
            array[index] = original - step
            minus = loss(x, weight, bias)
            array[index] = original
            assert abs((plus - minus) / (2 * step) - grad[index]) < 1e-6


def test_statistics_survive_a_large_mean():
    # Two passes: deviations from the mean, not E[x**2] - E[x]**2, which would
    # lose every digit of a variance of 1 next to a mean of 10,000 in float32.
    rng = np.random.default_rng(5)
    x = (10_000 + rng.standard_normal((16, 2, 4, 4))).astype(np.float32)
    out, mean, var, _ = batch_norm_forward(x, None, None, EPS)
    expected, expected_mean, expected_var = batch_norm_reference(x, None, None, EPS)
    np.testing.assert_allclose(var, expected_var, rtol=1e-9)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


def test_non_contiguous_input():
    rng = np.random.default_rng(6)
    base = rng.standard_normal((3, 4, 5, 2))
    x = base.transpose(0, 1, 3, 2)
    out, mean, var, inverse_std = batch_norm_forward(x, None, None, EPS)
    np.testing.assert_allclose(out, batch_norm_reference(x, None, None, EPS)[0], rtol=1e-12,
                               atol=1e-12)
    grad = rng.standard_normal(x.shape)[:, :, ::-1]
    expected = batch_norm_backward_reference(grad, x, mean, var, None, EPS, True)
    got = batch_norm_backward(grad, x, mean, inverse_std, None, True)
    np.testing.assert_allclose(got[0], expected[0], rtol=1e-10, atol=1e-12)
