# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 02 — Autograd
#
# Training a network means following the gradient of a loss with respect to
# every weight. Writing those derivatives by hand stops being possible after a
# few layers; **reverse-mode automatic differentiation** gets all of them for
# about the cost of one more forward pass.
#
# The idea in three steps:
#
# 1. **Record.** Every operation on a tensor that requires a gradient leaves a
#    node behind (`tensor.grad_fn`), and the node remembers its inputs. The
#    forward pass thereby builds a graph: a DAG from the leaves (your
#    parameters) to the loss.
# 2. **Order.** Sort the graph so that each tensor comes before the tensors it
#    was computed from. A tensor's gradient is complete only once every
#    consumer has contributed to it; this order guarantees that.
# 3. **Walk.** Starting from d(loss)/d(loss) = 1, hand each tensor's gradient to
#    its node's `backward`, which returns the gradient of each input (the
#    chain rule, one local derivative at a time), and *add* those into the
#    inputs' running totals: a tensor used twice receives the sum.
#
# Read along in `tinytorch/autograd/function.py` (a node: `forward` and
# `backward` on numpy arrays), `tinytorch/autograd/engine.py` (the order and
# the walk) and `tinytorch/ops/` (one `Function` per operation).

# %%
import sys
import time

import matplotlib.pyplot as plt
import numpy as np

import tinytorch
from tinytorch.autograd import gradcheck
from tinytorch.autograd.engine import topological_order
from tinytorch.autograd.function import Function
from tinytorch.app.labs.notebook import print_solution_regions, show

tinytorch.manual_seed(0)


# %% [markdown]
# ## Where you write code
# Six places, each with a worked example here (the stub's message and the
# docstring or `# TODO:` line above it say what to build):
#
# - `topological_order(root)` in `tinytorch/autograd/engine.py`: every tensor
#   reachable from `root` that needs a gradient, each one before the tensors it
#   was computed from. For `y = w * x` and `loss = y.sum()`, where only `w`
#   requires a gradient, the order is `loss`, `y`, `w` (`x` needs none).
# - `backward` in `tinytorch/autograd/engine.py`, the lines that hand an
#   input its gradient: add it into `pending`, the running totals by tensor.
#   In `z = x * x`, `Mul.backward` returns two gradients for the same `x`
#   (each `x * grad`); `pending` must end up with their sum, `2 * x * grad`.
# - `Mul.backward` and `Div.backward` in `tinytorch/ops/arithmetic.py`: for
#   a = 2, b = 3 and an incoming gradient of 1, `a * b` sends back (3, 2) and
#   `a / b` sends back (1/3, -2/9); with broadcast inputs each gradient is
#   `unbroadcast` to its input's shape (Lab 01).
# - `Exp.backward` and `Log.backward` in `tinytorch/ops/pointwise.py`: at x = 2
#   with an incoming gradient g, exp sends back g * e^2 (the output, which
#   `forward` saved) and log sends back g / 2.
#
# `tinytorch grade 02` runs this lab's tests on your code. The cell below asks
# the source where the six are (in your copy: the
# `NotImplementedError("Lab 02: ...")` each became).

# %%
print_solution_regions(2)

# %% [markdown]
# ## A graph, recorded
# `y = tanh(w * x + b)`, with a loss `(y - 1)^2`. Every intermediate result
# knows which node made it, and every node knows its inputs (`parents`).

# %%
x = tinytorch.tensor([0.5, -1.0, 2.0])
w = tinytorch.tensor([1.5, 0.3, -0.7], requires_grad=True)
b = tinytorch.tensor(0.1, requires_grad=True)
y = (w * x + b).tanh()
loss = ((y - 1.0) ** 2).sum()

print("loss.grad_fn:", loss.grad_fn)
for tensor in topological_order(loss):
    made_by = tensor.grad_fn
    inputs = [f"{parent.grad_fn or 'leaf'} {parent.shape}" for _, parent in made_by.parents] \
        if made_by else []
    print(f"{str(made_by or 'leaf'):>16} shape {str(tensor.shape):6} <- {inputs}")

