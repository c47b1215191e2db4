"""Every differentiable core operation against central differences (float64).

``gradcheck`` compares the whole Jacobian that autograd produces with the one
measured by nudging each input element, so a wrong ``backward`` (a missing
transpose, a forgotten broadcast sum, a wrong sign) fails here.  Each
operation is checked on ordinary contiguous inputs, with broadcasting where
the operation broadcasts, and on leaves whose ``.array`` is *not* contiguous
(a transposed array, a strided slice), because numpy views are where
reshape-based gradients silently go wrong.

Inputs are drawn away from the kinks of non-smooth functions (|x| at 0, relu
at 0, clamp at its bounds), where a finite difference measures the average of
two one-sided slopes rather than a derivative.
"""
import zlib

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.autograd import gradcheck
from tinytorch.ops.loss import cross_entropy, mse_loss
from tinytorch.ops.matmul import linear

LAYOUTS = ("contiguous", "transposed", "strided")


def leaf(*shape, layout="contiguous", low=-2.0, high=2.0, away_from=(), seed=None):
    """A float64 leaf that requires grad, whose ``.array`` has the requested memory layout.

    ``away_from`` lists points (kinks) that every element keeps at least 0.05 from.
    """
    rng = np.random.default_rng(seed if seed is not None else zlib.crc32(repr((shape, layout)).encode()))

    def draw(size_shape):
        values = rng.uniform(low, high, size=size_shape)
        for point in away_from:
            nudged = point + np.where(values >= point, 0.1, -0.1)
            values = np.where(np.abs(values - point) < 0.05, nudged, values)
        return values

    if layout == "contiguous" or len(shape) == 0:
        array = draw(shape)
    elif layout == "transposed" and len(shape) >= 2:
        array = np.asfortranarray(draw(shape))  # same values, column-major strides
        assert not array.flags.c_contiguous
    else:  # strided: every other element of a twice-as-wide last dimension
        wide = draw(shape[:-1] + (2 * shape[-1],))
        array = wide[..., ::2]
        assert not array.flags.c_contiguous or array.size <= 1
    assert array.shape == tuple(shape)
    return Tensor._wrap(array, False).requires_grad_()


def check(fn, *inputs, **options):
    assert gradcheck(fn, inputs, **options)


# ----- arithmetic --------------------------------------------------------------
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "maximum": tinytorch.maximum,
    "minimum": tinytorch.minimum,
    "pow": lambda a, b: (a * a + 0.5) ** b,
    "add_fn": tinytorch.add,
    "sub_fn": tinytorch.sub,
    "mul_fn": tinytorch.mul,
    "div_fn": tinytorch.div,
}

BROADCAST_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((3, 1), (1, 4)),
    ((2, 3, 1), (3, 4)),
    ((4,), ()),
    ((), (2, 3)),
    ((1,), (2, 3)),
]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
def test_binary_ops_with_broadcasting(name, shapes):
    a_shape, b_shape = shapes
    a = leaf(*a_shape, seed=1)
    # Keep divisors away from 0 and maximum/minimum away from ties.
    b = leaf(*b_shape, low=0.5, high=1.5, seed=2) if name.startswith("div") else leaf(*b_shape, seed=2)
    check(BINARY[name], a, b)


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("layout_a", ["transposed", "strided"])
def test_binary_ops_on_non_contiguous_leaves(name, layout_a):
    a = leaf(3, 4, layout=layout_a, seed=3)
    b = leaf(1, 4, layout="strided", low=0.5, high=1.5, seed=4)
    check(BINARY[name], a, b)


@pytest.mark.parametrize("scalar", [2.5, -3, 0.5])
def test_arithmetic_with_python_scalars_on_either_side(scalar):
    x = leaf(2, 3, low=0.5, high=2.0)
    check(lambda x: x + scalar, x)
    check(lambda x: scalar + x, x)
    check(lambda x: x - scalar, x)
    check(lambda x: scalar - x, x)
    check(lambda x: x * scalar, x)
    check(lambda x: scalar * x, x)
    check(lambda x: x / scalar, x)
    check(lambda x: scalar / x, x)


