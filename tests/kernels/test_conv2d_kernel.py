"""The conv2d kernel (im2col + GEMM + col2im) against its sliding-window reference.

The reference is itself checked against central differences, so the chain of
trust ends in the definition of the derivative, not in another implementation.
"""
import numpy as np
import pytest

from tinytorch.kernels.conv2d import (
    col2im, conv2d_backward, conv2d_backward_reference, conv2d_forward, conv2d_forward_reference,
    im2col, output_size)

# (batch, channels, height, width, out_channels, kernel, stride, padding, dilation, groups)
CASES = [
    (2, 3, 6, 5, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1),
    (1, 4, 7, 7, 6, (3, 2), (2, 1), (0, 1), (1, 1), 2),
    (2, 4, 8, 6, 4, (3, 3), (1, 2), (2, 1), (2, 1), 4),   # depthwise, dilated
    (3, 2, 5, 5, 4, (1, 1), (1, 1), (0, 0), (1, 1), 1),   # pointwise
    (1, 2, 4, 4, 2, (4, 4), (1, 1), (0, 0), (1, 1), 1),   # kernel covers the image
    (2, 4, 5, 7, 8, (2, 3), (3, 2), (1, 2), (2, 2), 2),
]


def make(case, dtype, seed=0):
    batch, channels, height, width, out_channels, kernel, *_, groups = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, channels, height, width)).astype(dtype)
    weight = rng.standard_normal((out_channels, channels // groups) + kernel).astype(dtype)
    bias = rng.standard_normal(out_channels).astype(dtype)
    return x, weight, bias


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-12), (np.float32, 1e-4)])
def test_forward_and_backward_equal_the_reference(case, dtype, tolerance):
    x, weight, bias = make(case, dtype)
    stride, padding, dilation, groups = case[6:]
    out, cols = conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    expected = conv2d_forward_reference(x, weight, bias, stride, padding, dilation, groups)
    assert out.dtype == dtype and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=tolerance, atol=tolerance)
    grad_out = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    got = conv2d_backward(grad_out, cols, x.shape, weight, stride, padding, dilation, groups)
    want = conv2d_backward_reference(grad_out, x, weight, stride, padding, dilation, groups)
    for name, a, b in zip(("input", "weight", "bias"), got, want):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance * 10, err_msg=name)


def test_backward_skips_gradients_that_are_not_needed():
    x, weight, bias = make(CASES[0], np.float64)
    out, cols = conv2d_forward(x, weight, bias, (1, 1), (1, 1), (1, 1), 1)
    grads = conv2d_backward(np.ones_like(out), cols, x.shape, weight, (1, 1), (1, 1), (1, 1), 1,
                            needs_input_grad=(False, True, False))
    assert grads[0] is None and grads[2] is None and grads[1] is not None


@pytest.mark.parametrize("case", CASES[:4])
def test_reference_gradients_match_central_differences(case):
    x, weight, bias = make(case, np.float64, seed=2)
    stride, padding, dilation, groups = case[6:]
    out = conv2d_forward_reference(x, weight, bias, stride, padding, dilation, groups)
    direction = np.random.default_rng(3).standard_normal(out.shape)  # loss = sum(direction * out)
    grad_x, grad_w, grad_b = conv2d_backward_reference(direction, x, weight, stride, padding,
                                                       dilation, groups)
    eps = 1e-6
    for array, grad in ((x, grad_x), (weight, grad_w), (bias, grad_b)):
        for index in list(np.ndindex(array.shape))[::7]:
            original = array[index]
            array[index] = original + eps
            plus = (direction * conv2d_forward_reference(x, weight, bias, stride, padding, dilation, groups)).sum()
            array[index] = original - eps
            minus = (direction * conv2d_forward_reference(x, weight, bias, stride, padding, dilation, groups)).sum()
            array[index] = original
            assert abs((plus - minus) / (2 * eps) - grad[index]) < 1e-6


def test_col2im_is_the_adjoint_of_im2col():
    # <im2col(x), c> == <x, col2im(c)> for all x, c: the defining property of the backward.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 5))
    arguments = (3, 2, 2, 1, 1, 1, 1, 2)
    out_h, out_w = output_size(6, 3, 2, 1, 1), output_size(5, 2, 1, 1, 2)
    cols = im2col(x, *arguments, out_h, out_w)
    c = rng.standard_normal(cols.shape)
    back = col2im(c, 3, 6, 5, *arguments, out_h, out_w)
    assert abs((cols * c).sum() - (x * back).sum()) < 1e-10


def test_matches_pytorch_when_available():
    torch = pytest.importorskip("torch")
    x, weight, bias = make(CASES[5], np.float64)
    stride, padding, dilation, groups = CASES[5][6:]
    out, _ = conv2d_forward(x, weight, bias, stride, padding, dilation, groups)
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias),
                                        stride, padding, dilation, groups)
    np.testing.assert_allclose(out, theirs.numpy(), rtol=1e-12, atol=1e-12)
