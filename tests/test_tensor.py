"""Tensor: dtype rules, creation, randomness, conversions, reductions, printing, errors.

Values are compared with numpy; the tests at the end also compare with PyTorch
when it is installed (it is optional: everything above them runs without it).
"""
import math
import warnings

import numpy as np
import pytest

import tinytorch
from tinytorch import Tensor
from tinytorch.ops.loss import cross_entropy, mse_loss
from tinytorch.ops.matmul import linear


# ----- dtype rules ---------------------------------------------------------------
def test_dtypes_from_python_data_follow_pytorch():
    assert tinytorch.tensor(1.5).dtype == np.float32
    assert tinytorch.tensor([1.0, 2.0]).dtype == np.float32
    assert tinytorch.tensor([1, 2.5]).dtype == np.float32  # mixed: float wins
    assert tinytorch.tensor([[1, 2], [3, 4]]).dtype == np.int64
    assert tinytorch.tensor(7).dtype == np.int64
    assert tinytorch.tensor([True, False]).dtype == np.bool_
    assert tinytorch.tensor(True).dtype == np.bool_


def test_numpy_data_keeps_its_dtype():
    assert tinytorch.tensor(np.zeros(3)).dtype == np.float64
    assert tinytorch.tensor(np.zeros(3, np.float32)).dtype == np.float32
    assert tinytorch.tensor(np.zeros(3, np.int32)).dtype == np.int32
    assert tinytorch.tensor(np.zeros(3, np.uint8)).dtype == np.uint8
    assert tinytorch.tensor(np.float64(2.0)).dtype == np.float64
    assert tinytorch.from_numpy(np.zeros(2, np.int8)).dtype == np.int8


def test_dtype_argument_wins():
    assert tinytorch.tensor([1, 2], dtype=tinytorch.float32).dtype == np.float32
    assert tinytorch.tensor([1.5, 2.5], dtype=tinytorch.float64).dtype == np.float64
    assert tinytorch.tensor(np.zeros(2), dtype=tinytorch.float32).dtype == np.float32
    assert tinytorch.tensor([1.7, -2.7], dtype=tinytorch.int64).tolist() == [1, -2]
    assert tinytorch.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2], dtype="float32").dtype == np.float32


def test_tensor_copies_its_data():
    source = np.zeros(3)
    t = tinytorch.tensor(source)
    source[0] = 5
    assert t.array[0] == 0
    shared = tinytorch.from_numpy(source)
    source[1] = 7
    assert shared.array[1] == 7
    with pytest.raises(TypeError):
        tinytorch.from_numpy([1, 2])


def test_unsupported_data_is_refused():
    with pytest.raises(TypeError):
        tinytorch.tensor(["a", "b"])
    with pytest.raises(TypeError):
        tinytorch.tensor({"a": 1})


def test_float32_arithmetic_with_python_scalars_stays_float32():
    x = tinytorch.ones(3)
    for result in (x + 1.5, 1.5 + x, x - 2, 2 - x, x * 0.1, 0.1 * x, x / 3.0, 3.0 / x,
                   x ** 2, x ** 0.5, 2.0 ** x, -x, x + True, abs(x), x.exp(), x.sqrt(),
                   x.clamp(0.5, 2.5), tinytorch.where(x > 0, x, 0.0), tinytorch.maximum(x, x),
                   x.mean(), x.var(), x.std(), x.softmax(0), x.sum(), x @ x):
        assert result.dtype == np.float32, result


def test_mixed_dtypes_follow_pytorch_not_numpy():
    # numpy would make all of these float64; PyTorch (and TinyTorch) give float32.
    ints = tinytorch.arange(4)
    floats = tinytorch.ones(4)
    assert (ints * 0.5).dtype == np.float32
    assert (ints / 2).dtype == np.float32
    assert (ints / ints.clamp(min=1)).dtype == np.float32
    assert (ints ** 0.5).dtype == np.float32
    assert (2.5 ** ints).dtype == np.float32
    assert (floats * ints).dtype == np.float32
    assert (floats + np.float64(2.0)).dtype == np.float32  # numpy scalars count as numbers
    assert (floats * tinytorch.tensor(2.0, dtype=tinytorch.float64)).dtype == np.float32  # 0-d
    assert (tinytorch.tensor([True, False]) * 1.5).dtype == np.float32
    assert tinytorch.exp(ints).dtype == np.float32
    assert tinytorch.sqrt(ints).dtype == np.float32
    assert tinytorch.sigmoid(ints).dtype == np.float32
    assert tinytorch.tanh(ints).dtype == np.float32
    assert tinytorch.log(ints + 1).dtype == np.float32
    assert tinytorch.where(ints > 1, 1.0, 0.0).dtype == np.float32
    assert tinytorch.clamp(ints, min=0.5).dtype == np.float32
    assert tinytorch.maximum(ints, floats).dtype == np.float32
    np.testing.assert_allclose((ints / 2).numpy(), [0.0, 0.5, 1.0, 1.5])
    # ... but float64 is kept wherever a float64 tensor takes part.
    doubles = tinytorch.ones(4, dtype=tinytorch.float64)
    assert (doubles * floats).dtype == np.float64
    assert (doubles * 0.5).dtype == np.float64
    assert (ints * tinytorch.tensor(2.0, dtype=tinytorch.float64)).dtype == np.float64
    assert (tinytorch.tensor(1.0, dtype=tinytorch.float64) + tinytorch.tensor(1.0)).dtype == np.float64
    assert tinytorch.exp(doubles).dtype == np.float64
    # ... and integers stay integers.
    assert (ints * 2).dtype == np.int64 and (ints + ints).dtype == np.int64
    assert (2 ** ints).dtype == np.int64 and (-ints).dtype == np.int64
    assert (ints + True).dtype == np.int64


