"""Lab 03, graded by the autograder only."""
import numpy as np

import tinytorch
from tinytorch import nn
from tinytorch.nn import functional as F


def test_a_small_network_gives_every_weight_a_gradient():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x = tinytorch.tensor(np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32))
    F.mse_loss(model(x), tinytorch.zeros(5, 1)).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None, f"{name} has no gradient"
        assert param.grad.shape == param.shape, \
            f"{name}: expected gradient shape {param.shape}, got {param.grad.shape}"


def test_nested_modules_appear_in_the_state_dict():
    outer = nn.Sequential(nn.Sequential(nn.Linear(2, 2)), nn.Linear(2, 1))
    assert list(outer.state_dict()) == ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]
