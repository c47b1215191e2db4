"""The backward engine, grad mode and gradcheck: PyTorch's semantics, and their errors."""
import re

import numpy as np
import pytest

import tinytorch
from tinytorch.autograd import Function, gradcheck
from tinytorch.autograd.gradcheck import GradcheckError


@pytest.fixture(autouse=True)
def grad_mode_is_restored():
    """A failing grad-mode test must not leave recording off for the tests after it."""
    yield
    tinytorch.autograd.grad_mode._set_grad_enabled(True)


def f64(values, requires_grad=True):
    return tinytorch.tensor(values, dtype=tinytorch.float64, requires_grad=requires_grad)


# ----- accumulation and the chain rule -----------------------------------------
def test_leaf_gradients_accumulate_across_backward_calls():
    x = f64([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0, 6.0])
    (x * 10).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 14.0, 16.0])
    x.grad = None
    x.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0, 1.0])


def test_tensor_used_twice_gets_summed_gradients():
    x = f64([1.0, -2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, -4.0, 6.0])
    x.grad = None
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0, 2.0])
    x.grad = None
    (x * x * x - x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.array ** 2 - 1)


def test_diamond_graph():
    # x -> a -> (b, c) -> d: a's gradient is the sum of both paths.
    x = f64([0.5, -1.0])
    a = x * 2
    b = a.exp()
    c = a * 3
    d = (b + c).sum()
    d.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp(2 * x.array) + 3))


def test_wide_diamond_with_reused_intermediate():
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    h = x.tanh()
    out = (h * h).sum() + (h @ h).sum() + h.mean() + (h ** 3).sum()
    out.backward()
    expected = gradient_by_finite_differences(
        lambda v: (np.tanh(v) ** 2).sum() + (np.tanh(v) @ np.tanh(v)).sum()
        + np.tanh(v).mean() + (np.tanh(v) ** 3).sum(), x.array)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)


def gradient_by_finite_differences(f, values, eps=1e-6):
    values = values.copy()
    grad = np.zeros_like(values)
    for index in np.ndindex(values.shape):
        original = values[index]
        values[index] = original + eps
        plus = f(values)
        values[index] = original - eps
        minus = f(values)
        values[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def test_two_graphs_sharing_a_leaf_accumulate():
    x = f64([1.0, 2.0])
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_only_tensors_that_require_grad_receive_gradients():
    x = f64([1.0, 2.0])
    y = f64([3.0, 4.0], requires_grad=False)
    out = (x * y).sum()
    assert out.requires_grad and out.grad_fn is not None
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    assert y.grad is None
    assert x.is_leaf and y.is_leaf and not out.is_leaf
    assert (y * 2).grad_fn is None and not (y * 2).requires_grad


def test_backward_on_a_leaf_itself():
    x = f64([1.0, 2.0])
    x.backward(tinytorch.tensor([3.0, 4.0], dtype=tinytorch.float64))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_backward_with_an_explicit_gradient():
    x = f64([[1.0, 2.0], [3.0, 4.0]])
    y = x * x
    y.backward(np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(x.grad.numpy(), [[2.0, 0.0], [0.0, 16.0]])
    z = f64([1.0, 2.0])
    (z * 3).backward(gradient=tinytorch.tensor([1.0, -1.0]))
    np.testing.assert_array_equal(z.grad.numpy(), [3.0, -3.0])


def test_backward_on_non_scalar_without_gradient_errors():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):
        (x * 2).backward(np.ones(3))
    # A one-element tensor of any rank counts as a scalar, as in PyTorch.
    (x.reshape(1, 2)[:, :1] * 2).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0])


def test_backward_on_tensor_without_grad_errors():
    x = f64([1.0, 2.0], requires_grad=False)
    with pytest.raises(RuntimeError, match="does not require grad"):
        (x * 2).sum().backward()


def test_gradient_dtype_follows_the_tensor_after_repeated_backward():
    # float32 leaves must keep float32 gradients, however the backward formulas
    # compute internally (float64 constants, integer counts).
    x = tinytorch.tensor([1.0, 2.0, 2.0], requires_grad=True)
    for _ in range(2):
        (2 ** x).sum().backward()
        x.max().backward()
        (x ** 0.5).sum().backward()
        x.var().backward()
        assert x.grad.dtype == np.float32
    y = tinytorch.tensor([1.0, 3.0], requires_grad=True)
    h = y * 1.0
    (2.0 ** h * h.max()).sum().backward()
    assert y.grad.dtype == np.float32


# ----- grad mode -----------------------------------------------------------------
def test_no_grad_results_have_no_history():
    x = f64([1.0, 2.0])
    assert tinytorch.is_grad_enabled()
    with tinytorch.no_grad():
        assert not tinytorch.is_grad_enabled()
        y = x * 2 + 1
        z = tinytorch.matmul(x, x).exp()
        w = x[0]
    assert tinytorch.is_grad_enabled()
    for result in (y, z, w):
        assert result.requires_grad is False
        assert result.grad_fn is None
    with pytest.raises(RuntimeError):
        y.sum().backward()


