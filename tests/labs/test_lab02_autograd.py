"""Lab 02 — autograd: the backward walk and a few derivatives.

The reference gradients are central differences in float64, computed here
from forward passes alone, so they do not depend on the code under test.
Nothing from later labs is used (no layers, no losses, no optimizers).
"""
import numpy as np
import pytest

import tinytorch
from tinytorch.autograd.engine import topological_order


def central_differences(function, values: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """d function(values) / d values, one element at a time, from forward passes only."""
    slopes = np.zeros_like(values)
    for index in np.ndindex(values.shape):
        up, down = values.copy(), values.copy()
        up[index] += step
        down[index] -= step
        slopes[index] = (function(up) - function(down)) / (2 * step)
    return slopes


def gradients(function, *arrays):
    """Gradients of the scalar function(*tensors) by backward, and by central differences."""
    tensors = [tinytorch.tensor(array, dtype=tinytorch.float64, requires_grad=True) for array in arrays]
    function(*tensors).backward()
    for position, array in enumerate(arrays):
        def with_this_one(values, position=position):
            inputs = [tinytorch.tensor(v, dtype=tinytorch.float64) for v in arrays]
            inputs[position] = tinytorch.tensor(values, dtype=tinytorch.float64)
            return function(*inputs).item()
        yield tensors[position].grad.numpy(), central_differences(with_this_one, array)


rng = np.random.default_rng(2)


def test_topological_order_puts_every_consumer_before_its_inputs():
    x = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    a = x * 3.0
    b = x * a          # x feeds two nodes: a diamond
    loss = (a * b).sum()
    order = topological_order(loss)
    assert len(order) == len({id(t) for t in order}) == 5  # loss, a*b, b, a, x: each once
    position = {id(t): i for i, t in enumerate(order)}
    for tensor in order:
        for _, parent in (tensor.grad_fn.parents if tensor.grad_fn else []):
            assert position[id(tensor)] < position[id(parent)]


def test_a_tensor_used_twice_gets_the_sum_of_both_gradients():
    x = tinytorch.tensor([0.5, -2.0, 3.0], dtype=tinytorch.float64, requires_grad=True)
    (x * x + x * 2.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.data + 2.0)


def test_a_long_chain_backpropagates_without_recursion():
    x = tinytorch.tensor(1.0, dtype=tinytorch.float64, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y.backward()
    assert x.grad.item() == pytest.approx(1.0001 ** 3000, rel=1e-9)


def test_multiply_with_broadcasting():
    for analytic, numeric in gradients(lambda a, b: (a * b).sum(),
                                       rng.standard_normal((3, 4)), rng.standard_normal(4)):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_divide_with_broadcasting():
    for analytic, numeric in gradients(lambda a, b: (a / b).sum(), rng.standard_normal((2, 3)),
                                       rng.uniform(1.0, 2.0, (2, 1))):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_exp():
    for analytic, numeric in gradients(lambda x: (x.exp() * 0.5).sum(), rng.uniform(0.5, 2.0, (3, 3))):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_log():
    for analytic, numeric in gradients(lambda x: x.log().sum(), rng.uniform(0.5, 2.0, (3, 3))):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
