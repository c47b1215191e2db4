"""nn parity: one_hot, nll_loss, weighted / ignoring / smoothed cross-entropy, binary
cross-entropy (probabilities and logits), LeakyReLU, BatchNorm1d, ModuleDict, init.

Every value is checked against a closed form in plain numpy, every gradient
against central differences (gradcheck, float64), and, when PyTorch is
installed, both against PyTorch.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.autograd.gradcheck import gradcheck
from tinytorch.nn import functional as F

REDUCTIONS = ("mean", "sum", "none")


def leaf(array, requires_grad=True):
    return tinytorch.tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


def log_softmax_np(logits):
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def nll_reference(log_p, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Row by row, in plain Python: PyTorch's documented formula."""
    rows, classes = log_p.shape
    weight = np.ones(classes) if weight is None else weight
    losses, total_weight = np.zeros(rows), 0.0
    for n in range(rows):
        if target[n] == ignore_index:
            continue
        w = weight[target[n]]
        total_weight += w
        smooth = sum(-weight[j] * log_p[n, j] for j in range(classes)) / classes
        losses[n] = (1 - label_smoothing) * w * -log_p[n, target[n]] + label_smoothing * smooth
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / total_weight if total_weight else math.nan


RNG = np.random.default_rng(7)
LOGITS = RNG.standard_normal((6, 4)) * 2
TARGET = np.array([0, 3, -100, 1, 3, 2])
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])


# ----- one_hot --------------------------------------------------------------------------
def test_one_hot_values_shape_and_dtype():
    labels = np.array([[0, 2], [1, 4]])
    encoded = F.one_hot(tinytorch.tensor(labels))
    assert encoded.dtype == np.int64 and encoded.shape == (2, 2, 5)
    np.testing.assert_array_equal(encoded.numpy(), np.eye(5, dtype=np.int64)[labels])
    assert F.one_hot(tinytorch.tensor([1]), num_classes=3).tolist() == [[0, 1, 0]]
    assert F.one_hot(tinytorch.tensor(2), 4).tolist() == [0, 0, 1, 0]
    empty = F.one_hot(tinytorch.tensor(np.zeros(0, np.int64)), 3)
    assert empty.shape == (0, 3)


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match="int64"):
        F.one_hot(tinytorch.tensor(np.array([0, 1], np.int32)))
    with pytest.raises(RuntimeError, match="int64"):
        F.one_hot(tinytorch.tensor([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="non-negative, got -1"):
        F.one_hot(tinytorch.tensor([0, -1]))
    with pytest.raises(RuntimeError, match=r"smaller than num_classes \(3\), got 3"):
        F.one_hot(tinytorch.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="empty"):
        F.one_hot(tinytorch.tensor(np.zeros(0, np.int64)))


# ----- nll_loss and cross_entropy: values ---------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_matches_the_formula(reduction, weighted):
    log_p = log_softmax_np(LOGITS)
    weight = CLASS_WEIGHT if weighted else None
    got = F.nll_loss(leaf(log_p), tinytorch.tensor(TARGET),
                     weight=None if weight is None else tinytorch.tensor(weight),
                     reduction=reduction)
    np.testing.assert_allclose(got.detach().numpy(), nll_reference(log_p, TARGET, weight,
                                                                   reduction=reduction), rtol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("ignore_index", [-100, 3])
def test_cross_entropy_options_match_the_formula(reduction, weighted, label_smoothing, ignore_index):
    weight = CLASS_WEIGHT if weighted else None
    target = np.where(TARGET == -100, 1, TARGET) if ignore_index == 3 else TARGET
    got = F.cross_entropy(leaf(LOGITS), tinytorch.tensor(target),
                          weight=None if weight is None else tinytorch.tensor(weight),
                          ignore_index=ignore_index, reduction=reduction,
                          label_smoothing=label_smoothing)
    expected = nll_reference(log_softmax_np(LOGITS), target, weight, ignore_index, reduction,
                             label_smoothing)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)


def test_weighted_mean_divides_by_the_weight_of_the_kept_rows():
    # Two rows, classes 0 and 1 with weights 1 and 3: (1 * l0 + 3 * l1) / 4, not / 2.
    logits = np.array([[0.0, 1.0], [2.0, 0.0]])
    log_p = log_softmax_np(logits)
    got = F.cross_entropy(leaf(logits), tinytorch.tensor([0, 1]), weight=tinytorch.tensor(np.array([1.0, 3.0])))
    assert got.item() == pytest.approx((-log_p[0, 0] - 3 * log_p[1, 1]) / 4, rel=1e-12)


def test_unweighted_cross_entropy_keeps_the_fused_kernel():
    # The training hot path: one fused node, not log_softmax + nll.
    x = leaf(LOGITS)
    labels = tinytorch.tensor([0, 3, 2, 1, 3, 2])
    assert type(F.cross_entropy(x, labels).grad_fn).__name__ == "CrossEntropy"
    assert type(F.cross_entropy(x, labels, label_smoothing=0.1).grad_fn).__name__ == "CrossEntropy"
    # An ignore_index that is a class only counts if some target holds it.
    assert type(F.cross_entropy(x, labels, ignore_index=0).grad_fn).__name__ == "NegativeLogLikelihood"
    kept = F.cross_entropy(x, labels, ignore_index=0, reduction="none").detach().numpy()
    assert kept[0] == 0 and np.all(kept[1:] > 0)


def test_all_rows_ignored_mean_is_nan_and_gradient_zero():
    for smoothing in (0.0, 0.2):
        x = leaf(LOGITS)
        loss = F.cross_entropy(x, tinytorch.tensor(np.full(6, -100)), label_smoothing=smoothing)
        assert math.isnan(loss.item())
        loss.backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(LOGITS))
    x = leaf(log_softmax_np(LOGITS))
    F.nll_loss(x, tinytorch.tensor(np.full(6, -100))).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros_like(LOGITS))
    assert F.nll_loss(x, tinytorch.tensor(np.full(6, -100)), reduction="sum").item() == 0.0


