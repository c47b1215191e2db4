"""Lab 02 — autograd: the backward walk and a few derivatives.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 02 on fixed inputs and hands over the results (an order of tensors, the
gradients a backward pass leaves in ``.grad``); the lab's answer key holds what
the reference solution produces.  Each backward pass starts from an incoming
gradient that is not all ones, so a derivative that forgets to multiply by it
shows.  Nothing from later labs is used (no layers, no losses, no optimizers).
"""
import numpy as np

import tinytorch
from tinytorch.autograd.engine import topological_order
from tinytorch.app.labs import expect


def leaf(array):
    """A float64 tensor that collects a gradient."""
    return tinytorch.tensor(array, dtype=tinytorch.float64, requires_grad=True)


def test_topological_order_puts_every_consumer_before_its_inputs():
    x = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    a = x * 3.0
    b = x * a          # x feeds two nodes, and b also reads a: only one order is right
    product = a * b
    loss = product.sum()
    names = {id(x): "x", id(a): "a", id(b): "b", id(product): "a * b", id(loss): "loss"}
    order = topological_order(loss)
    expect.value(tuple(names.get(id(tensor), "a tensor not in the graph") for tensor in order),
                 what="the tensors in the order returned, by name")


def test_a_tensor_used_twice_gets_the_sum_of_both_gradients():
    x = leaf([0.5, -2.0, 3.0])
    (x * x + x * 2.0).backward(np.array([1.0, -0.5, 2.0]))
    expect.value(x.grad, rtol=1e-12, atol=1e-12, what="the gradient of x")


def test_a_long_chain_backpropagates_without_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(3000):
        y = y * 1.0001
    y.backward()
    expect.value(x.grad, rtol=1e-9, what="the gradient of x at the start of the chain")


def test_multiply_with_broadcasting():
    rng = np.random.default_rng(21)
    a, b = leaf(rng.standard_normal((3, 4))), leaf(rng.standard_normal(4))
    (a * b).backward(rng.standard_normal((3, 4)))
    expect.value(a.grad, rtol=1e-10, atol=1e-12, what="the gradient of the (3, 4) factor")
    expect.value(b.grad, rtol=1e-10, atol=1e-12, what="the gradient of the broadcast (4,) factor")


def test_divide_with_broadcasting():
    rng = np.random.default_rng(22)
    a, b = leaf(rng.standard_normal((2, 3))), leaf(rng.uniform(1.0, 2.0, (2, 1)))
    (a / b).backward(rng.standard_normal((2, 3)))
    expect.value(a.grad, rtol=1e-10, atol=1e-12, what="the gradient of the numerator")
    expect.value(b.grad, rtol=1e-10, atol=1e-12,
                 what="the gradient of the broadcast (2, 1) denominator")


def test_exp():
    rng = np.random.default_rng(23)
    x = leaf(rng.uniform(0.5, 2.0, (3, 3)))
    x.exp().backward(rng.standard_normal((3, 3)))
    expect.value(x.grad, rtol=1e-10, atol=1e-12, what="the gradient of exp's input")


def test_log():
    rng = np.random.default_rng(24)
    x = leaf(rng.uniform(0.5, 2.0, (3, 3)))
    x.log().backward(rng.standard_normal((3, 3)))
    expect.value(x.grad, rtol=1e-10, atol=1e-12, what="the gradient of log's input")