def test_neg():
    for layout in LAYOUTS:
        check(lambda x: -x, leaf(3, 4, layout=layout))
        check(tinytorch.neg, leaf(3, 4, layout=layout))


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5, 1, -2])
def test_pow_scalar_exponent(exponent):
    for layout in LAYOUTS:
        check(lambda x: x ** exponent, leaf(3, 4, layout=layout, low=0.3, high=2.0))
        check(lambda x: tinytorch.pow(x, exponent), leaf(2, 2, low=0.3, high=2.0))


def test_pow_integer_exponent_of_negative_base():
    check(lambda x: x ** 3, leaf(3, 4, away_from=(0.0,)))
    check(lambda x: x ** 2, leaf(3, 4))


def test_pow_tensor_exponent_with_broadcasting():
    base = leaf(3, 4, low=0.3, high=2.0)
    exponent = leaf(4, low=-2.0, high=2.0)
    check(lambda b, e: b ** e, base, exponent)
    check(lambda b, e: b ** e, leaf(3, 1, low=0.3, high=2.0), leaf(1, 4))


@pytest.mark.parametrize("base", [2.0, 0.5, 3])
def test_rpow_scalar_base(base):
    for layout in LAYOUTS:
        check(lambda x: base ** x, leaf(3, 4, layout=layout))


def test_pow_zero_exponent_has_zero_gradient_even_at_zero():
    # d/dx x**0 = 0 everywhere (PyTorch's rule), not 0 * 0**-1 = nan at x = 0.
    x = tinytorch.tensor([0.0, 1.5, -2.0], dtype=tinytorch.float64, requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])
    exponent = tinytorch.tensor([0.0, 2.0, 0.0], dtype=tinytorch.float64)
    y = tinytorch.tensor([0.0, 0.0, 3.0], dtype=tinytorch.float64, requires_grad=True)
    (y ** exponent).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [0.0, 0.0, 0.0])


