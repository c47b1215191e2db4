"""autograd.grad, autograd.backward and backward(inputs=...): gradients on request.

References: closed forms of small functions, central differences in float64,
and, where PyTorch is installed, the same calls through torch.autograd.
"""
import re

import numpy as np
import pytest

import tinytorch
from tinytorch.autograd import grad


def f64(values, requires_grad=True):
    return tinytorch.tensor(values, dtype=tinytorch.float64, requires_grad=requires_grad)


X, W = np.array([1.0, -2.0, 0.5]), np.array([3.0, 0.25, -4.0])


# ----- grad: values --------------------------------------------------------------
def test_grad_returns_a_tuple_of_closed_form_gradients():
    x, w = f64(X), f64(W)
    y = (x * w).exp().sum()
    dx, dw = grad(y, [x, w])
    np.testing.assert_allclose(dx.numpy(), W * np.exp(X * W), rtol=1e-14)
    np.testing.assert_allclose(dw.numpy(), X * np.exp(X * W), rtol=1e-14)
    assert not dx.requires_grad and dx.grad_fn is None
    (single,) = grad((x * x).sum(), x)  # one tensor in: still a tuple out
    np.testing.assert_array_equal(single.numpy(), 2 * X)


def test_grad_writes_no_grad_attribute_anywhere():
    x, w, b = f64(X), f64(W), f64(1.5)
    w.grad = tinytorch.tensor(np.full(3, 7.0))
    before = w.grad.numpy().copy()
    loss = ((x * w).sum() + b) ** 2
    grad(loss, [x])
    assert x.grad is None and b.grad is None  # the input's and other leaves' .grad
    np.testing.assert_array_equal(w.grad.numpy(), before)


def test_grad_with_respect_to_an_intermediate_stops_there():
    x, w = f64(X), f64(W)
    hidden = x * w
    loss = (hidden * hidden).sum()
    d_hidden, dx = grad(loss, [hidden, x])
    np.testing.assert_allclose(d_hidden.numpy(), 2 * X * W)
    np.testing.assert_allclose(dx.numpy(), 2 * X * W * W)
    assert hidden.grad is None and x.grad is None and w.grad is None


def test_the_part_of_the_graph_below_a_requested_intermediate_is_not_run_nor_freed():
    x, w = f64(X), f64(W)
    product = x * w          # each product saves its factors: freeing one would break
    scaled = product * w     # the backward passes below
    grad(scaled.sum(), [scaled])   # no retain_graph: frees only what it ran
    (scaled * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * W * W)
    np.testing.assert_allclose(w.grad.numpy(), 6 * X * W)


def test_grad_outputs_make_a_vector_jacobian_product():
    x = f64(X)
    v = np.array([1.0, -0.5, 2.0])
    (dx,) = grad(x.tanh(), x, grad_outputs=tinytorch.tensor(v, dtype=tinytorch.float64))
    np.testing.assert_allclose(dx.numpy(), v * (1 - np.tanh(X) ** 2), rtol=1e-14)


def test_several_outputs_add_their_gradients():
    x, w = f64(X), f64(W)
    first, second = (x * w).sum(), (x * x).sum()
    dx, dw = grad([first, second], [x, w])
    np.testing.assert_allclose(dx.numpy(), W + 2 * X)
    np.testing.assert_allclose(dw.numpy(), X)
    y = (x * w).sum()
    (twice,) = grad([y, y], x, grad_outputs=[f64(2.0, False), f64(-0.5, False)])
    np.testing.assert_allclose(twice.numpy(), 1.5 * W)


def test_grad_of_a_leaf_with_respect_to_itself_is_the_incoming_gradient():
    x = f64(X)
    v = f64([4.0, 5.0, 6.0], False)
    (dx,) = grad(x, x, grad_outputs=v)
    np.testing.assert_array_equal(dx.numpy(), [4.0, 5.0, 6.0])
    dx.array[0] = 100.0  # the result owns its memory
    assert v.numpy()[0] == 4.0


