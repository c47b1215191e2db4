"""Lab 03 — modules, layers and losses.

References are plain numpy; the backward pass (lab 02) may be used, nothing
from later labs (no optimizer, no DataLoader).
"""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.nn import functional as F


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(np.ones(3, dtype=np.float32))
        self.first = nn.Linear(3, 4)
        self.second = nn.Linear(4, 2, bias=False)
        self.note = "plain attributes are not parameters"


def test_assigning_parameters_and_modules_registers_them():
    model = TwoLayers()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "first.weight", "first.bias", "second.weight"]
    assert [name for name, _ in model.named_children()] == ["first", "second"]
    assert model.note == "plain attributes are not parameters"


def test_state_dict_has_dotted_names_in_registration_order():
    assert list(TwoLayers().state_dict()) == ["scale", "first.weight", "first.bias", "second.weight"]


def test_load_state_dict_copies_values():
    model, other = TwoLayers(), TwoLayers()
    other.load_state_dict(model.state_dict())
    for (name, mine), (_, theirs) in zip(model.named_parameters(), other.named_parameters()):
        np.testing.assert_array_equal(mine.data, theirs.data, err_msg=name)


def test_linear_forward_is_x_times_w_transposed_plus_b():
    layer = nn.Linear(5, 3)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(tinytorch.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)


def test_relu_keeps_the_positive_part():
    x = np.array([[-2.0, -0.0, 0.5], [3.0, -1e-9, 7.0]], dtype=np.float32)
    np.testing.assert_array_equal(nn.ReLU()(tinytorch.tensor(x)).data, np.maximum(x, 0))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"], ids=lambda name: f"reduction {name}")
def test_mse_loss(reduction):
    rng = np.random.default_rng(1)
    prediction, target = rng.standard_normal((2, 6, 3))
    squared = (prediction - target) ** 2
    expected = {"mean": squared.mean(), "sum": squared.sum(), "none": squared}[reduction]
    loss = F.mse_loss(tinytorch.tensor(prediction), tinytorch.tensor(target), reduction=reduction)
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)


def test_log_softmax_is_stable_for_large_logits():
    logits = np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]])
    shifted = logits - logits.max(axis=1, keepdims=True)
    expected = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(F.log_softmax(tinytorch.tensor(logits), dim=1).numpy(), expected,
                               rtol=1e-12)
