"""Lab 02, graded by the autograder only (probes: see tinytorch.app.labs.expect)."""
import tinytorch
from tinytorch.app.labs import expect


def test_gradients_accumulate_across_backward_calls():
    x = tinytorch.tensor([1.0, 2.0], dtype=tinytorch.float64, requires_grad=True)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    expect.value(x.grad, rtol=1e-12, what="the gradient of x after both backward passes")


def test_quotient_rule_on_a_shared_input():
    x = tinytorch.tensor([0.5, 1.5, 3.0], dtype=tinytorch.float64, requires_grad=True)
    (x / (x * x + 1.0)).sum().backward()
    expect.value(x.grad, rtol=1e-10, atol=1e-12, what="the gradient of x / (x * x + 1)")
