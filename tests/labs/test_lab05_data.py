"""Lab 05 — data pipelines: the DataLoader's epoch order, its batches and collation.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 05 (the order of an epoch, shuffled or not; that order cut into
batches; examples stacked into a batch) on fixed datasets and hands over what
came out: the batches' labels, sizes, shapes and dtypes.  The lab's answer key
holds what the reference solution produces; tests/test_data.py holds the
reference to the rules themselves.  Every test that draws random numbers
seeds its generator first.  Nothing from later labs is used.
"""
import numpy as np
import pytest

import tinytorch
from tinytorch.app.labs import expect
from tinytorch.utils.data import DataLoader, Dataset, Subset, TensorDataset, default_collate


def numbered_dataset(n=10, features=3):
    """Row i of the inputs is filled with i, and label i is i: batches show their indices."""
    inputs = tinytorch.tensor(np.repeat(np.arange(n, dtype=np.float32)[:, None], features, 1))
    labels = tinytorch.tensor(np.arange(n, dtype=np.int64))
    return TensorDataset(inputs, labels)


class ItemDataset(Dataset):
    """No __getitems__: the loader must fetch item by item and collate."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"image": np.full((2, 2), i, dtype=np.float32), "label": i,
                "weight": float(i) / 2, "pair": (tinytorch.tensor([i, -i]), np.int32(i))}


def epoch_labels(loader):
    """The labels of each batch of one epoch, as lists of ints."""
    return [batch[1].array.tolist() for batch in loader]


def flat(batches):
    return [label for batch in batches for label in batch]


# ----- batching ------------------------------------------------------------------------------

@pytest.mark.parametrize("n, batch_size, drop_last", [
    pytest.param(10, 3, False, id="ten by three, keeping the short batch"),
    pytest.param(10, 3, True, id="ten by three, dropping the short batch"),
    pytest.param(9, 3, False, id="nine by three"),
    pytest.param(9, 3, True, id="nine by three with drop_last"),
    pytest.param(2, 5, False, id="a batch larger than the dataset"),
    pytest.param(2, 5, True, id="a batch larger than the dataset, dropped"),
    pytest.param(0, 4, False, id="an empty dataset"),
])
def test_batch_sizes_and_len(n, batch_size, drop_last):
    loader = DataLoader(numbered_dataset(n), batch_size=batch_size, drop_last=drop_last)
    expect.value([labels.shape[0] for _, labels in loader], what="the size of each batch")
    expect.value(len(loader), what="len(loader)")


def test_unshuffled_batches_are_in_order():
    loader = DataLoader(numbered_dataset(7), batch_size=3)
    expect.value(epoch_labels(loader), what="the labels of each batch")
    inputs, _ = next(iter(loader))
    expect.value(inputs.array[:, 0], what="the first column of the first batch's inputs")


def test_batches_keep_dtypes_and_shapes():
    images = tinytorch.zeros(10, 1, 8, 8)
    labels = tinytorch.tensor(np.arange(10) % 3)
    images_batch, labels_batch = next(iter(DataLoader(TensorDataset(images, labels), batch_size=4)))
    expect.value((str(images_batch.dtype), images_batch.shape), what="the images' dtype and shape")
    expect.value((str(labels_batch.dtype), labels_batch.shape), what="the labels' dtype and shape")
    expect.value((type(images_batch).__name__, images_batch.requires_grad),
                 what="the images' type and requires_grad")


# ----- shuffling -------------------------------------------------------------------------------

def test_shuffle_visits_every_index_once_per_epoch():
    tinytorch.manual_seed(0)
    loader = DataLoader(numbered_dataset(23), batch_size=5, shuffle=True)
    epochs = [flat(epoch_labels(loader)) for _ in range(3)]
    expect.value([sorted(seen) for seen in epochs], what="each epoch's labels, sorted")
    expect.value([seen == sorted(seen) for seen in epochs],
                 what="whether each epoch came out in the unshuffled order")
    expect.value(len({tuple(seen) for seen in epochs}), what="the number of different orders")


def test_shuffle_with_drop_last_visits_distinct_indices():
    tinytorch.manual_seed(1)
    loader = DataLoader(numbered_dataset(23), batch_size=5, shuffle=True, drop_last=True)
    batches = epoch_labels(loader)
    expect.value([len(batch) for batch in batches], what="the size of each batch")
    expect.value(len(set(flat(batches))), what="the number of distinct labels in the epoch")


def test_manual_seed_makes_the_order_repeat():
    loader = DataLoader(numbered_dataset(50), batch_size=8, shuffle=True)
    tinytorch.manual_seed(123)
    first = [epoch_labels(loader), epoch_labels(loader)]
    tinytorch.manual_seed(123)
    second = [epoch_labels(loader), epoch_labels(loader)]
    expect.value(first == second, what="whether the same seed gave the same two epochs")
    expect.value(first[0] == first[1], what="whether the two epochs of one run had the same order")


def test_explicit_generator_is_used_and_independent_of_the_global_one():
    dataset = numbered_dataset(50)
    loader_a = DataLoader(dataset, batch_size=8, shuffle=True, generator=tinytorch.Generator(7))
    loader_b = DataLoader(dataset, batch_size=8, shuffle=True, generator=tinytorch.Generator(7))
    tinytorch.manual_seed(1)
    order_a = epoch_labels(loader_a)
    tinytorch.manual_seed(2)  # must not matter
    order_b = epoch_labels(loader_b)
    other = DataLoader(dataset, batch_size=8, shuffle=True, generator=tinytorch.Generator(8))
    expect.value(order_a == order_b, what="whether two loaders with generators seeded 7 agree "
                                          "under different global seeds")
    expect.value(epoch_labels(other) == order_a,
                 what="whether a generator seeded 8 gives the same order")
    expect.value(sorted(flat(order_a)), what="the labels of the seeded epoch, sorted")


def test_order_is_drawn_from_the_global_generator_when_the_epoch_starts():
    loader = DataLoader(numbered_dataset(30), batch_size=30, shuffle=True)
    tinytorch.manual_seed(5)  # seeded after the loader was made: still decides the order
    expect.value(epoch_labels(loader), what="the order of the epoch after manual_seed(5)")


# ----- item datasets and default_collate --------------------------------------------------------

def test_item_dataset_is_collated_field_by_field():
    loader = DataLoader(ItemDataset(5), batch_size=2)
    expect.value(len(loader), what="len(loader)")
    batches = list(loader)
    first = batches[0]
    expect.value(tuple(sorted(first)), what="the fields of a batch")
    expect.value({"image": first["image"], "label": first["label"], "weight": first["weight"]},
                 what="the first batch's image, label and weight fields")
    expect.value({key: (str(first[key].dtype), first[key].shape)
                  for key in ("image", "label", "weight")},
                 what="the dtype and shape of those fields")
    pair_tensor, pair_scalar = first["pair"]
    expect.value((type(first["pair"]).__name__, pair_tensor, pair_scalar),
                 what="the pair field: its type and its two parts")
    expect.value((str(pair_tensor.dtype), str(pair_scalar.dtype)), what="the pair's dtypes")
    expect.value(batches[-1]["label"], what="the last batch's labels")


def test_shuffled_item_dataset_covers_every_index():
    tinytorch.manual_seed(0)
    loader = DataLoader(ItemDataset(11), batch_size=4, shuffle=True)
    seen = [label for batch in loader for label in batch["label"].array.tolist()]
    expect.value(sorted(seen), what="the epoch's labels, sorted")
    expect.value(seen == sorted(seen), what="whether the epoch came out in the unshuffled order")


def test_default_collate_stacks_tensors_keeping_their_dtype():
    stacked = default_collate([tinytorch.tensor([1.0, 2.0]), tinytorch.tensor([3.0, 4.0])])
    expect.value(stacked, what="the stacked tensor")
    expect.value((str(stacked.dtype), stacked.requires_grad), what="its dtype and requires_grad")


def test_default_collate_stacks_numpy_arrays_into_a_tensor():
    stacked = default_collate([np.arange(3, dtype=np.int32), np.arange(3, 6, dtype=np.int32)])
    expect.value(stacked, what="the stacked arrays")
    expect.value((type(stacked).__name__, str(stacked.dtype)), what="the result's type and dtype")


@pytest.mark.parametrize("examples", [
    pytest.param([True, False, True], id="bools"),
    pytest.param([1, 2, 3], id="Python ints"),
    pytest.param([0.5, 1.5, 2.5], id="Python floats"),
    pytest.param([np.float32(1), np.float32(2), np.float32(3)], id="numpy float32 scalars"),
])
def test_a_list_of_numbers_batches_into_tensors(examples):
    batches = list(DataLoader(examples, batch_size=2))
    expect.value(batches, what="the batches")
    expect.value([str(batch.dtype) for batch in batches], what="their dtypes")


def test_strings_stay_a_list():
    batches = list(DataLoader(["a", "b", "c"], batch_size=2))
    expect.value([(type(batch).__name__, tuple(batch)) for batch in batches],
                 what="each batch's type and strings")


def test_list_examples_are_collated_field_by_field_into_a_list():
    batches = list(DataLoader([[1, 2.0], [3, 4.0], [5, 6.0]], batch_size=2))
    first = batches[0]
    expect.value((type(first).__name__, len(first)), what="the first batch's type and length")
    expect.value(list(first), what="its fields")
    expect.value([str(field.dtype) for field in first], what="its fields' dtypes")


def test_default_collate_refuses_tensors_of_different_sizes():
    expect.value(default_collate([tinytorch.zeros(3), tinytorch.ones(3)]),
                 what="two tensors of the same size, stacked")
    with expect.raises(RuntimeError, match=r"equal size.*\[2\] at entry 0 and \[3\] at entry 1",
                       what="the error for tensors of sizes 2 and 3"):
        default_collate([tinytorch.zeros(2), tinytorch.zeros(3)])


def test_default_collate_refuses_what_it_cannot_batch():
    expect.value(default_collate([np.zeros(2), np.ones(2)]), what="two arrays, stacked")
    with expect.raises(TypeError, match="found NoneType", what="the error for a batch of None"):
        default_collate([None, None])


def test_custom_collate_fn_receives_examples():
    received = []
    loader = DataLoader(numbered_dataset(4), batch_size=2,
                        collate_fn=lambda examples: received.append(examples) or len(examples))
    expect.value(list(loader), what="what the collate_fn returned for each batch")
    expect.value([len(examples) for examples in received],
                 what="the number of examples each call received")
    expect.value([[example[1] for example in examples] for examples in received],
                 what="the labels of the examples each call received")


def test_subset_batches_through_the_loader():
    subset = Subset(numbered_dataset(10), [9, 2, 5, 7])
    expect.value(epoch_labels(DataLoader(subset, batch_size=3)), what="the subset's batches")
    item_subset = Subset(ItemDataset(10), [3, 1])
    batch = next(iter(DataLoader(item_subset, batch_size=2)))
    expect.value(batch["label"], what="the labels of the item subset's batch")