def test_no_grad_restores_mode_after_an_exception():
    with pytest.raises(ValueError):
        with tinytorch.no_grad():
            raise ValueError("boom")
    assert tinytorch.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = f64([1.0, 2.0])
    with tinytorch.no_grad():
        with tinytorch.enable_grad():
            assert tinytorch.is_grad_enabled()
            y = x * 2
        assert not tinytorch.is_grad_enabled()
        z = x * 2
    assert y.requires_grad and y.grad_fn is not None
    assert not z.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_no_grad_as_decorator_with_and_without_parentheses():
    x = f64([1.0])

    @tinytorch.no_grad()
    def double(t):
        return t * 2

    @tinytorch.no_grad
    def triple(t):
        """Docstring survives."""
        return t * 3

    assert not double(x).requires_grad
    assert not triple(x).requires_grad
    assert triple.__name__ == "triple" and triple.__doc__ == "Docstring survives."
    assert tinytorch.is_grad_enabled()

    @tinytorch.enable_grad()
    def recorded(t):
        return t * 2

    with tinytorch.no_grad():
        assert recorded(x).requires_grad
        assert not tinytorch.is_grad_enabled()


def test_set_grad_enabled_as_call_and_as_context_manager():
    x = f64([1.0])
    try:
        tinytorch.set_grad_enabled(False)
        assert not tinytorch.is_grad_enabled()
        assert not (x * 2).requires_grad
        tinytorch.set_grad_enabled(True)
        assert (x * 2).requires_grad
    finally:
        tinytorch.set_grad_enabled(True)
    with tinytorch.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tinytorch.is_grad_enabled()
    with tinytorch.no_grad():
        with tinytorch.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not tinytorch.is_grad_enabled()
    for training in (True, False):
        with tinytorch.set_grad_enabled(training):
            assert (x * 2).requires_grad is training
    assert tinytorch.is_grad_enabled()


def test_set_grad_enabled_as_decorator_does_not_switch_at_definition():
    @tinytorch.set_grad_enabled(False)
    def evaluate(t):
        return t * 2

    assert tinytorch.is_grad_enabled()
    assert not evaluate(f64([1.0])).requires_grad
    assert tinytorch.is_grad_enabled()


def test_autograd_namespace_exports_grad_mode():
    assert tinytorch.autograd.no_grad is tinytorch.no_grad
    assert tinytorch.autograd.set_grad_enabled is tinytorch.set_grad_enabled


# ----- detach, requires_grad_, retain_grad -----------------------------------------
def test_detach_shares_data_and_cuts_the_graph():
    x = f64([1.0, 2.0])
    y = x * 3
    d = y.detach()
    assert d.requires_grad is False and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.array, y.array)
    d.array[0] = 100.0
    assert y.array[0] == 100.0
    out = (d * x).sum()  # gradient flows to x through the second factor only
    out.backward()
    np.testing.assert_array_equal(x.grad.numpy(), d.array)
    leaf_view = x.detach()
    assert np.shares_memory(leaf_view.array, x.array)


def test_requires_grad_only_for_floating_point():
    with pytest.raises(RuntimeError, match="floating point"):
        tinytorch.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        tinytorch.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tinytorch.zeros(2, dtype=tinytorch.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        tinytorch.tensor([True]).requires_grad_(True)
    assert tinytorch.tensor([1, 2]).requires_grad_(False).requires_grad is False
    x = tinytorch.tensor([1.0]).requires_grad_()
    assert x.requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        (x * 2).requires_grad_(False)


def test_retain_grad_on_non_leaves():
    x = f64([1.0, 2.0])
    hidden = x * 3
    hidden.retain_grad()
    other = x * 5  # not retained
    out = (hidden * hidden + other).sum()
    out.backward()
    np.testing.assert_array_equal(hidden.grad.numpy(), 2 * hidden.array)
    assert other.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), 18 * x.array + 5)
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        f64([1.0], requires_grad=False).retain_grad()


def test_inplace_update_of_leaf_requiring_grad():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="in-place"):
        x.zero_()
    with pytest.raises(RuntimeError, match="in-place"):
        x[0] = 5.0
    with tinytorch.no_grad():
        x[0] = 5.0
        x.copy_(x.detach() * 2)
    np.testing.assert_array_equal(x.array, [10.0, 4.0])


def test_inplace_change_of_a_graph_tensor_is_refused():
    # exp saved its result for backward: changing it in place would silently
    # corrupt x's gradient, so TinyTorch (which does not record in-place
    # operations) refuses instead.
    x = f64([1.0, 2.0])
    y = x.exp()
    for change in (lambda: y.__setitem__(0, 0.0), y.zero_, lambda: y.fill_(1.0),
                   lambda: y.copy_(np.zeros(2))):
        with pytest.raises(RuntimeError, match="in-place"):
            change()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([1.0, 2.0]))
    with tinytorch.no_grad():
        z = x * 2
        z[0] = 0.0  # no graph: a plain array update
    assert z.tolist() == [0.0, 4.0]