# ----- pointwise ---------------------------------------------------------------
UNARY = {
    "exp": (tinytorch.exp, {}),
    "log": (tinytorch.log, {"low": 0.2, "high": 3.0}),
    "sqrt": (tinytorch.sqrt, {"low": 0.2, "high": 3.0}),
    "abs": (tinytorch.abs, {"away_from": (0.0,)}),
    "abs_operator": (lambda x: abs(x), {"away_from": (0.0,)}),
    "relu": (tinytorch.relu, {"away_from": (0.0,)}),
    "sigmoid": (tinytorch.sigmoid, {"low": -6.0, "high": 6.0}),
    "tanh": (tinytorch.tanh, {}),
    "clamp_min": (lambda x: tinytorch.clamp(x, min=-0.5), {"away_from": (-0.5,)}),
    "clamp_max": (lambda x: tinytorch.clamp(x, max=0.7), {"away_from": (0.7,)}),
    "clamp_both": (lambda x: x.clamp(-0.5, 0.7), {"away_from": (-0.5, 0.7)}),
    "clip": (lambda x: x.clip(min=-0.5), {"away_from": (-0.5,)}),
    "method_exp": (lambda x: x.exp(), {}),
    "method_log": (lambda x: x.log(), {"low": 0.2, "high": 3.0}),
    "method_sqrt": (lambda x: x.sqrt(), {"low": 0.2, "high": 3.0}),
    "method_relu": (lambda x: x.relu(), {"away_from": (0.0,)}),
    "method_sigmoid": (lambda x: x.sigmoid(), {}),
    "method_tanh": (lambda x: x.tanh(), {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_unary_ops(name, layout):
    fn, options = UNARY[name]
    check(fn, leaf(3, 4, layout=layout, **options))


@pytest.mark.parametrize("name", ["exp", "tanh", "sigmoid", "abs"])
def test_unary_ops_on_0d_and_3d(name):
    fn, options = UNARY[name]
    check(fn, leaf(**options))
    check(fn, leaf(2, 3, 2, layout="strided", **options))


def test_clamp_with_tensor_bounds():
    x = leaf(3, 4, seed=20)
    low = leaf(4, low=-1.0, high=-0.2, seed=21)
    high = leaf(3, 1, low=0.2, high=1.0, seed=22)
    check(lambda x, low, high: tinytorch.clamp(x, low, high), x, low, high)
    check(lambda x, low: x.clamp(min=low), x, low)
    constant = tinytorch.tensor(np.full(4, 0.3))  # a bound without grad is a plain array
    check(lambda x: x.clamp(max=constant), leaf(3, 4, away_from=(0.3,), layout="strided"))
    np.testing.assert_array_equal(x.clamp(max=constant).array, np.minimum(x.array, 0.3))


def test_clamp_with_tensor_bounds_matches_pytorch():
    torch = pytest.importorskip("torch")
    values = [1.0, -2.0, 3.0, 0.5, 1.5]
    low_values, high_values = [0.0, 0.0, 0.0, 0.5, 2.0], [2.0, 2.0, 2.0, 1.0, 1.0]
    grads = []
    for module in (tinytorch, torch):
        x, low, high = (module.tensor(v, dtype=module.float64, requires_grad=True)
                        for v in (values, low_values, high_values))
        weights = module.tensor([1.0, 2.0, 3.0, 4.0, 5.0], dtype=module.float64)
        (module.clamp(x, low, high) * weights).sum().backward()
        grads.append([np.array(t.grad.tolist()) for t in (x, low, high)])
    for ours, theirs in zip(*grads):
        np.testing.assert_array_equal(ours, theirs)


def test_clamp_really_clamps_something():
    # Guard against a vacuous clamp test: some elements are outside the bounds.
    x = leaf(3, 4, away_from=(-0.5, 0.7))
    assert (x.array < -0.5).any() and (x.array > 0.7).any()


def test_maximum_minimum_ties_split_the_gradient_evenly():
    a = tinytorch.tensor([1.0, 2.0, 3.0], dtype=tinytorch.float64, requires_grad=True)
    b = tinytorch.tensor([1.0, 5.0, 3.0], dtype=tinytorch.float64, requires_grad=True)
    tinytorch.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 1.0, 0.5])
    a.grad = b.grad = None
    tinytorch.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(b.grad.numpy(), [0.5, 0.0, 0.5])
    # At a tie the central difference measures the mean of both one-sided
    # slopes, 1/2: so the even split also passes gradcheck, ties included.
    check(tinytorch.maximum, a, b)
    check(tinytorch.minimum, a, b)


def test_maximum_ties_match_pytorch():
    torch = pytest.importorskip("torch")
    a_values = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]])
    b_values = np.array([1.0, -1.0, 3.0])
    for ours, theirs in ((tinytorch.maximum, torch.maximum), (tinytorch.minimum, torch.minimum)):
        a = tinytorch.tensor(a_values, requires_grad=True)
        b = tinytorch.tensor(b_values, requires_grad=True)
        ta = torch.tensor(a_values, requires_grad=True)
        tb = torch.tensor(b_values, requires_grad=True)
        weights = np.arange(1.0, 7.0).reshape(2, 3)
        (ours(a, b) * tinytorch.tensor(weights)).sum().backward()
        (theirs(ta, tb) * torch.tensor(weights)).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy())


def test_where_with_broadcasting_and_scalars():
    condition = tinytorch.tensor([[True], [False], [True]])
    a = leaf(1, 4)
    b = leaf(3, 4, layout="strided")
    check(lambda a, b: tinytorch.where(condition, a, b), a, b)
    check(lambda a: tinytorch.where(condition, a, 0.0), a)
    check(lambda b: tinytorch.where(condition, 1.5, b), b)
    mask = np.array([True, False, False, True])
    check(lambda a, b: tinytorch.where(mask, a, b), leaf(3, 4, layout="transposed"), leaf(4))


@pytest.mark.parametrize("dim", [0, 1, -1, None])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_softmax_and_log_softmax(dim, layout):
    x = leaf(3, 4, layout=layout)
    check(lambda x: tinytorch.softmax(x, dim), x)
    check(lambda x: tinytorch.log_softmax(x, dim), x)
    check(lambda x: x.softmax(dim if dim is not None else 1), x)
    check(lambda x: x.log_softmax(dim if dim is not None else 1), x)


def test_softmax_on_3d_middle_dim_and_1d():
    check(lambda x: tinytorch.softmax(x, 1), leaf(2, 3, 2, layout="strided"))
    check(lambda x: tinytorch.log_softmax(x, -2), leaf(2, 3, 2))
    check(lambda x: tinytorch.softmax(x, 0), leaf(5))
    check(lambda x: tinytorch.log_softmax(x, 0), leaf(5))