def test_class_weights_of_zero_give_nan_mean_as_pytorch():
    x = leaf(LOGITS)
    loss = F.cross_entropy(x, tinytorch.tensor([0, 1, 2, 3, 0, 1]), weight=tinytorch.zeros(4, dtype=tinytorch.float64))
    assert math.isnan(loss.item())
    loss.backward()
    assert np.isnan(x.grad.numpy()).all()


def test_higher_dimensional_inputs_are_rows_of_classes():
    # (N, C, L) scores with (N, L) targets: each position is one row.
    scores = RNG.standard_normal((2, 4, 3))
    target = np.array([[0, 3, -100], [2, 2, 1]])
    rows = scores.transpose(0, 2, 1).reshape(-1, 4)
    for reduction in REDUCTIONS:
        got = F.cross_entropy(leaf(scores), tinytorch.tensor(target), reduction=reduction,
                              weight=tinytorch.tensor(CLASS_WEIGHT))
        expected = nll_reference(log_softmax_np(rows), target.reshape(-1), CLASS_WEIGHT,
                                 reduction=reduction)
        if reduction == "none":
            expected = expected.reshape(2, 3)
        np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)
    got = F.nll_loss(leaf(scores), tinytorch.tensor(target), reduction="none")
    assert got.shape == (2, 3)


def test_unbatched_nll_loss():
    log_p = log_softmax_np(LOGITS[:1])[0]
    assert F.nll_loss(leaf(log_p), tinytorch.tensor(2)).item() == pytest.approx(-log_p[2])
    assert F.nll_loss(leaf(log_p), tinytorch.tensor(2), reduction="none").shape == ()


# ----- nll_loss and cross_entropy: gradients ------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_weighted_ignoring_cross_entropy_gradcheck(reduction, label_smoothing):
    weight, target = tinytorch.tensor(CLASS_WEIGHT), tinytorch.tensor(TARGET)
    assert gradcheck(lambda x: F.cross_entropy(x, target, weight=weight, reduction=reduction,
                                               label_smoothing=label_smoothing), leaf(LOGITS))
    assert gradcheck(lambda x: F.cross_entropy(x, target, reduction=reduction,
                                               label_smoothing=label_smoothing), leaf(LOGITS))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_gradcheck(reduction):
    weight, target = tinytorch.tensor(CLASS_WEIGHT), tinytorch.tensor(TARGET)
    assert gradcheck(lambda x: F.nll_loss(x, target, weight=weight, reduction=reduction),
                     leaf(log_softmax_np(LOGITS)))
    scores = leaf(RNG.standard_normal((2, 3, 2, 2)))
    spatial = tinytorch.tensor([[[0, 1], [2, -100]], [[1, 1], [0, 2]]])
    assert gradcheck(lambda x: F.nll_loss(x, spatial, reduction=reduction), scores)


