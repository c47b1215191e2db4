"""Lab 05, graded by the autograder only: the DataLoader on other datasets, batch sizes,
seeds and example structures.

Probes (tinytorch.app.labs.expect): each test runs the loader (its epoch order,
its batches, its collation) on fixed inputs and hands over what came out; the
hidden answer key holds the reference's results.  Every test that draws
random numbers seeds its generator first.
"""
from collections import namedtuple

import numpy as np
import pytest

import tinytorch
from tinytorch.app.labs import expect
from tinytorch.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate


def numbered_dataset(n=10, features=2):
    """Row i of the inputs is filled with i, and label i is i: batches show their indices."""
    inputs = tinytorch.tensor(np.repeat(np.arange(n, dtype=np.float64)[:, None], features, 1))
    labels = tinytorch.tensor(np.arange(n, dtype=np.int64))
    return TensorDataset(inputs, labels)


class Items(Dataset):
    """The examples ``make(i)``, fetched one at a time (no __getitems__)."""

    def __init__(self, n, make):
        self.n, self.make = n, make

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i)


def epoch_labels(loader):
    """The labels of each batch of one epoch, as lists of ints."""
    return [batch[1].array.tolist() for batch in loader]


Point = namedtuple("Point", ["position", "mass"])


# ----- batching -----------------------------------------------------------------------------

@pytest.mark.parametrize("n, batch_size, drop_last", [
    pytest.param(10, 4, False, id="ten by four"),
    pytest.param(10, 4, True, id="ten by four with drop_last"),
    pytest.param(13, 5, True, id="thirteen by five with drop_last"),
    pytest.param(7, 7, True, id="one full batch with drop_last"),
    pytest.param(1, 1, False, id="one example in batches of one"),
    pytest.param(5, 6, False, id="a batch one larger than the dataset"),
    pytest.param(6, 1, True, id="batches of one with drop_last"),
])
def test_batches_when_the_batch_size_does_not_divide_the_dataset(n, batch_size, drop_last):
    loader = DataLoader(numbered_dataset(n), batch_size=batch_size, drop_last=drop_last)
    expect.value(epoch_labels(loader), what="the labels of each batch")
    expect.value(len(loader), what="len(loader)")


@pytest.mark.parametrize("drop_last", [pytest.param(False, id="keeping the short batch"),
                                       pytest.param(True, id="dropping the short batch")])
def test_batch_indices_cut_a_given_order(drop_last):
    loader = DataLoader(numbered_dataset(7), batch_size=3, drop_last=drop_last)
    pieces = loader.batch_indices(np.array([4, 0, 3, 1, 2, 6, 5]))
    expect.value([piece.tolist() for piece in pieces], what="the indices of each batch")


def test_epoch_order_without_shuffle():
    order = DataLoader(numbered_dataset(6), batch_size=4).epoch_order()
    expect.value(order, what="the order of the epoch")
    expect.value(str(order.dtype), what="its dtype")


def test_a_numpy_array_as_a_dataset():
    data = np.arange(12, dtype=np.int16).reshape(4, 3)
    batches = list(DataLoader(data, batch_size=3))
    expect.value(batches, what="the batches of rows")
    expect.value([str(batch.dtype) for batch in batches], what="their dtypes")


# ----- shuffling ----------------------------------------------------------------------------

def test_epoch_order_from_a_seeded_generator():
    loader = DataLoader(numbered_dataset(12), batch_size=5, shuffle=True,
                        generator=tinytorch.Generator(3))
    expect.value([loader.epoch_order(), loader.epoch_order()],
                 what="the orders of two epochs from a generator seeded 3")


def test_two_epochs_after_a_global_seed():
    tinytorch.manual_seed(11)
    loader = DataLoader(numbered_dataset(10), batch_size=4, shuffle=True)
    expect.value([epoch_labels(loader), epoch_labels(loader)],
                 what="the batches of two epochs after manual_seed(11)")


def test_the_order_is_drawn_when_the_epoch_starts():
    loader = DataLoader(numbered_dataset(9), batch_size=2, shuffle=True)
    tinytorch.manual_seed(5)
    batches = iter(loader)
    tinytorch.manual_seed(6)  # after the epoch started: must not matter
    expect.value([labels.array.tolist() for _, labels in batches],
                 what="the batches of the epoch started after manual_seed(5)")


