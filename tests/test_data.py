"""utils.data: datasets, batching, shuffling, collation."""
import numpy as np
import pytest

import tinytorch
from tinytorch.utils.data import (
    DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split)


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
    return [batch[1].array.tolist() for batch in loader]


# ----- TensorDataset -----------------------------------------------------------------
def test_tensor_dataset_items_and_batch_fetch():
    dataset = numbered_dataset(5)
    assert len(dataset) == 5
    inputs, label = dataset[3]
    assert inputs.array.tolist() == [3.0, 3.0, 3.0] and label.item() == 3
    batch_inputs, batch_labels = dataset.__getitems__([4, 0, 2])
    assert batch_labels.array.tolist() == [4, 0, 2]
    assert batch_inputs.shape == (3, 3) and batch_inputs.array[0, 0] == 4.0


def test_tensor_dataset_size_mismatch_names_the_sizes():
    with pytest.raises(ValueError, match=r"size mismatch.*tensor 0 has 4.*tensor 1 has 3"):
        TensorDataset(tinytorch.zeros(4, 2), tinytorch.zeros(3))


def test_tensor_dataset_rejects_non_tensors_and_scalars():
    with pytest.raises(TypeError, match="must be a Tensor"):
        TensorDataset(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(tinytorch.tensor(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_dataset_is_abstract():
    class Incomplete(Dataset):
        def __getitem__(self, i):
            return i

    with pytest.raises(TypeError):
        Incomplete()


# ----- DataLoader: batching ------------------------------------------------------------
@pytest.mark.parametrize("n, batch_size, drop_last, expected_sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
    (0, 4, False, []),
])
def test_batch_sizes_and_len(n, batch_size, drop_last, expected_sizes):
    loader = DataLoader(numbered_dataset(n), batch_size=batch_size, drop_last=drop_last)
    sizes = [labels.shape[0] for _, labels in loader]
    assert sizes == expected_sizes
    assert len(loader) == len(expected_sizes)


def test_unshuffled_batches_are_in_order():
    loader = DataLoader(numbered_dataset(7), batch_size=3)
    assert epoch_labels(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    inputs, _ = next(iter(loader))
    assert inputs.array[:, 0].tolist() == [0.0, 1.0, 2.0]  # inputs and labels stay paired


def test_batches_keep_dtypes_and_shapes():
    images = tinytorch.zeros(10, 1, 8, 8)
    labels = tinytorch.tensor(np.arange(10) % 3)
    images_batch, labels_batch = next(iter(DataLoader(TensorDataset(images, labels), batch_size=4)))
    assert images_batch.dtype == np.float32 and images_batch.shape == (4, 1, 8, 8)
    assert labels_batch.dtype == np.int64 and labels_batch.shape == (4,)
    assert isinstance(images_batch, tinytorch.Tensor) and not images_batch.requires_grad


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None, "4"])
def test_batch_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(numbered_dataset(4), batch_size=bad)


def test_other_argument_errors():
    with pytest.raises(TypeError, match="generator must be a tinytorch.Generator"):
        DataLoader(numbered_dataset(4), shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        DataLoader(numbered_dataset(4), shuffle="yes")
    with pytest.raises(TypeError, match="__getitem__ and __len__"):
        DataLoader([1, 2, 3].__iter__())
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(numbered_dataset(4), collate_fn=3)


# ----- DataLoader: shuffling -------------------------------------------------------------
def test_shuffle_visits_every_index_once_per_epoch():
    loader = DataLoader(numbered_dataset(23), batch_size=5, shuffle=True)
    for _ in range(3):
        seen = [label for batch in epoch_labels(loader) for label in batch]
        assert sorted(seen) == list(range(23))
        assert seen != list(range(23))  # 1 chance in 23! of failing wrongly


def test_shuffle_with_drop_last_visits_distinct_indices():
    loader = DataLoader(numbered_dataset(23), batch_size=5, shuffle=True, drop_last=True)
    seen = [label for batch in epoch_labels(loader) for label in batch]
    assert len(seen) == 20 and len(set(seen)) == 20


def test_manual_seed_makes_the_order_repeat():
    loader = DataLoader(numbered_dataset(50), batch_size=8, shuffle=True)
    tinytorch.manual_seed(123)
    first = [epoch_labels(loader), epoch_labels(loader)]
    tinytorch.manual_seed(123)
    second = [epoch_labels(loader), epoch_labels(loader)]
    assert first == second
    assert first[0] != first[1]  # a fresh permutation each epoch


def test_explicit_generator_is_used_and_independent_of_the_global_one():
    dataset = numbered_dataset(50)
    loader_a = DataLoader(dataset, batch_size=8, shuffle=True, generator=tinytorch.Generator(7))
    loader_b = DataLoader(dataset, batch_size=8, shuffle=True, generator=tinytorch.Generator(7))
    tinytorch.manual_seed(1)
    order_a = epoch_labels(loader_a)
    tinytorch.manual_seed(2)  # must not matter
    assert epoch_labels(loader_b) == order_a
    other = DataLoader(dataset, batch_size=8, shuffle=True, generator=tinytorch.Generator(8))
    assert epoch_labels(other) != order_a


def test_order_is_drawn_from_the_global_generator_when_the_epoch_starts():
    loader = DataLoader(numbered_dataset(30), batch_size=30, shuffle=True)
    tinytorch.manual_seed(5)  # seeded after the loader was made: still decides the order
    expected = np.random.default_rng(5).permutation(30).tolist()
    assert epoch_labels(loader) == [expected]


# ----- item datasets and default_collate ---------------------------------------------------
def test_item_dataset_is_collated_field_by_field():
    loader = DataLoader(ItemDataset(5), batch_size=2)
    assert len(loader) == 3
    batches = list(loader)
    first = batches[0]
    assert set(first) == {"image", "label", "weight", "pair"}
    assert first["image"].shape == (2, 2, 2) and first["image"].dtype == np.float32
    assert first["image"].array[1, 0, 0] == 1.0
    assert first["label"].dtype == np.int64 and first["label"].array.tolist() == [0, 1]
    assert first["weight"].dtype == np.float64  # Python floats collate to float64, as in PyTorch
    pair_tensor, pair_scalar = first["pair"]
    assert pair_tensor.array.tolist() == [[0, 0], [1, -1]] and pair_tensor.dtype == np.int64
    assert pair_scalar.dtype == np.int32
    assert batches[-1]["label"].array.tolist() == [4]


def test_shuffled_item_dataset_covers_every_index():
    tinytorch.manual_seed(0)
    loader = DataLoader(ItemDataset(11), batch_size=4, shuffle=True)
    seen = [label for batch in loader for label in batch["label"].array.tolist()]
    assert sorted(seen) == list(range(11)) and seen != list(range(11))


def test_default_collate_rules():
    stacked = default_collate([tinytorch.tensor([1.0, 2.0]), tinytorch.tensor([3.0, 4.0])])
    assert stacked.array.tolist() == [[1.0, 2.0], [3.0, 4.0]] and stacked.dtype == np.float32
    assert default_collate([True, False]).dtype == np.bool_
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    assert default_collate(["a", "b"]) == ["a", "b"]
    as_list = default_collate([[1, 2.0], [3, 4.0]])
    assert isinstance(as_list, list) and as_list[0].array.tolist() == [1, 3]
    with pytest.raises(RuntimeError, match=r"equal size.*\[2\] at entry 0 and \[3\] at entry 1"):
        default_collate([tinytorch.zeros(2), tinytorch.zeros(3)])
    with pytest.raises(TypeError, match="found NoneType"):
        default_collate([None, None])


def test_default_collate_keeps_gradients_flowing():
    leaf = tinytorch.tensor([1.0, 2.0], requires_grad=True)
    batch = default_collate([leaf, leaf * 3])
    batch.sum().backward()
    assert leaf.grad.array.tolist() == [4.0, 4.0]


def test_custom_collate_fn_receives_examples():
    received = []
    loader = DataLoader(numbered_dataset(4), batch_size=2,
                        collate_fn=lambda examples: received.append(examples) or len(examples))
    assert list(loader) == [2, 2]
    assert len(received[0]) == 2 and received[0][1][1].item() == 1


# ----- Subset and random_split ---------------------------------------------------------------
def test_random_split_partitions_the_dataset():
    dataset = numbered_dataset(20)
    parts = random_split(dataset, [12, 5, 3], generator=tinytorch.Generator(0))
    assert [len(part) for part in parts] == [12, 5, 3]
    labels = [dataset_label for part in parts for dataset_label in
              [part[i][1].item() for i in range(len(part))]]
    assert sorted(labels) == list(range(20))
    again = random_split(dataset, [12, 5, 3], generator=tinytorch.Generator(0))
    assert again[0].indices == parts[0].indices


def test_random_split_fractions_and_errors():
    parts = random_split(numbered_dataset(10), [0.5, 0.3, 0.2])
    assert [len(part) for part in parts] == [5, 3, 2]
    parts = random_split(numbered_dataset(11), [0.5, 0.5])
    assert [len(part) for part in parts] == [6, 5]
    with pytest.raises(ValueError, match="does not equal the length"):
        random_split(numbered_dataset(10), [3, 3])


def test_subset_batches_through_the_loader():
    subset = Subset(numbered_dataset(10), [9, 2, 5, 7])
    assert subset[0][1].item() == 9
    assert epoch_labels(DataLoader(subset, batch_size=3)) == [[9, 2, 5], [7]]
    item_subset = Subset(ItemDataset(10), [3, 1])
    batch = next(iter(DataLoader(item_subset, batch_size=2)))
    assert batch["label"].array.tolist() == [3, 1]
