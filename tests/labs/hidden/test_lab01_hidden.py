"""Lab 01, graded by the autograder only."""
import numpy as np
import pytest

import tinytorch
from tinytorch.ops.arithmetic import unbroadcast


def test_unbroadcast_to_a_scalar_shape_sums_everything():
    grad = np.arange(24.0).reshape(2, 3, 4)
    result = unbroadcast(grad, ())
    assert np.shape(result) == (), f"expected shape (), got {np.shape(result)}"
    assert float(result) == pytest.approx(grad.sum())


def test_matmul_of_a_vector_and_a_batch_of_matrices():
    v = np.array([1.0, 2.0, 3.0])
    batch = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose((tinytorch.tensor(v) @ tinytorch.tensor(batch)).numpy(), v @ batch)
