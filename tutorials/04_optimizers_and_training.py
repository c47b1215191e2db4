# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 04 — Optimizers and the training loop
#
# Autograd gives the gradient; an **optimizer** decides what to do with it.
# Plain stochastic gradient descent steps against the gradient,
# `w -= lr * grad`. On a loss surface that is steep in one direction and flat
# in another, that step is too big for the first and too small for the
# second, so SGD zig-zags. Two remedies, both a few lines:
#
# * **Momentum** keeps a running sum of past gradients,
#   `buffer = momentum * buffer + grad`, and steps along it: the zig-zags
#   cancel out, the steady direction accumulates.
# * **Adam** divides each coordinate's step by a running root-mean-square of
#   its gradients, so every direction moves at about the same speed, and
#   corrects the bias of running averages that start at zero.
#
# The **training loop** strings everything together, for every batch: clear the
# gradients, compute the loss, backpropagate, step. A **learning-rate
# schedule** lowers `lr` over the epochs, and **gradient clipping** bounds a
# step when a gradient is unusually large.
#
# Read along in `tinytorch/optim/optimizer.py` (parameter groups and state),
# `tinytorch/optim/sgd.py`, `tinytorch/optim/adam.py`,
# `tinytorch/optim/lr_scheduler.py`, `tinytorch/nn/utils/clip_grad.py` and
# `tinytorch/training.py`.

# %%

import matplotlib.pyplot as plt
import numpy as np

import tinytorch
from tinytorch import nn, optim
from tinytorch.datasets import load_digits
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.models import digits_mlp
from tinytorch.training import evaluate, train_epoch


# %% [markdown]
# ## Where you write code
# Six functions; the stub's message and the docstring above each say what to
# build, and here is a worked example of each:
#
# - `SGD.update` in `tinytorch/optim/sgd.py`: one step for one parameter. With
#   lr 0.1 and momentum 0.9, a weight 1.0 whose gradient is 2.0 twice in a row
#   moves to 1.0 - 0.1 * 2.0 = 0.8 (the buffer starts as the gradient, 2.0),
#   then to 0.8 - 0.1 * (0.9 * 2.0 + 2.0) = 0.42.
# - `Adam.update` in `tinytorch/optim/adam.py`: on the first step the bias
#   corrections turn the running averages back into g and g^2, so the step is
#   lr * g / (|g| + eps), about lr against the gradient's sign: with lr 0.1 a
#   weight 1.0 moves to 0.9 (to 8 digits) for a gradient of 2.0 and for one of 2000.
# - `StepLR.get_lr` and `CosineAnnealingLR.get_lr` in
#   `tinytorch/optim/lr_scheduler.py`: the rate for the current epoch. StepLR
#   with base rate 0.1, step_size 20, gamma 0.3 gives 0.1 for epochs 0-19,
#   0.03 for epochs 20-39, 0.009 after; CosineAnnealingLR with T_max 60 and
#   eta_min 0 gives 0.1 at epoch 0, 0.05 at epoch 30 and 0 at epoch 60.
# - `clip_grad_norm_` and `clip_grad_value_` in `tinytorch/nn/utils/clip_grad.py`:
#   gradients (3, 4) and (12,) have a joint L2 norm of 13; with max_norm 1
#   every element is multiplied by about 1/13, and 13 is returned. Clipping
#   the values at 5 instead turns (3, 4) and (12,) into (3, 4) and (5,).
#
# The experiments below draw figures from your code; compare them with the
# text. `tinytorch grade 04` runs this lab's tests on your code, and the cell
# below asks the source where the six are (in your copy: the
# `NotImplementedError("Lab 04: ...")` each became).

# %%
print_solution_regions(4)

# %% [markdown]
# ## An optimizer holds parameters, settings and state
# Settings live in *parameter groups* (so that, say, biases can skip weight
# decay); per-parameter state (the momentum buffer, Adam's averages) lives in
# `optimizer.state`, created on the first step.

# %%
weight = tinytorch.tensor([1.0, -2.0], requires_grad=True)
optimizer = optim.SGD([weight], lr=0.1, momentum=0.9)
print(optimizer)
(weight * weight).sum().backward()
optimizer.step()
print("after one step:", weight.array, " state keys:", list(optimizer.state[weight]))

# %% [markdown]
# ## Experiment 1: paths across a narrow valley
# The loss `f(x, y) = x^2 / 2 + 12.5 y^2` is 25 times steeper across (y) than
# along (x). Each optimizer starts at the same point and takes 60 steps.

# %%
def valley(point):
    return 0.5 * point[0] ** 2 + 12.5 * point[1] ** 2


def follow(make_optimizer, steps: int = 60) -> np.ndarray:
    point = tinytorch.tensor([-9.0, 1.5], dtype=tinytorch.float64, requires_grad=True)
    walker = make_optimizer([point])
    path = [point.array.copy()]
    for _ in range(steps):
        walker.zero_grad()
        valley(point).backward()
        walker.step()
        path.append(point.array.copy())
    return np.array(path)


contenders = {
    "SGD lr=0.05": lambda p: optim.SGD(p, lr=0.05),
    "SGD lr=0.05, momentum 0.8": lambda p: optim.SGD(p, lr=0.05, momentum=0.8),
    "SGD lr=0.05, Nesterov 0.8": lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True),
    "Adam lr=0.5": lambda p: optim.Adam(p, lr=0.5),
}
paths = {name: follow(make) for name, make in contenders.items()}
for name, path in paths.items():
    print(f"{name:28} final loss {valley(path[-1]):.2e}")

figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
grid_x, grid_y = np.meshgrid(np.linspace(-10, 3, 200), np.linspace(-2, 2, 200))
left.contour(grid_x, grid_y, valley([grid_x, grid_y]), levels=np.logspace(-1, 2, 12), colors="0.8")
for name, path in paths.items():
    left.plot(path[:, 0], path[:, 1], ".-", markersize=3, label=name)
    right.semilogy([valley(point) for point in path], label=name)
left.set_title("paths from (-9, 1.5)")
left.legend(fontsize=8)
right.set_xlabel("step")
right.set_ylabel("loss")
show(figure, "04_valley_paths")

# %% [markdown]
# What to look for: plain SGD settles the steep y direction within a few
# steps and then crawls along x, its loss falling by the same small factor
# every step; momentum carries speed along the valley floor (overshooting,
# then turning back); Adam moves both coordinates at a similar pace from the
# start. Plain SGD cannot simply take bigger steps, because its learning
# rate is capped by the steep direction: above 2 / 25 = 0.08
# the y coordinate overshoots further each step and the loss diverges.
# Check it:

# %%
too_fast = follow(lambda p: optim.SGD(p, lr=0.085), steps=30)
print("SGD lr=0.085: |y| over the steps", np.abs(too_fast[::6, 1]).round(2))
assert abs(too_fast[-1, 1]) > abs(too_fast[0, 1])

# %% [markdown]
# ## Experiment 2: learning-rate schedules
# A scheduler rewrites `lr` in every parameter group once per epoch
# (`scheduler.step()` after the epoch's optimizer steps).

# %%
def schedule(make_scheduler, epochs: int = 60) -> list[float]:
    holder = optim.SGD([tinytorch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = make_scheduler(holder)
    rates = []
    for _ in range(epochs):
        rates.append(scheduler.get_last_lr()[0])
        holder.step()
        scheduler.step()
    return rates


figure, axis = plt.subplots(figsize=(6, 3))
axis.plot(schedule(lambda o: optim.lr_scheduler.StepLR(o, step_size=20, gamma=0.3)),
          label="StepLR(step_size=20, gamma=0.3)")
axis.plot(schedule(lambda o: optim.lr_scheduler.CosineAnnealingLR(o, T_max=60)),
          label="CosineAnnealingLR(T_max=60)")
axis.set_xlabel("epoch")
axis.set_ylabel("learning rate")
axis.legend()
show(figure, "04_schedules")

# %% [markdown]
# ## Gradient clipping
# `clip_grad_norm_` rescales all gradients together so that their joint L2
# norm is at most `max_norm`, and returns the norm it found.

# %%
parameters = [tinytorch.randn(3, requires_grad=True), tinytorch.randn(2, 2, requires_grad=True)]
(parameters[0].sum() * 30 + (parameters[1] ** 2).sum() * 10).backward()
found = nn.utils.clip_grad_norm_(parameters, max_norm=1.0)
after = np.sqrt(sum((p.grad.array.astype(np.float64) ** 2).sum() for p in parameters))
print(f"norm before: {float(found):.2f}, after: {after:.4f}")
assert after <= 1.0 + 1e-5

# %% [markdown]
# ## Experiment 3: training on handwritten digits
# `train_epoch` in `tinytorch/training.py` is the loop of this lab: one pass
# over the batches, one optimizer step per batch. Three optimizers train the
# same MLP (same initial weights, same batches) for a few epochs. The batches
# are cut by hand here, a shuffled order sliced 32 at a time: Lab 05 writes the
# `DataLoader` that does this for any dataset.

# %%
def batches(images, labels, batch_size: int, seed: int | None = None) -> list:
    """(images, labels) pairs of ``batch_size`` examples, shuffled when a seed is given."""
    order = np.arange(len(labels.array))
    if seed is not None:
        order = np.random.default_rng(seed).permutation(order)
    return [(tinytorch.tensor(images.array[part]), tinytorch.tensor(labels.array[part]))
            for part in np.array_split(order, range(batch_size, len(order), batch_size))]


train_images, train_labels = load_digits("train")
test_images, test_labels = load_digits("test")
test_batches = batches(test_images, test_labels, batch_size=256)
epochs = 6
runs = {
    "SGD lr=0.05": lambda p: optim.SGD(p, lr=0.05),
    "SGD lr=0.05, momentum 0.9": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Adam lr=1e-3": lambda p: optim.Adam(p, lr=1e-3),
}
curves = {}
for name, make_optimizer in runs.items():
    tinytorch.manual_seed(0)
    model = digits_mlp()
    learner = make_optimizer(model.parameters())
    losses, accuracies = [], []
    for epoch in range(epochs):
        train_batches = batches(train_images, train_labels, batch_size=32, seed=epoch)
        losses.append(train_epoch(model, train_batches, nn.CrossEntropyLoss(), learner,
                                  show_progress=False))
        accuracies.append(evaluate(model, test_batches))
    curves[name] = (losses, accuracies)
    print(f"{name:28} loss {losses[0]:.3f} -> {losses[-1]:.3f}, "
          f"test accuracy {accuracies[-1]:.1%}")

figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for name, (losses, accuracies) in curves.items():
    left.plot(range(1, epochs + 1), losses, "o-", label=name)
    right.plot(range(1, epochs + 1), accuracies, "o-", label=name)
left.set_xlabel("epoch")
left.set_ylabel("mean training loss")
left.legend()
right.set_xlabel("epoch")
right.set_ylabel("test accuracy")
show(figure, "04_digits_training")

# %% [markdown]
# ## Exercise ideas
# 1. In Experiment 1, find the largest momentum for which SGD still converges
#    at lr=0.05. What does the path look like just below it?
# 2. Add `weight_decay=1e-2` to Adam and to AdamW in Experiment 3 and compare
#    the final weight norms. Why do they differ?
# 3. Add a `CosineAnnealingLR` to the momentum run of Experiment 3 and
#    compare the last epochs' losses.