def test_grad_matches_central_differences():
    rng = np.random.default_rng(3)
    a0, b0 = rng.standard_normal((2, 3)), rng.standard_normal(3)

    def f(a, b):
        return ((a @ b.reshape(3, 1)).tanh() * a.sum(dim=1, keepdim=True)).sum()

    a, b = f64(a0), f64(b0)
    da, db = grad(f(a, b), [a, b])
    for analytic, point, which in ((da, a0, 0), (db, b0, 1)):
        numeric = np.zeros_like(point)
        for index in np.ndindex(point.shape):
            step = np.zeros_like(point)
            step[index] = 1e-6
            args_plus = [a0, b0]
            args_minus = [a0, b0]
            args_plus[which], args_minus[which] = point + step, point - step
            up = f(*(f64(v, False) for v in args_plus)).item()
            down = f(*(f64(v, False) for v in args_minus)).item()
            numeric[index] = (up - down) / 2e-6
        np.testing.assert_allclose(analytic.numpy(), numeric, rtol=1e-6, atol=1e-8)


def test_returned_gradients_own_their_memory():
    a, b = f64(X), f64(W)
    da, db = grad((a + b).sum(), [a, b])   # addition hands one array to both inputs
    da.array[:] = 0.0
    np.testing.assert_array_equal(db.numpy(), np.ones(3))
    first, second = grad((a * 2.0).sum(), [a, a])
    first.array[:] = -1.0
    np.testing.assert_array_equal(second.numpy(), np.full(3, 2.0))


def test_gradients_take_their_input_dtype():
    x = tinytorch.tensor([1.0, 2.0], requires_grad=True)          # float32
    (dx,) = grad(x * 3.0, x, grad_outputs=f64([1.0, 1.0], False))  # float64 incoming
    assert dx.dtype == tinytorch.float32
    np.testing.assert_array_equal(dx.numpy(), [3.0, 3.0])


def test_a_retained_intermediate_still_gets_its_grad():
    x = f64(X)
    hidden = x * 3.0
    hidden.retain_grad()
    grad((hidden * hidden).sum(), x)
    np.testing.assert_allclose(hidden.grad.numpy(), 6 * X)   # as in PyTorch
    assert x.grad is None


def test_a_long_chain_needs_no_recursion():
    x = f64(1.0)
    y = x
    for _ in range(20000):
        y = y * 1.0001
    (dx,) = grad(y, x)
    np.testing.assert_allclose(dx.item(), 1.0001 ** 20000, rtol=1e-9)


# ----- grad: unused inputs -------------------------------------------------------
UNUSED = ("grad: The differentiated Tensor at index 1 appears to not have been used in the "
          "graph. Set allow_unused=True if this is the desired behavior.")


def test_an_unused_input_is_an_error_unless_allowed():
    x, unused = f64(X), f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match=re.escape(UNUSED)):
        grad((x * x).sum(), [x, unused])
    dx, nothing = grad((x * x).sum(), [x, unused], allow_unused=True)
    assert nothing is None
    np.testing.assert_array_equal(dx.numpy(), 2 * X)
    dx, zeros = grad((x * x).sum(), [x, unused], materialize_grads=True)
    np.testing.assert_array_equal(zeros.numpy(), [0.0, 0.0])
    assert zeros.dtype == tinytorch.float64
    with pytest.raises(ValueError, match="allow_unused to be True or not passed"):
        grad((x * x).sum(), [x], materialize_grads=True, allow_unused=False)


def test_an_input_reached_only_through_a_tensor_that_needs_no_grad_is_unused():
    x = f64(X)
    constant = x.detach() * 2.0
    with pytest.raises(RuntimeError, match="index 0 appears to not have been used"):
        grad(constant.sum() + (f64(1.0) * 1.0), [x])