# ----- reductions --------------------------------------------------------------
REDUCTION_DIMS = [None, 0, 1, -1, -3, (0, 2), (2, 0), (-1, 1), [0, 1, 2]]


@pytest.mark.parametrize("dim", REDUCTION_DIMS, ids=str)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean_var_std(dim, keepdim):
    x = leaf(2, 3, 2, layout="strided")
    check(lambda x: x.sum(dim=dim, keepdim=keepdim), x)
    check(lambda x: tinytorch.sum(x, dim, keepdim), x)
    check(lambda x: x.mean(dim=dim, keepdim=keepdim), x)
    check(lambda x: tinytorch.mean(x, dim, keepdim), x)
    check(lambda x: x.var(dim, keepdim=keepdim), x)
    check(lambda x: tinytorch.var(x, dim, correction=0, keepdim=keepdim), x)
    check(lambda x: x.std(dim, keepdim=keepdim), x)
    check(lambda x: x.std(dim, unbiased=False, keepdim=keepdim), x)


@pytest.mark.parametrize("layout", ["transposed", "contiguous"])
def test_reductions_of_2d_and_1d(layout):
    x = leaf(3, 4, layout=layout)
    for dim in (None, 0, 1, -2, (0, 1)):
        check(lambda x: x.sum(dim), x)
        check(lambda x: x.mean(dim), x)
        check(lambda x: x.var(dim), x)
    check(lambda x: x.sum(), leaf(5))
    check(lambda x: x.var(0, unbiased=True), leaf(5))


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_min_values(dim, keepdim, layout):
    # Distinct values, at least 0.1 apart, so no tie sits within eps of another.
    rng = np.random.default_rng(7)
    values = rng.permutation(12).reshape(3, 4) * 0.1
    x = leaf(3, 4, layout=layout)
    x.array[...] = values
    if dim is None:
        check(lambda x: x.max(), x)
        check(lambda x: tinytorch.min(x), x)
    else:
        check(lambda x: x.max(dim, keepdim=keepdim).values, x)
        check(lambda x: tinytorch.min(x, dim, keepdim)[0], x)
        check(lambda x: tinytorch.max(x, dim=dim, keepdim=keepdim).values * 2, x)


def test_max_over_all_splits_ties_evenly():
    x = tinytorch.tensor([3.0, 1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / 3, 0, 1 / 3, 1 / 3])
    assert x.grad.dtype == np.float32
    y = tinytorch.tensor([[0.0, -1.0], [-1.0, 5.0]], requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad.numpy(), [[0, 0.5], [0.5, 0]])