# ----- nll_loss and cross_entropy: bad inputs ---------------------------------------------
def test_class_index_losses_reject_bad_targets_and_weights():
    x = tinytorch.zeros(3, 4)
    for loss in (F.cross_entropy, F.nll_loss):
        name = loss.__name__
        with pytest.raises(ValueError, match=rf"{name}: expected target of shape \(3,\).*\(3, 4\).*\(2,\)"):
            loss(x, tinytorch.tensor([0, 1]))
        with pytest.raises(IndexError, match=f"{name}: target 4 is out of bounds for 4 classes"):
            loss(x, tinytorch.tensor([0, 4, -100]))
        with pytest.raises(IndexError, match=f"{name}: target -1 is out of bounds"):
            loss(x, tinytorch.tensor([0, -1, 1]))
        with pytest.raises(RuntimeError, match=f"{name}: expected class indices of an integer dtype"):
            loss(x, tinytorch.tensor([0.0, 1.0, 2.0]))
        with pytest.raises(RuntimeError, match=r"all 4 classes.*shape \(3,\)"):
            loss(x, tinytorch.tensor([0, 1, 2]), weight=tinytorch.ones(3))
        with pytest.raises(RuntimeError, match="dtype float64 but the input has dtype float32"):
            loss(x, tinytorch.tensor([0, 1, 2]), weight=tinytorch.ones(4, dtype=tinytorch.float64))
        with pytest.raises(RuntimeError, match="not differentiable with respect to 'weight'"):
            loss(x, tinytorch.tensor([0, 1, 2]), weight=tinytorch.ones(4, requires_grad=True))
        with pytest.raises(ValueError, match="reduction"):
            loss(x, tinytorch.tensor([0, 1, 2]), reduction="avg")
        with pytest.raises(ValueError, match=r"expected target of shape \(3, 5\)"):
            loss(tinytorch.zeros(3, 4, 5), tinytorch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="reduction='sum' as a keyword"):
        F.cross_entropy(x, tinytorch.tensor([0, 1, 2]), "sum")
    with pytest.raises(RuntimeError, match="label_smoothing must be between 0.0 and 1.0"):
        F.cross_entropy(x, tinytorch.tensor([0, 1, 2]), label_smoothing=1.5)


def test_deprecated_size_average_and_reduce_map_to_reduction():
    x, target = leaf(LOGITS), tinytorch.tensor([0, 3, 2, 1, 3, 2])
    cases = [((False, None), "sum"), ((None, False), "none"), ((True, True), "mean")]
    for (size_average, reduce), reduction in cases:
        with pytest.warns(UserWarning, match=f"reduction='{reduction}'"):
            old = F.cross_entropy(x, target, size_average=size_average, reduce=reduce)
        new = F.cross_entropy(x, target, reduction=reduction)
        np.testing.assert_array_equal(old.detach().numpy(), new.detach().numpy())
    with pytest.warns(UserWarning):
        assert nn.NLLLoss(reduce=False).reduction == "none"


# ----- loss modules -----------------------------------------------------------------------
def test_loss_modules_hold_their_weights_as_buffers():
    loss = nn.CrossEntropyLoss(weight=tinytorch.tensor(CLASS_WEIGHT.astype(np.float32)),
                               ignore_index=1, label_smoothing=0.1)
    assert list(loss.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=tinytorch.ones(3)).state_dict()) == ["pos_weight"]
    loss.double()  # the weight follows the model's dtype
    x, target = leaf(LOGITS), tinytorch.tensor([0, 3, 1, 1, 3, 2])
    expected = F.cross_entropy(x, target, weight=tinytorch.tensor(CLASS_WEIGHT), ignore_index=1,
                               label_smoothing=0.1)
    assert loss(x, target).item() == pytest.approx(expected.item(), rel=1e-7)
    nll = nn.NLLLoss(weight=tinytorch.tensor(CLASS_WEIGHT), reduction="sum")
    assert nll(x.log_softmax(1), tinytorch.tensor(TARGET)).item() == pytest.approx(
        nll_reference(log_softmax_np(LOGITS), TARGET, CLASS_WEIGHT, reduction="sum"))


