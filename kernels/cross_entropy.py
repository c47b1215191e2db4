"""Cross-entropy, fused: log-softmax and negative log-likelihood in one pass per row.

For logits z (one row per sample) and a target class t, the loss of a row is

    loss = -log softmax(z)_t = log(sum_j exp(z_j - m)) - (z_t - m),  m = max_j z_j

(subtracting the row maximum m keeps every exponent <= 0, so nothing
overflows), and its gradient with respect to the logits is the famous

    d loss / d z_j = softmax(z)_j - [j == t]

"what the model predicted minus the truth".  Computed as whole-array
operations (max, subtract, exp, sum, log, pick, subtract) the loss takes seven
passes over memory, each writing a temporary array.  Here each row is read by
two short loops, one for the maximum and one for the sum of exponentials, and
a row of C logits is small enough to stay in L1 cache between them.  The
forward kernel also returns each row's log-sum-exp, so the backward kernel
(one loop per row) can rebuild softmax(z) = exp(z - lse) without redoing the
reduction.

``label_smoothing`` mixes the one-hot target with the uniform distribution:
the target weight becomes 1 - s on class t and s / C on every class.

First the same math in plain numpy, whole-array operations: the
reference the tests compare against.  Then the two kernels, Numba loops over
rows.
"""
from __future__ import annotations

import numpy as np
from numba import njit


def cross_entropy_reference(logits: np.ndarray, targets: np.ndarray,
                            label_smoothing: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Per-row losses and d(sum of losses)/d logits, with whole-array numpy operations."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows, classes = logits.shape
    truth = np.full(logits.shape, label_smoothing / classes)
    truth[np.arange(rows), targets] += 1.0 - label_smoothing
    losses = -(truth * log_probabilities).sum(axis=1)
    return losses, np.exp(log_probabilities) - truth


@njit(cache=True)
def cross_entropy_forward(logits, targets, label_smoothing):
    """Per-row losses and log-sum-exps of logits (N, C) with int targets (N,)."""
    rows, classes = logits.shape
    losses = np.empty(rows, dtype=logits.dtype)
    log_sum_exp = np.empty(rows, dtype=logits.dtype)
    for n in range(rows):
        largest = logits[n, 0]
        for j in range(1, classes):
            if logits[n, j] > largest:
                largest = logits[n, j]
        total = 0.0
        row_sum = 0.0
        for j in range(classes):
            total += np.exp(logits[n, j] - largest)
            row_sum += logits[n, j]
        lse = largest + np.log(total)
        log_sum_exp[n] = lse
        # -log p_t, and for smoothing the mean over classes of -log p_j.
        picked = lse - logits[n, targets[n]]
        uniform = lse - row_sum / classes
        losses[n] = (1.0 - label_smoothing) * picked + label_smoothing * uniform
    return losses, log_sum_exp


@njit(cache=True)
def cross_entropy_backward(logits, targets, log_sum_exp, row_weights, label_smoothing):
    """d loss / d logits = (softmax - smoothed one-hot) * the weight of each row's loss."""
    rows, classes = logits.shape
    grad = np.empty_like(logits)
    off_target = label_smoothing / classes
    for n in range(rows):
        weight = row_weights[n]
        for j in range(classes):
            grad[n, j] = (np.exp(logits[n, j] - log_sum_exp[n]) - off_target) * weight
        grad[n, targets[n]] -= (1.0 - label_smoothing) * weight
    return grad
