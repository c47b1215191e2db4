"""Time one training step: TinyTorch vs PyTorch CPU vs plain numpy.

    python benchmarks/train_step.py [--threads 1] [--models mlp,cnn,lenet] [--no-tune]

A step is zero_grad + forward + loss + backward + SGD-with-momentum step, with
cross-entropy loss, on fixed random inputs:

* mlp:   64-128-64-10 with ReLU, batch 32 (plus the same step hand-written in
         numpy: the floor any framework pays on top of; and TinyTorch's step
         with the version-counter snapshot switched off: what checking
         in-place writes costs);
* cnn:   the digits CNN (conv 1->8 3x3 pad 1, relu, maxpool 2, conv 8->16 3x3
         pad 1, relu, maxpool 2, linear 64->10) on 8x8 images, batch 32;
* lenet: LeNet-5 on 28x28 images, batch 64.

Every library runs on ``--threads`` threads (default 1): PyTorch through
``torch.set_num_threads``, TinyTorch's Numba kernels and numpy's BLAS through
environment variables set before either is imported.  The process is tuned
first (``tinytorch.kernels.tune_process``: idle OpenMP threads sleep, for
PyTorch's too, and freed memory stays in the process) unless ``--no-tune``;
``benchmarks/process_tuning.py`` compares the two.
"""
from __future__ import annotations

import argparse
import os
import sys

SIZES, LR, MOMENTUM = (64, 128, 64, 10), 0.01, 0.9


def tinytorch_step(model, inputs, labels):
    import tinytorch
    from tinytorch import nn, optim

    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_function = nn.CrossEntropyLoss()
    x, y = tinytorch.tensor(inputs), tinytorch.tensor(labels)

    def step():
        optimizer.zero_grad()
        loss = loss_function(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def torch_step(torch, model, inputs, labels):
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


def without_version_snapshots(step):
    """``step`` with the saved-value version snapshot off (for measuring its cost only)."""
    from tinytorch.autograd import function

    remember = function.remember_saved_versions

    def unchecked_step():
        function.remember_saved_versions = lambda *args: None
        try:
            return step()
        finally:
            function.remember_saved_versions = remember

    return unchecked_step


def torch_models(torch):
    layers = torch.nn
    return {
        "mlp": lambda: layers.Sequential(layers.Linear(64, 128), layers.ReLU(), layers.Linear(128, 64),
                                         layers.ReLU(), layers.Linear(64, 10)),
        "cnn": lambda: layers.Sequential(
            layers.Conv2d(1, 8, 3, padding=1), layers.ReLU(), layers.MaxPool2d(2),
            layers.Conv2d(8, 16, 3, padding=1), layers.ReLU(), layers.MaxPool2d(2),
            layers.Flatten(), layers.Linear(64, 10)),
        "lenet": lambda: layers.Sequential(
            layers.Conv2d(1, 6, 5, padding=2), layers.ReLU(), layers.MaxPool2d(2),
            layers.Conv2d(6, 16, 5), layers.ReLU(), layers.MaxPool2d(2), layers.Flatten(),
            layers.Linear(400, 120), layers.ReLU(), layers.Linear(120, 84), layers.ReLU(),
            layers.Linear(84, 10)),
    }


def numpy_step(inputs, labels):
    """The MLP step by hand: forward, backward and momentum SGD in plain numpy."""
    import numpy as np

    rng = np.random.default_rng(0)
    weights = [rng.uniform(-1, 1, (o, i)).astype(np.float32) / np.sqrt(i) for i, o in zip(SIZES, SIZES[1:])]
    biases = [np.zeros(o, np.float32) for o in SIZES[1:]]
    params = weights + biases
    buffers = [np.zeros_like(p) for p in params]
    rows = np.arange(len(labels))

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
        grad /= len(labels)
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", default="mlp,cnn,lenet")
    parser.add_argument("--no-tune", action="store_true",
                        help="leave the process untuned (no tinytorch.kernels.tune_process)")
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from common import pin_threads

    # Thread counts must be fixed before numpy (BLAS) and Numba start their pools.
    pin_threads(args.threads)
    import numpy as np

    from common import compare, import_torch, machine_description, print_timings

    import tinytorch
    from tinytorch import models
    from tinytorch.kernels import tune_process

    if not args.no_tune:
        tune_process()  # before PyTorch loads, so its OpenMP threads sleep when idle too
    torch = import_torch(threads=args.threads)
    ours = {"mlp": lambda: models.digits_mlp()[1:], "cnn": models.digits_cnn, "lenet": models.lenet5}
    shapes = {"mlp": ((32, 64), 32), "cnn": ((32, 1, 8, 8), 32), "lenet": ((64, 1, 28, 28), 64)}
    print(f"Training step, SGD momentum + cross-entropy, {args.threads} thread(s)"
          f"{', untuned process' if args.no_tune else ''}; {machine_description()}")
    if torch is None:
        print("(PyTorch is not installed: `pip install torch` adds its column)")
    for name in args.models.split(","):
        rng = np.random.default_rng(0)
        shape, batch = shapes[name]
        inputs = rng.standard_normal(shape).astype(np.float32)
        labels = rng.integers(0, 10, batch).astype(np.int64)
        tinytorch.manual_seed(0)
        candidates = {"tinytorch": tinytorch_step(ours[name](), inputs, labels)}
        if name == "mlp":
            candidates["numpy by hand"] = numpy_step(inputs, labels)
            tinytorch.manual_seed(0)
            candidates["tt no versions"] = without_version_snapshots(
                tinytorch_step(ours[name](), inputs, labels))
        if torch is not None:
            torch.manual_seed(0)
            candidates["pytorch"] = torch_step(torch, torch_models(torch)[name](), inputs, labels)
        timings = compare(candidates)
        print(f"{name} (batch {batch}):")
        print_timings(timings, "ms/step")


if __name__ == "__main__":
    main()
