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
# Read along in `tinytorch/tensor.py` and `tinytorch/ops/arithmetic.py`.

# %%
import numpy as np

import tinytorch

tinytorch.manual_seed(0)

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
# ## Broadcasting in the backward pass
# `b` was used four times (once per row), so its gradient is the sum of four
# contributions. TinyTorch's `unbroadcast` sums the stretched axes back down.

# %%
x = tinytorch.randn(4, 3, requires_grad=True)
b = tinytorch.zeros(3, requires_grad=True)
(x + b).sum().backward()
print("grad of b:", b.grad.data)  # [4. 4. 4.]: one per row
assert np.array_equal(b.grad.data, [4.0, 4.0, 4.0])

# %% [markdown]
# ## Check a gradient yourself
# `gradcheck` compares autograd with central differences in float64: the test
# every operation in TinyTorch passes.

# %%
from tinytorch.autograd import gradcheck

a = tinytorch.randn(2, 3, dtype=tinytorch.float64, requires_grad=True)
c = tinytorch.randn(3, dtype=tinytorch.float64, requires_grad=True)
print("gradcheck:", gradcheck(lambda a, c: (a * c + c).exp().sum(dim=0), (a, c)))

# %% [markdown]
# ## Exercise ideas
# 1. Predict the shape of `tinytorch.ones(5, 1, 3) + tinytorch.ones(4, 1)`, then check.
# 2. Why does `tinytorch.ones(3) + tinytorch.ones(4)` fail? Read the error.
# 3. Write `unbroadcast(grad, shape)` yourself and compare with
#    `tinytorch.ops.arithmetic.unbroadcast` on random shapes.
