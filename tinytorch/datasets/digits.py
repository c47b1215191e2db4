"""The digits dataset: 1,797 handwritten digits of 8x8 pixels, shipped in the package.

The data path of this project starts here.  The images are the UCI "Optical
Recognition of Handwritten Digits" test set (E. Alpaydin and C. Kaynak, 1998,
CC BY 4.0; see DIGITS.md): each is a 32x32 bitmap of a digit written by hand,
reduced to 8x8 by counting the ink pixels in each 4x4 block, so every pixel is
a whole number from 0 (blank) to 16 (fully inked).

Why such a small dataset?  It trains in seconds on a laptop with a pure-numpy
framework, it needs no download (the file is 49 KB and lives in the package),
and an 8x8 image fits, with a small network, into the RAM of a microcontroller,
which is where this project's models end up.

``digits.npz`` stores the pixels as uint8, the labels, and a *fixed*
train/test split (1,437 / 360 images, stratified by class), so every student's
test accuracy is measured on the same 360 images.  ``load_digits`` turns them
into what a network wants:

* images: float32, shape [N, 1, 8, 8] (one channel, as ``Conv2d`` expects),
  scaled to [0, 1] by dividing by 16, the largest pixel value;
* labels: int64, shape [N], the class indices ``cross_entropy`` expects.

The file is read with ``allow_pickle=False``: loading data must never be able
to run code.
"""
from __future__ import annotations

import functools
from importlib import resources

import numpy as np

from tinytorch.tensor import Tensor
from tinytorch.utils.data.dataset import TensorDataset

MAX_PIXEL_VALUE = 16
SPLITS = ("train", "test", "all")
CLASSES = tuple(str(digit) for digit in range(10))


@functools.lru_cache(maxsize=1)
def _read_npz() -> dict[str, np.ndarray]:
    """The arrays of ``digits.npz``, read once per process (they are never modified)."""
    with resources.files(__package__).joinpath("digits.npz").open("rb") as file:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    for array in arrays.values():
        array.setflags(write=False)  # shared by every caller: make accidental edits fail
    return arrays


def load_digits(split: str = "train") -> tuple[Tensor, Tensor]:
    """Images (float32 [N, 1, 8, 8] in [0, 1]) and labels (int64 [N]) of one split.

    ``split`` is ``"train"`` (1,437 images), ``"test"`` (360) or ``"all"``
    (1,797, in the original order).  Every call returns fresh tensors.
    """
    if split not in SPLITS:
        raise ValueError(f"load_digits: split must be one of {SPLITS}, got {split!r}")
    arrays = _read_npz()
    images, labels = arrays["images"], arrays["labels"]
    if split != "all":
        chosen = arrays[f"{split}_indices"]
        images, labels = images[chosen], labels[chosen]
    scaled = images.astype(np.float32)[:, np.newaxis, :, :] / np.float32(MAX_PIXEL_VALUE)
    return Tensor._wrap(scaled, False), Tensor._wrap(labels.astype(np.int64), False)


class Digits(TensorDataset):
    """The digits as a Dataset: ``Digits(train=True)[i]`` is ``(image, label)``."""

    classes = CLASSES

    def __init__(self, train: bool = True) -> None:
        images, labels = load_digits("train" if train else "test")
        super().__init__(images, labels)
        self.train = train

    @property
    def images(self) -> Tensor:
        return self.tensors[0]

    @property
    def labels(self) -> Tensor:
        return self.tensors[1]

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"Digits(split={split!r}, {len(self)} images of 1x8x8, 10 classes)"