def test_shuffle_with_drop_last_from_a_generator():
    loader = DataLoader(numbered_dataset(10), batch_size=4, shuffle=True, drop_last=True,
                        generator=tinytorch.Generator(21))
    epochs = [epoch_labels(loader) for _ in range(3)]
    expect.value(epochs, what="the batches of three epochs")
    expect.value([len(set(sum(epoch, []))) for epoch in epochs],
                 what="the number of distinct labels in each epoch")


def test_batches_of_one_shuffled():
    loader = DataLoader(numbered_dataset(5), batch_size=1, shuffle=True,
                        generator=tinytorch.Generator(0))
    expect.value(epoch_labels(loader), what="the batches")


def test_the_batch_path_and_the_item_path_visit_the_same_order():
    dataset = numbered_dataset(11)
    by_batch = DataLoader(dataset, batch_size=4, shuffle=True, generator=tinytorch.Generator(9))
    by_item = DataLoader(Items(11, lambda i: dataset[i]), batch_size=4, shuffle=True,
                         generator=tinytorch.Generator(9))
    expect.value(epoch_labels(by_batch), what="the batches of a TensorDataset")
    expect.value(epoch_labels(by_item), what="the batches of the same examples fetched one by one")


def test_a_shuffled_subset():
    subset = Subset(numbered_dataset(20), [19, 3, 7, 11, 2, 8, 15])
    loader = DataLoader(subset, batch_size=3, shuffle=True, generator=tinytorch.Generator(4))
    batches = epoch_labels(loader)
    expect.value(batches, what="the batches of the shuffled subset")
    expect.value(sorted(sum(batches, [])), what="their labels, sorted")


# ----- collation ----------------------------------------------------------------------------

def test_nested_dicts_and_tuples_are_collated_field_by_field():
    def example(i):
        return {"x": (np.array([i, 2.0 * i]), {"id": i, "name": f"item {i}"}),
                "y": np.int64(10 + i)}

    batch = next(iter(DataLoader(Items(5, example), batch_size=3)))
    x, meta = batch["x"]
    expect.value((type(batch).__name__, tuple(sorted(batch)), type(batch["x"]).__name__,
                  type(meta).__name__), what="the types and keys of the batch's structure")
    expect.value(x, what="the stacked arrays")
    expect.value((str(x.dtype), x.shape), what="their dtype and shape")
    expect.value((meta["id"], str(meta["id"].dtype)), what="the collated ids and their dtype")
    expect.value(tuple(meta["name"]), what="the names, kept as a list")
    expect.value((batch["y"], str(batch["y"].dtype)), what="the collated y and its dtype")


def test_namedtuple_examples_stay_namedtuples():
    def example(i):
        return Point(tinytorch.tensor(np.array([[i, -i]], dtype=np.float32)), 0.25 * i)

    batches = list(DataLoader(Items(3, example), batch_size=2))
    expect.value([type(batch).__name__ for batch in batches], what="each batch's type")
    expect.value([batch.position for batch in batches], what="the stacked positions")
    expect.value([(batch.position.shape, str(batch.position.dtype)) for batch in batches],
                 what="their shapes and dtypes")
    expect.value([batch.mass for batch in batches], what="the masses")


@pytest.mark.parametrize("examples", [
    pytest.param([tinytorch.tensor(np.array([1.0, 2.0])), tinytorch.tensor(np.array([3.0, 4.0]))],
                 id="float64 tensors"),
    pytest.param([tinytorch.tensor(np.array(1.5)), tinytorch.tensor(np.array(-2.0))],
                 id="zero-dimensional tensors"),
    pytest.param([np.arange(6, dtype=np.uint8).reshape(2, 3), np.ones((2, 3), dtype=np.uint8)],
                 id="uint8 matrices"),
    pytest.param([np.array([True, False])] * 3, id="boolean arrays"),
])
def test_default_collate_stacks_keeping_the_dtype(examples):
    stacked = default_collate(examples)
    expect.value(stacked, what="the stacked batch")
    expect.value((stacked.shape, str(stacked.dtype)), what="its shape and dtype")


def test_a_batch_of_one_is_a_stacked_copy():
    example = tinytorch.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]))
    batch = default_collate([example])
    expect.value(batch.shape, what="the batch's shape")
    batch.array[...] = 0.0
    expect.value(example, what="the example after the batch was overwritten")
