# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 01 — Tensors and broadcasting
#
# A `Tensor` is a numpy array plus what deep learning needs on top: a dtype
# policy, a gradient slot, and a record of how it was made. This lab looks at
# the first two and at **broadcasting**, the rule that lets `x + b` add a
# vector of biases to every row of a matrix — and at what broadcasting means
# for gradients.
#
# Read along in `tinytorch/tensor.py`, `tinytorch/ops/arithmetic.py`,
# `tinytorch/ops/shape.py` and `tinytorch/ops/matmul.py`.

# %%
import numpy as np

import tinytorch
from tinytorch.app.labs.notebook import print_solution_regions
from tinytorch.ops.arithmetic import unbroadcast

tinytorch.manual_seed(0)

# %% [markdown]
# ## Where you write code
# Three functions, each with a worked example here (the stub's message and the
# docstring above it say what to build):
#
# - `unbroadcast(grad, shape)` in `tinytorch/ops/arithmetic.py`: sum a gradient
#   back down to the shape of an input that broadcasting stretched. A gradient
#   of shape (4, 3) for an input of shape (3,) is summed over axis 0 (the axis
#   broadcasting added); for an input of shape (3, 1), a (4, 3, 5) gradient is
#   summed over axis 0 (added) and over axis 2 (stretched from size 1), which
#   keeps its size 1: the result has shape (3, 1).
# - `expand` in `tinytorch/ops/shape.py`: the target shape, in which each -1
#   means "keep the input's size on this axis". Expanding a (3, 1) tensor with
#   sizes (2, -1, 4): the result has one new leading axis, so its axis 1 is the
#   input's axis 0, of size 3, and the target is (2, 3, 4).
# - `check_matmul_shapes` in `tinytorch/ops/matmul.py`: the two inner sizes
#   that must agree. For (2, 3) @ (3, 5) they are 3 (the last size of the first
#   shape) and 3 (the second-to-last of the second); a 1-D second operand of
#   shape (3,) is a column, so its only size, 3, is the one compared.
#
# `tinytorch grade 01` runs this lab's tests on your code. The cell below asks
# the source where the three are (in your copy: the
# `NotImplementedError("Lab 01: ...")` each became).

# %%
print_solution_regions(1)

# %% [markdown]
# ## Dtypes follow PyTorch
# Python floats become float32 (numpy would pick float64), Python ints become
# int64, numpy arrays keep their dtype.

# %%
for data in (1.5, [1, 2, 3], [True, False], np.zeros(2)):
    print(f"{data!r:>22} -> {tinytorch.tensor(data).dtype}")

# %% [markdown]
# ## Broadcasting
# Two shapes are compatible when, aligned from the right, each pair of sizes is
# equal or one of them is 1. The size-1 (or missing) axes are stretched
# without copying.

# %%
x = tinytorch.randn(4, 3)
b = tinytorch.tensor([10.0, 20.0, 30.0])
print((x + b).shape)  # (4, 3): b is added to every row
column = tinytorch.tensor([[1.0], [2.0], [3.0], [4.0]])
print((x * column).shape)  # (4, 3): row i is scaled by column[i]
print((column + b).shape)  # (4, 3): an outer sum

# %% [markdown]
# `expand` broadcasts on request: the result is a view of the same numbers,
# exactly what `np.broadcast_to` gives.

# %%
small = tinytorch.tensor([[1.0], [2.0], [3.0]])
expanded = small.expand(2, -1, 4)
print(expanded.shape)
assert np.array_equal(expanded.numpy(), np.broadcast_to(small.numpy(), (2, 3, 4)))

# %% [markdown]
# ## Broadcasting in the backward pass
# In `x + b`, `b` was used four times (once per row). In Lab 02 the backward
# pass hands every operation the gradient of its output; `b`'s share is the sum
# of the four rows' contributions. Summing the stretched axes back down is
# `unbroadcast`'s job:

# %%
grad_of_sum = np.ones((4, 3))  # d(sum of x + b) / d(x + b): one per element
print("grad of b:", unbroadcast(grad_of_sum, (3,)))  # [4. 4. 4.]: one per row
assert np.array_equal(unbroadcast(grad_of_sum, (3,)), [4.0, 4.0, 4.0])
print("shape for a (3, 1) input:", unbroadcast(np.ones((4, 3, 5)), (3, 1)).shape)

# %% [markdown]
# Why a sum is the right answer: broadcasting copies, and the derivative of a
# copy hands every copy's gradient back to the original. Put differently,
# `unbroadcast` is the *adjoint* of `np.broadcast_to`: for any gradient `g` of
# the big shape and any `v` of the small one,
# `sum(g * broadcast_to(v)) == sum(unbroadcast(g) * v)`. Numpy alone checks it:

# %%
generator = np.random.default_rng(0)
for big, small_shape in [((4, 3), (3,)), ((4, 3, 5), (3, 1)), ((2, 6, 1, 4), (6, 1, 1))]:
    g = generator.standard_normal(big)
    v = generator.standard_normal(small_shape)
    left = np.sum(g * np.broadcast_to(v, big))
    right = np.sum(unbroadcast(g, small_shape) * v)
    print(f"{str(big):>14} -> {str(small_shape):9} {left:+.6f} {right:+.6f}")
    assert np.isclose(left, right)

# %% [markdown]
# ## Matrix products check their shapes
# `@` follows numpy: a 1-D right operand is a column, and the inner sizes must
# agree. When they do not, the error names both shapes, as PyTorch's does.

# %%
a = tinytorch.ones(2, 3)
print((a @ tinytorch.ones(3)).shape, (a @ tinytorch.ones(3, 5)).shape)
try:
    a @ tinytorch.ones(4, 5)
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# ## Exercise ideas
# 1. Predict the shape of `tinytorch.ones(5, 1, 3) + tinytorch.ones(4, 1)`, then check.
# 2. Why does `tinytorch.ones(3) + tinytorch.ones(4)` fail? Read the error.
# 3. Extend the adjoint check above to random pairs of shapes: draw a small
#    shape, make the big one by stretching some of its size-1 axes and adding
#    leading axes, and compare both sides. Does your `unbroadcast` pass for a
#    small shape of `()`, a single number?
# 4. `expand` and `np.broadcast_to` should agree on every valid request: compare
#    them on a few, including -1 in several places, and read what each says
#    about an invalid one.
