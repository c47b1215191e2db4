"""Reproducible randomness: one seeded generator behind every random choice.

Weight initialization, dropout masks and data shuffling all draw from
``default_generator``, a numpy ``Generator`` (PCG64) that TinyTorch owns, so
``tinytorch.manual_seed(0)`` at the top of a script makes a whole training run
repeat bit for bit.  Like PyTorch, the generator starts from a fixed seed, so
even a script that never calls ``manual_seed`` gives the same numbers every
run; call ``seed()`` for fresh entropy.

A ``Generator`` can also be made and passed explicitly (``DataLoader(...,
generator=g)``) to keep one stream of randomness independent of the others.
"""
from __future__ import annotations

import numpy as np

DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed


class Generator:
    """A seedable source of random numbers (wraps ``numpy.random.Generator``)."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> "Generator":
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"manual_seed: seed must be a non-negative integer, got {seed!r}")
        self._initial_seed = int(seed)
        self.numpy = np.random.default_rng(int(seed))
        return self

    def initial_seed(self) -> int:
        return self._initial_seed

    def seed(self) -> int:
        """Reseed from fresh operating-system entropy and return the new seed."""
        new_seed = int(np.random.SeedSequence().entropy % (2**63))
        self.manual_seed(new_seed)
        return new_seed

    def get_state(self) -> dict:
        return self.numpy.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.numpy.bit_generator.state = state


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the global generator: initialization, dropout and shuffling repeat exactly."""
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed the global generator from fresh entropy; returns the seed used."""
    return default_generator.seed()


def initial_seed() -> int:
    return default_generator.initial_seed()


def numpy_generator(generator: Generator | None = None) -> np.random.Generator:
    """The numpy generator to draw from: ``generator``'s, or the global one."""
    return (generator or default_generator).numpy
