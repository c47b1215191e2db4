# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 03 — Modules, layers and losses
#
# A neural network is a function with parameters. `nn.Module` packages the
# two: a subclass assigns its parameters and sub-modules as attributes in
# `__init__` and computes its output in `forward`. Assigning is enough to
# *register* them, so `model.parameters()` finds every weight of a model of any
# depth, and `state_dict()` names each one for a checkpoint.
#
# Layers are modules: `Linear` computes `x W^T + b` (weight shaped
# `(out_features, in_features)`, PyTorch's layout), `ReLU` keeps the positive
# part. Losses are modules too: `MSELoss` for regression and
# `CrossEntropyLoss` for classification, whose gradient with respect to the
# logits is simply `softmax(logits) - one_hot(target)`.
#
# Read along in `tinytorch/nn/module.py`, `tinytorch/nn/linear.py`,
# `tinytorch/nn/init.py`, `tinytorch/nn/activation.py` and `tinytorch/nn/loss.py`
# (the layers), and in `tinytorch/ops/matmul.py`, `tinytorch/ops/pointwise.py`,
# `tinytorch/ops/softmax.py` and `tinytorch/ops/loss.py` (the operations they
# run: `linear`, `relu`, `log_softmax` and the losses).

# %%

import matplotlib.pyplot as plt
import numpy as np

import tinytorch
from tinytorch import nn
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.nn import functional as F


# %% [markdown]
# ## Where you write code
# Six places, each with a worked example here (the stub's message and the
# docstring or `# TODO:` line above it say what to build):
#
# - `Module.__setattr__` in `tinytorch/nn/module.py`, the branch for a
#   `Parameter` or a `Module`: after `self.fc = nn.Linear(2, 3)`,
#   `self._modules["fc"]` is that layer and `model.parameters()` finds its
#   weight and bias. Assigning a `Parameter` to the same name later must leave
#   `fc` in `_parameters` only (`self._forget(name)` drops the old entry).
# - `Module._tensors_by_name` in `tinytorch/nn/module.py`: what `state_dict`
#   holds. For `nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))`
#   the keys are `0.weight`, `0.bias`, `2.weight`, `2.bias` (the ReLU has none);
#   a `BatchNorm2d` adds its running statistics, which are buffers.
# - `mse_loss` in `tinytorch/ops/loss.py`: for input (1, 2, 3) and target
#   (1, 0, 0) the squared differences are (0, 4, 9): 13/3 with
#   `reduction="mean"`, 13 with `"sum"`, the three numbers with `"none"`.
# - `Linear.forward` in `tinytorch/ops/matmul.py`: `x` of shape (5, 2) and a
#   weight of shape (3, 2) (PyTorch's layout: out by in) give an output of
#   shape (5, 3), each row the input row times the transposed weight, plus the
#   bias when there is one.
# - `ReLU.forward` in `tinytorch/ops/pointwise.py`: (-1, 0, 2) becomes (0, 0, 2).
# - `log_softmax_array` in `tinytorch/ops/softmax.py`: (1000, 1000) along its
#   only axis gives (-log 2, -log 2), about (-0.693, -0.693), with no overflow
#   on the way, although e^1000 is far beyond any float.
#
# `tinytorch grade 03` runs this lab's tests on your code. The cell below asks
# the source where the six are (in your copy: the
# `NotImplementedError("Lab 03: ...")` each became).

# %%
print_solution_regions(3)

# %% [markdown]
# ## A module of your own
# Parameters and sub-modules assigned in `__init__` are registered under their
# attribute names; `named_parameters` walks the tree.

