"""Convolution, pooling and batch-norm layers: gradients, PyTorch parity, errors."""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.autograd import gradcheck
from tinytorch.nn import functional as F


def double_tensor(*shape, seed=0):
    return tinytorch.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), ((1, 2), (2, 1), (2, 1), 2), (1, 1, 1, 4)])
def test_conv2d_gradcheck(stride, padding, dilation, groups):
    x = double_tensor(2, 4, 6, 5)
    weight = double_tensor(4, 4 // groups, 3, 2, seed=1)
    bias = double_tensor(4, seed=2)
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups), (x, weight, bias))


def test_conv2d_gradcheck_on_a_non_contiguous_input():
    base = np.random.default_rng(3).standard_normal((2, 3, 5, 6))
    x = tinytorch.Tensor._wrap(base.transpose(0, 1, 3, 2), False).requires_grad_()
    weight = double_tensor(2, 3, 2, 2, seed=4)
    assert gradcheck(lambda x, w: F.conv2d(x, w, padding=1), (x, weight))


@pytest.mark.parametrize("pool", [
    lambda x: F.max_pool2d(x, 2), lambda x: F.max_pool2d(x, 3, 2, 1),
    lambda x: F.avg_pool2d(x, 2), lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
    lambda x: F.adaptive_avg_pool2d(x, 1), lambda x: F.adaptive_avg_pool2d(x, (3, 2))])
def test_pooling_gradcheck(pool):
    assert gradcheck(pool, double_tensor(2, 3, 6, 4))


@pytest.mark.parametrize("shape", [(2, 3, 6, 4), (1, 1, 1, 1), (3, 2, 5, 7)])
def test_global_average_pooling_runs_on_its_kernel(shape):
    from tinytorch.kernels.pooling import (global_avg_pool2d_backward, global_avg_pool2d_forward,
                                           global_avg_pool2d_reference)
    from tinytorch.ops.convolution import GlobalAvgPool2d

    x = np.random.default_rng(10).standard_normal(shape).astype(np.float32)
    out = F.adaptive_avg_pool2d(tinytorch.tensor(x, requires_grad=True), 1)
    assert isinstance(out.grad_fn, GlobalAvgPool2d) and out.dtype == np.float32
    np.testing.assert_allclose(out.array, global_avg_pool2d_reference(x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(global_avg_pool2d_forward(x.astype(np.float64)),
                               global_avg_pool2d_reference(x.astype(np.float64)), rtol=1e-13)
    grad = np.random.default_rng(11).standard_normal(shape[:2] + (1, 1))
    expected = np.broadcast_to(grad / (shape[2] * shape[3]), shape)
    np.testing.assert_allclose(global_avg_pool2d_backward(grad, shape), expected, rtol=1e-13)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(training):
    x, weight, bias = double_tensor(3, 4, 3, 2), double_tensor(4, seed=1), double_tensor(4, seed=2)
    mean = tinytorch.tensor(np.random.default_rng(5).standard_normal(4))
    var = tinytorch.tensor(np.random.default_rng(6).uniform(0.5, 2, 4))
    running = (None, None) if training else (mean, var)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, *running, w, b, training), (x, weight, bias))


