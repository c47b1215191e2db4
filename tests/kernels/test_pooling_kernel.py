"""Pooling kernels against sliding-window references (and PyTorch when installed)."""
import numpy as np
import pytest

from tinytorch.kernels.pooling import (
    avg_pool2d_backward, avg_pool2d_forward, avg_pool2d_reference, max_pool2d_backward,
    max_pool2d_forward, max_pool2d_reference)

# (kernel, stride, padding)
CASES = [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)), ((3, 2), (1, 2), (1, 0)),
         ((2, 3), (3, 1), (1, 1))]


@pytest.mark.parametrize("kernel, stride, padding", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_values_and_indices(kernel, stride, padding, dtype):
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 6)).astype(dtype)
    out, indices = max_pool2d_forward(x, kernel, stride, padding)
    np.testing.assert_array_equal(out, max_pool2d_reference(x, kernel, stride, padding))
    assert out.dtype == dtype
    # The index points at the element that holds the maximum.
    planes = x.reshape(2, 3, -1)
    np.testing.assert_array_equal(np.take_along_axis(planes, indices.reshape(2, 3, -1), 2),
                                  out.reshape(2, 3, -1))


@pytest.mark.parametrize("kernel, stride, padding", CASES)
def test_max_pool_backward_matches_central_differences(kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = rng.permutation(2 * 2 * 6 * 5).reshape(2, 2, 6, 5).astype(np.float64)  # no ties
    out, indices = max_pool2d_forward(x, kernel, stride, padding)
    direction = rng.standard_normal(out.shape)
    grad = max_pool2d_backward(direction, indices, x.shape)
    eps = 1e-3  # distinct integers: a small nudge never changes which element wins
    for index in np.ndindex(x.shape):
        x[index] += eps
        plus = (direction * max_pool2d_reference(x, kernel, stride, padding)).sum()
        x[index] -= 2 * eps
        minus = (direction * max_pool2d_reference(x, kernel, stride, padding)).sum()
        x[index] += eps
        assert abs((plus - minus) / (2 * eps) - grad[index]) < 1e-9


@pytest.mark.parametrize("kernel, stride, padding", CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_forward_and_backward(kernel, stride, padding, count_include_pad):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2, 6, 5))
    out = avg_pool2d_forward(x, kernel, stride, padding, count_include_pad)
    np.testing.assert_allclose(out, avg_pool2d_reference(x, kernel, stride, padding, count_include_pad),
                               rtol=1e-12, atol=1e-12)
    direction = rng.standard_normal(out.shape)
    grad = avg_pool2d_backward(direction, x.shape, kernel, stride, padding, count_include_pad)
    # Average pooling is linear, so its gradient is exact: check every element.
    for index in list(np.ndindex(x.shape))[::3]:
        bump = np.zeros_like(x)
        bump[index] = 1.0
        change = (direction * avg_pool2d_reference(bump, kernel, stride, padding, count_include_pad)).sum()
        assert abs(change - grad[index]) < 1e-12


def test_pooling_matches_pytorch_when_available():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 8))
    for kernel, stride, padding in CASES:
        ours, our_indices = max_pool2d_forward(x, kernel, stride, padding)
        theirs, their_indices = torch.nn.functional.max_pool2d(torch.tensor(x), kernel, stride, padding,
                                                               return_indices=True)
        np.testing.assert_array_equal(ours, theirs.numpy())
        np.testing.assert_array_equal(our_indices, their_indices.numpy())
        for include in (True, False):
            theirs = torch.nn.functional.avg_pool2d(torch.tensor(x), kernel, stride, padding,
                                                    count_include_pad=include)
            np.testing.assert_allclose(avg_pool2d_forward(x, kernel, stride, padding, include),
                                       theirs.numpy(), rtol=1e-12)