# ----- binary cross-entropy ---------------------------------------------------------------
P = np.array([[0.1, 0.5, 0.9], [0.3, 0.999, 0.02]])
Y = np.array([[0.0, 1.0, 1.0], [0.25, 0.0, 1.0]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_the_formula(reduction):
    weight = np.array([1.0, 2.0, 0.5])
    elementwise = -(Y * np.log(P) + (1 - Y) * np.log(1 - P)) * weight
    expected = {"mean": elementwise.mean(), "sum": elementwise.sum(), "none": elementwise}[reduction]
    got = F.binary_cross_entropy(leaf(P), leaf(Y, False), weight=tinytorch.tensor(weight),
                                 reduction=reduction)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)
    module = nn.BCELoss(weight=tinytorch.tensor(weight), reduction=reduction)
    np.testing.assert_allclose(module(leaf(P), leaf(Y, False)).detach().numpy(), expected, rtol=1e-12)


def test_binary_cross_entropy_clamps_the_log_at_minus_100():
    p, y = leaf([0.0, 1.0, 0.0, 1.0]), leaf([1.0, 0.0, 0.0, 1.0], False)
    np.testing.assert_array_equal(F.binary_cross_entropy(p, y, reduction="none").detach().numpy(),
                                  [100.0, 100.0, 0.0, 0.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_gradcheck(reduction):
    weight = tinytorch.tensor([1.0, 2.0, 0.5], dtype=tinytorch.float64)
    # Targets inside (0, 1), so that central differences stay in the domain.
    assert gradcheck(lambda p, y: F.binary_cross_entropy(p, y, weight=weight, reduction=reduction),
                     (leaf(P), leaf(np.clip(Y, 0.1, 0.8))))


def test_binary_cross_entropy_rejects_bad_inputs():
    p, y = tinytorch.tensor([0.2, 0.7]), tinytorch.tensor([1.0, 0.0])
    with pytest.raises(RuntimeError, match="binary_cross_entropy: all elements of input should be between 0 and 1, got 1.5"):
        F.binary_cross_entropy(tinytorch.tensor([0.2, 1.5]), y)
    with pytest.raises(RuntimeError, match="all elements of input.*nan"):
        F.binary_cross_entropy(tinytorch.tensor([0.2, float("nan")]), y)
    with pytest.raises(RuntimeError, match="all elements of target should be between 0 and 1"):
        F.binary_cross_entropy(p, tinytorch.tensor([1.0, -0.5]))
    for loss in (F.binary_cross_entropy, F.binary_cross_entropy_with_logits):
        name = loss.__name__
        with pytest.raises(ValueError, match=rf"{name}: .*target of shape \(2, 1\).*input shape \(2,\)"):
            loss(p, tinytorch.tensor([[1.0], [0.0]]))
        with pytest.raises(RuntimeError, match=f"{name}: .*same float dtype.*int64"):
            loss(p, tinytorch.tensor([1, 0]))
        with pytest.raises(RuntimeError, match=r"weight of shape \(3,\) does not broadcast"):
            loss(p, y, weight=tinytorch.ones(3))
        with pytest.raises(RuntimeError, match=r"weight of shape \(2, 2\) does not broadcast"):
            loss(p, y, weight=tinytorch.ones(2, 2))
    with pytest.raises(RuntimeError, match="pos_weight of shape"):
        F.binary_cross_entropy_with_logits(p, y, pos_weight=tinytorch.ones(2, 1))


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_matches_the_formula(reduction):
    x = np.array([[-3.0, 0.5, 2.0], [1.0, -0.2, 4.0]])
    pos_weight, weight = np.array([1.0, 3.0, 0.5]), np.array([[2.0], [1.0]])
    sigmoid = 1 / (1 + np.exp(-x))
    elementwise = -(pos_weight * Y * np.log(sigmoid) + (1 - Y) * np.log(1 - sigmoid)) * weight
    expected = {"mean": elementwise.mean(), "sum": elementwise.sum(), "none": elementwise}[reduction]
    got = F.binary_cross_entropy_with_logits(leaf(x), leaf(Y, False), weight=tinytorch.tensor(weight),
                                             reduction=reduction, pos_weight=tinytorch.tensor(pos_weight))
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-12)
    assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(
        x, y, weight=tinytorch.tensor(weight), reduction=reduction,
        pos_weight=tinytorch.tensor(pos_weight)), (leaf(x), leaf(Y)))
    assert gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction),
                     (leaf(x), leaf(Y)))


