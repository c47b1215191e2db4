"""The bundled digits dataset: contents, split, determinism, safe loading."""
from importlib import resources

import numpy as np
import pytest

import tinytorch
from tinytorch.datasets import Digits, load_digits
from tinytorch.utils.data import DataLoader


def raw_npz():
    with resources.files("tinytorch.datasets").joinpath("digits.npz").open("rb") as file:
        with np.load(file, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}


def test_file_loads_without_pickle_and_is_small():
    arrays = raw_npz()
    assert arrays["images"].dtype == np.uint8 and arrays["images"].shape == (1797, 8, 8)
    assert arrays["labels"].shape == (1797,)
    assert all(array.dtype != object for array in arrays.values())
    assert len(resources.files("tinytorch.datasets").joinpath("digits.npz").read_bytes()) < 100_000


@pytest.mark.parametrize("split, count", [("train", 1437), ("test", 360), ("all", 1797)])
def test_shapes_dtypes_and_range(split, count):
    images, labels = load_digits(split)
    assert isinstance(images, tinytorch.Tensor) and isinstance(labels, tinytorch.Tensor)
    assert images.shape == (count, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (count,) and labels.dtype == np.int64
    assert images.array.min() == 0.0 and images.array.max() == 1.0
    # Pixels were whole numbers 0..16 before scaling: every value is k / 16 exactly.
    assert np.array_equal(images.array * 16, np.round(images.array * 16))
    assert set(np.unique(labels.array)) == set(range(10))


def test_split_is_disjoint_and_covers_all_images():
    arrays = raw_npz()
    train, test = arrays["train_indices"], arrays["test_indices"]
    assert len(np.intersect1d(train, test)) == 0
    assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(1797))


def test_split_images_match_the_full_set():
    all_images, all_labels = load_digits("all")
    test_images, test_labels = load_digits("test")
    chosen = raw_npz()["test_indices"]
    assert np.array_equal(test_images.array, all_images.array[chosen])
    assert np.array_equal(test_labels.array, all_labels.array[chosen])


def test_split_is_stratified():
    _, all_labels = load_digits("all")
    _, test_labels = load_digits("test")
    overall = np.bincount(all_labels.array, minlength=10)
    in_test = np.bincount(test_labels.array, minlength=10)
    # Every class gives 20% of its images to the test set, give or take one image.
    assert np.all(np.abs(in_test - overall * 360 / 1797) < 1)
    _, train_labels = load_digits("train")
    assert np.array_equal(np.bincount(train_labels.array, minlength=10) + in_test, overall)


def test_deterministic_and_fresh_tensors():
    first_images, first_labels = load_digits("train")
    second_images, second_labels = load_digits("train")
    assert np.array_equal(first_images.array, second_images.array)
    assert np.array_equal(first_labels.array, second_labels.array)
    first_images.array[0] = 5.0  # a caller editing its copy must not change the next load
    assert load_digits("train")[0].array.max() == 1.0


def test_known_images_are_in_place():
    images, labels = load_digits("all")
    assert labels.array[:10].tolist() == list(range(10))  # the UCI file starts 0, 1, ..., 9
    # The sum of all raw pixel values of the UCI set (exact: float64 sums of k/16).
    assert images.array.astype(np.float64).sum() * 16 == 561718.0


def test_bad_split_name():
    with pytest.raises(ValueError, match="split must be one of"):
        load_digits("validation")


def test_digits_dataset_and_loader():
    train, test = Digits(train=True), Digits(train=False)
    assert len(train) == 1437 and len(test) == 360
    image, label = train[0]
    assert image.shape == (1, 8, 8) and label.dtype == np.int64
    images, labels = next(iter(DataLoader(test, batch_size=32)))
    assert images.shape == (32, 1, 8, 8) and images.dtype == np.float32
    assert labels.dtype == np.int64
