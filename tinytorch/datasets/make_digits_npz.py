"""Maintainer script: write ``digits.npz`` once, from scikit-learn's bundled copy.

This is not part of the package's code path (nothing imports it) and students
never need to run it: ``digits.npz`` is committed next to it.  It exists so
that anyone can see, and repeat, exactly how the file was made:

    python tinytorch/datasets/make_digits_npz.py

It needs scikit-learn, only while it runs, for ``sklearn.datasets.load_digits``
(the UCI "Optical Recognition of Handwritten Digits" test set: 1,797 images of
8x8 pixels, values 0..16; see DIGITS.md for attribution and license).

The train/test split is made here, once, and stored in the file, so every run
of every lab on every machine trains and tests on the same images.  It is
stratified: each digit class contributes the same fraction (20%) of its images
to the test set, so both halves have the dataset's class balance.  With 1,797
images that is 360 test and 1,437 train images.  Twenty percent of each class is
rarely a whole number; the per-class test counts are rounded by the largest
remainder method, which keeps the total at exactly 360.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

SPLIT_SEED = 20240101
TEST_SIZE = 360  # 20% of 1,797, rounded up (the size scikit-learn's splitter would pick)
OUTPUT = Path(__file__).with_name("digits.npz")


def stratified_test_counts(class_counts: np.ndarray, test_size: int) -> np.ndarray:
    """How many test images each class gives: proportional, summing to ``test_size``."""
    exact = class_counts * test_size / class_counts.sum()
    counts = np.floor(exact).astype(np.int64)
    shortfall = test_size - int(counts.sum())
    # Largest remainders first; ties go to the smaller class label (a stable sort).
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[:shortfall]] += 1
    return counts


def stratified_split(labels: np.ndarray, test_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted train and test indices, each class split in proportion."""
    rng = np.random.default_rng(seed)
    classes, class_counts = np.unique(labels, return_counts=True)
    test_counts = stratified_test_counts(class_counts, test_size)
    test_parts = []
    for label, count in zip(classes, test_counts):
        members = np.flatnonzero(labels == label)
        test_parts.append(rng.permutation(members)[:count])
    test = np.sort(np.concatenate(test_parts))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train.astype(np.int64), test.astype(np.int64)


def main() -> None:
    from sklearn.datasets import load_digits  # the one place scikit-learn is used

    bunch = load_digits()
    pixels = bunch.images
    if pixels.shape != (1797, 8, 8) or pixels.min() < 0 or pixels.max() > 16:
        raise SystemExit(f"unexpected digits data: shape {pixels.shape}, "
                         f"range {pixels.min()}..{pixels.max()}")
    if not np.array_equal(pixels, np.round(pixels)):
        raise SystemExit("unexpected digits data: pixel values are not whole numbers")
    images = pixels.astype(np.uint8)
    labels = bunch.target.astype(np.uint8)
    train, test = stratified_split(labels, TEST_SIZE, SPLIT_SEED)

    buffer = io.BytesIO()  # through a file object: numpy must not rename anything
    np.savez_compressed(buffer, images=images, labels=labels, train_indices=train,
                        test_indices=test, split_seed=np.int64(SPLIT_SEED))
    OUTPUT.write_bytes(buffer.getvalue())
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes): "
          f"{len(train)} train, {len(test)} test images")


if __name__ == "__main__":
    main()
