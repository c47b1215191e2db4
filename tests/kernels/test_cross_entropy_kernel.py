"""The fused cross-entropy kernel against its numpy reference and central differences."""
import numpy as np
import pytest

from tinytorch.kernels.cross_entropy import (
    cross_entropy_backward, cross_entropy_forward, cross_entropy_reference)


@pytest.mark.parametrize("rows, classes", [(1, 2), (7, 10), (16, 3)])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5])
def test_forward_and_backward_equal_the_reference(rows, classes, label_smoothing):
    rng = np.random.default_rng(rows * classes)
    logits = rng.standard_normal((rows, classes)) * 5
    targets = rng.integers(0, classes, rows)
    losses, log_sum_exp = cross_entropy_forward(logits, targets, label_smoothing)
    expected_losses, expected_grad = cross_entropy_reference(logits, targets, label_smoothing)
    np.testing.assert_allclose(losses, expected_losses, rtol=1e-12, atol=1e-12)
    weights = rng.uniform(0.5, 2.0, rows)
    grad = cross_entropy_backward(logits, targets, log_sum_exp, weights, label_smoothing)
    np.testing.assert_allclose(grad, expected_grad * weights[:, None], rtol=1e-12, atol=1e-12)


def test_reference_gradient_matches_central_differences():
    rng = np.random.default_rng(1)
    logits, targets = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    _, grad = cross_entropy_reference(logits, targets, 0.2)
    eps = 1e-6
    for index in np.ndindex(logits.shape):
        logits[index] += eps
        plus = cross_entropy_reference(logits, targets, 0.2)[0].sum()
        logits[index] -= 2 * eps
        minus = cross_entropy_reference(logits, targets, 0.2)[0].sum()
        logits[index] += eps
        assert abs((plus - minus) / (2 * eps) - grad[index]) < 1e-7


def test_large_logits_do_not_overflow_in_float32():
    logits = np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32)
    losses, log_sum_exp = cross_entropy_forward(logits, np.array([1]), 0.0)
    assert np.isfinite(losses).all() and abs(losses[0] - 1000.0) < 1e-3
    grad = cross_entropy_backward(logits, np.array([1]), log_sum_exp, np.ones(1, np.float32), 0.0)
    np.testing.assert_allclose(grad, [[1.0, -1.0, 0.0]], atol=1e-6)