# ----- matmul and linear -------------------------------------------------------
MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (2, 3, 4)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((2, 3, 4), (4, 2)),
    ((3, 4), (2, 4, 2)),
    ((3,), (2, 3, 4)),
    ((2, 3, 4), (4,)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul(shapes):
    a_shape, b_shape = shapes
    a, b = leaf(*a_shape, seed=5), leaf(*b_shape, seed=6)
    check(lambda a, b: a @ b, a, b)
    check(tinytorch.matmul, a, b)


@pytest.mark.parametrize("layout", ["transposed", "strided"])
def test_matmul_non_contiguous(layout):
    check(lambda a, b: a @ b, leaf(3, 4, layout=layout), leaf(4, 2, layout=layout))
    check(lambda a, b: a.matmul(b), leaf(2, 3, 4, layout=layout), leaf(4, 3, layout=layout))


@pytest.mark.parametrize("x_shape", [(4,), (3, 4), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("with_bias", [True, False])
def test_linear(x_shape, with_bias):
    x = leaf(*x_shape, seed=8)
    weight = leaf(5, 4, seed=9)
    if with_bias:
        check(linear, x, weight, leaf(5, seed=10))
    else:
        check(lambda x, w: linear(x, w), x, weight)
        check(lambda x, w: linear(x, w, None), x, weight)


def test_linear_non_contiguous_and_matches_matmul():
    x = leaf(2, 3, 4, layout="strided")
    weight = leaf(5, 4, layout="transposed")
    bias = leaf(5, layout="strided")
    check(linear, x, weight, bias)
    np.testing.assert_allclose(linear(x, weight, bias).array,
                               x.array @ weight.array.T + bias.array, rtol=1e-12)


# ----- shape operations --------------------------------------------------------
SHAPE_OPS = {
    "reshape": lambda x: x.reshape(4, 3),
    "reshape_tuple": lambda x: x.reshape((2, -1)),
    "reshape_fn": lambda x: tinytorch.reshape(x, (12,)),
    "view": lambda x: x.view(-1, 2) * 1.0,
    "permute": lambda x: x.permute(1, 0),
    "permute_fn": lambda x: tinytorch.permute(x, (1, 0)),
    "transpose": lambda x: x.transpose(0, 1),
    "transpose_negative": lambda x: tinytorch.transpose(x, -1, -2),
    "T": lambda x: x.T,
    "unsqueeze": lambda x: x.unsqueeze(1),
    "unsqueeze_negative": lambda x: tinytorch.unsqueeze(x, -1),
    "unsqueeze_squeeze": lambda x: x.unsqueeze(0).squeeze(0),
    "squeeze_all": lambda x: x.reshape(1, 3, 1, 4).squeeze(),
    "squeeze_dim": lambda x: tinytorch.squeeze(x.reshape(3, 1, 4), -2),
    "flatten": lambda x: x.flatten(),
    "flatten_range": lambda x: x.reshape(3, 2, 2).flatten(1, 2),
    "flatten_fn": lambda x: tinytorch.flatten(x.reshape(3, 2, 2), 0, 1),
    "expand": lambda x: x[:1].expand(5, 4),
    "expand_new_dims": lambda x: x.reshape(3, 1, 4).expand(2, 3, 6, 4),
    "expand_minus_one": lambda x: x.reshape(3, 1, 4).expand(-1, 2, -1),
    "expand_as": lambda x: x[:, :1].expand_as(x),
    "expand_fn": lambda x: tinytorch.expand(x[:1], (2, 4)),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_shape_ops(name, layout):
    check(SHAPE_OPS[name], leaf(3, 4, layout=layout))


def test_permute_3d():
    check(lambda x: x.permute(2, 0, 1), leaf(2, 3, 4, layout="strided"))
    check(lambda x: x.permute(-1, 1, 0), leaf(2, 3, 4, layout="transposed"))
    check(lambda x: x.transpose(0, 2), leaf(2, 3, 4))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim):
    a = leaf(2, 3, layout="strided", seed=11)
    b = leaf(2, 3, layout="transposed", seed=12)
    c = leaf(2, 3, seed=13)
    check(lambda a, b, c: tinytorch.cat([a, b, c], dim), a, b, c)
    # One piece without requires_grad: the others still get their slices.
    constant = tinytorch.ones(2, 3, dtype=tinytorch.float64)
    check(lambda a: tinytorch.cat((constant, a), dim=dim), a)


def test_cat_different_sizes_along_dim():
    check(lambda a, b: tinytorch.cat([a, b], 1), leaf(2, 1), leaf(2, 3))
    check(lambda a, b: tinytorch.cat([a, b], 0), leaf(1, 3), leaf(4, 3, layout="strided"))


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -3])
def test_stack(dim):
    a = leaf(2, 3, layout="strided", seed=14)
    b = leaf(2, 3, layout="transposed", seed=15)
    check(lambda a, b: tinytorch.stack([a, b], dim), a, b)
    check(lambda a, b: tinytorch.stack((a, b, a), dim=dim), a, b)


INDEX_KEYS = {
    "int": 1,
    "negative_int": -1,
    "slice": slice(1, 3),
    "slice_negative_step": slice(None, None, -1),
    "rows_and_columns": (slice(None), slice(3, 0, -2)),
    "none": (None, 1),
    "none_middle": (slice(None), None, slice(1, 3)),
    "ellipsis": (Ellipsis, 2),
    "ellipsis_none": (Ellipsis, None),
    "int_and_slice": (0, slice(None, None, 2)),
    "int_pair": (2, 3),
    "int_list_with_repeats": [0, 2, 0, 0],
    "int_array_with_repeats": np.array([2, 2, -1]),
    "int_arrays_pair": (np.array([0, 0, 2]), np.array([1, 1, 3])),
    "mixed_slice_and_array": (slice(None), [3, 3, 0]),
    "bool_mask_rows": np.array([True, False, True]),
    "bool_mask_full": "mask",
    "tensor_index": "tensor",
    "tensor_index_pair": "tensor_pair",
}


def _index_key(name, x):
    key = INDEX_KEYS[name]
    if not isinstance(key, str):
        return key
    if key == "mask":
        return x.array > 0
    if key == "tensor":
        return tinytorch.tensor([1, 1, 0])
    if key == "tensor_pair":
        return (tinytorch.tensor([0, 2, 0]), slice(None, 2))
    return key


@pytest.mark.parametrize("name", sorted(INDEX_KEYS))
@pytest.mark.parametrize("layout", LAYOUTS)
def test_indexing(name, layout):
    x = leaf(3, 4, layout=layout)
    key = _index_key(name, x)
    mask_key = key.copy() if isinstance(key, np.ndarray) else key  # gradcheck nudges x.array
    check(lambda x: x[mask_key], x)
    np.testing.assert_array_equal(x[mask_key].array, x.array[
        tuple(k.array if isinstance(k, Tensor) else k for k in mask_key)
        if isinstance(mask_key, tuple) else
        (mask_key.array if isinstance(mask_key, Tensor) else mask_key)])


def test_indexing_repeats_accumulate_gradient():
    x = tinytorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 0.0, 1.0])


