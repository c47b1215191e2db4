"""Datasets: anything you can index to get one training example.

A *dataset* answers two questions: how many examples are there
(``len(dataset)``), and what is example ``i`` (``dataset[i]``, usually an
``(input, target)`` pair).  Everything else about feeding a network (batching,
shuffling, stacking examples into one tensor) is the ``DataLoader``'s job, so
a dataset stays simple enough to write in five lines:

    class Squares(Dataset):
        def __len__(self):
            return 100
        def __getitem__(self, i):
            return tinytorch.tensor([float(i)]), tinytorch.tensor([float(i * i)])

Calling Python once per example is fine for a dataset that decodes files, but
it is slow for data that is already in memory as a few big arrays.  Such a
dataset can also implement ``__getitems__(indices)``, which returns a whole
*batch* at once: ``TensorDataset`` does it with one fancy-indexing operation
per tensor (``images.array[[5, 17, 3]]``), which numpy runs in C.  In
TinyTorch, ``__getitems__`` returns the batch already collated (the same
structure as one example, with a leading batch dimension), and the
``DataLoader`` uses it whenever it is present.

``random_split`` divides a dataset into non-overlapping ``Subset`` views, for
example a validation set carved out of the training set.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, Sequence

import numpy as np

from tinytorch.random import Generator, numpy_generator
from tinytorch.tensor import Tensor


class Dataset(ABC):
    """A map from indices 0 .. len-1 to examples; subclasses define both methods."""

    @abstractmethod
    def __getitem__(self, index: int) -> Any:
        """Example number ``index``."""

    @abstractmethod
    def __len__(self) -> int:
        """The number of examples."""


def _take_rows(tensor: Tensor, index: Any) -> Tensor:
    """``tensor[index]``, without recording a graph unless the tensor needs one."""
    if tensor.requires_grad:
        return tensor[index]  # keep the autograd history, as PyTorch does
    return Tensor._wrap(tensor.array[index], False)


class TensorDataset(Dataset):
    """Examples are the rows of tensors: ``dataset[i] == (t[i] for t in tensors)``."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        for position, tensor in enumerate(tensors):
            if not isinstance(tensor, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {position} must be a Tensor, got "
                    f"{type(tensor).__name__} (use tinytorch.tensor(...) or tinytorch.from_numpy(...))"
                )
            if tensor.ndim == 0:
                raise ValueError(f"TensorDataset: argument {position} is a 0-d tensor; "
                                 "each tensor needs a first (example) dimension")
        sizes = [tensor.shape[0] for tensor in tensors]
        if any(size != sizes[0] for size in sizes):
            listing = ", ".join(f"tensor {i} has {size}" for i, size in enumerate(sizes))
            raise ValueError(f"TensorDataset: size mismatch between tensors: every tensor needs "
                             f"the same first dimension (number of examples), but {listing}")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(_take_rows(tensor, index) for tensor in self.tensors)

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, ...]:
        """A whole batch: one fancy-indexing copy per tensor, no per-example Python."""
        rows = np.asarray(indices, dtype=np.intp)
        return tuple(_take_rows(tensor, rows) for tensor in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order (a view, not a copy)."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices
        self._index_array = np.asarray(indices, dtype=np.intp)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: Sequence[int]) -> Any:
        inner = self._index_array[np.asarray(indices, dtype=np.intp)]
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        from tinytorch.utils.data.dataloader import default_collate

        return default_collate([self.dataset[int(i)] for i in inner])

    def __len__(self) -> int:
        return len(self.indices)


def _split_lengths(total: int, lengths: Sequence[float]) -> list[int]:
    """Whole lengths from whole lengths or from fractions that sum to 1."""
    if all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in lengths):
        whole = [int(n) for n in lengths]
    elif all(0 <= n <= 1 for n in lengths) and math.isclose(sum(lengths), 1.0, abs_tol=1e-9):
        whole = [math.floor(total * fraction) for fraction in lengths]
        # The examples lost to rounding down go one each to the splits, in order.
        for i in range(total - sum(whole)):
            whole[i % len(whole)] += 1
    else:
        raise ValueError(f"random_split: lengths must be whole numbers that sum to the dataset's "
                         f"length or fractions that sum to 1, got {list(lengths)}")
    if any(n < 0 for n in whole):
        raise ValueError(f"random_split: lengths must not be negative, got {whole}")
    if sum(whole) != total:
        raise ValueError(f"random_split: sum of input lengths ({sum(whole)}) does not equal "
                         f"the length of the input dataset ({total})")
    return whole


def random_split(dataset: Dataset, lengths: Sequence[float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths.

    ``lengths`` are whole numbers summing to ``len(dataset)`` or fractions
    summing to 1.  The shuffle draws from ``generator`` (default: the global
    one), so ``tinytorch.manual_seed`` makes the split repeat.
    """
    whole = _split_lengths(len(dataset), lengths)
    order = numpy_generator(generator).permutation(len(dataset)).tolist()
    subsets, start = [], 0
    for length in whole:
        subsets.append(Subset(dataset, order[start:start + length]))
        start += length
    return subsets