def test_binary_cross_entropy_with_logits_is_finite_for_huge_logits():
    x = leaf([-1000.0, 1000.0, -1000.0, 1000.0])
    y = tinytorch.tensor([1.0, 0.0, 0.0, 1.0], dtype=tinytorch.float64)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(loss.detach().numpy(), [1000.0, 1000.0, 0.0, 0.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [-1.0, 1.0, 0.0, 0.0])
    assert nn.BCEWithLogitsLoss()(x.detach(), y).item() == pytest.approx(500.0)
    assert softplus(np.array([1000.0]))[0] == 1000.0  # the reference is stable too


# ----- LeakyReLU ----------------------------------------------------------------------------
def test_leaky_relu_values_gradient_and_repr():
    values = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    x = leaf(values)
    y = F.leaky_relu(x, 0.2)
    np.testing.assert_allclose(y.detach().numpy(), np.where(values > 0, values, 0.2 * values))
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.2, 0.2, 0.2, 1.0, 1.0])  # slope at 0
    assert gradcheck(lambda x: F.leaky_relu(x, 0.1), leaf([-1.5, -0.3, 0.4, 2.0]))
    assert gradcheck(nn.LeakyReLU(), leaf(RNG.standard_normal((3, 4))))
    assert F.leaky_relu(tinytorch.tensor([-1.0])).dtype == np.float32
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.LeakyReLU(0.2, inplace=True)) == "LeakyReLU(negative_slope=0.2, inplace=True)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)" and repr(nn.ReLU()) == "ReLU()"
    assert not isinstance(nn.ReLU6(), nn.ReLU)
    with pytest.raises(NotImplementedError, match="leaky_relu: not implemented for dtype int64"):
        F.leaky_relu(tinytorch.tensor([1, -2]))


def test_inplace_flag_returns_a_new_tensor_and_keeps_the_input():
    x = tinytorch.tensor([-1.0, 2.0])
    y = nn.LeakyReLU(0.5, inplace=True)(x)
    assert y.tolist() == [-0.5, 2.0] and x.tolist() == [-1.0, 2.0]


# ----- BatchNorm1d --------------------------------------------------------------------------
def batch_norm_np(x, eps=1e-5):
    axes = (0,) if x.ndim == 2 else (0, 2)
    shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    return (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps), mean, x.var(axis=axes, ddof=1)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batch_norm1d_train_and_eval_match_numpy(shape):
    x = RNG.standard_normal(shape) * 3 + 1
    layer = nn.BatchNorm1d(3, momentum=0.25).double()
    layer.weight.data.copy_(tinytorch.tensor([1.0, 2.0, -1.0], dtype=tinytorch.float64))
    layer.bias.data.copy_(tinytorch.tensor([0.0, 0.5, 1.0], dtype=tinytorch.float64))
    scale = np.array([1.0, 2.0, -1.0]).reshape((1, -1) + (1,) * (len(shape) - 2))
    shift = np.array([0.0, 0.5, 1.0]).reshape(scale.shape)
    normalized, mean, unbiased_var = batch_norm_np(x)
    np.testing.assert_allclose(layer(leaf(x)).detach().numpy(), normalized * scale + shift, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.25 * mean, atol=1e-12)
    np.testing.assert_allclose(layer.running_var.numpy(), 0.75 + 0.25 * unbiased_var, atol=1e-12)
    assert layer.num_batches_tracked.item() == 1
    layer.eval()
    running = (x - (0.25 * mean).reshape(scale.shape)) / np.sqrt(
        (0.75 + 0.25 * unbiased_var).reshape(scale.shape) + 1e-5)
    np.testing.assert_allclose(layer(leaf(x)).detach().numpy(), running * scale + shift, atol=1e-12)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm1d_gradcheck(training):
    layer = nn.BatchNorm1d(3).double().train(training)
    layer.running_mean.data.copy_(tinytorch.tensor([0.1, -0.2, 0.3], dtype=tinytorch.float64))
    for shape in [(5, 3), (2, 3, 4)]:
        x = leaf(RNG.standard_normal(shape))
        momentum_free = nn.BatchNorm1d(3, track_running_stats=False).double().train(training)
        assert gradcheck(momentum_free, x)
        assert gradcheck(lambda x, w, b: F.batch_norm(x, layer.running_mean, layer.running_var,
                                                      w, b, False), (x, leaf(np.ones(3) * 1.5), leaf(np.zeros(3))))