# ----- freed graphs ------------------------------------------------------------------
def test_second_backward_through_freed_graph_raises_and_retain_graph_allows_it():
    x = f64([1.0, 2.0])
    loss = (x * x).exp().sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True") as error:
        loss.backward()
    assert "second time" in str(error.value)

    y = f64([1.0, 2.0])
    loss = (y * y).exp().sum()
    loss.backward(retain_graph=True)
    first = y.grad.numpy().copy()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(y.grad.numpy(), 2 * first)
    loss.backward()  # the last one may free
    np.testing.assert_allclose(y.grad.numpy(), 3 * first)
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_shared_subgraph_is_freed_by_the_first_backward():
    x = f64([1.0, 2.0])
    y = x * x
    (y * 2).sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        (y * 3).sum().backward()
    z = f64([1.0, 2.0])
    w = z * z
    (w * 2).sum().backward(retain_graph=True)
    (w * 3).sum().backward()
    np.testing.assert_array_equal(z.grad.numpy(), 10 * z.array)


# ----- deep graphs ---------------------------------------------------------------------
@pytest.mark.parametrize("length", [5_000, 20_000])
def test_long_chain_backward_has_no_recursion_limit(length):
    x = f64([1.0, -2.0])
    y = x
    for _ in range(length):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001 ** length] * 2, rtol=1e-9)
    del y  # freeing a 2 * length deep chain of nodes must not overflow the C stack either


def test_long_chain_with_retain_graph_and_branching():
    x = f64([0.5])
    y = x
    for i in range(3_000):
        y = (y + y * 0.0) if i % 2 else (y * 1.0)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


# ----- custom Functions and gradcheck ------------------------------------------------------
class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class WrongCube(Function):
    """Correct except for element 2, whose gradient is doubled."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        result = grad * 3 * x ** 2
        result[2] *= 2
        return result


class WrongSecondInput(Function):
    """a * b whose gradient for b is a + 1 instead of a."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * b, grad * (a + 1)


class WrongShape(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad.sum()


def test_custom_function_works_and_passes_gradcheck():
    x = f64([1.0, -2.0, 0.5])
    y = Cube.apply(x)
    assert repr(y.grad_fn) == "<CubeBackward>"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.array ** 2)
    assert gradcheck(Cube.apply, (f64([1.0, -2.0, 0.5]),))


def test_gradcheck_reports_input_index_expected_and_got():
    x = f64([1.0, -2.0, 3.0, 0.5])
    with pytest.raises(GradcheckError) as error:
        gradcheck(WrongCube.apply, (x,))
    message = str(error.value)
    assert "input 0" in message
    assert "index (2,)" in message
    # d/dx x^3 at 3 is 27; the wrong backward doubles it to 54.
    assert re.search(r"expected \(numerical\) 27(\.0+\d*)?\b", message), message
    assert re.search(r"got \(analytic\) 54\b", message), message
    assert gradcheck(WrongCube.apply, (x,), raise_exception=False) is False
    assert x.grad is None  # gradcheck leaves the inputs' gradients clean
    np.testing.assert_array_equal(x.array, [1.0, -2.0, 3.0, 0.5])  # and their values


def test_gradcheck_names_the_second_input():
    a = f64([[1.0, 2.0], [3.0, 4.0]])
    b = f64([[0.5, -1.0], [2.0, 1.5]])
    with pytest.raises(GradcheckError) as error:
        gradcheck(WrongSecondInput.apply, (a, b))
    message = str(error.value)
    assert "input 1" in message and "index (0, 0)" in message
    assert "expected (numerical) 1" in message and "got (analytic) 2" in message
    # Only the wrong input is blamed: input 0 alone passes.
    assert gradcheck(lambda a: WrongSecondInput.apply(a, b.detach()), (a,))


def test_gradcheck_requires_float64_and_something_to_check():
    with pytest.raises(ValueError, match="float64"):
        gradcheck(lambda x: x * 2, (tinytorch.tensor([1.0], requires_grad=True),))
    with pytest.raises(ValueError, match="requires grad"):
        gradcheck(lambda x: x * 2, (f64([1.0], requires_grad=False),))


def test_gradcheck_catches_a_missing_broadcast_sum():
    class ForgetsToUnbroadcast(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad[:1].reshape(-1)  # b's gradient: one row, not the sum

    a, b = f64([[1.0, 2.0], [3.0, 4.0]]), f64([1.0, 2.0])
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(ForgetsToUnbroadcast.apply, (a, b))


def test_backward_returning_the_wrong_shape_is_reported():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="shape"):
        WrongShape.apply(x).sum().backward()


def test_gradcheck_with_tuple_outputs():
    x = f64([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    assert gradcheck(lambda x: x.max(dim=1), (x,))  # (values, indices): indices have no gradient
    assert gradcheck(lambda x: (x * 2, x.exp()), (x,))
