"""Gradient clipping against the definition of the norm (and against PyTorch)."""
import math

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.nn.utils import clip_grad_norm_, clip_grad_value_


def parameters_with_gradients(gradients):
    params = []
    for g in gradients:
        param = nn.Parameter(np.zeros(np.shape(g), dtype=np.asarray(g).dtype))
        param.grad = tinytorch.tensor(np.array(g))
        params.append(param)
    return params


def joint_norm(gradients, p):
    flat = np.concatenate([np.ravel(g).astype(np.float64) for g in gradients])
    return np.abs(flat).max() if p == math.inf else (np.abs(flat) ** p).sum() ** (1 / p)


def random_gradients(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in [(3, 4), (4,), (2, 2, 2)]]


class TestClipGradNorm:
    @pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
    def test_scales_everything_by_one_factor_and_returns_the_norm(self, norm_type):
        gradients = random_gradients()
        params = parameters_with_gradients(gradients)
        norm_before = joint_norm(gradients, norm_type)
        max_norm = norm_before / 4
        returned = clip_grad_norm_(params, max_norm=max_norm, norm_type=norm_type)
        assert isinstance(returned, tinytorch.Tensor) and returned.shape == ()
        assert returned.item() == pytest.approx(norm_before, rel=1e-12)
        factor = max_norm / (norm_before + 1e-6)
        for param, g in zip(params, gradients):
            np.testing.assert_allclose(param.grad.array, g * factor, rtol=1e-12)
        after = joint_norm([p.grad.array for p in params], norm_type)
        assert after == pytest.approx(max_norm, rel=1e-5)

    def test_the_textbook_example(self):
        params = parameters_with_gradients([np.array([3.0, 0.0]), np.array([4.0])])
        assert clip_grad_norm_(params, max_norm=1.0).item() == pytest.approx(5.0)
        np.testing.assert_allclose(params[0].grad.array, [0.6, 0.0], rtol=1e-6)
        np.testing.assert_allclose(params[1].grad.array, [0.8], rtol=1e-6)

    def test_gradients_under_the_limit_are_untouched(self):
        gradients = random_gradients(seed=1)
        params = parameters_with_gradients(gradients)
        arrays = [p.grad.array for p in params]
        norm = joint_norm(gradients, 2)
        assert clip_grad_norm_(params, max_norm=norm * 1.01).item() == pytest.approx(norm)
        for param, array, g in zip(params, arrays, gradients):
            assert param.grad.array is array
            np.testing.assert_array_equal(array, g)

    def test_float32_gradients_give_a_float32_norm_and_stay_float32(self):
        gradients = random_gradients(seed=2, dtype=np.float32)
        params = parameters_with_gradients(gradients)
        norm = clip_grad_norm_(params, max_norm=0.5)
        assert norm.dtype == np.float32
        assert norm.item() == pytest.approx(joint_norm(gradients, 2), rel=1e-6)
        assert all(p.grad.array.dtype == np.float32 for p in params)
        assert joint_norm([p.grad.array for p in params], 2) == pytest.approx(0.5, rel=1e-5)

    def test_accepts_a_single_tensor_a_generator_and_missing_gradients(self):
        single = parameters_with_gradients([np.array([6.0, 8.0])])[0]
        assert clip_grad_norm_(single, 5.0).item() == pytest.approx(10.0)
        np.testing.assert_allclose(single.grad.array, [3.0, 4.0], rtol=1e-6)
        params = parameters_with_gradients([np.array([6.0, 8.0])]) + [nn.Parameter(np.ones(3))]
        assert clip_grad_norm_((p for p in params), 5.0).item() == pytest.approx(10.0)
        assert params[1].grad is None
        assert clip_grad_norm_([nn.Parameter(np.ones(2))], 1.0).item() == 0.0

    @pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
    @pytest.mark.parametrize("bad", [math.inf, math.nan])
    def test_nonfinite_norm(self, bad):
        params = parameters_with_gradients([np.array([bad, 1.0]), np.array([2.0])])
        with pytest.raises(RuntimeError, match="non-finite"):
            clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
        np.testing.assert_array_equal(params[1].grad.array, [2.0])  # nothing was scaled
        # Without the check, the non-finite norm is used anyway (as in PyTorch) and the
        # gradients show it: no finite value survives.
        norm = clip_grad_norm_(params, 1.0)
        assert not math.isfinite(norm.item())
        assert not np.isfinite(params[0].grad.array[0])
        if bad == math.inf:
            assert params[1].grad.array[0] == 0.0  # scaled by max_norm / inf
        else:
            assert math.isnan(params[1].grad.array[0])

    @pytest.mark.parametrize("norm_type", [0, -1.0, -math.inf])
    def test_unsupported_norm_types_are_refused(self, norm_type):
        params = parameters_with_gradients([np.array([1.0])])
        with pytest.raises(ValueError, match="norm_type must be positive"):
            clip_grad_norm_(params, 1.0, norm_type=norm_type)


class TestClipGradValue:
    def test_clamps_each_element_in_place(self):
        params = parameters_with_gradients([np.array([-4.0, 0.5, 2.0]), np.array([[1.5, -0.25]])])
        arrays = [p.grad.array for p in params]
        assert clip_grad_value_(params, 1.0) is None
        np.testing.assert_array_equal(params[0].grad.array, [-1.0, 0.5, 1.0])
        np.testing.assert_array_equal(params[1].grad.array, [[1.0, -0.25]])
        assert all(p.grad.array is a for p, a in zip(params, arrays))

    def test_single_tensor_and_missing_gradients(self):
        single = parameters_with_gradients([np.array([3.0, -3.0], dtype=np.float32)])[0]
        clip_grad_value_(single, 2)
        np.testing.assert_array_equal(single.grad.array, [2.0, -2.0])
        assert single.grad.array.dtype == np.float32
        clip_grad_value_([nn.Parameter(np.ones(2))], 1.0)  # no gradient: nothing to do


class TestAgainstPyTorch:
    @pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
    @pytest.mark.parametrize("max_norm", [0.5, 100.0])
    def test_clip_grad_norm_matches(self, norm_type, max_norm):
        torch = pytest.importorskip("torch")
        gradients = random_gradients(seed=3, dtype=np.float32)
        ours = parameters_with_gradients(gradients)
        theirs = []
        for g in gradients:
            param = torch.nn.Parameter(torch.zeros(g.shape))
            param.grad = torch.tensor(g)
            theirs.append(param)
        our_norm = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
        their_norm = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
        assert our_norm.dtype == np.float32
        assert our_norm.item() == pytest.approx(their_norm.item(), rel=1e-6)
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.grad.array, q.grad.numpy(), rtol=1e-6, atol=1e-7)

    def test_clip_grad_value_matches(self):
        torch = pytest.importorskip("torch")
        gradients = random_gradients(seed=4, dtype=np.float32)
        ours = parameters_with_gradients(gradients)
        theirs = [torch.nn.Parameter(torch.zeros(g.shape)) for g in gradients]
        for q, g in zip(theirs, gradients):
            q.grad = torch.tensor(g)
        clip_grad_value_(ours, 0.7)
        torch.nn.utils.clip_grad_value_(theirs, 0.7)
        for p, q in zip(ours, theirs):
            np.testing.assert_array_equal(p.grad.array, q.grad.numpy())