# %%
class TwoLayerNet(nn.Module):
    def __init__(self, inputs: int, hidden: int, outputs: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(inputs, hidden)
        self.activation = nn.ReLU()
        self.output = nn.Linear(hidden, outputs)

    def forward(self, x):
        return self.output(self.activation(self.hidden(x)))


net = TwoLayerNet(4, 8, 3)
print(net)
for name, parameter in net.named_parameters():
    print(f"{name:15} {str(parameter.shape):8} {parameter.dtype}")
count = sum(parameter.numel() for parameter in net.parameters())
print("parameters:", count)
assert count == 4 * 8 + 8 + 8 * 3 + 3

# %% [markdown]
# `state_dict` is the flat, ordered mapping a checkpoint stores. Loading it
# into a fresh network of the same shape reproduces the outputs exactly.

# %%
x = tinytorch.randn(5, 4)
copy = TwoLayerNet(4, 8, 3)
print("before loading, same output:", np.array_equal(copy(x).array, net(x).array))
copy.load_state_dict(net.state_dict())
print("after loading,  same output:", np.array_equal(copy(x).array, net(x).array))
assert np.array_equal(copy(x).array, net(x).array)

# %% [markdown]
# ## Experiment 1: why the initial weights are scaled
# `Linear` draws its weights uniformly from ±1/sqrt(in_features) (PyTorch's
# default; `tinytorch/nn/init.py` derives it). Pass a batch through a stack of
# twelve Linear + ReLU layers and watch the spread of the activations, once
# with that initialization and once with standard normal weights.

# %%
width, depth = 128, 12
batch = tinytorch.randn(256, width)
spreads = {"default (±1/sqrt(fan_in))": [], "standard normal": []}
layers = [nn.Linear(width, width) for _ in range(depth)]
with tinytorch.no_grad():
    for label, spread in spreads.items():
        activation = batch
        for layer in layers:
            weight = layer.weight if label.startswith("default") else \
                tinytorch.randn(width, width)
            activation = tinytorch.relu(activation @ weight.T + layer.bias)
            spread.append(float(activation.std().item()))
        print(f"{label:28} std after layer 1: {spread[0]:.3g}, after layer {depth}: "
              f"{spread[-1]:.3g}")

bound = float(np.abs(layers[0].weight.array).max())
print(f"largest initial |weight| of Linear({width}, {width}): {bound:.4f} "
      f"(1/sqrt({width}) = {1 / np.sqrt(width):.4f})")

figure, axis = plt.subplots(figsize=(6, 3.5))
for label, spread in spreads.items():
    axis.semilogy(range(1, depth + 1), spread, "o-", label=label)
axis.set_xlabel("layer")
axis.set_ylabel("std of the activations")
axis.legend()
axis.set_title("Scale of the initial weights decides what reaches the loss")
show(figure, "03_activation_spread")

# %% [markdown]
# With standard normal weights the activations grow by a roughly constant
# factor per layer, so after twelve layers they are enormous
# (and the gradients with them); the default initialization keeps them from
# exploding. (It shrinks them slowly instead: ReLU halves the variance, which
# is why ReLU networks often use Kaiming's sqrt(2) gain.)
#
# ## Losses
# `CrossEntropyLoss` takes raw scores (logits) and class indices. It equals
# `-log_softmax(logits)[target]` averaged over the batch, and its gradient
# is `(softmax - one_hot) / batch`.

# %%
logits = tinytorch.randn(6, 4, requires_grad=True)
target = tinytorch.tensor([0, 3, 1, 1, 2, 0])
loss = nn.CrossEntropyLoss()(logits, target)
loss.backward()

log_probabilities = logits.array - np.log(np.exp(logits.array).sum(axis=1, keepdims=True))
by_hand = -log_probabilities[np.arange(6), target.array].mean()
probabilities = np.exp(log_probabilities)
one_hot = np.eye(4)[target.array]
print(f"cross-entropy: {loss.item():.6f}, by hand: {by_hand:.6f}")
print("gradient = (softmax - one_hot) / N:",
      np.allclose(logits.grad.array, (probabilities - one_hot) / 6, atol=1e-6))
assert np.isclose(loss.item(), by_hand, atol=1e-5)

# %% [markdown]
# ## Experiment 2: the shape of the losses
# For two classes, plot the cross-entropy of the correct class against the
# margin (its logit minus the other's), beside the squared error of a
# regression as a function of the error. Cross-entropy never reaches zero, and
# keeps a gradient of almost exactly -1 for badly wrong predictions, where
# squared error's gradient grows without bound.

# %%
margins = tinytorch.linspace(-6, 6, 241, requires_grad=True)
two_logits = tinytorch.stack([margins, tinytorch.zeros(241)], dim=1)
cross_entropy = F.cross_entropy(two_logits, tinytorch.zeros(241, dtype=tinytorch.int64),
                                reduction="sum")
cross_entropy.backward()
errors = tinytorch.linspace(-3, 3, 121, requires_grad=True)
squared = F.mse_loss(errors, tinytorch.zeros(121), reduction="sum")
squared.backward()

figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
with tinytorch.no_grad():
    left.plot(margins.array, F.cross_entropy(two_logits, tinytorch.zeros(241, dtype=tinytorch.int64),
                                            reduction="none").array, label="loss")
left.plot(margins.array, margins.grad.array, label="d loss / d margin")
left.set_xlabel("margin of the correct class")
left.set_title("cross-entropy")
left.legend()
right.plot(errors.array, errors.array ** 2, label="loss")
right.plot(errors.array, errors.grad.array, label="d loss / d error")
right.set_xlabel("prediction - target")
right.set_title("squared error")
right.legend()
show(figure, "03_losses")

# %% [markdown]
# ## Experiment 3: fit a curve with plain gradient descent
# Everything of this lab together: a module, a loss, `backward`, and a
# hand-written update `w -= lr * grad` (the optimizers of Lab 04 package
# exactly this). The network learns sin(3x) on [-1, 1] from 256 samples.

# %%
tinytorch.manual_seed(1)
inputs = tinytorch.linspace(-1, 1, 256).reshape(256, 1)
targets = tinytorch.tensor(np.sin(3 * inputs.array))
model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
loss_function = nn.MSELoss()
learning_rate = 0.05
history = []
for step in range(1500):
    model.zero_grad()
    loss = loss_function(model(inputs), targets)
    loss.backward()
    with tinytorch.no_grad():
        for parameter in model.parameters():
            parameter.array -= learning_rate * parameter.grad.array
    history.append(loss.item())
print(f"loss after 1 step: {history[0]:.4f}, after {len(history)} steps: {history[-1]:.5f}")
assert history[-1] < history[0] / 10

figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
left.semilogy(history)
left.set_xlabel("step")
left.set_ylabel("mean squared error")
with tinytorch.no_grad():
    fitted = model(inputs).array
right.plot(inputs.array, targets.array, label="sin(3x)")
right.plot(inputs.array, fitted, "--", label="network")
right.legend()
show(figure, "03_curve_fit")

# %% [markdown]
# The long, slow tail of the loss curve is typical of plain gradient descent
# on a curved loss surface; momentum and Adam (Lab 04) are the remedies.

# %% [markdown]
# ## Exercise ideas
# 1. Add a `Dropout` between the layers of `TwoLayerNet`; what changes between
#    `net.train()` and `net.eval()`?
# 2. Show that `CrossEntropyLoss` is unchanged when you add the same constant to
#    every logit of a row. Why does that make it safe to subtract the row
#    maximum before exponentiating?
# 3. Replace `Tanh` by `ReLU` in the curve fit, and the learning rate by 0.5 and
#    0.01: which converge, which diverge?
