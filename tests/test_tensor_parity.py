"""Tensor operations that PyTorch code commonly uses: values, gradients, dtypes, errors.

Every value is checked against plain numpy or Python (which always run),
every gradient against central differences (``gradcheck`` on float64), and
PyTorch's own behaviour is compared where it is installed.
"""
import operator

import numpy as np
import pytest

import tinytorch
from tinytorch.autograd import gradcheck

RNG = np.random.default_rng(7)


def leaf(*shape, low=-2.0, high=2.0):
    return tinytorch.tensor(RNG.uniform(low, high, size=shape), dtype=tinytorch.float64,
                            requires_grad=True)


# ----- sin, cos, pow ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["sin", "cos"])
def test_sin_cos_values_dtypes_and_gradients(name):
    x = leaf(3, 4)
    assert np.allclose(getattr(x, name)().array, getattr(np, name)(x.array))
    assert np.allclose(getattr(tinytorch, name)(x).array, getattr(np, name)(x.array))
    assert getattr(tinytorch, name)(tinytorch.tensor([1, 2])).dtype == np.float32
    assert gradcheck(lambda t: getattr(t, name)(), x)


def test_pow_method_matches_operator():
    x = leaf(5, low=0.5, high=2.0)
    assert np.allclose(x.pow(3).array, x.array ** 3)
    assert gradcheck(lambda t: t.pow(2.5), x)


# ----- mm, bmm, t and dtype checks -------------------------------------------------------
def test_mm_and_bmm_values_and_gradients():
    a, b = leaf(2, 3), leaf(3, 4)
    assert np.allclose(tinytorch.mm(a, b).array, a.array @ b.array)
    assert np.allclose(a.mm(b).array, a.array @ b.array)
    assert gradcheck(tinytorch.mm, (a, b))
    p, q = leaf(2, 3, 4), leaf(2, 4, 5)
    assert np.allclose(tinytorch.bmm(p, q).array, np.einsum("bij,bjk->bik", p.array, q.array))
    assert gradcheck(lambda x, y: x.bmm(y), (p, q))


@pytest.mark.parametrize("call, message", [
    (lambda: tinytorch.mm(tinytorch.ones(2, 3), tinytorch.ones(3)), "mat2 must be a matrix"),
    (lambda: tinytorch.mm(tinytorch.ones(2, 3, 3), tinytorch.ones(3, 2)), "self must be a matrix"),
    (lambda: tinytorch.mm(tinytorch.ones(2, 3), tinytorch.ones(4, 2)), "cannot be multiplied"),
    (lambda: tinytorch.bmm(tinytorch.ones(2, 3), tinytorch.ones(3, 2)), "batch1 must be a 3D"),
    (lambda: tinytorch.bmm(tinytorch.ones(2, 2, 3), tinytorch.ones(3, 3, 2)), "[2, 3] but got: [3, 3]"),
    (lambda: tinytorch.ones(2, 3, 4).t(), "t() expects a tensor with <= 2 dimensions, but self is 3D"),
])
def test_mm_bmm_t_shape_errors(call, message):
    with pytest.raises(RuntimeError) as error:
        call()
    assert message in str(error.value)


def test_t_transposes_matrices_and_keeps_vectors():
    m = leaf(2, 3)
    assert np.array_equal(m.t().array, m.array.T)
    assert gradcheck(lambda x: x.t() * tinytorch.arange(2.0).double(), m)
    v = tinytorch.tensor([1.0, 2.0])
    assert np.array_equal(v.t().array, v.array) and np.array_equal(tinytorch.t(v).array, v.array)


@pytest.mark.parametrize("call", [
    lambda a, b: a @ b, tinytorch.matmul, tinytorch.mm, lambda a, b: a.mm(b),
    lambda a, b: tinytorch.bmm(a.reshape(1, 2, 3), b.reshape(1, 3, 2)),
    lambda a, b: tinytorch.nn.functional.linear(a, b.t()),
])
def test_products_of_different_dtypes_raise(call):
    a, b = tinytorch.ones(2, 3, dtype=tinytorch.int64), tinytorch.ones(3, 2)
    with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype, but got: "
                                           "long int != float"):
        call(a, b)
    with pytest.raises(RuntimeError, match="double != float"):
        call(a.double(), b)
    assert call(a, b.long()).dtype == np.int64  # equal integer dtypes still multiply


