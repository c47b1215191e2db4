"""In-place writes: they change the memory, bump a shared version counter, and a
backward that needs an overwritten value raises instead of computing a wrong gradient."""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn, optim
from tinytorch.autograd import gradcheck

OVERWRITTEN = "modified by an inplace operation"


def leaf(values, dtype=np.float32):
    return tinytorch.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ----- every way of writing a saved value makes backward raise ------------------------
def write_by_index(x):
    x[0] = 100


def write_through_detach(x):
    x.detach()[0] = 100


def write_through_data(x):
    x.data[0] = 100


def write_through_data_method(x):
    x.data.mul_(3)


def write_through_reshape_view(x):
    x.view(-1)[0] = 100


def write_with_operator(x):
    with tinytorch.no_grad():
        x += 1


def write_with_fill(x):
    with tinytorch.no_grad():
        x.fill_(10)


def write_with_copy(x):
    with tinytorch.no_grad():
        x.copy_(tinytorch.zeros(x.shape))


def write_with_clamp(x):
    with tinytorch.no_grad():
        x.clamp_(max=0.5)


WRITES = [write_by_index, write_through_detach, write_through_data,
          write_through_data_method, write_through_reshape_view, write_with_operator,
          write_with_fill, write_with_copy, write_with_clamp]


@pytest.mark.parametrize("write", WRITES, ids=lambda f: f.__name__)
def test_overwriting_a_saved_plain_input_makes_backward_raise(write):
    w = leaf([1.0, 2.0, 3.0])
    x = tinytorch.tensor([1.0, 2.0, 3.0])
    y = w * x  # Mul saves x: dy/dw = x
    write(x)
    with pytest.raises(RuntimeError, match=OVERWRITTEN) as raised:
        y.sum().backward()
    assert "MulBackward" in str(raised.value)
    assert "is at version" in str(raised.value) and "expected version 0" in str(raised.value)
    assert w.grad is None  # nothing was accumulated before the error


@pytest.mark.parametrize("write", [w for w in WRITES if w is not write_by_index],
                         ids=lambda f: f.__name__)
def test_overwriting_a_saved_leaf_under_no_grad_makes_backward_raise(write):
    w = leaf([2.0, 3.0])
    y = (w * w).sum()
    with tinytorch.no_grad():
        write(w)
    with pytest.raises(RuntimeError, match=OVERWRITTEN):
        y.backward()


def test_a_view_taken_before_the_forward_shares_the_counter():
    x = tinytorch.tensor([[1.0, 2.0]])
    flat = x.reshape(-1)
    w = leaf([2.0, 3.0])
    y = (w * flat).sum()
    x[0, 0] = 5  # written through the base, saved through the view
    with pytest.raises(RuntimeError, match=OVERWRITTEN):
        y.backward()


def test_a_saved_output_overwritten_under_no_grad_makes_backward_raise():
    x = leaf([0.5, 1.0])
    y = x.exp()  # exp saves its result
    with tinytorch.no_grad():
        y[0] = 0
    with pytest.raises(RuntimeError, match="ExpBackward"):
        y.sum().backward()


def test_an_optimizer_step_between_forward_and_backward_makes_backward_raise():
    tinytorch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    loss = model(tinytorch.ones(4, 3)).sum()  # the second layer saves its weight
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    for p in model.parameters():
        p.grad = tinytorch.ones(p.shape)
    optimizer.step()
    with pytest.raises(RuntimeError, match=OVERWRITTEN):
        loss.backward()


# ----- writes that do not touch saved values leave gradients right ------------------------
def test_overwriting_an_unsaved_input_keeps_the_gradient():
    w = leaf([1.0, 2.0, 3.0])
    x = tinytorch.tensor([1.0, 2.0, 3.0])
    y = w + x  # addition saves nothing: its gradient does not depend on x
    x[0] = 100
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.ones(3, np.float32))


def test_writes_before_the_forward_give_central_difference_gradients():
    x = tinytorch.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    other = tinytorch.tensor(np.arange(6.0).reshape(2, 3))
    other[0] = -2.0
    other += 0.5
    other.view(-1)[1] = 7.0
    assert gradcheck(lambda a: (a * other).exp().sum(), (x,))


def test_a_write_after_backward_is_allowed():
    w = leaf([1.0, 2.0])
    x = tinytorch.tensor([3.0, 4.0])
    (w * x).sum().backward()
    x[0] = 0
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


# ----- the in-place operators and methods ------------------------------------------------
def test_subtracting_in_place_under_no_grad_updates_the_same_parameter():
    w = leaf([1.0, 2.0])
    (w * w).sum().backward()
    same = w
    with tinytorch.no_grad():
        w -= w.grad * 0.5  # the tutorial's hand-written SGD step
    assert w is same and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.numpy() if not w.requires_grad else w.detach().numpy(),
                               [1.0 - 1.0, 2.0 - 2.0])


@pytest.mark.parametrize("operator", ["+=", "-=", "*=", "/="])
def test_in_place_operators_match_their_out_of_place_results(operator):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    x = tinytorch.tensor(a)
    alias = x.view(12)
    namespace = {"x": x, "b": tinytorch.tensor(b)}
    exec(f"x {operator} b", namespace)
    expected = {"+=": a + b, "-=": a - b, "*=": a * b, "/=": a / b}[operator]
    assert namespace["x"] is x  # in place: the same tensor, not a new one
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(alias.numpy(), expected.reshape(12), rtol=1e-6)