def test_gradient_of_float32_input_mixed_with_float64_number():
    x = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    y = x * np.float64(3.0) + np.sqrt(2.0)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


# ----- creation ---------------------------------------------------------------------
@pytest.mark.parametrize("make", [tinytorch.zeros, tinytorch.ones, tinytorch.empty,
                                  tinytorch.rand, tinytorch.randn])
def test_shape_as_varargs_tuple_or_list(make):
    for shape_args in ((2, 3), ((2, 3),), ([2, 3],)):
        t = make(*shape_args)
        assert t.shape == (2, 3) and t.dtype == np.float32
    assert make(()).shape == ()
    assert make(4).shape == (4,)
    assert make(2, 3, dtype=tinytorch.float64).dtype == np.float64
    assert make(2, requires_grad=True).requires_grad


def test_constant_creation_values():
    np.testing.assert_array_equal(tinytorch.zeros(2, 2).numpy(), np.zeros((2, 2)))
    np.testing.assert_array_equal(tinytorch.ones(3).numpy(), np.ones(3))
    full = tinytorch.full((2, 3), 1.5)
    assert full.dtype == np.float32 and full.shape == (2, 3)
    np.testing.assert_array_equal(full.numpy(), np.full((2, 3), 1.5))
    assert tinytorch.full((2,), 7).dtype == np.int64
    assert tinytorch.full((2,), True).dtype == np.bool_
    assert tinytorch.full([3], 2.0, dtype=tinytorch.float64).dtype == np.float64
    np.testing.assert_array_equal(tinytorch.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(tinytorch.eye(2, 3).numpy(), np.eye(2, 3))
    assert tinytorch.eye(2).dtype == np.float32
    assert tinytorch.zeros(2, dtype=tinytorch.int64).dtype == np.int64


def test_arange_and_linspace():
    a = tinytorch.arange(5)
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 2, 3, 4]
    assert tinytorch.arange(2, 5).tolist() == [2, 3, 4]
    assert tinytorch.arange(5, 0, -2).tolist() == [5, 3, 1]
    f = tinytorch.arange(0, 1, 0.25)
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.numpy(), [0, 0.25, 0.5, 0.75])
    assert tinytorch.arange(3.0).dtype == np.float32
    assert tinytorch.arange(3, dtype=tinytorch.float64).dtype == np.float64
    lin = tinytorch.linspace(0, 1, 5)
    assert lin.dtype == np.float32
    np.testing.assert_allclose(lin.numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert tinytorch.linspace(-1, 1, 3, dtype=tinytorch.float64).dtype == np.float64


def test_like_functions_keep_shape_and_dtype():
    for source in (tinytorch.ones(2, 3), tinytorch.ones(2, 3, dtype=tinytorch.float64),
                   tinytorch.arange(6).reshape(2, 3)):
        for like in (tinytorch.zeros_like(source), tinytorch.ones_like(source),
                     tinytorch.full_like(source, 4)):
            assert like.shape == source.shape and like.dtype == source.dtype
    doubles = tinytorch.ones(2, 3, dtype=tinytorch.float64)
    for like in (tinytorch.rand_like(doubles), tinytorch.randn_like(doubles)):
        assert like.shape == (2, 3) and like.dtype == np.float64
    assert tinytorch.zeros_like(doubles, dtype=tinytorch.float32).dtype == np.float32
    assert tinytorch.ones_like(doubles, requires_grad=True).requires_grad
    np.testing.assert_array_equal(tinytorch.full_like(doubles, 4).numpy(), np.full((2, 3), 4.0))


def test_random_creation_ranges():
    tinytorch.manual_seed(3)
    u = tinytorch.rand(1000)
    assert u.dtype == np.float32 and 0 <= u.numpy().min() and u.numpy().max() < 1
    n = tinytorch.randn(4000)
    assert abs(n.numpy().mean()) < 0.1 and abs(n.numpy().std() - 1) < 0.1
    r = tinytorch.randint(3, 7, (500,))
    assert r.dtype == np.int64 and r.shape == (500,)
    assert set(r.tolist()) == {3, 4, 5, 6}
    p = tinytorch.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))


