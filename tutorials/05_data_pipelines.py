# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 05 — Data pipelines
#
# A model learns from data it sees in **mini-batches**: a few dozen examples
# stacked into one tensor, processed in one vectorized pass. Two small
# abstractions get the data there:
#
# * a **Dataset** answers two questions, `len(dataset)` and `dataset[i]`
#   (one example, e.g. an `(image, label)` pair); `TensorDataset` wraps
#   tensors whose first dimension counts the examples;
# * a **DataLoader** turns a dataset into batches, one *epoch* at a time:
#   an order of the example indices (a fresh random permutation per epoch
#   when `shuffle=True`), cut into slices of `batch_size`, each slice fetched
#   and stacked (*collated*) into a batch.
#
# Shuffling is not a detail: batches that always contain the same neighbours
# give gradients with the same bias, epoch after epoch.
#
# Read along in `tinytorch/utils/data/dataset.py`,
# `tinytorch/utils/data/dataloader.py` and `tinytorch/datasets/digits.py`.

# %%

import matplotlib.pyplot as plt
import numpy as np

import tinytorch
import time
from tinytorch import nn, optim
from tinytorch.datasets.digits import Digits
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.models import digits_mlp
from tinytorch.training import evaluate, train_epoch
from tinytorch.utils.data import DataLoader, Dataset, TensorDataset


# %% [markdown]
# ## Where you write code
# Three functions, each with a worked example here (the stub's message and the
# docstring above it say what to build):
#
# - `_stack_tensors` in `tinytorch/utils/data/dataloader.py`: three float32
#   tensors of shape (8, 8) become one float32 tensor of shape (3, 8, 8), the
#   first example first.
# - `DataLoader.epoch_order`: for 5 examples, `[0 1 2 3 4]` without shuffling;
#   with `shuffle=True` a permutation such as `[3 0 4 1 2]`, a new one on
#   every call, drawn from the loader's generator.
# - `DataLoader.batch_indices`: the order `[3 0 4 1 2]` with `batch_size=2`
#   is cut into `[3 0]`, `[4 1]` and `[2]`; with `drop_last=True` the short
#   `[2]` is left out.
#
# `tinytorch grade 05` runs this lab's tests on your code. The cell below asks
# the source where the three are (in your copy: the
# `NotImplementedError("Lab 05: ...")` each became).

# %%
print_solution_regions(5)

# %% [markdown]
# ## The digits
# 8x8 grey-scale handwritten digits, 10 classes, already split into a training
# and a test set. The dataset says how big it is; we plot a few examples and
# count the classes.

# %%
train_set, test_set = Digits(train=True), Digits(train=False)
print(train_set, "|", test_set)
image, label = train_set[0]
print("one example:", image.shape, image.dtype, "label", label.item())

figure, axes = plt.subplots(3, 10, figsize=(10, 3.4))
for position, axis in enumerate(axes.flat):
    image, label = train_set[position]
    axis.imshow(image.array[0], cmap="gray_r")
    axis.set_title(str(label.item()), fontsize=9)
    axis.axis("off")
show(figure, "05_digits")

classes = np.arange(10)
figure, axis = plt.subplots(figsize=(6, 2.8))
for offset, (name, dataset) in zip((-0.2, 0.2), (("train", train_set), ("test", test_set))):
    counts = np.bincount(dataset.labels.array, minlength=10)
    axis.bar(classes + offset, counts, width=0.4, label=f"{name} ({len(dataset)})")
axis.set_xticks(classes)
axis.set_xlabel("digit")
axis.set_ylabel("examples")
axis.legend()
show(figure, "05_class_counts")

# %% [markdown]
# ## Batches
# The loader stacks examples along a new first dimension. The number of batches
# per epoch is ceil(N / batch_size), or floor with `drop_last=True`.

# %%
for drop_last in (False, True):
    loader = DataLoader(train_set, batch_size=100, shuffle=True, drop_last=drop_last)
    sizes = [len(labels) for _, labels in loader]
    print(f"drop_last={drop_last!s:5}: {len(loader)} batches, sizes {sizes[0]} ... {sizes[-1]}")
    expected = len(train_set) // 100 if drop_last else -(-len(train_set) // 100)
    assert len(loader) == len(sizes) == expected

images, labels = next(iter(DataLoader(train_set, batch_size=32)))
print("a batch:", images.shape, labels.shape)

# %% [markdown]
# Every epoch visits every example exactly once, in a new order; the global
# seed fixes those orders, bit for bit.

# %%
tinytorch.manual_seed(5)
loader = DataLoader(TensorDataset(tinytorch.arange(len(train_set))), batch_size=64, shuffle=True)
first, second = [np.concatenate([batch[0].array for batch in loader]) for _ in range(2)]
print("each epoch is a permutation:", np.array_equal(np.sort(first), np.arange(len(train_set))))
print("epochs differ:", not np.array_equal(first, second))
tinytorch.manual_seed(5)
again = np.concatenate([batch[0].array for batch in loader])
print("same seed, same first epoch:", np.array_equal(first, again))
assert np.array_equal(first, again) and not np.array_equal(first, second)

# %% [markdown]
# ## A dataset of your own: augmentation
# A `Dataset` subclass can compute each example when asked. This one shifts
# every digit by up to one pixel in a random direction: the same digit, a new
# picture every epoch. Without `__getitems__` the loader fetches examples one by
# one and collates them with `default_collate`.