# %% [markdown]
# The order above is the one the backward pass walks: the loss first, the
# leaves `w` and `b` last, and every node only after all of its consumers.
# `x` does not appear: it does not require a gradient, so no edge leads to it.

# %%
loss.backward()
# The same derivative by hand: dloss/dw = 2 (y - 1) (1 - y^2) x.
y_values = np.tanh(w.array * x.array + b.array)
by_hand_w = 2 * (y_values - 1) * (1 - y_values**2) * x.array
by_hand_b = np.sum(2 * (y_values - 1) * (1 - y_values**2))
print("autograd w.grad:", w.grad.array, " by hand:", by_hand_w)
print("autograd b.grad:", b.grad.array, " by hand:", by_hand_b)
assert np.allclose(w.grad.array, by_hand_w, atol=1e-6)
assert np.allclose(b.grad.array, by_hand_b, atol=1e-6)

# %% [markdown]
# `b` is a scalar that was *broadcast* to three elements, so its gradient is the
# sum of three contributions: the `unbroadcast` of Lab 01 at work inside `Add.backward`.
#
# ## Experiment 1: derivatives of a whole curve
# For an elementwise function, `f(x).sum().backward()` leaves f'(x_i) in
# `x.grad[i]`: one backward pass differentiates the function at every point
# at once. We compare with central differences, `(f(x+h) - f(x-h)) / 2h`.

# %%
def curve(t):
    return t.sigmoid() * (3 * t).tanh() + (t * t * 0.1).exp()


points = tinytorch.linspace(-4, 4, 401, dtype=tinytorch.float64, requires_grad=True)
curve(points).sum().backward()
step = 1e-5
with tinytorch.no_grad():
    numeric = (curve(points.detach() + step) - curve(points.detach() - step)) / (2 * step)
largest_gap = np.max(np.abs(points.grad.array - numeric.array))
print(f"largest gap between autograd and central differences: {largest_gap:.2e}")

figure, axis = plt.subplots(figsize=(7, 3.5))
axis.plot(points.array, curve(points.detach()).array, label="f(x)")
axis.plot(points.array, points.grad.array, label="f'(x), autograd", linewidth=3, alpha=0.5)
axis.plot(points.array, numeric.array, "--", label="f'(x), central differences")
axis.set_xlabel("x")
axis.legend()
axis.set_title("One backward pass differentiates every point")
show(figure, "02_derivative_of_a_curve")

# %% [markdown]
# ## Experiment 2: why gradcheck uses float64 and a step of 1e-6
# A finite difference has two errors pulling in opposite directions: the
# *truncation* error of the formula shrinks like h^2, the *rounding* error of
# subtracting two nearly equal numbers grows like (machine epsilon) / h. Their
# sum is a V. Autograd has neither: it evaluates the exact derivative formula.

# %%
def tanh_derivative_error(step: float, dtype) -> float:
    t = np.array(0.7, dtype=dtype)
    h = dtype(step)
    numeric = (np.tanh(t + h) - np.tanh(t - h)) / (2 * h)
    return abs(float(numeric) - (1 - np.tanh(0.7) ** 2))


steps = np.logspace(-12, -1, 45)
point = tinytorch.tensor(0.7, dtype=tinytorch.float64, requires_grad=True)
point.tanh().backward()
autograd_error = abs(point.grad.item() - (1 - np.tanh(0.7) ** 2))

figure, axis = plt.subplots(figsize=(7, 3.5))
for dtype in (np.float32, np.float64):
    errors = [max(tanh_derivative_error(h, dtype), 1e-18) for h in steps]
    axis.loglog(steps, errors, "o-", markersize=3, label=f"central difference, {dtype.__name__}")
    best = steps[int(np.argmin(errors))]
    print(f"{dtype.__name__}: smallest error {min(errors):.1e} at step {best:.0e}")
