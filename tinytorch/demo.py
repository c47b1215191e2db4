"""The end-to-end demo: train a network on handwritten digits and test it.

``tinytorch demo`` runs the whole data path of this layer of the stack:

    digits dataset -> DataLoader -> nn model -> train (autograd + optim) -> test accuracy

It is deliberately plain: seed everything, build the loaders, build the
model, train for a few epochs with a progress bar, report accuracy.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from tinytorch import nn, optim
from tinytorch.datasets import load_digits
from tinytorch.models import digits_cnn, digits_mlp
from tinytorch.random import manual_seed
from tinytorch.training import evaluate, train_epoch
from tinytorch.utils.data import DataLoader, TensorDataset


MODELS = {"mlp": (digits_mlp, "an MLP 64-128-64-10", "digits_mlp"),
          "cnn": (digits_cnn, "a CNN (conv 1->8, pool, conv 8->16, pool, linear 64->10)",
                  "digits_cnn")}


@dataclass
class DemoResult:
    model: nn.Module
    train_accuracy: float
    test_accuracy: float
    seconds: float


def train_digits(model_name: str = "mlp", epochs: int = 20, batch_size: int = 32,
                 lr: float = 0.05, seed: int = 0, show_progress: bool = True) -> DemoResult:
    """Train a digits model with SGD + momentum and return it with its accuracies."""
    if model_name not in MODELS:
        raise ValueError(f"demo: unknown model {model_name!r}; choose one of {sorted(MODELS)}")
    started = time.perf_counter()
    manual_seed(seed)
    train_images, train_labels = load_digits("train")
    test_images, test_labels = load_digits("test")
    train_loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=batch_size,
                              shuffle=True)
    test_loader = DataLoader(TensorDataset(test_images, test_labels), batch_size=256)

    model = MODELS[model_name][0]()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    loss_function = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        train_epoch(model, train_loader, loss_function, optimizer,
                    description=f"epoch {epoch + 1:>2}/{epochs}", show_progress=show_progress)
    return DemoResult(model, evaluate(model, train_loader), evaluate(model, test_loader),
                      time.perf_counter() - started)


def main(model_name: str = "mlp", epochs: int = 20, seed: int = 0,
         show_progress: bool = True) -> DemoResult:
    print(f"Training {MODELS[model_name][1]} on 8x8 digits ({epochs} epochs, seed {seed})")
    result = train_digits(model_name, epochs=epochs, seed=seed, show_progress=show_progress)
    print(f"train accuracy {result.train_accuracy:6.2%}")
    print(f"test accuracy  {result.test_accuracy:6.2%}   ({result.seconds:.1f} s)")
    return result
