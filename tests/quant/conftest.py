"""Shared fixtures: a trained digits CNN (trained once per session) and the integer reference."""
import sys
from pathlib import Path

import pytest

# The independent pure-Python integer reference lives with the kernel tests.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "kernels"))


@pytest.fixture(scope="session")
def trained_cnn():
    from tinytorch.app.demo import train_digits

    return train_digits("cnn", epochs=20, seed=0, show_progress=False)


@pytest.fixture(scope="session")
def digits():
    from tinytorch.datasets import load_digits

    train_images, train_labels = load_digits("train")
    test_images, test_labels = load_digits("test")
    return train_images.array, train_labels.array, test_images.array, test_labels.array