# %%
class ShiftedDigits(Dataset):
    def __init__(self, base: Digits, seed: int = 0) -> None:
        self.base = base
        self.random = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int):
        image, label = self.base[index]
        shift = self.random.integers(-1, 2, size=2)
        moved = np.roll(image.array, tuple(shift), axis=(1, 2))
        return tinytorch.tensor(moved), label


shifted = ShiftedDigits(train_set)
figure, axes = plt.subplots(1, 6, figsize=(7, 1.6))
for axis in axes:
    axis.imshow(shifted[3][0].array[0], cmap="gray_r")
    axis.axis("off")
figure.suptitle("one training example, fetched six times")
show(figure, "05_augmentation")

# %% [markdown]
# ## Experiment 1: fetching a batch at once
# `TensorDataset` defines `__getitems__`, so the loader takes a whole batch with
# one numpy indexing operation per tensor instead of building and stacking
# `batch_size` small tensors. Measure both for a range of batch sizes.

# %%
class OneByOne(Dataset):
    """The same data without __getitems__: fetched and collated example by example."""

    def __init__(self, dataset: TensorDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return self.dataset[index]


def examples_per_second(dataset, batch_size: int) -> float:
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=True)
    began = time.perf_counter()
    for _ in loader:
        pass
    return len(dataset) / (time.perf_counter() - began)


batch_sizes = [1, 4, 16, 64, 256]
whole = [examples_per_second(train_set, size) for size in batch_sizes]
single = [examples_per_second(OneByOne(train_set), size) for size in batch_sizes]
for size, fast, slow in zip(batch_sizes, whole, single):
    print(f"batch {size:>3}: whole batches {fast:>10,.0f} examples/s, "
          f"one by one {slow:>9,.0f} examples/s ({fast / slow:4.1f}x)")

figure, axis = plt.subplots(figsize=(6, 3))
axis.loglog(batch_sizes, whole, "o-", label="TensorDataset (__getitems__)")
axis.loglog(batch_sizes, single, "o-", label="example by example + collate")
axis.set_xlabel("batch size")
axis.set_ylabel("examples per second")
axis.legend()
show(figure, "05_loading_speed")

# %% [markdown]
# ## Experiment 2: why shuffle
# Train the same MLP for two epochs on the training set sorted by label, once
# in that order and once shuffled, and look at the loss of every batch. In
# sorted order each stretch of batches holds a single digit: the network
# learns "always answer 3", then "always answer 4", ... and forgets.

# %%
order = np.argsort(train_set.labels.array, kind="stable")
sorted_set = TensorDataset(train_set.images[order], train_set.labels[order])
test_loader = DataLoader(test_set, batch_size=256)
batch_losses = {}
for shuffle in (False, True):
    tinytorch.manual_seed(0)
    model = digits_mlp()
    learner = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loss_function = nn.CrossEntropyLoss()
    history = []
    for epoch in range(2):
        for images, labels in DataLoader(sorted_set, batch_size=32, shuffle=shuffle):
            learner.zero_grad()
            batch_loss = loss_function(model(images), labels)
            batch_loss.backward()
            learner.step()
            history.append(batch_loss.item())
    batch_losses[shuffle] = history
    print(f"shuffle={shuffle!s:5}: test accuracy after 2 epochs "
          f"{evaluate(model, test_loader):.1%}")

figure, axis = plt.subplots(figsize=(8, 3))
for shuffle, history in batch_losses.items():
    axis.plot(history, label=f"shuffle={shuffle}", linewidth=1)
axis.set_xlabel("batch")
axis.set_ylabel("batch loss")
axis.set_yscale("log")
axis.legend()
show(figure, "05_shuffle_or_not")

# %% [markdown]
# ## Experiment 3: batch size
# Larger batches give smoother gradients and fewer, cheaper-per-example steps;
# smaller batches give more steps per epoch. Same model, same number of epochs:

# %%
results = []
for batch_size in (8, 32, 128, 512):
    tinytorch.manual_seed(0)
    model = digits_mlp()
    learner = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    began = time.perf_counter()
    for epoch in range(4):
        train_epoch(model, loader, nn.CrossEntropyLoss(), learner, show_progress=False)
    seconds = time.perf_counter() - began
    results.append((batch_size, evaluate(model, test_loader), seconds, 4 * len(loader)))
    print(f"batch {batch_size:>3}: {4 * len(loader):>4} steps, {seconds:5.2f} s, "
          f"test accuracy {results[-1][1]:.1%}")

figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3))
sizes = [row[0] for row in results]
left.semilogx(sizes, [row[1] for row in results], "o-", base=2)
left.set_xlabel("batch size")
left.set_ylabel("test accuracy after 4 epochs")
right.semilogx(sizes, [row[2] for row in results], "o-", base=2)
right.set_xlabel("batch size")
right.set_ylabel("training time (s)")
show(figure, "05_batch_size")

# %% [markdown]
# ## Exercise ideas
# 1. Use `random_split(train_set, [0.8, 0.2])` to hold out a validation set,
#    and pick the batch size of Experiment 3 on it rather than on the test set.
# 2. Train on `ShiftedDigits` for twice as many epochs as on the plain digits:
#    does the test accuracy improve?
# 3. Give the `DataLoader` a `generator=tinytorch.Generator(7)`: which
#    orders does it fix, and which stay tied to the global seed?
