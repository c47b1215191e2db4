"""Lab 01 — tensors and broadcasting: undoing a broadcast, expanding, matmul's shape rule.

Every test here exercises code students write in lab 01 and nothing from later
labs (no backward pass, no layers): the references are plain numpy.
"""
import numpy as np
import pytest

import tinytorch
from tinytorch.ops.arithmetic import unbroadcast


def summed_by_broadcast_position(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Independent reference: label every input element, broadcast the labels, add up per label."""
    labels = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), grad.shape)
    sums = np.bincount(labels.ravel(), weights=grad.ravel(), minlength=int(np.prod(shape)))
    return sums.reshape(shape)


@pytest.mark.parametrize("grad_shape, shape", [
    pytest.param((32, 10), (10,), id="a bias added to every row"),
    pytest.param((4, 3, 5), (3, 1), id="a new leading axis and a stretched one"),
    pytest.param((2, 3), (1, 1), id="a matrix summed down to 1x1"),
    pytest.param((6, 1, 4), (6, 1, 1), id="a size-1 axis that broadcasting left alone stays"),
])
def test_unbroadcast_sums_the_broadcast_axes(grad_shape, shape):
    grad = np.random.default_rng(0).standard_normal(grad_shape)
    result = unbroadcast(grad, shape)
    assert result.shape == shape, f"expected shape {shape}, got {result.shape}"
    np.testing.assert_allclose(result, summed_by_broadcast_position(grad, shape), rtol=1e-12)


def test_unbroadcast_of_an_unbroadcast_gradient_is_unchanged():
    grad = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(unbroadcast(grad, (2, 3)), grad)


def test_expand_replaces_minus_one_by_the_input_size():
    column = tinytorch.tensor([[1.0], [2.0], [3.0]])
    expanded = column.expand(2, -1, 4)
    assert expanded.shape == (2, 3, 4), f"expected shape (2, 3, 4), got {expanded.shape}"
    np.testing.assert_array_equal(expanded.numpy(), np.broadcast_to(column.numpy(), (2, 3, 4)))


def test_matmul_of_a_matrix_and_a_vector_follows_numpy():
    a = np.arange(12.0).reshape(3, 4)
    v = np.array([1.0, -1.0, 2.0, 0.5])
    np.testing.assert_allclose((tinytorch.tensor(a) @ tinytorch.tensor(v)).numpy(), a @ v)


def test_matmul_with_disagreeing_inner_sizes_names_both_shapes():
    with pytest.raises(RuntimeError) as error:
        tinytorch.ones(2, 3) @ tinytorch.ones(4, 5)
    assert "cannot be multiplied (2x3 and 4x5)" in str(error.value)