def test_randint_accepts_pytorchs_two_argument_form():
    r = tinytorch.randint(10, (3, 4))  # high, size
    assert r.shape == (3, 4) and r.dtype == np.int64
    assert r.numpy().min() >= 0 and r.numpy().max() < 10
    assert tinytorch.randint(5, size=(6,)).shape == (6,)
    assert tinytorch.randint(2, 4, size=(2,)).shape == (2,)
    assert tinytorch.randint(0, 3, (2,), dtype=tinytorch.int32).dtype == np.int32
    with pytest.raises(TypeError, match="size"):
        tinytorch.randint(0, 10)


def test_manual_seed_reproduces_bit_for_bit():
    def draw():
        return (tinytorch.rand(3, 4).numpy().tobytes(), tinytorch.randn(5).numpy().tobytes(),
                tinytorch.randn(2, dtype=tinytorch.float64).numpy().tobytes(),
                tinytorch.randint(0, 100, (6,)).tolist(), tinytorch.randperm(8).tolist(),
                tinytorch.rand_like(tinytorch.ones(3)).numpy().tobytes())

    tinytorch.manual_seed(1234)
    first = draw()
    tinytorch.manual_seed(1234)
    second = draw()
    assert first == second
    tinytorch.manual_seed(1235)
    assert draw() != first
    assert tinytorch.initial_seed() == 1235


def test_explicit_generator_is_independent_of_the_global_one():
    g = tinytorch.Generator().manual_seed(7)
    a = tinytorch.rand(4, generator=g).numpy().copy()
    tinytorch.manual_seed(0)
    tinytorch.rand(100)  # consuming the global stream does not move g
    g.manual_seed(7)
    np.testing.assert_array_equal(tinytorch.rand(4, generator=g).numpy(), a)
    state = g.get_state()
    b = tinytorch.randn(3, generator=g).numpy().copy()
    g.set_state(state)
    np.testing.assert_array_equal(tinytorch.randn(3, generator=g).numpy(), b)
    with pytest.raises(ValueError):
        tinytorch.manual_seed(-1)


# ----- conversions and properties -----------------------------------------------------
def test_item_numpy_tolist():
    x = tinytorch.tensor([[1.5, 2.0], [3.0, 4.0]])
    assert x[0, 0].item() == 1.5 and isinstance(x[0, 0].item(), float)
    assert tinytorch.tensor([7]).item() == 7 and isinstance(tinytorch.tensor(7).item(), int)
    assert tinytorch.tensor(True).item() is True
    assert x.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert tinytorch.tensor(3).tolist() == 3
    with pytest.raises(RuntimeError, match="4 elements"):
        x.item()
    array = x.numpy()
    assert isinstance(array, np.ndarray) and np.shares_memory(array, x.array)
    assert float(tinytorch.tensor([2.5])) == 2.5 and int(tinytorch.tensor(3.9)) == 3
    assert np.asarray(x).shape == (2, 2)
    assert np.asarray(x, dtype=np.float64).dtype == np.float64


def test_numpy_on_tensor_requiring_grad_errors():
    x = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    with pytest.raises(RuntimeError, match="detach"):
        (x * 2).numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0, 2.0])


def test_shape_properties():
    x = tinytorch.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.size() == (2, 3, 4) and x.size(1) == 3 and x.size(-1) == 4
    assert x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and len(x) == 2
    assert [t.shape for t in x] == [(3, 4), (3, 4)]
    assert x.T.shape == (4, 3, 2)
    with pytest.raises(TypeError):
        len(tinytorch.tensor(1.0))
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(tinytorch.ones(2))
    assert bool(tinytorch.ones(1)) and not bool(tinytorch.zeros(()))


