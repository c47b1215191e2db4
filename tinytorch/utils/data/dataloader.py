"""The DataLoader: from a dataset to a stream of shuffled mini-batches.

Training with stochastic gradient descent looks at the data in *mini-batches*:
a few dozen examples at a time, stacked into one tensor so that the network
processes them in a single vectorized pass.  Each *epoch* visits every
example exactly once, in a fresh random order; shuffling matters because
batches that always hold the same neighbours give gradients with the same
bias, epoch after epoch.

One epoch of ``DataLoader(dataset, batch_size=B, shuffle=True)`` is three steps:

1. an order of the N example indices: ``0, 1, ..., N-1``, or a random
   permutation of them drawn anew at the start of every epoch;
2. that order cut into consecutive slices of B indices; the last slice is
   shorter when B does not divide N, and ``drop_last=True`` drops it (useful
   when every batch must have the same size, e.g. for batch norm);
3. for each slice, one batch: ``dataset.__getitems__(slice)`` when the
   dataset can fetch a whole batch at once (``TensorDataset`` does, with one
   fancy-indexing copy per tensor), otherwise ``collate_fn([dataset[i] for i
   in slice])``, which stacks the examples (``default_collate``).

So ``len(loader)`` is ``ceil(N / B)``, or ``floor(N / B)`` with ``drop_last``.

Randomness comes from ``generator`` (a ``tinytorch.Generator``) or, when none
is given, from the global generator at the moment the epoch starts, so a
``tinytorch.manual_seed(0)`` at the top of a script fixes the order of every
epoch, bit for bit.  TinyTorch loads in the main process (there are no worker
processes): with data already in memory, one numpy indexing operation per
batch is faster than sending batches between processes would be.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Iterator

import numpy as np

from tinytorch.random import Generator, numpy_generator
from tinytorch.tensor import Tensor


def _stack_tensors(batch: Sequence[Tensor]) -> Tensor:
    """Stack same-shape tensors along a new first dimension."""
    shape = batch[0].shape
    for position, item in enumerate(batch):
        if item.shape != shape:
            raise RuntimeError(
                f"default_collate: stack expects each tensor to be equal size, but got "
                f"{list(shape)} at entry 0 and {list(item.shape)} at entry {position}"
            )
    if any(item.requires_grad for item in batch):
        from tinytorch.ops.shape import stack

        return stack(list(batch))  # through autograd, so gradients reach the examples
    # BEGIN SOLUTION lab 05
    stacked = np.stack([item.array for item in batch])
    return Tensor._wrap(stacked, False)
    # END SOLUTION


def default_collate(batch: Sequence[Any]) -> Any:
    """Combine a list of examples into one batch with a leading batch dimension.

    Follows PyTorch's rules: Tensors and numpy arrays are stacked into a
    Tensor (keeping their dtype); Python ints become int64, floats float64 and
    bools bool tensors; numpy scalars keep their dtype; strings stay a list;
    dicts, tuples and lists are collated field by field, keeping their type.
    """
    if len(batch) == 0:
        raise ValueError("default_collate: cannot collate an empty batch")
    first = batch[0]
    if isinstance(first, Tensor):
        return _stack_tensors(batch)
    if isinstance(first, np.ndarray):
        if first.dtype.kind not in "biufc":
            raise TypeError(f"default_collate: cannot make a tensor from numpy arrays of dtype "
                            f"{first.dtype}")
        return _stack_tensors([Tensor._wrap(np.asarray(item), False) for item in batch])
    if isinstance(first, np.generic):
        return Tensor._wrap(np.array(batch), False)
    if isinstance(first, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_), False)
    if isinstance(first, int):
        return Tensor._wrap(np.array(batch, dtype=np.int64), False)
    if isinstance(first, float):
        return Tensor._wrap(np.array(batch, dtype=np.float64), False)  # as PyTorch: float64
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        collated = {key: default_collate([example[key] for example in batch]) for key in first}
        try:
            return type(first)(collated)
        except TypeError:  # a mapping type that cannot be built from a dict
            return collated
    if isinstance(first, Sequence):
        size = len(first)
        if any(len(example) != size for example in batch):
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               "equal size")
        fields = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
            return type(first)(*fields)
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(first).__name__}"
    )


def _check_flag(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"DataLoader: {name} must be True or False, got {value!r}")
    return bool(value)


class DataLoader:
    """Iterate over ``dataset`` in (optionally shuffled) batches of ``batch_size``."""

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, *,
                 drop_last: bool = False, generator: Generator | None = None,
                 collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        if not (hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"DataLoader: dataset must define __getitem__ and __len__, got "
                            f"{type(dataset).__name__}")
        if (not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool)
                or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got "
                             f"{batch_size!r}")
        if generator is not None and not isinstance(generator, Generator):
            raise TypeError(f"DataLoader: generator must be a tinytorch.Generator, got "
                            f"{type(generator).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got "
                            f"{type(collate_fn).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = _check_flag("shuffle", shuffle)
        self.drop_last = _check_flag("drop_last", drop_last)
        self.generator = generator
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        # A dataset that fetches whole batches is used that way unless the user asked
        # for their own collate_fn, which is defined on a list of examples.
        self._fetches_batches = collate_fn is None and hasattr(dataset, "__getitems__")

    def __len__(self) -> int:
        """The number of batches in one epoch."""
        examples = len(self.dataset)
        if self.drop_last:
            return examples // self.batch_size
        return -(-examples // self.batch_size)  # ceiling division

    def epoch_order(self) -> np.ndarray:
        """The example indices of one epoch, in the order they will be visited (int64).

        In order, or a fresh random permutation of ``0 .. len(dataset)-1`` drawn
        from ``self.generator`` (or the global generator) on every call.  Hint:
        ``numpy_generator(self.generator)`` is the numpy Generator to draw from.
        """
        examples = len(self.dataset)
        # BEGIN SOLUTION lab 05
        if self.shuffle:
            return numpy_generator(self.generator).permutation(examples)
        return np.arange(examples)
        # END SOLUTION

    def batch_indices(self, order: np.ndarray) -> list[np.ndarray]:
        """``order`` cut into consecutive batches of ``batch_size`` indices.

        The last batch is shorter when ``batch_size`` does not divide the
        number of examples; with ``drop_last`` it is left out.  Hint: slices of
        a numpy array are views, so cutting costs nothing per example.
        """
        # BEGIN SOLUTION lab 05
        stop = len(order)
        if self.drop_last:
            stop -= stop % self.batch_size
        return [order[start:start + self.batch_size] for start in range(0, stop, self.batch_size)]
        # END SOLUTION

    def __iter__(self) -> Iterator[Any]:
        # The order is drawn here, when the epoch starts, not when the first batch
        # is requested: random draws then happen in the order the code reads.
        batches = self.batch_indices(self.epoch_order())
        return self._fetch_all(batches)

    def _fetch_all(self, batches: list[np.ndarray]) -> Iterator[Any]:
        dataset = self.dataset
        if self._fetches_batches:
            for indices in batches:
                yield dataset.__getitems__(indices)
        else:
            for indices in batches:
                yield self.collate_fn([dataset[i] for i in indices.tolist()])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