# ----- grad: bad arguments ---------------------------------------------------------
def test_inputs_that_do_not_require_grad_or_no_inputs_are_refused():
    x = f64(X)
    with pytest.raises(RuntimeError, match=r"grad: One of the differentiated Tensors does "
                                           r"not require grad \(inputs\[1\], shape \(2,\)\)"):
        grad((x * x).sum(), [x, f64([1.0, 2.0], False)])
    with pytest.raises(RuntimeError, match=r"`inputs` argument to `grad\(\)` cannot be empty"):
        grad((x * x).sum(), [])
    with pytest.raises(TypeError, match="inputs must be a Tensor or a list or tuple of Tensors, "
                                        "got ndarray"):
        grad((x * x).sum(), X)


def test_outputs_that_do_not_require_grad_are_refused():
    x = f64(X)
    with tinytorch.no_grad():
        y = (x * x).sum()
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        grad(y, x)
    with pytest.raises(RuntimeError, match="element 1 of tensors does not require grad"):
        grad([(x * x).sum(), y], x)


def test_output_gradients_must_match_the_outputs():
    x = f64(X)
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar "
                                           r"outputs, but output 0 has shape \(3,\)"):
        grad(x * 2.0, x)
    with pytest.raises(RuntimeError, match=re.escape(
            "Mismatch in shape: grad_output[0] has shape (2,) and output[0] has shape "
            "(3,)")):
        grad(x * 2.0, x, grad_outputs=f64([1.0, 1.0], False))
    with pytest.raises(RuntimeError, match="got 2 output gradients for 1 outputs"):
        grad((x * 2.0).sum(), x, grad_outputs=[None, None])
    with pytest.raises(TypeError, match="got float"):
        grad((x * 2.0).sum(), x, grad_outputs=2.0)


def test_create_graph_is_refused_with_the_reason():
    x = f64(X)
    with pytest.raises(RuntimeError, match="create_graph=True is not supported: TinyTorch "
                                           "has no higher-order gradients"):
        grad((x * x).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="backward: create_graph=True is not supported"):
        tinytorch.autograd.backward((x * x).sum(), create_graph=True)


def test_retain_graph_defaults_to_freeing_the_graph():
    x = f64(X)
    y = (x * x).sum()
    grad(y, x, retain_graph=True)
    (again,) = grad(y, x)
    np.testing.assert_array_equal(again.numpy(), 2 * X)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        grad(y, x)


def test_an_input_changed_in_place_after_the_forward_pass_is_caught():
    x, w = f64(X), f64(W)
    y = (x * w).sum()
    with tinytorch.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        grad(y, x)


# ----- backward(inputs=...) ------------------------------------------------------------
def test_backward_with_inputs_accumulates_only_into_them():
    x, w = f64(X), f64(W)
    w.grad = tinytorch.tensor(np.ones(3))
    tinytorch.autograd.backward((x * w).sum(), inputs=[w])
    np.testing.assert_array_equal(w.grad.numpy(), 1.0 + X)
    assert x.grad is None


def test_backward_with_a_non_leaf_input_keeps_its_grad_from_then_on():
    x = f64(X)
    hidden = x * 2.0
    loss = (hidden * hidden).sum()
    tinytorch.autograd.backward(loss, inputs=hidden, retain_graph=True)
    np.testing.assert_allclose(hidden.grad.numpy(), 4 * X)
    assert x.grad is None and hidden._retains_grad
    loss.backward()                      # as after retain_grad(): accumulates
    np.testing.assert_allclose(hidden.grad.numpy(), 8 * X)
    np.testing.assert_allclose(x.grad.numpy(), 8 * X)


def test_backward_with_several_tensors_and_gradients():
    x = f64(X)
    tinytorch.autograd.backward([(x * x).sum(), x * 3.0],
                                [None, f64([1.0, 0.0, -1.0], False)])
    np.testing.assert_allclose(x.grad.numpy(), 2 * X + np.array([3.0, 0.0, -3.0]))


