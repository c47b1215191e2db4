"""Lab 01 — tensors and broadcasting: undoing a broadcast, expanding, matmul's shape rule.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 01 on fixed inputs and hands over the results; the lab's answer key
holds what the reference solution produces.  Nothing from later labs is used
(no backward pass, no layers).
"""
import numpy as np
import pytest

import tinytorch
from tinytorch.app.labs import expect
from tinytorch.ops.arithmetic import unbroadcast


@pytest.mark.parametrize("grad_shape, shape", [
    pytest.param((32, 10), (10,), id="a bias added to every row"),
    pytest.param((4, 3, 5), (3, 1), id="a new leading axis and a stretched one"),
    pytest.param((2, 3), (1, 1), id="a matrix summed down to 1x1"),
    pytest.param((6, 1, 4), (6, 1, 1), id="a size-1 axis that broadcasting left alone stays"),
])
def test_unbroadcast_sums_the_broadcast_axes(grad_shape, shape):
    grad = np.random.default_rng(0).standard_normal(grad_shape)
    result = unbroadcast(grad, shape)
    expect.value(np.shape(result), what="the shape of the result")
    expect.value(result, rtol=1e-12, what="the summed gradient")


def test_unbroadcast_of_an_unbroadcast_gradient_is_unchanged():
    grad = np.arange(6.0).reshape(2, 3)
    expect.value(unbroadcast(grad, (2, 3)), what="the gradient")


def test_expand_replaces_minus_one_by_the_input_size():
    column = tinytorch.tensor([[1.0], [2.0], [3.0]])
    expanded = column.expand(2, -1, 4)
    expect.value(expanded.shape, what="the expanded shape")
    expect.value(expanded, what="the expanded values")


def test_matmul_of_a_matrix_and_a_vector_follows_numpy():
    a = np.arange(12.0).reshape(3, 4)
    v = np.array([1.0, -1.0, 2.0, 0.5])
    expect.value(tinytorch.tensor(a) @ tinytorch.tensor(v), rtol=1e-12, what="a @ v")


def test_matmul_with_disagreeing_inner_sizes_names_both_shapes():
    expect.value(tinytorch.ones(2, 3) @ tinytorch.ones(3, 5), what="the product that fits")
    with expect.raises(RuntimeError, match=r"cannot be multiplied \(2x3 and 4x5\)",
                       what="the error for the product that does not fit"):
        tinytorch.ones(2, 3) @ tinytorch.ones(4, 5)
