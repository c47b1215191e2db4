"""The training loop, written once.

Every supervised model in this project is trained by the same five lines:

    for inputs, targets in loader:
        optimizer.zero_grad()                  # gradients accumulate: clear them
        loss = loss_function(model(inputs), targets)
        loss.backward()                        # d loss / d every parameter
        optimizer.step()                       # move the parameters downhill

``train_epoch`` is that loop with a progress bar; ``evaluate`` measures
accuracy with the model in ``eval()`` mode (dropout off, batch norm using its
running statistics) and without recording a graph.  The demo, the tutorials
and the benchmarks all call these two functions.
"""
from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from tinytorch.autograd.grad_mode import no_grad
from tinytorch.nn.module import Module
from tinytorch.utils.progress import progress_bar


def train_epoch(model: Module, loader: Iterable[Any], loss_function: Any, optimizer: Any,
                description: str = "train", show_progress: bool = True) -> float:
    """One pass over ``loader``; returns the mean training loss."""
    model.train()
    total_loss, batches = 0.0, 0
    bar = progress_bar(loader, description, enabled=show_progress)
    for inputs, targets in bar:
        optimizer.zero_grad()
        loss = loss_function(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        batches += 1
        bar.set_postfix(loss=total_loss / batches, refresh=False)
    return total_loss / max(batches, 1)


def predict(model: Module, loader: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Predicted classes and true labels for every sample of ``loader``."""
    model.eval()
    predicted, labels = [], []
    with no_grad():
        for inputs, targets in loader:
            predicted.append(model(inputs).array.argmax(axis=1))
            labels.append(targets.array)
    return np.concatenate(predicted), np.concatenate(labels)


def evaluate(model: Module, loader: Iterable[Any]) -> float:
    """Classification accuracy of ``model`` on ``loader``, in [0, 1]."""
    predicted, labels = predict(model, loader)
    return float((predicted == labels).mean())