# ----- clone and contiguous -----------------------------------------------------------------
def test_clone_copies_memory_and_passes_gradients():
    x = leaf(3, 2)
    copy = x.clone()
    assert not np.shares_memory(copy.array, x.array) and np.array_equal(copy.array, x.array)
    assert tinytorch.clone(x).requires_grad
    assert gradcheck(lambda t: t.clone() * 2, x)
    plain = tinytorch.tensor([1.0, 2.0])
    duplicate = plain.clone()
    duplicate[0] = 9
    assert plain[0].item() == 1.0


def test_contiguous_returns_self_or_a_row_major_copy():
    x = leaf(3, 4)
    assert x.contiguous() is x and x.is_contiguous()
    transposed = x.t()
    assert not transposed.is_contiguous()
    packed = transposed.contiguous()
    assert packed.array.flags.c_contiguous and np.array_equal(packed.array, x.array.T)
    assert gradcheck(lambda t: t.t().contiguous() * tinytorch.arange(3.0).double(), x)


# ----- any, all and bitwise operators -----------------------------------------------------
@pytest.mark.parametrize("dim", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_any_all_match_numpy(dim, keepdim):
    values = np.array([[0, 3, 0], [0, 0, 0], [1, 2, 5]])
    x = tinytorch.tensor(values)
    for name in ("any", "all"):
        expected = getattr(np, name)(values != 0, axis=dim, keepdims=keepdim)
        result = getattr(x, name)(dim=dim, keepdim=keepdim) if dim is not None else \
            getattr(tinytorch, name)(x, keepdim=keepdim)
        assert result.dtype == np.bool_ and np.array_equal(result.array, expected)
    assert tinytorch.tensor([1, 2], dtype=tinytorch.uint8).all().dtype == np.uint8


def test_any_refuses_a_dimension_out_of_range():
    with pytest.raises(IndexError, match="dimension out of range"):
        tinytorch.tensor([True]).any(dim=2)


@pytest.mark.parametrize("symbol", ["&", "|", "^"])
def test_bitwise_operators_match_numpy(symbol):
    operation = {"&": operator.and_, "|": operator.or_, "^": operator.xor}[symbol]
    p, q = np.array([True, True, False, False]), np.array([True, False, True, False])
    i, j = np.array([3, -5, 12, 0]), np.array([5, 6, -1, 7])
    assert np.array_equal(operation(tinytorch.tensor(p), tinytorch.tensor(q)).array, operation(p, q))
    assert operation(tinytorch.tensor(p), tinytorch.tensor(q)).dtype == np.bool_
    assert np.array_equal(operation(tinytorch.tensor(i), tinytorch.tensor(j)).array, operation(i, j))
    assert np.array_equal(operation(True, tinytorch.tensor(q)).array, operation(True, q))
    assert np.array_equal(operation(tinytorch.tensor(i), 6).array, operation(i, 6))
    with pytest.raises(NotImplementedError, match="Float"):
        operation(tinytorch.tensor([1.0]), tinytorch.tensor([True]))


def test_invert_and_in_place_bitwise():
    assert np.array_equal((~tinytorch.tensor([True, False])).array, [False, True])
    assert np.array_equal((~tinytorch.tensor([5, -1])).array, [-6, 0])
    with pytest.raises(TypeError, match="only implemented on integer and Boolean"):
        ~tinytorch.tensor([1.0])
    mask = tinytorch.tensor([True, True, False])
    same = mask
    mask &= tinytorch.tensor([True, False, False])
    assert mask is same and mask.tolist() == [True, False, False]
    mask |= tinytorch.tensor([False, False, True])
    assert mask.tolist() == [True, False, True]


# ----- masked_fill ---------------------------------------------------------------------------
def test_masked_fill_values_and_broadcasting():
    values = RNG.normal(size=(2, 3))
    mask = np.array([True, False, True])
    x = tinytorch.tensor(values)
    assert np.array_equal(x.masked_fill(tinytorch.tensor(mask), -1.0).array, np.where(mask, -1.0, values))
    wider = tinytorch.ones(3).masked_fill(tinytorch.ones(2, 3, dtype=tinytorch.bool), 0.0)
    assert wider.shape == (2, 3) and not wider.array.any()
    ints = tinytorch.tensor([1, 2]).masked_fill(tinytorch.tensor([True, False]), 2.5)
    assert ints.dtype == np.int64 and ints.tolist() == [2, 2]  # the value takes the input's dtype
    filled = tinytorch.masked_fill(x, tinytorch.tensor(mask), tinytorch.tensor(7.0))
    assert np.array_equal(filled.array, np.where(mask, 7.0, values))


def test_masked_fill_gradients_for_input_and_value():
    x, value = leaf(2, 3), leaf()
    mask = tinytorch.tensor([[True, False, True], [False, False, True]])
    assert gradcheck(lambda t, v: t.masked_fill(mask, v) * 3, (x, value))
    x.masked_fill(mask, 0.0).sum().backward()
    assert np.array_equal(x.grad.array, np.where(mask.array, 0.0, 1.0))


@pytest.mark.parametrize("mask, value, error, message", [
    (tinytorch.tensor([1, 0, 1]), 0.0, RuntimeError, "only supports boolean masks, but got mask with dtype long int"),
    (tinytorch.tensor([True, False]), 0.0, RuntimeError, "must match the size of tensor b"),
    (tinytorch.tensor([True, False, True]), tinytorch.tensor([1.0, 2.0]), RuntimeError,
     "0-dimensional value tensor"),
])
def test_masked_fill_errors(mask, value, error, message):
    with pytest.raises(error, match=message):
        tinytorch.ones(2, 3).masked_fill(mask, value)


def test_masked_fill_in_place():
    x = tinytorch.zeros(2, 3)
    version = x._version
    same = x.masked_fill_(tinytorch.tensor([True, False, False]), float("nan"))
    assert same is x and np.isnan(x.array[:, 0]).all() and not np.isnan(x.array[:, 1:]).any()
    assert x._version > version or x._version_counter is None
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        tinytorch.ones(3).masked_fill_(tinytorch.ones(2, 3, dtype=tinytorch.bool), 0.0)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf(3).masked_fill_(tinytorch.tensor([True, False, True]), 0.0)
    with pytest.raises(RuntimeError, match="boolean masks"):
        tinytorch.ones(3).masked_fill_(tinytorch.tensor([1, 0, 1]), 0.0)


# ----- gather ---------------------------------------------------------------------------------
def reference_gather(values, dim, index):
    out = np.empty(index.shape, dtype=values.dtype)
    for position in np.ndindex(index.shape):
        source = list(position)
        source[dim] = index[position]
        out[position] = values[tuple(source)]
    return out


@pytest.mark.parametrize("dim, index", [
    (1, [[0, 0], [1, 0], [3, 3]]),
    (1, [[0, 0], [1, 0]]),          # fewer rows than the input: reads a corner
    (0, [[2, 0, 1, 1], [0, 0, 0, 2]]),
    (-1, [[3], [2], [0]]),
])
def test_gather_values_and_gradient(dim, index):
    x = leaf(3, 4)
    index = np.array(index)
    result = tinytorch.gather(x, dim, tinytorch.tensor(index))
    assert np.array_equal(result.array, reference_gather(x.array, dim % 2, index))
    assert np.array_equal(x.gather(dim, tinytorch.tensor(index)).array, result.array)
    assert gradcheck(lambda t: t.gather(dim, tinytorch.tensor(index)), x)


def test_gather_adds_the_gradient_of_repeated_indices_and_accepts_int32():
    x = leaf(2, 3)
    x.gather(1, tinytorch.tensor([[1, 1, 1], [0, 2, 0]], dtype=tinytorch.int32)).sum().backward()
    assert np.array_equal(x.grad.array, [[0, 3, 0], [2, 0, 1]])


@pytest.mark.parametrize("dim, index, error, message", [
    (1, tinytorch.tensor([[0.0, 1.0]]), RuntimeError, "Expected dtype int32/int64 for index"),
    (1, tinytorch.tensor([0, 1]), RuntimeError, "same number of dimensions"),
    (0, tinytorch.tensor([[0, 0, 0, 0, 0]]), RuntimeError, "Size does not match at dimension 1"),
    (1, tinytorch.tensor([[0, 4]]), RuntimeError, "index 4 is out of bounds for dimension 1 with size 4"),
    (1, tinytorch.tensor([[0, -1]]), RuntimeError, "index -1 is out of bounds"),
    (2, tinytorch.tensor([[0, 1]]), IndexError, "Dimension out of range"),
])
def test_gather_errors(dim, index, error, message):
    with pytest.raises(error, match=message):
        tinytorch.zeros(3, 4).gather(dim, index)


def test_gather_notices_an_index_changed_before_backward():
    x = leaf(2, 3)
    index = tinytorch.tensor([[0], [2]])
    y = x.gather(1, index)
    index[0, 0] = 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


# ----- split and chunk --------------------------------------------------------------------
@pytest.mark.parametrize("size, dim", [(2, 1), (3, 0), (5, 1), (1, -1)])
def test_split_by_size_matches_numpy(size, dim):
    values = np.arange(12.0).reshape(3, 4)
    pieces = tinytorch.tensor(values).split(size, dim)
    length = values.shape[dim]
    expected = np.split(values, range(size, length, size), axis=dim)
    assert len(pieces) == len(expected)
    assert all(np.array_equal(p.array, e) for p, e in zip(pieces, expected))


def test_split_by_sections_chunk_and_gradients():
    x = leaf(3, 4)
    first, rest = tinytorch.split(x, [1, 3], dim=1)
    assert np.array_equal(first.array, x.array[:, :1]) and np.array_equal(rest.array, x.array[:, 1:])
    assert [p.shape[0] for p in tinytorch.chunk(tinytorch.arange(5.0), 4)] == [2, 2, 1]
    assert [p.shape[0] for p in tinytorch.arange(6.0).chunk(4)] == [2, 2, 2]
    assert len(tinytorch.zeros(0, 2).chunk(2)) == 2 and len(tinytorch.zeros(0, 2).split(2)) == 1
    weights = [tinytorch.tensor(RNG.normal(size=(3, 2))) for _ in range(2)]
    assert gradcheck(lambda t: sum((p * w).sum() for p, w in zip(t.split(2, 1), weights)), x)
    assert gradcheck(lambda t: t.chunk(3, 0)[1] * 2, x)


def test_split_pieces_are_views_sharing_memory_and_version():
    x = tinytorch.zeros(4)
    _, right = x.split(2)
    right[0] = 5.0
    assert x.tolist() == [0.0, 0.0, 5.0, 0.0]
    w = leaf(2)
    y = w * right
    right.fill_(1.0)  # changes the factor that w's gradient needs
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("call, message", [
    (lambda x: x.split([1, 2], 1), "split_with_sizes expects split_sizes to sum exactly to 4"),
    (lambda x: x.split(0, 1), "split_size can only be 0 if dimension size is 0"),
    (lambda x: x.split(-1, 1), "split expects split_size be non-negative"),
    (lambda x: x.chunk(0, 1), "chunk expects `chunks` to be greater than 0, got: 0"),
    (lambda x: tinytorch.tensor(1.0).split(1), "at least a 1-dimensional tensor"),
])
def test_split_and_chunk_errors(call, message):
    with pytest.raises(RuntimeError, match=message.replace("[", r"\[").replace("`", "`")):
        call(tinytorch.zeros(3, 4))


# ----- dtype conversions ------------------------------------------------------------------
def test_int_bool_and_type():
    x = tinytorch.tensor([[0.0, 1.5], [-2.7, 3.0]])
    assert x.int().dtype == np.int32 and x.int().tolist() == [[0, 1], [-2, 3]]
    assert x.bool().dtype == np.bool_ and x.bool().tolist() == [[False, True], [True, True]]
    assert x.type() == "tinytorch.FloatTensor"
    assert x.double().type() == "tinytorch.DoubleTensor" and x.long().type() == "tinytorch.LongTensor"
    assert x.bool().type() == "tinytorch.BoolTensor" and x.int().type() == "tinytorch.IntTensor"
    assert x.type(tinytorch.float64).dtype == np.float64 and x.type(tinytorch.float32) is x
    assert x.type("tinytorch.LongTensor").dtype == np.int64
    with pytest.raises(ValueError, match="invalid type"):
        x.type("float")


# ----- // and % -----------------------------------------------------------------------------
SIGNED = [(-7, 2), (7, 2), (-7, -2), (7, -2), (6, 3), (-6, 3), (0, -5)]


@pytest.mark.parametrize("a, b", SIGNED)
def test_floor_divide_and_remainder_follow_python_signs(a, b):
    for x, y in ((a, b), (float(a), float(b)), (a + 0.5, b)):
        tx = tinytorch.tensor([x])
        assert (tx // y).item() == x // y and (tx % y).item() == x % y
        assert tinytorch.floor_divide(tx, tinytorch.tensor([y])).item() == x // y
        assert tinytorch.remainder(tx, tinytorch.tensor([y])).item() == x % y
        assert (x // tinytorch.tensor([y])).item() == x // y and (x % tinytorch.tensor([y])).item() == x % y


def test_floor_divide_and_remainder_dtypes():
    ints = tinytorch.tensor([-7, 7])
    assert (ints // 2).dtype == np.int64 and (ints % 2).dtype == np.int64
    assert (ints % 2.5).dtype == np.float32 and (ints // 2.5).dtype == np.float32
    assert (tinytorch.tensor([7], dtype=tinytorch.int32) // 2).dtype == np.int32
    assert (tinytorch.tensor([7.0]) // tinytorch.tensor(2.0, dtype=tinytorch.float64)).dtype == np.float32
    floats = tinytorch.tensor([-7.0, 7.0])
    assert (floats // 0.0).tolist() == [-np.inf, np.inf] and np.isnan((floats % 0.0).array).all()


def test_integer_division_by_zero_and_booleans_raise():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        tinytorch.tensor([1, 2]) // 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        tinytorch.tensor([1, 2]) % tinytorch.tensor([1, 0])
    with pytest.raises(NotImplementedError, match="Bool"):
        tinytorch.tensor([True]) // tinytorch.tensor([True])


def test_remainder_gradient_and_floor_divide_refuses_backward():
    x = tinytorch.tensor([5.5, -3.2, 0.7, 8.9], dtype=tinytorch.float64, requires_grad=True)
    y = tinytorch.tensor([2.0, 2.0, -1.5, 3.0], dtype=tinytorch.float64, requires_grad=True)
    assert gradcheck(lambda a, b: a % b, (x, y))  # away from the jumps, where a / b is an integer
    (x % y).sum().backward()
    assert np.array_equal(x.grad.array, np.ones(4))
    assert np.array_equal(y.grad.array, -np.floor(x.array / y.array))
    quotient = x // y
    assert quotient.requires_grad
    with pytest.raises(RuntimeError, match="derivative of floor_divide"):
        quotient.sum().backward()


def test_in_place_floor_divide_and_remainder():
    x = tinytorch.tensor([7, -7])
    x //= 2
    assert x.tolist() == [3, -4]
    x %= 3
    assert x.tolist() == [0, 2]


# ----- norm -----------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, 0, np.inf, -np.inf])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_norm_values_match_numpy(p, dim):
    values = RNG.normal(size=(3, 4)).astype(np.float32)
    values[0, 1] = 0.0
    order = 2 if p == "fro" else p
    axes = tuple(range(2)) if dim is None else dim
    magnitude = np.abs(values.astype(np.float64))
    if order == np.inf:
        expected = magnitude.max(axis=axes)
    elif order == -np.inf:
        expected = magnitude.min(axis=axes)
    elif order == 0:
        expected = (values != 0).sum(axis=axes)
    else:
        expected = (magnitude ** order).sum(axis=axes) ** (1 / order)
    result = tinytorch.tensor(values).norm(p=p, dim=dim)
    assert result.dtype == np.float32 and np.allclose(result.array, expected, rtol=1e-5)
    assert tinytorch.norm(tinytorch.tensor(values), p, dim, keepdim=True).ndim == 2


@pytest.mark.parametrize("p", [2, 1, 3, np.inf, 0.5])
def test_norm_gradient(p):
    x = leaf(3, 4, low=0.2, high=2.0) * tinytorch.tensor([1.0, -1.0, 1.0, -1.0], dtype=tinytorch.float64)
    base = x.detach().requires_grad_()
    assert gradcheck(lambda t: t.norm(p=p, dim=1), base)
    assert gradcheck(lambda t: t.norm(p=p), base)


@pytest.mark.parametrize("p", [2, 1, 3, 0.5, np.inf])
def test_norm_subgradient_at_zero_is_zero(p):
    z = tinytorch.zeros(3, dtype=tinytorch.float64, requires_grad=True)
    z.norm(p=p).backward()
    assert np.array_equal(z.grad.array, np.zeros(3))
    tied = tinytorch.tensor([3.0, -3.0, 1.0], requires_grad=True)
    tied.norm(p=np.inf).backward()
    assert tied.grad.tolist() == [0.5, -0.5, 0.0]


def test_norm_errors():
    with pytest.raises(RuntimeError, match="floating point"):
        tinytorch.tensor([1, 2]).norm()
    with pytest.raises(RuntimeError, match="nuclear norm"):
        tinytorch.ones(2, 3).norm(p="nuc")
    with pytest.raises(RuntimeError, match="2-tuple"):
        tinytorch.ones(2, 2, 2).norm(p="fro", dim=(0, 1, 2))


# ----- equal, allclose, as_tensor, __index__ ----------------------------------------------------
def test_equal():
    assert tinytorch.equal(tinytorch.tensor([1, 2]), tinytorch.tensor([1.0, 2.0])) is True
    assert tinytorch.equal(tinytorch.tensor([1, 2]), tinytorch.tensor([[1, 2]])) is False
    assert tinytorch.tensor([np.nan]).equal(tinytorch.tensor([np.nan])) is False
    with pytest.raises(TypeError, match="must be Tensor"):
        tinytorch.equal(tinytorch.tensor([1]), [1])


def test_allclose():
    a = tinytorch.tensor([1.0, 2.0, 1e-9])
    assert tinytorch.allclose(a, a + 1e-6 * a) is True
    assert tinytorch.allclose(a, tinytorch.tensor([1.0, 2.0, 1.0])) is False
    assert a.allclose(a + 0.05, atol=0.1) is True and a.allclose(a + 0.05, rtol=0.0) is False
    assert tinytorch.allclose(tinytorch.tensor([1.0, 2.0]), tinytorch.tensor([[1.0, 2.0]] * 2))
    nan = tinytorch.tensor([np.nan])
    assert not tinytorch.allclose(nan, nan) and tinytorch.allclose(nan, nan, equal_nan=True)
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        tinytorch.allclose(a, a.double())
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor b \(2\)"):
        tinytorch.allclose(a, tinytorch.tensor([1.0, 2.0]))


def test_as_tensor_shares_numpy_memory_when_it_can():
    array = np.arange(3.0)
    shared = tinytorch.as_tensor(array)
    shared[0] = 9.0
    assert array[0] == 9.0 and shared.dtype == np.float64
    converted = tinytorch.as_tensor(array, dtype=tinytorch.float32)
    converted[1] = -1.0
    assert array[1] == 1.0 and converted.dtype == np.float32
    assert tinytorch.as_tensor([1.0, 2.0]).dtype == np.float32
    t = tinytorch.ones(2)
    assert tinytorch.as_tensor(t) is t and tinytorch.as_tensor(t, dtype=tinytorch.float64) is not t
    with pytest.raises(TypeError, match="can't convert"):
        tinytorch.as_tensor(np.array(["a"]))


def test_index_lets_integer_tensors_act_as_python_integers():
    assert list(range(tinytorch.tensor(3))) == [0, 1, 2]
    assert [10, 20, 30][tinytorch.tensor(1)] == 20 and [10, 20, 30][tinytorch.tensor([2])] == 30
    assert operator.index(tinytorch.tensor(True)) == 1
    for bad in (tinytorch.tensor(1.0), tinytorch.tensor([1, 2])):
        with pytest.raises(TypeError, match="only integer tensors of a single element"):
            operator.index(bad)


# ----- max and min of two tensors -------------------------------------------------------------
def test_max_min_of_two_tensors_are_elementwise():
    a, b = leaf(2, 3), leaf(3)
    assert np.array_equal(tinytorch.max(a, b).array, np.maximum(a.array, b.array))
    assert np.array_equal(tinytorch.min(a, b).array, np.minimum(a.array, b.array))
    assert np.array_equal(tinytorch.max(a, other=b).array, np.maximum(a.array, b.array))
    assert gradcheck(lambda x, y: tinytorch.max(x, y), (a, b))
    assert gradcheck(lambda x, y: tinytorch.min(x, y), (a, b))
    assert tinytorch.max(a, 1).indices.tolist() == np.argmax(a.array, axis=1).tolist()
    with pytest.raises(TypeError, match="invalid combination"):
        tinytorch.max(a, b, True)


# ----- PyTorch, side by side -------------------------------------------------------------------
def to_torch(torch, t):
    return torch.from_numpy(np.array(t.array))


def outcome(call):
    try:
        return "ok", np.asarray(call())
    except Exception as error:  # noqa: BLE001 (the type is what is compared)
        return type(error).__name__, None


CASES = [
    ("floor_divide ints", lambda m, a, b: m.floor_divide(a, b), [[-7, 7, -7, 7]], [[2, 2, -2, -2]]),
    ("remainder ints", lambda m, a, b: m.remainder(a, b), [[-7, 7, -7, 7]], [[2, 2, -2, -2]]),
    ("remainder floats", lambda m, a, b: a % b, [[-7.5, 7.25, -0.5]], [[2.0, -2.0, 0.25]]),
    ("int // 0", lambda m, a, b: a // b, [[1, 2]], [[0, 1]]),
    ("bool & int", lambda m, a, b: a.bool() & b, [[1, 0, 1]], [[3, 3, 2]]),
    ("float ^ float", lambda m, a, b: a ^ b, [[1.0]], [[2.0]]),
    ("gather", lambda m, a, b: m.gather(a, 1, b), [[1.0, 2.0], [3.0, 4.0]], [[1, 1], [0, 1]]),
    ("gather out of bounds", lambda m, a, b: m.gather(a, 1, b), [[1.0, 2.0]], [[2]]),
    ("masked_fill int mask", lambda m, a, b: a.masked_fill(b, 0.0), [[1.0, 2.0]], [[1, 0]]),
    ("masked_fill bool mask", lambda m, a, b: a.masked_fill(b.bool(), -1.0), [[1.0, 2.0]], [[1, 0]]),
    ("norm p=3 dim 1", lambda m, a, b: a.norm(p=3, dim=1), [[3.0, -4.0], [0.0, 1.0]], [[0]]),
    ("norm of ints", lambda m, a, b: a.norm(), [[3, 4]], [[0]]),
    ("max of two", lambda m, a, b: m.max(a, b), [[1.0, 5.0]], [[3.0, 2.0]]),
    ("any dim", lambda m, a, b: a.any(dim=1, keepdim=True), [[0, 1], [0, 0]], [[0]]),
    ("all uint8", lambda m, a, b: a.to(m.uint8).all(), [[1, 2]], [[0]]),
    ("int32 // int64", lambda m, a, b: a.int() // b, [[7, -7]], [[2, 2]]),
    ("t of 3-d", lambda m, a, b: a.reshape(1, 1, -1).t(), [[1.0]], [[0]]),
    ("matmul dtypes", lambda m, a, b: a @ b, [[1, 2]], [[1.0], [2.0]]),
    ("chunk", lambda m, a, b: m.stack([c.sum() for c in a.chunk(3, 1)]), [[1.0, 2, 3, 4, 5]], [[0]]),
]


@pytest.mark.parametrize("name, call, a, b", CASES, ids=[case[0] for case in CASES])
def test_matches_pytorch(name, call, a, b):
    torch = pytest.importorskip("torch")
    ours = outcome(lambda: call(tinytorch, tinytorch.tensor(a), tinytorch.tensor(b)).array)
    theirs = outcome(lambda: call(torch, torch.tensor(a), torch.tensor(b)).numpy())
    assert ours[0] == theirs[0]
    if ours[0] == "ok":
        assert ours[1].dtype == theirs[1].dtype and np.allclose(ours[1], theirs[1])


@pytest.mark.parametrize("p", [2, 1, 3, float("inf")])
def test_norm_gradient_matches_pytorch(p):
    torch = pytest.importorskip("torch")
    values = np.array([[3.0, -4.0, 0.0], [0.0, 0.0, 0.0], [1.0, -1.0, 0.5]])
    ours = tinytorch.tensor(values, requires_grad=True)
    theirs = torch.tensor(values, requires_grad=True)
    ours.norm(p=p, dim=1).sum().backward()
    theirs.norm(p=p, dim=1).sum().backward()
    assert np.allclose(ours.grad.array, theirs.grad.numpy())


def test_remainder_gradient_matches_pytorch():
    torch = pytest.importorskip("torch")
    a, b = np.array([5.5, -3.2, 7.0]), np.array([2.0, 2.0, -2.5])
    ours = [tinytorch.tensor(v, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    (ours[0] % ours[1]).sum().backward()
    (theirs[0] % theirs[1]).sum().backward()
    for mine, reference in zip(ours, theirs):
        assert np.allclose(mine.grad.array, reference.grad.numpy())


def test_type_strings_match_pytorch_names():
    torch = pytest.importorskip("torch")
    for dtype in ("float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"):
        ours = tinytorch.zeros(1, dtype=np.dtype(dtype)).type()
        theirs = torch.zeros(1, dtype=getattr(torch, dtype)).type()
        assert ours.replace("tinytorch.", "torch.") == theirs


def test_new_tensors_take_this_tensors_dtype_unless_told():
    x = tinytorch.tensor([1.0, 2.0], dtype=tinytorch.float64)
    made = [x.new_zeros(2, 3), x.new_ones((2,)), x.new_empty(4), x.new_full((2, 2), 7),
            x.new_tensor([1, 2])]
    assert [m.dtype for m in made] == [np.dtype(np.float64)] * 5
    assert [m.shape for m in made] == [(2, 3), (2,), (4,), (2, 2), (2,)]
    np.testing.assert_array_equal(made[0].numpy(), np.zeros((2, 3)))
    np.testing.assert_array_equal(made[3].numpy(), np.full((2, 2), 7.0))
    assert x.new_zeros(2, dtype=tinytorch.int64).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="CPU only"):
        x.new_zeros(2, device="cuda")
    torch = pytest.importorskip("torch")
    theirs = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert str(theirs.new_full((2, 2), 7).dtype) == "torch.float64"
    assert str(theirs.new_tensor([1, 2]).dtype) == "torch.float64"