def test_repr():
    assert repr(tinytorch.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(tinytorch.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tinytorch.tensor([1.0, 2.0], requires_grad=True)) == \
        "tensor([1., 2.], requires_grad=True)"
    assert repr(tinytorch.tensor([1.0], dtype=tinytorch.float64)) == \
        "tensor([1.], dtype=tinytorch.float64)"
    assert repr(tinytorch.tensor([1.0], requires_grad=True) * 2) == \
        "tensor([2.], grad_fn=<MulBackward>)"
    assert repr(tinytorch.tensor(True)) == "tensor(True)"
    assert "dtype=tinytorch.int32" in repr(tinytorch.tensor(np.array([1], np.int32)))
    two_rows = repr(tinytorch.zeros(2, 2))
    assert two_rows == "tensor([[0., 0.],\n        [0., 0.]])"


def test_to_and_casts():
    x = tinytorch.tensor([1.7, -2.2])
    assert x.to(tinytorch.float64).dtype == np.float64
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32
    assert x.long().tolist() == [1, -2] and x.long().dtype == np.int64
    assert x.to(np.int32).dtype == np.int32
    casted = x.to(tinytorch.float64)
    casted.array[0] = 99
    assert x.array[0] != 99  # a copy


# ----- comparisons --------------------------------------------------------------------
def test_comparisons_return_bool_tensors_without_grad():
    x = tinytorch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = tinytorch.tensor([3.0, 2.0, 1.0])
    results = {
        "lt": (x < y, [True, False, False]), "le": (x <= y, [True, True, False]),
        "gt": (x > y, [False, False, True]), "ge": (x >= y, [False, True, True]),
        "eq": (x == y, [False, True, False]), "ne": (x != y, [True, False, True]),
        "scalar": (x > 1.5, [False, True, True]), "reflected": (2.0 < x, [False, False, True]),
        "numpy": (x == np.array([1.0, 0.0, 3.0]), [True, False, True]),
    }
    for name, (result, expected) in results.items():
        assert isinstance(result, Tensor), name
        assert result.dtype == np.bool_, name
        assert result.requires_grad is False and result.grad_fn is None, name
        assert result.tolist() == expected, name
    assert (tinytorch.tensor(1.0) == 1.0).shape == ()
    assert (tinytorch.ones(2, 1) < tinytorch.ones(3)).shape == (2, 3)


def test_numpy_operands_on_the_left_give_tensors():
    x = tinytorch.tensor([1.0, 2.0])
    for result in (np.array([1.0, 1.0]) + x, np.float32(2) * x, np.ones(2) - x):
        assert isinstance(result, Tensor)


# ----- reductions --------------------------------------------------------------------
def test_reduction_values_match_numpy():
    values = np.random.default_rng(0).normal(size=(3, 4, 5))
    x = tinytorch.tensor(values)
    for dim in (None, 0, 1, -1, (0, 2), (-1, -2)):
        for keepdim in (False, True):
            np.testing.assert_allclose(x.sum(dim, keepdim).numpy(),
                                       values.sum(axis=dim, keepdims=keepdim))
            np.testing.assert_allclose(x.mean(dim, keepdim=keepdim).numpy(),
                                       values.mean(axis=dim, keepdims=keepdim))
            np.testing.assert_allclose(x.var(dim, keepdim=keepdim).numpy(),
                                       values.var(axis=dim, ddof=1, keepdims=keepdim))
            np.testing.assert_allclose(x.var(dim, correction=0, keepdim=keepdim).numpy(),
                                       values.var(axis=dim, keepdims=keepdim))
            np.testing.assert_allclose(x.std(dim, keepdim=keepdim).numpy(),
                                       values.std(axis=dim, ddof=1, keepdims=keepdim))
            np.testing.assert_allclose(tinytorch.std(x, dim, unbiased=False).numpy(),
                                       values.std(axis=dim))
    assert x.sum().shape == () and x.sum(keepdim=True).shape == (1, 1, 1)
    assert tinytorch.sum(tinytorch.tensor([True, True, False])).item() == 2
    assert tinytorch.arange(4).sum().dtype == np.int64


def test_max_min_with_dim_return_values_and_indices():
    x = tinytorch.tensor([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    result = x.max(dim=1)
    assert result._fields == ("values", "indices")
    values, indices = result
    assert values.tolist() == [5.0, 6.0] and indices.tolist() == [1, 2]
    assert indices.dtype == np.int64 and not indices.requires_grad
    assert result.values is values and result[1] is indices
    low = tinytorch.min(x, 0)
    assert low.values.tolist() == [1.0, 2.0, 3.0] and low.indices.tolist() == [0, 1, 0]
    kept = x.max(-1, keepdim=True)
    assert kept.values.shape == (2, 1) and kept.indices.shape == (2, 1)
    assert x.max().item() == 6.0 and x.min().item() == 1.0 and x.max().shape == ()
    assert x.argmax().item() == 5 and x.argmin().item() == 0
    assert x.argmax(dim=0).tolist() == [1, 0, 1] and x.argmin(1).tolist() == [0, 1]
    assert tinytorch.argmax(x, 1, keepdim=True).shape == (2, 1)
    # max with a tensor argument is the elementwise maximum, as in PyTorch
    assert x.max(tinytorch.full((2, 3), 3.5)).tolist() == [[3.5, 5.0, 3.5], [4.0, 3.5, 6.0]]
    assert x.min(tinytorch.full((3,), 3.5)).tolist() == [[1.0, 3.5, 3.0], [3.5, 2.0, 3.5]]


def test_max_with_dim_gradient_goes_to_the_selected_index():
    x = tinytorch.tensor([[1.0, 5.0, 5.0], [4.0, 2.0, 6.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    (values * tinytorch.tensor([10.0, 20.0])).sum().backward()
    expected = np.zeros((2, 3))
    expected[0, indices.tolist()[0]] = 10.0
    expected[1, 2] = 20.0
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_reductions_of_0d_tensors_accept_dim_0():
    x = tinytorch.tensor(3.0, requires_grad=True)
    assert x.sum(0).item() == 3.0 and x.sum(-1, keepdim=True).shape == ()
    assert x.mean(0).item() == 3.0
    values, indices = x.max(0)
    assert values.item() == 3.0 and indices.item() == 0 and values.shape == ()
    assert x.min(dim=-1).indices.shape == ()
    values.backward()
    assert x.grad.item() == 1.0
    with pytest.raises(IndexError, match="out of range"):
        x.sum(1)


def test_mean_of_integers_errors_like_pytorch():
    with pytest.raises(RuntimeError, match="dtype"):
        tinytorch.arange(3).mean()


def test_max_of_empty_tensor_errors():
    with pytest.raises(RuntimeError, match="non-empty"):
        tinytorch.zeros(0).max()


# ----- forward values of the other operations ---------------------------------------
def test_forward_values_match_numpy():
    rng = np.random.default_rng(1)
    a_values = rng.normal(size=(3, 4))
    b_values = rng.uniform(0.5, 2, size=(4,))
    a, b = tinytorch.tensor(a_values), tinytorch.tensor(b_values)
    checks = [
        (a + b, a_values + b_values), (a - b, a_values - b_values),
        (a * b, a_values * b_values), (a / b, a_values / b_values),
        (b ** a, b_values ** a_values), (a ** 2, a_values ** 2), (-a, -a_values),
        (a.exp(), np.exp(a_values)), (b.log(), np.log(b_values)), (b.sqrt(), np.sqrt(b_values)),
        (abs(a), np.abs(a_values)), (a.relu(), np.maximum(a_values, 0)),
        (a.sigmoid(), 1 / (1 + np.exp(-a_values))), (a.tanh(), np.tanh(a_values)),
        (a.clamp(-0.5, 0.5), np.clip(a_values, -0.5, 0.5)),
        (a.clamp(min=0.1), np.maximum(a_values, 0.1)), (a.clamp(max=0.1), np.minimum(a_values, 0.1)),
        (tinytorch.where(a > 0, a, b), np.where(a_values > 0, a_values, b_values)),
        (a @ b, a_values @ b_values), (a @ a.T, a_values @ a_values.T),
        (a.softmax(1), np.exp(a_values) / np.exp(a_values).sum(1, keepdims=True)),
        (a.log_softmax(0), a_values - np.log(np.exp(a_values).sum(0, keepdims=True))),
        (a.reshape(2, 6), a_values.reshape(2, 6)), (a.permute(1, 0), a_values.T),
        (a.unsqueeze(1), a_values[:, None]), (a.flatten(), a_values.ravel()),
        (a[::-1, 1:3], a_values[::-1, 1:3]), (a[[2, 0, 2]], a_values[[2, 0, 2]]),
        (a[a > 0], a_values[a_values > 0]),
        (tinytorch.cat([a, a], 1), np.concatenate([a_values, a_values], 1)),
        (tinytorch.stack([a, a], 2), np.stack([a_values, a_values], 2)),
        (b.expand(3, 4), np.broadcast_to(b_values, (3, 4))),
        (linear(a, tinytorch.tensor(a_values[:2]), b[:2]), a_values @ a_values[:2].T + b_values[:2]),
    ]
    for i, (ours, expected) in enumerate(checks):
        assert ours.shape == expected.shape, i
        np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12, atol=1e-15, err_msg=str(i))


def test_sigmoid_and_softmax_do_not_overflow():
    big = tinytorch.tensor([-1000.0, 0.0, 1000.0])
    np.testing.assert_array_equal(big.sigmoid().numpy(), [0.0, 0.5, 1.0])
    probabilities = big.softmax(0).numpy()
    assert np.all(np.isfinite(probabilities)) and probabilities[2] == 1.0
    assert np.isfinite(big.log_softmax(0).numpy()).all()


def test_cross_entropy_values():
    logits_values = np.array([[2.0, 1.0, 0.1], [0.5, 2.5, 0.3]])
    target = np.array([0, 2])
    log_p = logits_values - np.log(np.exp(logits_values).sum(1, keepdims=True))
    losses = -log_p[np.arange(2), target]
    logits = tinytorch.tensor(logits_values)
    np.testing.assert_allclose(cross_entropy(logits, target).item(), losses.mean())
    np.testing.assert_allclose(cross_entropy(logits, target, reduction="sum").item(), losses.sum())
    np.testing.assert_allclose(cross_entropy(logits, target, reduction="none").numpy(), losses)
    smoothed = 0.9 * losses + 0.1 * (-log_p.mean(1))
    np.testing.assert_allclose(cross_entropy(logits, target, label_smoothing=0.1).item(),
                               smoothed.mean())
    np.testing.assert_allclose(cross_entropy(logits[0], 0).item(), losses[0])
    assert cross_entropy(tinytorch.tensor(logits_values.astype(np.float32)), target).dtype == np.float32
    np.testing.assert_allclose(mse_loss(logits, tinytorch.zeros(2, 3, dtype=tinytorch.float64)).item(),
                               (logits_values ** 2).mean())


def test_cross_entropy_errors():
    logits = tinytorch.zeros(2, 3)
    with pytest.raises(IndexError, match="out of bounds"):
        cross_entropy(logits, [0, 3])
    with pytest.raises(IndexError, match="out of bounds"):
        cross_entropy(logits, [-1, 0])
    with pytest.raises(RuntimeError, match="integer"):
        cross_entropy(logits, tinytorch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(logits, [0, 1], reduction="avg")
    with pytest.raises(ValueError, match=r"\(2,\)"):
        cross_entropy(logits, [0, 1, 2])


# ----- error messages ----------------------------------------------------------------
def test_matmul_error_names_both_shapes():
    with pytest.raises(RuntimeError) as error:
        tinytorch.zeros(2, 3) @ tinytorch.zeros(4, 5)
    assert "2x3" in str(error.value) and "4x5" in str(error.value)
    with pytest.raises(RuntimeError) as error:
        tinytorch.matmul(tinytorch.zeros(2, 3, 4), tinytorch.zeros(5, 4, 2))
    assert "2x3x4" in str(error.value) and "5x4x2" in str(error.value)
    with pytest.raises(RuntimeError, match="matmul"):
        tinytorch.zeros(3) @ tinytorch.zeros(4)
    with pytest.raises(RuntimeError, match="dimension"):
        tinytorch.zeros(()) @ tinytorch.zeros(3)
    with pytest.raises(RuntimeError) as error:
        linear(tinytorch.zeros(2, 3), tinytorch.zeros(5, 4))
    assert "2x3" in str(error.value)


def test_reshape_invalid_size():
    with pytest.raises(RuntimeError) as error:
        tinytorch.zeros(2, 3).reshape(4, 2)
    message = str(error.value)
    assert "(4, 2)" in message and "6" in message
    with pytest.raises(RuntimeError, match="invalid"):
        tinytorch.zeros(2, 3).view(-1, 4)


def test_cat_and_stack_mismatched_shapes():
    with pytest.raises(RuntimeError) as error:
        tinytorch.cat([tinytorch.zeros(2, 3), tinytorch.zeros(2, 4)], dim=0)
    assert "(2, 3)" in str(error.value) and "(2, 4)" in str(error.value)
    with pytest.raises(RuntimeError, match="must match"):
        tinytorch.cat([tinytorch.zeros(2, 3), tinytorch.zeros(3)])
    with pytest.raises(RuntimeError, match="non-empty"):
        tinytorch.cat([])
    with pytest.raises(RuntimeError, match=r"\(2, 3\).*\(3, 2\)"):
        tinytorch.stack([tinytorch.zeros(2, 3), tinytorch.zeros(3, 2)])
    assert tinytorch.cat([tinytorch.zeros(2, 3), tinytorch.zeros(2, 4)], dim=1).shape == (2, 7)


@pytest.mark.parametrize("operation", [
    lambda x: x.sum(2), lambda x: x.sum(-3), lambda x: x.mean((0, 5)), lambda x: x.var(2),
    lambda x: x.max(2), lambda x: x.argmin(-3), lambda x: x.softmax(2),
    lambda x: x.log_softmax(-3), lambda x: x.transpose(0, 2), lambda x: x.unsqueeze(4),
    lambda x: x.squeeze(2), lambda x: x.flatten(0, 2), lambda x: x.permute(0, 2),
    lambda x: tinytorch.cat([x, x], 2), lambda x: tinytorch.stack([x, x], 4),
])
def test_dim_out_of_range(operation):
    with pytest.raises(IndexError, match="out of range"):
        operation(tinytorch.zeros(2, 3))


def test_repeated_reduction_dims_error():
    for dims in ((0, 0), (0, -2), [1, 1]):
        with pytest.raises(RuntimeError, match="multiple times"):
            tinytorch.zeros(2, 3).sum(dims)
    with pytest.raises(RuntimeError, match="multiple times"):
        tinytorch.zeros(2, 3).var((1, -1))


def test_other_errors():
    with pytest.raises(IndexError):
        tinytorch.zeros(2, 3)[5]
    with pytest.raises(RuntimeError, match="permutation"):
        tinytorch.zeros(2, 3).permute(0, 0)
    with pytest.raises(RuntimeError, match="expand"):
        tinytorch.zeros(2, 3).expand(4, 3)
    with pytest.raises(RuntimeError, match="-1"):
        tinytorch.zeros(3).expand(-1, 3)  # -1 only keeps an existing size
    with pytest.raises(ValueError, match="clamp"):
        tinytorch.clamp(tinytorch.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        mse_loss(tinytorch.zeros(2, 3), tinytorch.zeros(3))
    with pytest.raises(RuntimeError, match="floating point"):
        tinytorch.arange(3).requires_grad_()


# ----- PyTorch as an oracle (optional) ------------------------------------------------
@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_result_dtypes_match_pytorch(torch):
    cases = {
        "tensor(1.5)": lambda m: m.tensor(1.5),
        "tensor([1, 2])": lambda m: m.tensor([1, 2]),
        "tensor(float64 array)": lambda m: m.tensor(np.zeros(2)),
        "int / int": lambda m: m.arange(4) / 2,
        "int * float": lambda m: m.arange(4) * 0.5,
        "int ** float": lambda m: m.arange(4) ** 0.5,
        "float ** int tensor": lambda m: 2.0 ** m.arange(3),
        "bool * float": lambda m: m.tensor([True]) * 1.5,
        "float32 * int64": lambda m: m.ones(2) * m.arange(2),
        "float32 + numpy float64": lambda m: m.ones(2) + np.float64(1.5),
        "float32 + 0-d float64": lambda m: m.ones(2) + m.tensor(1.0, dtype=m.float64),
        "int + 0-d float64": lambda m: m.arange(2) + m.tensor(1.0, dtype=m.float64),
        "float32 + float64": lambda m: m.ones(2) + m.ones(2, dtype=m.float64),
        "exp(int)": lambda m: m.exp(m.arange(3)),
        "where(numbers)": lambda m: m.where(m.tensor([True, False]), 1.0, 0.0),
        "clamp(int, float)": lambda m: m.clamp(m.arange(3), min=0.5),
        "maximum(int, float32)": lambda m: m.maximum(m.arange(3), m.ones(3)),
        "sum(bool)": lambda m: m.tensor([True, False]).sum(),
        "sum(int32)": lambda m: m.tensor(np.ones(2, np.int32)).sum(),
        "full(int)": lambda m: m.full((2,), 2),
        "arange(float)": lambda m: m.arange(0, 2, 0.5),
        "linspace": lambda m: m.linspace(0, 1, 5),
        "randint": lambda m: m.randint(0, 5, (3,)),
        "randperm": lambda m: m.randperm(4),
        "comparison": lambda m: m.arange(3) == 1.0,
    }
    for name, make in cases.items():
        ours, theirs = make(tinytorch), make(torch)
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", ""), name


def test_forward_values_match_pytorch(torch):
    rng = np.random.default_rng(2)
    values = rng.normal(size=(4, 5))
    other = rng.normal(size=(5,))
    x, y = tinytorch.tensor(values), tinytorch.tensor(other)
    tx, ty = torch.tensor(values), torch.tensor(other)
    tf = torch.nn.functional
    target = np.array([0, 4, 2, 2])
    pairs = [
        (x.softmax(1), tx.softmax(1)), (x.log_softmax(0), tx.log_softmax(0)),
        (x.var(1), tx.var(1)), (x.std(0, keepdim=True), tx.std(0, keepdim=True)),
        (x.var(correction=0), tx.var(correction=0)), (x.sigmoid(), tx.sigmoid()),
        (x.max(1).values, tx.max(1).values), (x.min(0).indices, tx.min(0).indices),
        (x @ y, tx @ ty), (tinytorch.maximum(x, y), torch.maximum(tx, ty)),
        (x.clamp(-0.3, 0.4), tx.clamp(-0.3, 0.4)), (x ** 3, tx ** 3),
        (cross_entropy(x, target), tf.cross_entropy(tx, torch.tensor(target))),
        (cross_entropy(x, target, reduction="none", label_smoothing=0.3),
         tf.cross_entropy(tx, torch.tensor(target), reduction="none", label_smoothing=0.3)),
        (cross_entropy(x[1], 3, label_smoothing=0.1),
         tf.cross_entropy(tx[1], torch.tensor(3), label_smoothing=0.1)),
        (mse_loss(x, x.detach() * 0.5), tf.mse_loss(tx, tx * 0.5)),
        (linear(x, tinytorch.tensor(values[:3]), y[:3]),
         tf.linear(tx, torch.tensor(values[:3]), ty[:3])),
        (x.reshape(-1, 2)[3:7:2], tx.reshape(-1, 2)[3:7:2]),
        (x[None, ..., 1], tx[None, ..., 1]), (x.flatten(), tx.flatten()),
    ]
    for i, (ours, theirs) in enumerate(pairs):
        assert ours.shape == tuple(theirs.shape), i
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12, err_msg=str(i))


def test_gradients_match_pytorch_at_the_kinks(torch):
    # Where functions are not differentiable, the conventions must be PyTorch's.
    values = np.array([[-1.0, 0.0, 0.5, 2.0], [2.0, 2.0, -1.0, 0.0]])
    cases = {
        "relu": lambda m, x: m.relu(x),
        "abs": lambda m, x: m.abs(x),
        "clamp at the bounds": lambda m, x: m.clamp(x, 0.0, 0.5),
        "clamp min": lambda m, x: m.clamp(x, min=0.0),
        "max with dim, ties": lambda m, x: x.max(dim=0)[0],
        "max of all, ties": lambda m, x: x.max(),
        "min of all, ties": lambda m, x: x.min(),
        "sqrt after relu": lambda m, x: m.sqrt(m.relu(x)),
        "log after relu": lambda m, x: m.log(m.relu(x)),
        "power 0.5 after relu": lambda m, x: m.relu(x) ** 0.5,
        "power 0": lambda m, x: x ** 0,
        "std of constant": lambda m, x: (x * 0).std(),
        "std of constant rows": lambda m, x: (x * 0 + 1).std(dim=1),
        "var of one element": lambda m, x: x[0, :1].var(),
        "negative base, tensor exponent": lambda m, x: (-2.0) ** x,
        "zero base, tensor exponent": lambda m, x: 0.0 ** m.relu(x),
        "maximum of a tensor and itself": lambda m, x: m.maximum(x, x),
        "where masking a nan branch": lambda m, x: m.where(x > 0, m.sqrt(m.relu(x)), x * 0),
    }
    for name, fn in cases.items():
        grads = []
        for module in (tinytorch, torch):
            x = module.tensor(values, requires_grad=True)
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                y = fn(module, x)
                weights = np.arange(1.0, 1 + math.prod(y.shape)).reshape(tuple(y.shape))
                (y * module.tensor(weights)).sum().backward()
            grads.append(np.asarray(x.grad.numpy() if module is torch else x.grad.array))
        np.testing.assert_allclose(grads[0], grads[1], equal_nan=True, err_msg=name)


def test_cross_entropy_gradient_matches_pytorch(torch):
    rng = np.random.default_rng(3)
    values = rng.normal(size=(5, 4)) * 3
    target = np.array([3, 0, 0, 1, 2])
    for reduction in ("mean", "sum", "none"):
        for smoothing in (0.0, 0.25):
            x = tinytorch.tensor(values, requires_grad=True)
            tx = torch.tensor(values, requires_grad=True)
            weights = np.linspace(0.5, 1.5, 5) if reduction == "none" else 1.7
            (cross_entropy(x, target, reduction=reduction, label_smoothing=smoothing) * tinytorch.tensor(weights)).sum().backward()
            (torch.nn.functional.cross_entropy(tx, torch.tensor(target), reduction=reduction,
                                               label_smoothing=smoothing)
             * torch.tensor(weights)).sum().backward()
            np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_matmul_and_linear_gradients_match_pytorch(torch):
    rng = np.random.default_rng(4)
    for a_shape, b_shape in [((3,), (3,)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)),
                             ((2, 3, 4), (4,))]:
        a_values, b_values = rng.normal(size=a_shape), rng.normal(size=b_shape)
        a, b = tinytorch.tensor(a_values, requires_grad=True), tinytorch.tensor(b_values, requires_grad=True)
        ta, tb = torch.tensor(a_values, requires_grad=True), torch.tensor(b_values, requires_grad=True)
        ((a @ b) ** 2).sum().backward()
        ((ta @ tb) ** 2).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


def test_errors_match_pytorch_exception_types(torch):
    cases = [
        lambda m: m.zeros(2, 3) @ m.zeros(4, 5),
        lambda m: m.zeros(2, 3, 4) @ m.zeros(5, 4, 2),
        lambda m: m.zeros(2, 3).reshape(4, 2),
        lambda m: m.cat([m.zeros(2, 3), m.zeros(2, 4)]),
        lambda m: m.zeros(2, 3).sum(2),
        lambda m: m.zeros(2, 3).softmax(2),
        lambda m: m.zeros(2, 3)[5],
        lambda m: m.zeros(2, requires_grad=True).numpy(),
        lambda m: m.tensor([1, 2]).requires_grad_(),
        lambda m: m.zeros(2).item(),
    ]
    for i, case in enumerate(cases):
        with pytest.raises(Exception) as ours:
            case(tinytorch)
        with pytest.raises(Exception) as theirs:
            case(torch)
        assert issubclass(type(ours.value), type(theirs.value)) or \
            type(theirs.value).__name__ in {type(c).__name__ for c in type(ours.value).__mro__}, \
            (i, ours.value, theirs.value)
