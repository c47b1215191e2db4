"""Lab 03 — modules, layers and losses.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 03 on fixed inputs and hands over the results (parameter names,
state_dict keys, a layer's output, a loss); the lab's answer key holds what
the reference solution produces.  Tests that create layers seed tinytorch's
generator first, so the initial weights are the same on every run.  The
backward pass (lab 02) may be used, nothing from later labs (no optimizer, no
DataLoader).
"""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.app.labs import expect
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
    expect.value(tuple(name for name, _ in model.named_parameters()),
                 what="the names of the parameters, in order")
    expect.value(tuple(name for name, _ in model.named_children()),
                 what="the names of the child modules, in order")
    expect.value(model.note, what="the plain attribute note")


def test_a_parameter_assigned_over_a_child_module_replaces_it():
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 3)
            self.fc = nn.Parameter(np.arange(3.0, dtype=np.float32))

    model = Head()
    expect.value(tuple(name for name, _ in model.named_parameters()),
                 what="the names of the parameters")
    expect.value(tuple(name for name, _ in model.named_children()),
                 what="the names of the child modules")
    expect.value(type(model.fc).__name__, what="the type of model.fc")


def test_state_dict_has_dotted_names_in_registration_order():
    expect.value(tuple(TwoLayers().state_dict()), what="the state_dict keys, in order")


def test_state_dict_holds_the_buffers_of_batch_norm():
    # Only the names matter here: nothing runs forward.
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm2d(3))
    expect.value(tuple(model.state_dict()), what="the state_dict keys, in order")


def test_load_state_dict_copies_values():
    tinytorch.manual_seed(3)
    model, other = TwoLayers(), TwoLayers()
    other.load_state_dict(model.state_dict())
    expect.value({name: param.detach() for name, param in other.named_parameters()},
                 what="the loaded model's parameters")


def test_linear_forward_is_x_times_w_transposed_plus_b():
    tinytorch.manual_seed(5)
    layer = nn.Linear(5, 3)
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    expect.value(layer(tinytorch.tensor(x)).detach(), rtol=1e-5, atol=1e-6,
                 what="the layer's output")


def test_linear_without_bias_is_x_times_w_transposed():
    tinytorch.manual_seed(6)
    layer = nn.Linear(5, 3, bias=False)
    x = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32)
    expect.value(layer(tinytorch.tensor(x)).detach(), rtol=1e-5, atol=1e-6,
                 what="the output of the layer without bias")


def test_relu_keeps_the_positive_part():
    x = np.array([[-2.0, -0.0, 0.5], [3.0, -1e-9, 7.0]], dtype=np.float32)
    expect.value(nn.ReLU()(tinytorch.tensor(x)), what="relu of the input")


@pytest.mark.parametrize("reduction", [
    pytest.param("mean", id="the mean of the squares"),
    pytest.param("sum", id="the sum of the squares"),
    pytest.param("none", id="every square, unreduced"),
])
def test_mse_loss(reduction):
    prediction, target = np.random.default_rng(1).standard_normal((2, 6, 3))
    loss = F.mse_loss(tinytorch.tensor(prediction), tinytorch.tensor(target), reduction=reduction)
    expect.value(loss, rtol=1e-10, atol=1e-12, what=f"the loss with reduction {reduction!r}")


def test_log_softmax_is_stable_for_large_logits():
    logits = np.array([[1000.0, 1001.0, 1002.0], [-5.0, 0.0, 5.0]])
    expect.value(F.log_softmax(tinytorch.tensor(logits), dim=1), rtol=1e-12, atol=1e-12,
                 what="log_softmax along dim 1")