axis.axhline(max(autograd_error, 1e-18), color="black", linestyle=":",
             label=f"autograd, float64 ({autograd_error:.0e})")
axis.set_xlabel("step h")
axis.set_ylabel("error of d tanh(x)/dx at x = 0.7")
axis.legend()
show(figure, "02_finite_difference_error")

# %% [markdown]
# Read the two minima printed above. In float32 the best a central
# difference can do is too coarse to tell a correct gradient from a slightly
# wrong one; in float64 the bottom of the V is several orders of magnitude
# lower, and lies near the default step of `gradcheck`. That is why
# `gradcheck` insists on float64 inputs.
#
# ## Gradients accumulate
# `backward` *adds* into `.grad`. Two backward passes without clearing give
# twice the gradient: that is why a training loop calls `zero_grad()`.

# %%
a = tinytorch.tensor([1.0, 2.0], requires_grad=True)
(a * a).sum().backward()
first = a.grad.array.copy()
(a * a).sum().backward()
print("after one backward:", first, " after two:", a.grad.array)
assert np.allclose(a.grad.array, 2 * first)

with tinytorch.no_grad():
    untracked = a * a
print("made under no_grad: requires_grad =", untracked.requires_grad, ", grad_fn =",
      untracked.grad_fn)

# %% [markdown]
# ## Write an operation of your own
# A `Function` is two pure functions on numpy arrays. `forward` computes and
# saves what the gradient needs; `backward` receives d(loss)/d(output) and
# returns d(loss)/d(input). Here is softplus, log(1 + e^x), whose derivative is
# the sigmoid; `gradcheck` compares it with central differences.

# %%
class Softplus(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)  # log(1 + e^x) without overflow for large x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + np.exp(-x))


inputs = tinytorch.randn(4, 3, dtype=tinytorch.float64, requires_grad=True)
print("gradcheck(softplus):", gradcheck(lambda t: Softplus.apply(t), (inputs,)))

# %% [markdown]
# A wrong backward does not get past it:

# %%
class WrongSoftplus(Softplus):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + np.exp(x))  # sign error


ok = gradcheck(lambda t: WrongSoftplus.apply(t), (inputs,), raise_exception=False)
print("gradcheck(wrong softplus):", ok)
assert not ok

# %% [markdown]
# ## Experiment 3: deep graphs
# The engine sorts the graph with an explicit stack, not recursion, so depth is
# limited by memory, not by Python's recursion limit. Time grows linearly with
# the number of nodes.

# %%
print("Python's recursion limit:", sys.getrecursionlimit())
depths = [1_000, 4_000, 16_000]
seconds = []
for depth in depths:
    start = tinytorch.tensor(1.0, requires_grad=True)
    value = start
    for _ in range(depth):
        value = value * 1.0001
    began = time.perf_counter()
    value.backward()
    seconds.append(time.perf_counter() - began)
    assert np.isclose(start.grad.item(), 1.0001 ** depth, rtol=1e-3)
    print(f"depth {depth:>6}: backward {seconds[-1] * 1e3:7.1f} ms, "
          f"d(value)/d(start) = {start.grad.item():.4f}")

figure, axis = plt.subplots(figsize=(5, 3))
axis.plot(depths, np.array(seconds) * 1e3, "o-")
axis.set_xlabel("nodes in the chain")
axis.set_ylabel("backward time (ms)")
show(figure, "02_backward_time_vs_depth")

# %% [markdown]
# ## Exercise ideas
# 1. Draw the graph of `loss` above by hand and write each node's local
#    derivative on its edges; multiply along the paths from `w` to the loss.
# 2. Use `x` twice, `z = x * x + x`, and check that `x.grad` is 2x + 1: which
#    line of the engine's walk makes the two contributions add up?
# 3. Write `Function`s for `sin` and `cos` and run `gradcheck` on `sin(cos(x)) * x`.
# 4. Time a backward pass of a 100,000-node chain; where does the time go?
