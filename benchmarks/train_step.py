"""Time one training step of the digits MLP: TinyTorch vs PyTorch vs plain numpy.

    python benchmarks/train_step.py

Model 64-128-64-10 with ReLU, batch 32, SGD with momentum 0.9, cross-entropy.
A step is zero_grad + forward + loss + backward + optimizer step.  PyTorch
runs on 1 thread (when installed); the numpy column is the same step written
by hand with no framework at all, the floor any framework pays on top of.
At this size every step is a dozen tiny operations, so per-operation overhead
dominates, not arithmetic.
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import compare, import_torch, machine_description  # noqa: E402

import tinytorch  # noqa: E402
from tinytorch import nn, optim  # noqa: E402

BATCH, SIZES, LR, MOMENTUM = 32, (64, 128, 64, 10), 0.01, 0.9


def tinytorch_step(inputs: np.ndarray, labels: np.ndarray):
    tinytorch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_function = nn.CrossEntropyLoss()
    x, y = tinytorch.tensor(inputs), tinytorch.tensor(labels)

    def step() -> float:
        optimizer.zero_grad()
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def torch_step(torch, inputs: np.ndarray, labels: np.ndarray):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_function = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(inputs), torch.from_numpy(labels)

    def step():
        optimizer.zero_grad()
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def numpy_step(inputs: np.ndarray, labels: np.ndarray):
    """The same step by hand: forward, backward and momentum SGD in plain numpy."""
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-1, 1, (o, i)).astype(np.float32) / np.sqrt(i) for i, o in zip(SIZES, SIZES[1:])]
    biases = [np.zeros(o, np.float32) for o in SIZES[1:]]
    params = weights + biases
    buffers = [np.zeros_like(p) for p in params]
    rows = np.arange(BATCH)

    def step():
        activations = [inputs]
        for layer, (w, b) in enumerate(zip(weights, biases)):
            z = activations[-1] @ w.T + b
            activations.append(np.maximum(z, 0) if layer < 2 else z)
        logits = activations[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        grad = np.exp(log_probs)
        grad[rows, labels] -= 1
        grad /= BATCH
        grads_w, grads_b = [None] * 3, [None] * 3
        for layer in (2, 1, 0):
            grads_w[layer] = grad.T @ activations[layer]
            grads_b[layer] = grad.sum(axis=0)
            if layer:
                grad = (grad @ weights[layer]) * (activations[layer] > 0)
        for p, g, buf in zip(params, grads_w + grads_b, buffers):
            buf *= MOMENTUM
            buf += g
            p -= LR * buf
        return -log_probs[rows, labels].mean()

    return step


def main() -> None:
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((BATCH, 64)).astype(np.float32)
    labels = rng.integers(0, 10, BATCH).astype(np.int64)
    print(f"MLP 64-128-64-10, batch {BATCH}, SGD momentum, cross-entropy; {machine_description()}")
    torch = import_torch(threads=1)
    candidates = {"tinytorch": tinytorch_step(inputs, labels),
                  "numpy by hand": numpy_step(inputs, labels)}
    if torch is not None:
        candidates["pytorch (1 thread)"] = torch_step(torch, inputs, labels)
    else:
        print("(PyTorch is not installed: `pip install torch` adds its column)")
    timings = compare(candidates)
    for name, seconds in timings.items():
        line = f"  {name:<20} {seconds * 1e3:8.3f} ms/step"
        if "pytorch (1 thread)" in timings:
            line += f"   {seconds / timings['pytorch (1 thread)']:5.2f}x PyTorch"
        print(line)
    ratio = timings["tinytorch"] / timings["numpy by hand"]
    print(f"  tinytorch / numpy by hand: {ratio:.2f}x")


if __name__ == "__main__":
    main()