def test_backward_inputs_errors():
    x = f64(X)
    with pytest.raises(RuntimeError, match=r"`inputs` argument to `backward\(\)` cannot be "
                                           r"empty"):
        tinytorch.autograd.backward((x * x).sum(), inputs=[])
    with pytest.raises(RuntimeError, match=r"inputs\[0\] \(shape \(2,\)\) does not require "
                                           r"grad"):
        tinytorch.autograd.backward((x * x).sum(), inputs=[f64([1.0, 2.0], False)])


def test_tensor_backward_takes_inputs_and_create_graph():
    x, w = f64(X), f64(W)
    (x * w).sum().backward(inputs=[x])
    np.testing.assert_array_equal(x.grad.numpy(), W)
    assert w.grad is None
    with pytest.raises(RuntimeError, match="no higher-order gradients"):
        (x * w).sum().backward(create_graph=True)


def test_retains_grad_property():
    x = f64(X)
    hidden = x * 2.0
    assert not x.retains_grad and not hidden.retains_grad
    hidden.retain_grad()
    x.retain_grad()                      # a no-op on a leaf, as in PyTorch
    assert hidden.retains_grad and not x.retains_grad


# ----- PyTorch as an oracle ------------------------------------------------------------
def test_grad_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    a0, b0, v0 = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)

    def run(lib, tensor):
        a, b = tensor(a0), tensor(b0)
        hidden = (a * b).tanh()
        hidden.retain_grad()
        out = hidden.sum(dim=1) * (a.exp().sum(dim=1))
        second = (b * b).sum()
        got = lib.autograd.grad([out, second], [hidden, a, b],
                                grad_outputs=[tensor(v0, False), None])
        return [g.detach().numpy() for g in got] + [hidden.grad.detach().numpy()]

    ours = run(tinytorch, lambda v, rg=True: tinytorch.tensor(v, dtype=tinytorch.float64,
                                                              requires_grad=rg))
    theirs = run(torch, lambda v, rg=True: torch.tensor(v, dtype=torch.float64,
                                                        requires_grad=rg))
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-14)


def test_backward_inputs_agree_with_pytorch():
    torch = pytest.importorskip("torch")

    def run(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor([3.0, 4.0], requires_grad=True)
        hidden = x * w
        hidden.retain_grad()
        loss = (hidden * hidden).sum()
        lib.autograd.backward(loss, inputs=[x], retain_graph=True)
        lib.autograd.backward(loss, inputs=[hidden])
        return x.grad.numpy(), w.grad, hidden.grad.numpy()

    (x_ours, w_ours, h_ours), (x_ref, w_ref, h_ref) = run(tinytorch), run(torch)
    np.testing.assert_array_equal(x_ours, x_ref)
    np.testing.assert_array_equal(h_ours, h_ref)
    assert w_ours is None and w_ref is None


def test_next_functions_lead_to_the_inputs_nodes():
    w = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    b = tinytorch.tensor([0.5, 0.5], requires_grad=True)
    x = tinytorch.tensor([3.0, 4.0])
    product = w * x
    y = product + b
    (mul_node, zero), (accumulate, _) = y.grad_fn.next_functions
    assert mul_node is product.grad_fn and zero == 0
    assert accumulate.variable is b and repr(accumulate) == "<AccumulateGrad>"
    (to_w, _), (to_x, _) = mul_node.next_functions
    assert to_w.variable is w and to_x is None  # x needs no gradient
    torch = pytest.importorskip("torch")
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tw * torch.tensor([3.0, 4.0]) + torch.tensor([0.5, 0.5], requires_grad=True)
    theirs = ty.grad_fn.next_functions[0][0].next_functions
    assert [type(node).__name__ if node else None for node, _ in theirs] == \
        ["AccumulateGrad", None]