def test_batchnorm2d_matches_pytorch_in_train_and_eval():
    torch = pytest.importorskip("torch")
    ours, theirs = nn.BatchNorm2d(3, momentum=0.3), torch.nn.BatchNorm2d(3, momentum=0.3)
    rng = np.random.default_rng(7)
    for step in range(3):
        x = (rng.standard_normal((4, 3, 5, 5)) * (step + 1) + step).astype(np.float32)
        np.testing.assert_allclose(ours(tinytorch.tensor(x)).array, theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-5, atol=1e-5)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(getattr(ours, name).array, getattr(theirs, name).numpy(), rtol=1e-5)
    assert ours.num_batches_tracked.item() == 3
    ours.eval(), theirs.eval()
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(ours(tinytorch.tensor(x)).array, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_batchnorm2d_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    x = (rng.standard_normal((8, 4, 5, 5)) * 3 + 2).astype(np.float32)
    grad = rng.standard_normal(x.shape).astype(np.float32)
    ours, theirs = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    ours_x, theirs_x = tinytorch.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours(ours_x).backward(tinytorch.tensor(grad))
    theirs(theirs_x).backward(torch.tensor(grad))
    for got, expected in ((ours_x.grad, theirs_x.grad), (ours.weight.grad, theirs.weight.grad),
                          (ours.bias.grad, theirs.bias.grad)):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got.array, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_batchnorm2d_state_dict_keys_and_running_statistics():
    layer = nn.BatchNorm2d(2)
    assert list(layer.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                        "num_batches_tracked"]
    x = np.random.default_rng(8).standard_normal((8, 2, 3, 3)).astype(np.float32) * 3 + 1
    layer(tinytorch.tensor(x))
    np.testing.assert_allclose(layer.running_mean.array, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(layer.running_var.array, 0.9 + 0.1 * unbiased, rtol=1e-5)
    layer.eval()
    layer(tinytorch.tensor(x))
    assert layer.num_batches_tracked.item() == 1  # evaluation leaves the statistics alone


def test_batchnorm2d_cumulative_average_and_no_running_statistics():
    rng = np.random.default_rng(12)
    batches = [rng.standard_normal((4, 2, 3, 3)).astype(np.float32) * 2 + 1 for _ in range(2)]
    layer = nn.BatchNorm2d(2, momentum=None)  # running = the mean over the batches seen so far
    for x in batches:
        layer(tinytorch.tensor(x))
    np.testing.assert_allclose(layer.running_mean.array,
                               np.mean([x.mean(axis=(0, 2, 3)) for x in batches], axis=0), rtol=1e-5)
    np.testing.assert_allclose(layer.running_var.array,
                               np.mean([x.var(axis=(0, 2, 3), ddof=1) for x in batches], axis=0),
                               rtol=1e-5)
    untracked = nn.BatchNorm2d(2, affine=False, track_running_stats=False).eval()
    out = untracked(tinytorch.tensor(batches[0])).array  # batch statistics even in eval
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-3)


def test_conv2d_layer_matches_pytorch_and_uses_its_init_bounds():
    torch = pytest.importorskip("torch")
    layer = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    theirs = torch.nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2)
    theirs.load_state_dict({k: torch.tensor(v.array) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(9).standard_normal((2, 4, 7, 7)).astype(np.float32)
    np.testing.assert_allclose(layer(tinytorch.tensor(x)).array, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


def test_conv2d_init_bound_is_one_over_sqrt_fan_in():
    tinytorch.manual_seed(0)
    layer = nn.Conv2d(8, 16, 3)
    bound = 1 / np.sqrt(8 * 3 * 3)
    assert np.abs(layer.weight.array).max() <= bound
    assert np.abs(layer.weight.array).max() > 0.9 * bound


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(RuntimeError, match=r"Conv2d\(3, 8.*\(2, 4, 8, 8\)"):
        nn.Conv2d(3, 8, 3)(tinytorch.zeros(2, 4, 8, 8))
    with pytest.raises(RuntimeError, match="does not fit"):
        F.conv2d(tinytorch.zeros(1, 1, 2, 2), tinytorch.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(RuntimeError, match="4-D"):
        F.max_pool2d(tinytorch.zeros(4, 4), 2)
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*\(2, 4, 3, 3\)"):
        nn.BatchNorm2d(3)(tinytorch.zeros(2, 4, 3, 3))


def test_digits_cnn_shapes():
    from tinytorch.models import digits_cnn, lenet5
    assert digits_cnn()(tinytorch.zeros(3, 1, 8, 8)).shape == (3, 10)
    assert lenet5()(tinytorch.zeros(2, 1, 28, 28)).shape == (2, 10)
