"""Capture: models become layer lists; batch norm folds, ReLUs fuse, the rest is refused clearly."""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.nn import functional as F
from tinytorch.quant import UnsupportedLayerError, capture, prepare


class ResidualNet(nn.Module):
    """Conv-BN-ReLU, depthwise + pointwise with a residual add, pools, a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pointwise = nn.Conv2d(8, 8, 1)
        self.pool = nn.AvgPool2d(2)
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        y = F.relu(self.bn(self.stem(x)))
        y = F.relu(y + self.pointwise(F.relu6(self.depthwise(y))))
        return self.head(F.flatten(self.squeeze(self.pool(y)), 1))


def randomized(model, seed=0):
    """Random batch-norm statistics and affine parameters, so that folding has work to do."""
    rng = np.random.default_rng(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            channels = module.num_features
            module.running_mean.array[...] = rng.normal(0, 0.5, channels)
            module.running_var.array[...] = rng.uniform(0.5, 2.0, channels)
            module.weight.array[...] = rng.uniform(0.5, 1.5, channels)
            module.bias.array[...] = rng.normal(0, 0.3, channels)
    return model


def float_outputs_agree(model, x):
    prepared = prepare(model, x)
    prepared.observing = False
    with tinytorch.no_grad():
        expected = model.eval()(tinytorch.tensor(x)).array
        got = prepared(tinytorch.tensor(x)).array
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_residual_network_captures_in_order_with_bn_folded_and_relus_fused():
    layers = capture(randomized(ResidualNet()), np.zeros((1, 3, 8, 8), np.float32))
    assert [(layer.kind, layer.activation) for layer in layers] == [
        ("conv2d", "relu"), ("conv2d", "relu6"), ("conv2d", None), ("add", "relu"),
        ("avg_pool2d", None), ("global_avg_pool2d", None), ("reshape", None),
        ("fully_connected", None)]
    assert [layer.name for layer in layers[:3]] == ["stem", "depthwise", "pointwise"]
    assert layers[3].inputs == [0, 2]  # the skip connection and the pointwise conv


def test_folded_model_computes_what_the_float_model_computes():
    rng = np.random.default_rng(1)
    float_outputs_agree(randomized(ResidualNet()), rng.normal(size=(4, 3, 8, 8)).astype(np.float32))


def test_sequential_with_batch_norm_dropout_and_identity():
    model = randomized(nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                     nn.Dropout(0.5), nn.MaxPool2d(2), nn.Identity(),
                                     nn.Flatten(), nn.Linear(36, 3), nn.ReLU6()))
    x = np.random.default_rng(2).normal(size=(3, 1, 8, 8)).astype(np.float32)
    float_outputs_agree(model, x)
    model.train()
    kinds = [layer.kind for layer in capture(model, x)]
    assert kinds == ["conv2d", "max_pool2d", "reshape", "fully_connected"]
    assert model.training, "capture must restore the model's training mode"


def test_a_skip_connection_from_the_model_input():
    class SkipFromInput(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            return F.relu(x + self.conv(x))

    model = SkipFromInput()
    x = np.random.default_rng(3).normal(size=(2, 2, 5, 5)).astype(np.float32)
    layers = capture(model, x)
    assert [(layer.kind, layer.inputs, layer.activation) for layer in layers] == [
        ("conv2d", [-1], None), ("add", [-1, 0], "relu")]
    float_outputs_agree(model, x)


def test_unsupported_layer_is_named_with_its_type():
    model = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid())
    with pytest.raises(UnsupportedLayerError, match=r"'1' of type Sigmoid"):
        capture(model, np.zeros((1, 4), np.float32))


def test_unsupported_operation_between_layers_is_named():
    class Doubling(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(x) * 2.0

    with pytest.raises(UnsupportedLayerError, match="operation Mul"):
        capture(Doubling(), np.zeros((1, 4), np.float32))


def test_batch_norm_that_cannot_be_folded_and_relu_on_the_input_are_refused():
    with pytest.raises(UnsupportedLayerError, match="BatchNorm2d '0' must directly follow"):
        capture(nn.Sequential(nn.BatchNorm2d(1), nn.Conv2d(1, 2, 3)),
                np.zeros((1, 1, 5, 5), np.float32))
    with pytest.raises(UnsupportedLayerError, match="relu '0' follows the model input"):
        capture(nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), np.zeros((1, 3), np.float32))
