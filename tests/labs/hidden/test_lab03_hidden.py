"""Lab 03, graded by the autograder only (probes: see tinytorch.app.labs.expect)."""
import numpy as np

import tinytorch
from tinytorch import nn
from tinytorch.app.labs import expect
from tinytorch.nn import functional as F
from tinytorch.tensor import Tensor


def test_a_small_network_gives_every_weight_a_gradient():
    tinytorch.manual_seed(4)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    x = tinytorch.tensor(np.random.default_rng(3).standard_normal((5, 4)).astype(np.float32))
    F.mse_loss(model(x), tinytorch.zeros(5, 1)).backward()
    expect.value({name: None if param.grad is None else param.grad.shape
                  for name, param in model.named_parameters()},
                 what="the shape of each parameter's gradient (None: no gradient)")


def test_nested_modules_appear_in_the_state_dict():
    outer = nn.Sequential(nn.Sequential(nn.Linear(2, 2)), nn.Linear(2, 1))
    expect.value(tuple(outer.state_dict()), what="the state_dict keys, in order")


def test_load_state_dict_restores_batch_norms_running_statistics():
    source, target = nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    source.running_mean.array[...] = [0.5, -1.0, 2.0]
    source.running_var.array[...] = [4.0, 0.25, 1.5]
    source.num_batches_tracked.array[...] = 7
    target.load_state_dict(source.state_dict())
    expect.value({"running_mean": target.running_mean, "running_var": target.running_var,
                  "num_batches_tracked": target.num_batches_tracked},
                 what="the loaded layer's running statistics")


def test_state_dict_leaves_out_buffers_that_are_not_persistent():
    class Counter(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(np.ones(2, dtype=np.float32))
            self.register_buffer("total", Tensor(np.zeros(2, dtype=np.float32)))
            self.register_buffer("scratch", Tensor(np.zeros(2, dtype=np.float32)),
                                 persistent=False)

    expect.value(tuple(Counter().state_dict()), what="the state_dict keys, in order")


def test_a_parameter_assigned_over_a_plain_attribute_replaces_it():
    class LateWeight(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = None  # a placeholder: a plain attribute until the Parameter comes
            self.weight = nn.Parameter(np.full(2, 0.5, dtype=np.float32))

    model = LateWeight()
    expect.value(type(model.weight).__name__, what="the type of model.weight")
    expect.value(tuple(name for name, _ in model.named_parameters()),
                 what="the names of the parameters")


def test_a_parameter_assigned_over_a_buffer_replaces_it():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("scale", Tensor(np.ones(2, dtype=np.float32)))
            self.scale = nn.Parameter(np.full(2, 3.0, dtype=np.float32))

    model = Scaled()
    expect.value(tuple(name for name, _ in model.named_parameters()),
                 what="the names of the parameters")
    expect.value(tuple(name for name, _ in model.named_buffers()),
                 what="the names of the buffers")
