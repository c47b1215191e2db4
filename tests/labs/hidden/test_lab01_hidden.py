"""Lab 01, graded by the autograder only (probes: see tinytorch.app.labs.expect)."""
import numpy as np

import tinytorch
from tinytorch.app.labs import expect
from tinytorch.ops.arithmetic import unbroadcast


def test_unbroadcast_to_a_scalar_shape_sums_everything():
    grad = np.arange(24.0).reshape(2, 3, 4)
    result = unbroadcast(grad, ())
    expect.value(np.shape(result), what="the shape of the result")
    expect.value(result, rtol=1e-12, what="the sum")


def test_matmul_of_a_vector_and_a_batch_of_matrices():
    v = np.array([1.0, 2.0, 3.0])
    batch = np.arange(24.0).reshape(2, 3, 4)
    expect.value(tinytorch.tensor(v) @ tinytorch.tensor(batch), rtol=1e-12, what="v @ batch")
