"""The reference models used by the demo, the benchmarks and the labs.

Small on purpose: each trains in seconds on a laptop CPU and later fits in the
flash of a microcontroller.

* ``digits_mlp``: 64 -> 128 -> 64 -> 10 with ReLU, the first network of the
  course, on 8x8 digit images flattened to 64 numbers.
* ``digits_cnn``: two small convolution stages and a linear layer, the network
  that is later quantized to int8 and run on a microcontroller.
* ``lenet5``: the classic 28x28 convolutional network, as a benchmark shape.
"""
from __future__ import annotations

from tinytorch import nn


def digits_mlp() -> nn.Sequential:
    """A multilayer perceptron for 8x8 digits: 64-128-64-10 with ReLU."""
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def digits_cnn() -> nn.Sequential:
    """A small CNN for 8x8 digits: two 3x3 conv + ReLU + 2x2 max-pool stages, then linear.

    Shapes: (N, 1, 8, 8) -> conv 1->8 -> pool -> (N, 8, 4, 4) -> conv 8->16 -> pool
    -> (N, 16, 2, 2) -> flatten 64 -> linear 10.
    """
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64, 10),
    )


def lenet5() -> nn.Sequential:
    """LeNet-5 for 28x28 inputs (LeCun et al. 1998, with ReLU and max-pooling)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


# ---- checkpoints that know their architecture ------------------------------------------
ARCHITECTURES = {"digits_mlp": digits_mlp, "digits_cnn": digits_cnn, "lenet5": lenet5}


def save_model(model: nn.Module, architecture: str, path: str) -> None:
    """Save ``model``'s weights with the name of its architecture, so ``load_model`` can rebuild it."""
    from tinytorch.serialization import save

    if architecture not in ARCHITECTURES:
        raise ValueError(f"save_model: unknown architecture {architecture!r}; choose one of "
                         f"{sorted(ARCHITECTURES)}")
    save({"architecture": architecture, "state_dict": model.state_dict()}, path)


def load_model(path: str) -> tuple[nn.Module, str]:
    """Rebuild a model saved by ``save_model``: (model in eval mode, architecture name)."""
    from tinytorch.serialization import CheckpointError, load

    checkpoint = load(path)
    if not (isinstance(checkpoint, dict) and checkpoint.get("architecture") in ARCHITECTURES
            and isinstance(checkpoint.get("state_dict"), dict)):
        raise CheckpointError(f"{path}: not a model checkpoint (expected a dict with "
                              f"'architecture' in {sorted(ARCHITECTURES)} and 'state_dict')")
    model = ARCHITECTURES[checkpoint["architecture"]]()
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), checkpoint["architecture"]