def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    w = leaf([1.0, 2.0])
    for update in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.zero_(),
                   lambda: w.__isub__(1), lambda: w.__setitem__(0, 5.0)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            update()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])  # nothing written


def test_in_place_on_a_graph_tensor_raises_and_writes_nothing():
    w = leaf([1.0, 2.0])
    y = w * 2
    with pytest.raises(RuntimeError, match="does not record in-place"):
        y += 1
    np.testing.assert_array_equal(y.detach().numpy(), [2.0, 4.0])


def test_writing_a_tensor_that_requires_grad_into_a_plain_one_raises():
    w = leaf([1.0, 2.0])
    x = tinytorch.zeros(2)
    with pytest.raises(RuntimeError, match="does not record in-place"):
        x += w
    with pytest.raises(RuntimeError, match="does not record in-place"):
        x[0] = w[1]
    np.testing.assert_array_equal(x.numpy(), [0.0, 0.0])
    with tinytorch.no_grad():
        x += w
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0])


def test_in_place_results_keep_the_tensor_dtype_and_shape():
    ints = tinytorch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        ints += 0.5
    with pytest.raises(RuntimeError, match="can't be cast"):
        tinytorch.tensor([True, False]).add_(1)
    floats = tinytorch.tensor([1.0, 2.0])
    floats += tinytorch.tensor([1, 1])  # an integer result fits in a float tensor
    assert floats.dtype == tinytorch.float32
    np.testing.assert_array_equal(floats.numpy(), [2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"output with shape \[2\] doesn't match the "
                                           r"broadcast shape \[3, 2\]"):
        floats += tinytorch.ones(3, 2)
    np.testing.assert_array_equal(floats.numpy(), [2.0, 3.0])


def test_in_place_on_a_broadcast_view_raises():
    base = tinytorch.tensor([1.0, 2.0])
    x = base.expand(3, 2)
    for write in (lambda: x.add_(1), lambda: x.__setitem__((0, 0), 5.0),
                  lambda: x.copy_(tinytorch.zeros(3, 2))):
        with pytest.raises(RuntimeError, match="share one memory location"):
            write()
    np.testing.assert_array_equal(base.numpy(), [1.0, 2.0])


def test_fill_and_copy_follow_pytorch():
    x = tinytorch.zeros(2, 3)
    x.fill_(tinytorch.tensor(2.5))
    np.testing.assert_array_equal(x.numpy(), np.full((2, 3), 2.5, np.float32))
    with pytest.raises(RuntimeError, match="0-dimension value tensor"):
        x.fill_(tinytorch.ones(2))
    x.copy_(tinytorch.tensor([1, 2, 3]))  # broadcast and converted
    np.testing.assert_array_equal(x.numpy(), [[1, 2, 3], [1, 2, 3]])
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        x.copy_(tinytorch.ones(4))


# ----- .data is a detached tensor on the same memory ------------------------------------
def test_data_is_a_detached_tensor_sharing_memory():
    w = leaf([1.0, 2.0])
    data = w.data
    assert isinstance(data, tinytorch.Tensor)
    assert not data.requires_grad and data.grad_fn is None
    data[0] = 9.0  # no error: not part of the graph
    np.testing.assert_array_equal(w.detach().numpy(), [9.0, 2.0])
    layer = nn.Linear(3, 2)
    layer.bias.data.fill_(0.01)
    np.testing.assert_allclose(layer.bias.detach().numpy(), [0.01, 0.01])
    values, indices = tinytorch.max(tinytorch.tensor([[1.0, 5.0], [7.0, 2.0]]).data, 1)
    np.testing.assert_array_equal(values.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])


def test_assigning_data_replaces_the_values():
    w = leaf([1.0, 2.0])
    w.data = tinytorch.tensor([3.0, 4.0, 5.0])
    assert w.requires_grad and w.shape == (3,)
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 8.0, 10.0])
    with pytest.raises(TypeError, match="expected a Tensor"):
        w.data = [1.0, 2.0]


# ----- the same cases in PyTorch, where it is installed ----------------------------------
@pytest.mark.parametrize("case", ["index", "fill", "detach", "view", "unsaved"])
def test_pytorch_agrees_on_which_cases_raise(case):
    torch = pytest.importorskip("torch")
    outcomes = []
    for library in (torch, tinytorch):
        w = library.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = library.tensor([[1.0, 2.0, 3.0]])
        y = (w * x).sum() if case != "unsaved" else (w + x).sum()
        if case in ("index", "unsaved"):
            x[0, 0] = 100
        elif case == "fill":
            with library.no_grad():
                w.fill_(10)
        elif case == "detach":
            w.detach()[0] = 5
        else:
            x.view(-1)[0] = 5
        try:
            y.backward()
            outcomes.append(np.asarray(w.grad.tolist()))
        except RuntimeError as error:
            assert OVERWRITTEN in str(error)
            outcomes.append("raised")
    if isinstance(outcomes[0], str) or isinstance(outcomes[1], str):
        assert outcomes[0] == outcomes[1]
    else:
        np.testing.assert_array_equal(outcomes[0], outcomes[1])