def test_batch_norm1d_errors_name_the_layer_and_shape():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*expected 2D or 3D input \(got 4D input of shape \(2, 3, 4, 5\)\)"):
        nn.BatchNorm1d(3)(tinytorch.zeros(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"expected 2D or 3D input \(got 1D input"):
        nn.BatchNorm1d(3)(tinytorch.zeros(3))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*\(N, 3\) or \(N, 3, L\), got \(2, 4\)"):
        nn.BatchNorm1d(3)(tinytorch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*expected 4D input \(got 3D input"):
        nn.BatchNorm2d(3)(tinytorch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tinytorch.zeros(1, 3))


def test_batch_norm_bias_false_and_state_dict_keys():
    assert list(nn.BatchNorm1d(3).state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    no_bias = nn.BatchNorm1d(3, bias=False)
    assert no_bias.bias is None and "bias" not in no_bias.state_dict()
    assert "bias=False" in repr(no_bias)
    out = no_bias(tinytorch.tensor([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]]))
    np.testing.assert_allclose(out.detach().numpy().sum(axis=0), 0.0, atol=1e-6)


def test_eval_graph_notices_a_training_step_overwriting_its_statistics():
    layer = nn.BatchNorm1d(2).double().eval()
    x = leaf(RNG.standard_normal((4, 2)))
    out = layer(x)
    layer.train()(leaf(RNG.standard_normal((4, 2))))  # updates the running statistics in place
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


# ----- ModuleDict ---------------------------------------------------------------------------
def test_module_dict_registers_modules_by_name():
    heads = nn.ModuleDict({"classify": nn.Linear(4, 3), "act": nn.ReLU()})
    heads["regress"] = nn.Linear(4, 1)
    assert list(heads) == ["classify", "act", "regress"] and len(heads) == 3
    assert "act" in heads and "missing" not in heads
    assert list(heads.state_dict()) == ["classify.weight", "classify.bias",
                                        "regress.weight", "regress.bias"]
    assert len(list(heads.parameters())) == 4
    assert [name for name, _ in heads.items()] == list(heads.keys())
    assert isinstance(heads.pop("act"), nn.ReLU) and "act" not in heads
    del heads["regress"]
    heads.update([("extra", nn.Linear(2, 2))])
    heads.update({"more": nn.Tanh()})
    assert list(heads) == ["classify", "extra", "more"]
    heads.eval()
    assert not heads["classify"].training
    model = nn.Sequential(nn.Linear(2, 2))
    model.heads = nn.ModuleDict({"a": nn.Linear(2, 1)})
    assert "heads.a.weight" in model.state_dict()
    heads.clear()
    assert len(heads) == 0 and list(heads.parameters()) == []


def test_module_dict_errors():
    heads = nn.ModuleDict()
    with pytest.raises(TypeError, match="module name should be a string, got int"):
        heads[1] = nn.ReLU()
    with pytest.raises(KeyError, match="contain"):
        heads["a.b"] = nn.ReLU()
    with pytest.raises(TypeError, match="'x' is a int, not a Module"):
        heads["x"] = 3
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        heads["training"] = nn.ReLU()
    with pytest.raises(TypeError, match="iterable of key/value pairs, but got int"):
        heads.update(5)
    with pytest.raises(ValueError, match="element #0 should be a"):
        heads.update([nn.ReLU()])
    with pytest.raises(KeyError):
        heads["missing"]
    with pytest.raises(NotImplementedError):
        heads(1)


# ----- init ---------------------------------------------------------------------------------
def test_xavier_normal_has_the_glorot_standard_deviation():
    weight = tinytorch.empty(400, 600) if hasattr(tinytorch, "empty") else tinytorch.zeros(400, 600)
    nn.init.xavier_normal_(weight, gain=2.0)
    expected = 2.0 * math.sqrt(2.0 / (400 + 600))
    assert weight.numpy().std() == pytest.approx(expected, rel=0.01)
    assert abs(weight.numpy().mean()) < 0.01 * expected
    conv = tinytorch.zeros(64, 32, 3, 3)  # 18,432 draws: the sample std is within 0.5%
    nn.init.xavier_normal_(conv)
    assert conv.numpy().std() == pytest.approx(math.sqrt(2.0 / (32 * 9 + 64 * 9)), rel=0.03)


def test_calculate_gain_closed_forms_and_errors():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert nn.init.calculate_gain(name) == 1.0
    assert nn.init.calculate_gain("tanh") == 5 / 3
    assert nn.init.calculate_gain("relu") == math.sqrt(2)
    assert nn.init.calculate_gain("selu") == 0.75
    assert nn.init.calculate_gain("leaky_relu") == math.sqrt(2 / (1 + 0.01 ** 2))
    assert nn.init.calculate_gain("leaky_relu", 0.2) == math.sqrt(2 / (1 + 0.04))
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope True is not a valid number"):
        nn.init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="mode 'fan' not supported"):
        nn.init.kaiming_uniform_(tinytorch.zeros(3, 3), mode="fan")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_normal_(tinytorch.zeros(3))


@pytest.mark.parametrize("initialize", [
    lambda t: nn.init.xavier_normal_(t), lambda t: nn.init.xavier_uniform_(t),
    lambda t: nn.init.kaiming_uniform_(t), lambda t: nn.init.kaiming_normal_(t),
    lambda t: nn.init.uniform_(t), lambda t: nn.init.normal_(t), lambda t: nn.init.zeros_(t),
    lambda t: nn.init.ones_(t), lambda t: nn.init.constant_(t, 0.3)])
def test_init_writes_in_place_and_counts_the_write(initialize):
    layer = nn.Linear(3, 2)
    weight = layer.weight
    before = weight.numpy().copy() if not weight.requires_grad else weight.detach().numpy().copy()
    x = tinytorch.tensor(np.ones((1, 3), np.float32), requires_grad=True)
    out = (layer(x) * 1.0).sum()  # the graph saved the weight
    version = weight._version
    assert initialize(weight) is weight  # works on a parameter that requires grad
    assert weight._version == version + 1
    assert not np.array_equal(weight.detach().numpy(), before)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


# ----- PyTorch as an oracle -----------------------------------------------------------------
def _torch_grad_pair(ours_fn, theirs_fn, arrays, rtol=1e-9):
    torch = pytest.importorskip("torch")
    ours = [leaf(a) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    our_out, their_out = ours_fn(*ours), theirs_fn(*theirs)
    np.testing.assert_allclose(our_out.detach().numpy(), their_out.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    upstream = RNG.standard_normal(their_out.shape) if their_out.ndim else np.array(1.7)
    (our_out * tinytorch.tensor(upstream)).sum().backward()
    (their_out * torch.tensor(upstream)).sum().backward()
    for mine, other in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), other.grad.numpy(), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_and_nll_match_pytorch(reduction, label_smoothing, weighted):
    torch = pytest.importorskip("torch")
    ours_w = tinytorch.tensor(CLASS_WEIGHT) if weighted else None
    theirs_w = torch.tensor(CLASS_WEIGHT) if weighted else None
    for target in (TARGET, np.array([1, 0, 3, 3, 2, 1]), np.array([2, -100, 2, 0, 0, 0])):
        _torch_grad_pair(
            lambda x: F.cross_entropy(x, tinytorch.tensor(target), weight=ours_w, ignore_index=0,
                                      reduction=reduction, label_smoothing=label_smoothing)
            if -100 not in target else
            F.cross_entropy(x, tinytorch.tensor(target), weight=ours_w, reduction=reduction,
                            label_smoothing=label_smoothing),
            lambda x: torch.nn.functional.cross_entropy(
                x, torch.tensor(target), weight=theirs_w,
                ignore_index=0 if -100 not in target else -100, reduction=reduction,
                label_smoothing=label_smoothing), [LOGITS])
    _torch_grad_pair(
        lambda x: F.nll_loss(x, tinytorch.tensor(TARGET), weight=ours_w, reduction=reduction),
        lambda x: torch.nn.functional.nll_loss(x, torch.tensor(TARGET), weight=theirs_w,
                                               reduction=reduction), [log_softmax_np(LOGITS)])
    scores = RNG.standard_normal((2, 4, 3))
    spatial = np.array([[0, 3, -100], [2, 2, 1]])
    _torch_grad_pair(
        lambda x: F.cross_entropy(x, tinytorch.tensor(spatial), weight=ours_w, reduction=reduction,
                                  label_smoothing=label_smoothing),
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(spatial), weight=theirs_w,
                                                    reduction=reduction,
                                                    label_smoothing=label_smoothing), [scores])


def test_all_ignored_matches_pytorch():
    torch = pytest.importorskip("torch")
    for smoothing in (0.0, 0.4):
        x, tx = leaf(LOGITS), torch.tensor(LOGITS, requires_grad=True)
        ours = F.cross_entropy(x, tinytorch.tensor(np.full(6, -100)), label_smoothing=smoothing,
                               weight=tinytorch.tensor(CLASS_WEIGHT))
        theirs = torch.nn.functional.cross_entropy(tx, torch.full((6,), -100),
                                                   label_smoothing=smoothing,
                                                   weight=torch.tensor(CLASS_WEIGHT))
        assert math.isnan(ours.item()) and math.isnan(theirs.item())
        ours.backward()
        theirs.backward()
        np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_losses_match_pytorch(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    weight = np.array([1.0, 2.0, 0.5])
    edges = np.array([[0.0, 1.0, 1e-30], [0.3, 0.999, 0.02]])  # clamped logs; huge gradients
    for p in (P, edges):
        _torch_grad_pair(
            lambda p, y: F.binary_cross_entropy(p, y, weight=tinytorch.tensor(weight), reduction=reduction),
            lambda p, y: tf.binary_cross_entropy(p, y, weight=torch.tensor(weight), reduction=reduction),
            [p, Y], rtol=1e-8)  # PyTorch's 1e-12 floor is a float32 constant
    x = np.array([[-30.0, 0.5, 2.0], [1.0, -0.2, 40.0]])
    pos_weight = np.array([1.0, 3.0, 0.5])
    _torch_grad_pair(
        lambda x, y: F.binary_cross_entropy_with_logits(
            x, y, weight=tinytorch.tensor(weight), reduction=reduction,
            pos_weight=tinytorch.tensor(pos_weight)),
        lambda x, y: tf.binary_cross_entropy_with_logits(
            x, y, weight=torch.tensor(weight), reduction=reduction,
            pos_weight=torch.tensor(pos_weight)), [x, Y])


def test_one_hot_and_leaky_relu_match_pytorch():
    torch = pytest.importorskip("torch")
    labels = np.array([[3, 0], [1, 1]])
    np.testing.assert_array_equal(F.one_hot(tinytorch.tensor(labels)).numpy(),
                                  torch.nn.functional.one_hot(torch.tensor(labels)).numpy())
    values = np.array([-2.0, 0.0, 1.5, -0.1])
    _torch_grad_pair(lambda x: F.leaky_relu(x, 0.3),
                     lambda x: torch.nn.functional.leaky_relu(x, 0.3), [values])
    assert repr(nn.LeakyReLU(0.2, True)) == repr(torch.nn.LeakyReLU(0.2, True))


def test_batch_norm1d_matches_pytorch_over_steps():
    torch = pytest.importorskip("torch")
    for shape in [(6, 3), (4, 3, 5)]:
        ours, theirs = nn.BatchNorm1d(3, momentum=0.3).double(), torch.nn.BatchNorm1d(3, momentum=0.3).double()
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)
        for step in range(3):
            x = RNG.standard_normal(shape) * (step + 1)
            _torch_grad_pair(ours, theirs, [x])
        np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-12)
        ours.eval(), theirs.eval()
        _torch_grad_pair(ours, theirs, [RNG.standard_normal(shape)])
    assert repr(nn.BatchNorm1d(3, bias=False)) == repr(torch.nn.BatchNorm1d(3, bias=False))
    assert repr(nn.BatchNorm1d(3, affine=False)) == repr(torch.nn.BatchNorm1d(3, affine=False))


def test_module_dict_and_init_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.ModuleDict({"b": nn.Linear(1, 2), "a": nn.ReLU(), "c": nn.BatchNorm1d(2)})
    theirs = torch.nn.ModuleDict({"b": torch.nn.Linear(1, 2), "a": torch.nn.ReLU(),
                                  "c": torch.nn.BatchNorm1d(2)})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert list(ours) == list(theirs)
    for name in ("linear", "conv1d", "sigmoid", "tanh", "relu", "selu", "leaky_relu"):
        assert nn.init.calculate_gain(name) == torch.nn.init.calculate_gain(name)
    assert nn.init.calculate_gain("leaky_relu", 0.3) == torch.nn.init.calculate_gain("leaky_relu", 0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        losses = [(nn.CrossEntropyLoss(weight=tinytorch.ones(3)), torch.nn.CrossEntropyLoss(weight=torch.ones(3))),
                  (nn.BCEWithLogitsLoss(weight=tinytorch.ones(2), pos_weight=tinytorch.ones(2)),
                   torch.nn.BCEWithLogitsLoss(weight=torch.ones(2), pos_weight=torch.ones(2))),
                  (nn.NLLLoss(size_average=False), torch.nn.NLLLoss(size_average=False))]
    for mine, other in losses:
        assert list(mine.state_dict()) == list(other.state_dict())
        assert mine.reduction == other.reduction


def test_relu_functions_accept_inplace_and_leave_the_input():
    x = tinytorch.tensor([-2.0, 3.0, 8.0])
    np.testing.assert_array_equal(F.relu(x, inplace=True).numpy(), [0.0, 3.0, 8.0])
    np.testing.assert_array_equal(F.relu6(x, True).numpy(), [0.0, 3.0, 6.0])
    np.testing.assert_array_equal(x.numpy(), [-2.0, 3.0, 8.0])
