"""Broadcasting, property-based: for random broadcast-compatible shapes, forward
values equal numpy's and every gradient has its input's shape and equals the
upstream gradient summed over the broadcast axes.

The expected gradients are computed independently of ``unbroadcast``: the
local derivative is formed at the full output shape, and then summed over
exactly the axes that numpy's broadcasting rules stretched or added.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays, array_shapes, mutually_broadcastable_shapes

import tinytorch
from tinytorch.ops.arithmetic import unbroadcast

SETTINGS = settings(max_examples=50, deadline=None)

shape_pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4)


def reduce_to(full: np.ndarray, shape: tuple) -> np.ndarray:
    """Independent reference: sum ``full`` over every axis broadcasting created for ``shape``."""
    padded = (1,) * (full.ndim - len(shape)) + tuple(shape)
    axes = tuple(i for i, (size, full_size) in enumerate(zip(padded, full.shape))
                 if size == 1 and full_size != 1)
    return full.sum(axis=axes, keepdims=True).reshape(shape)


def draw_values(data, shape, low=-3.0, high=3.0):
    values = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    return values.uniform(low, high, size=shape)


def leaves(a_values, b_values):
    return (tinytorch.tensor(a_values, requires_grad=True),
            tinytorch.tensor(b_values, requires_grad=True))


# For each op: forward in numpy, and the local derivatives d out/d a, d out/d b
# (computed at the broadcast output shape).
OPS = {
    "add": (lambda a, b: a + b, np.add,
            lambda a, b: np.ones(np.broadcast_shapes(a.shape, b.shape)),
            lambda a, b: np.ones(np.broadcast_shapes(a.shape, b.shape))),
    "sub": (lambda a, b: a - b, np.subtract,
            lambda a, b: np.ones(np.broadcast_shapes(a.shape, b.shape)),
            lambda a, b: -np.ones(np.broadcast_shapes(a.shape, b.shape))),
    "mul": (lambda a, b: a * b, np.multiply,
            lambda a, b: np.broadcast_to(b, np.broadcast_shapes(a.shape, b.shape)),
            lambda a, b: np.broadcast_to(a, np.broadcast_shapes(a.shape, b.shape))),
    "div": (lambda a, b: a / b, np.true_divide,
            lambda a, b: np.broadcast_to(1 / b, np.broadcast_shapes(a.shape, b.shape)),
            lambda a, b: -a / (b * b)),
    "maximum": (tinytorch.maximum, np.maximum,
                lambda a, b: (a > b) + 0.5 * (a == b),
                lambda a, b: (b > a) + 0.5 * (a == b)),
    "minimum": (tinytorch.minimum, np.minimum,
                lambda a, b: (a < b) + 0.5 * (a == b),
                lambda a, b: (b < a) + 0.5 * (a == b)),
}


@pytest.mark.parametrize("name", sorted(OPS))
@SETTINGS
@given(shapes=shape_pairs, data=st.data())
def test_binary_op_forward_and_gradients(name, shapes, data):
    ours, theirs, d_da, d_db = OPS[name]
    a_shape, b_shape = shapes.input_shapes
    a_values = draw_values(data, a_shape)
    b_values = draw_values(data, b_shape)
    if name == "div":
        b_values = np.where(np.abs(b_values) < 0.5, 1.5, b_values)  # keep away from 0
    if name in ("maximum", "minimum") and data.draw(st.booleans(), label="ties"):
        b_values = np.round(b_values)  # plenty of exact ties with a rounded a
        a_values = np.round(a_values)
    a, b = leaves(a_values, b_values)
    out = ours(a, b)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.array, theirs(a_values, b_values), rtol=1e-12, atol=0)

    upstream = draw_values(data, shapes.result_shape)
    out.backward(upstream)
    expected_a = reduce_to(upstream * d_da(a_values, b_values), a_shape)
    expected_b = reduce_to(upstream * d_db(a_values, b_values), b_shape)
    assert a.grad.shape == a_shape and b.grad.shape == b_shape
    np.testing.assert_allclose(a.grad.array, expected_a, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b.grad.array, expected_b, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(shapes=mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=4, max_side=3),
       data=st.data())
def test_where_forward_and_gradients(shapes, data):
    condition_shape, a_shape, b_shape = shapes.input_shapes
    condition = data.draw(arrays(np.bool_, condition_shape), label="condition")
    a_values, b_values = draw_values(data, a_shape), draw_values(data, b_shape)
    a, b = leaves(a_values, b_values)
    out = tinytorch.where(tinytorch.tensor(condition), a, b)
    assert out.shape == shapes.result_shape
    np.testing.assert_array_equal(out.array, np.where(condition, a_values, b_values))
    upstream = draw_values(data, shapes.result_shape)
    out.backward(upstream)
    full_condition = np.broadcast_to(condition, shapes.result_shape)
    np.testing.assert_allclose(a.grad.array, reduce_to(np.where(full_condition, upstream, 0), a_shape))
    np.testing.assert_allclose(b.grad.array, reduce_to(np.where(full_condition, 0, upstream), b_shape))


@SETTINGS
@given(shapes=shape_pairs, data=st.data())
def test_pow_forward_and_gradients(shapes, data):
    base_shape, exponent_shape = shapes.input_shapes
    base_values = draw_values(data, base_shape, 0.2, 2.0)
    exponent_values = draw_values(data, exponent_shape, -2.0, 2.0)
    base, exponent = leaves(base_values, exponent_values)
    out = base ** exponent
    expected = np.power(base_values, exponent_values)
    np.testing.assert_allclose(out.array, expected, rtol=1e-12)
    upstream = draw_values(data, shapes.result_shape)
    out.backward(upstream)
    np.testing.assert_allclose(
        base.grad.array,
        reduce_to(upstream * exponent_values * np.power(base_values, exponent_values - 1),
                  base_shape), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        exponent.grad.array, reduce_to(upstream * expected * np.log(base_values), exponent_shape),
        rtol=1e-9, atol=1e-12)


@SETTINGS
@given(shapes=shape_pairs, data=st.data(), scalar=st.floats(0.5, 4.0) | st.integers(1, 4))
def test_python_scalars_broadcast_and_keep_float32(shapes, data, scalar):
    shape = shapes.input_shapes[0]
    values = draw_values(data, shape).astype(np.float32)
    x = tinytorch.tensor(values, requires_grad=True)
    for out, expected in ((x + scalar, values + np.float32(scalar)),
                          (scalar - x, np.float32(scalar) - values),
                          (x * scalar, values * np.float32(scalar)),
                          (x / scalar, values / np.float32(scalar))):
        assert out.dtype == np.float32 and out.shape == shape
        np.testing.assert_allclose(out.array, expected, rtol=1e-6)
    (x * scalar).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == shape
    np.testing.assert_allclose(x.grad.array, np.full(shape, scalar, np.float32))


@SETTINGS
@given(shapes=shape_pairs)
def test_expand_and_matching_sum(shapes):
    a_shape, _ = shapes.input_shapes
    target = shapes.result_shape
    x = tinytorch.tensor(np.arange(int(np.prod(a_shape)), dtype=np.float64).reshape(a_shape),
                         requires_grad=True)
    y = x.expand(*target) if target else x.expand(())
    np.testing.assert_array_equal(y.array, np.broadcast_to(x.array, target))
    upstream = np.arange(int(np.prod(target)), dtype=np.float64).reshape(target)
    y.backward(upstream)
    np.testing.assert_array_equal(x.grad.array, reduce_to(upstream, a_shape))


# ----- unbroadcast itself --------------------------------------------------------
@SETTINGS
@given(shapes=shape_pairs, data=st.data())
def test_unbroadcast_matches_reference_and_has_input_shape(shapes, data):
    a_shape, _ = shapes.input_shapes
    grad = draw_values(data, shapes.result_shape)
    reduced = unbroadcast(grad, a_shape)
    assert reduced.shape == a_shape
    np.testing.assert_allclose(reduced, reduce_to(grad, a_shape), rtol=1e-12)
    # Summation preserves the total: nothing is lost or counted twice.
    np.testing.assert_allclose(np.sum(reduced), np.sum(grad), rtol=1e-9, atol=1e-9)


@SETTINGS
@given(shape=array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), data=st.data())
def test_unbroadcast_to_own_shape_is_identity(shape, data):
    grad = draw_values(data, shape)
    assert unbroadcast(grad, shape) is grad


@SETTINGS
@given(shapes=shape_pairs, data=st.data())
def test_unbroadcast_is_adjoint_of_broadcast(shapes, data):
    # <broadcast(v), g> == <v, unbroadcast(g)>: the defining property of a
    # backward pass for a linear map, here for broadcasting.
    a_shape, _ = shapes.input_shapes
    v = draw_values(data, a_shape)
    g = draw_values(data, shapes.result_shape)
    left = np.sum(np.broadcast_to(v, shapes.result_shape) * g)
    right = np.sum(v * unbroadcast(g, a_shape))
    np.testing.assert_allclose(left, right, rtol=1e-9, atol=1e-9)


def test_unbroadcast_examples():
    grad = np.ones((4, 3, 5))
    assert unbroadcast(grad, (3, 1)).shape == (3, 1)
    np.testing.assert_array_equal(unbroadcast(grad, (3, 1)), np.full((3, 1), 20.0))
    np.testing.assert_array_equal(unbroadcast(grad, ()), np.array(60.0))
    np.testing.assert_array_equal(unbroadcast(grad, (1, 1, 1)), np.full((1, 1, 1), 60.0))
    np.testing.assert_array_equal(unbroadcast(grad, (5,)), np.full(5, 12.0))
    np.testing.assert_array_equal(unbroadcast(np.ones((2, 0)), (1, 0)), np.ones((1, 0)))