def test_indexing_3d_with_ellipsis_and_tensor_mask():
    x = leaf(2, 3, 2, layout="strided")
    check(lambda x: x[..., 1], x)
    check(lambda x: x[1, ..., None], x)
    mask = tinytorch.tensor([True, False, True])
    check(lambda x: x[:, mask], x)


# ----- losses ------------------------------------------------------------------
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.1, 0.5])
def test_cross_entropy(reduction, label_smoothing):
    logits = leaf(4, 3, low=-3, high=3)
    target = tinytorch.tensor([0, 2, 1, 2])
    check(lambda x: cross_entropy(x, target, reduction=reduction,
                                  label_smoothing=label_smoothing), logits)
    strided = leaf(4, 3, layout="strided")
    check(lambda x: cross_entropy(x, target, reduction=reduction, label_smoothing=label_smoothing), strided)
    check(lambda x: cross_entropy(x, target.numpy(), reduction=reduction,
                                  label_smoothing=label_smoothing),
          leaf(4, 3, layout="transposed"))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_unbatched(reduction):
    logits = leaf(5)
    check(lambda x: cross_entropy(x, 3, reduction=reduction), logits)
    check(lambda x: cross_entropy(x, tinytorch.tensor(1), reduction=reduction,
                                  label_smoothing=0.2), logits)
    assert cross_entropy(logits, 3, reduction=reduction).shape == ()


def test_cross_entropy_after_other_ops():
    # Cross-entropy as one node inside a longer graph (linear -> CE).
    x = leaf(4, 3)
    weight = leaf(5, 3)
    target = tinytorch.tensor([4, 0, 0, 1])
    check(lambda x, w: cross_entropy(linear(x, w), target, label_smoothing=0.1), x, weight)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    prediction = leaf(3, 4, layout="strided")
    target = leaf(3, 4, layout="transposed")
    check(lambda p, t: mse_loss(p, t, reduction=reduction), prediction, target)
    constant = tinytorch.tensor(np.ones((3, 4)))
    check(lambda p: mse_loss(p, constant, reduction), prediction)


# ----- dtype casts -------------------------------------------------------------
def test_cast_float64_to_float32_and_back():
    x = leaf(3, 4, layout="strided")
    # The float32 round trip rounds to ~1e-7 relative: a larger eps keeps the
    # finite difference well above that rounding.
    check(lambda x: (x.to(tinytorch.float32) * 3).to(tinytorch.float64), x, eps=1e-2)
    check(lambda x: x.float().double().exp(), x, eps=1e-3, rtol=1e-2)
    check(lambda x: x.to(np.float64) * 2, x)


def test_cast_gradient_dtypes():
    x = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(tinytorch.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    z = tinytorch.tensor([1.0, 2.0], dtype=tinytorch.float64, requires_grad=True)
    (z.float() * 3).sum().backward()
    assert z.grad.dtype == np.float64
    np.testing.assert_array_equal(z.grad.numpy(), [3.0, 3.0])
    as_int = z.long()
    assert as_int.dtype == np.int64 and not as_int.requires_grad and as_int.grad_fn is None
