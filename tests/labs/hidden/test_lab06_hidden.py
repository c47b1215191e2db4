"""Lab 06, graded by the autograder only (probes: see tinytorch.app.labs.expect)."""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.kernels.conv2d import col2im, im2col, output_size
from tinytorch.kernels.pooling import max_pool2d_backward, max_pool2d_forward
from tinytorch.app.labs import expect
from tinytorch.nn import functional as F


def test_output_size_of_large_and_tight_fits():
    cases = {
        "a 224 image, 7x7 kernel, stride 2, padding 3": (224, 7, 2, 3, 1),
        "a kernel exactly as wide as the padded input": (5, 7, 1, 1, 1),
        "a dilated kernel exactly as wide as the input": (9, 3, 2, 0, 4),
        "a stride larger than the input": (4, 1, 5, 0, 1),
        "a stride that leaves a remainder": (10, 3, 4, 2, 2),
        "a size-1 input, 1x1 kernel": (1, 1, 1, 0, 1),
    }
    for what, arguments in cases.items():
        expect.value(output_size(*arguments), what=f"the output size of {what}")


# (kernel, stride, padding, dilation, (height, width)) of one image
IM2COL_GEOMETRIES = [
    pytest.param((2, 2), (3, 3), (0, 0), (1, 1), (7, 8), id="a stride larger than the kernel"),
    pytest.param((2, 2), (1, 1), (2, 2), (1, 1), (3, 3),
                 id="padding as wide as the kernel, so whole windows are padding"),
    pytest.param((2, 3), (1, 2), (1, 2), (3, 1), (7, 5), id="dilation 3 down, padding 2 across"),
    pytest.param((1, 4), (2, 1), (0, 0), (1, 1), (5, 4), id="a kernel as wide as the input"),
]


@pytest.mark.parametrize("kernel, stride, padding, dilation, image", IM2COL_GEOMETRIES)
def test_im2col_of_one_image_with_gaps_and_wide_padding(kernel, stride, padding, dilation, image):
    x = np.random.default_rng(11).standard_normal((1, 2) + image)
    out_h = output_size(image[0], kernel[0], stride[0], padding[0], dilation[0])
    out_w = output_size(image[1], kernel[1], stride[1], padding[1], dilation[1])
    cols = im2col(x, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                  dilation[0], dilation[1], out_h, out_w)
    expect.value(cols, what="the columns")


def test_im2col_of_float32_keeps_float32():
    x = np.random.default_rng(12).standard_normal((3, 2, 5, 4)).astype(np.float32)
    cols = im2col(x, 3, 2, 1, 2, 1, 1, 1, 1, 5, 3)
    expect.value(str(cols.dtype), what="the dtype of the columns")
    expect.value(cols, what="the columns")


def test_im2col_of_a_counting_image_shows_the_row_and_column_layout():
    x = np.arange(1.0, 17.0).reshape(1, 1, 4, 4)
    expect.value(im2col(x, 2, 2, 2, 2, 0, 0, 1, 1, 2, 2),
                 what="the columns of a 4x4 image numbered 1..16, 2x2 kernel, stride 2")


@pytest.mark.parametrize("kernel, stride, padding, dilation, image", IM2COL_GEOMETRIES)
def test_col2im_of_one_image_with_gaps_and_wide_padding(kernel, stride, padding, dilation, image):
    out_h = output_size(image[0], kernel[0], stride[0], padding[0], dilation[0])
    out_w = output_size(image[1], kernel[1], stride[1], padding[1], dilation[1])
    cols = np.random.default_rng(13).standard_normal((1, 2 * kernel[0] * kernel[1], out_h * out_w))
    image_out = col2im(cols, 2, *image, kernel[0], kernel[1], stride[0], stride[1], padding[0],
                       padding[1], dilation[0], dilation[1], out_h, out_w)
    expect.value(image_out, rtol=1e-12, atol=1e-12, what="the image the columns add up to")


def test_col2im_of_ones_counts_how_often_each_pixel_is_read():
    # 3x3 kernel, stride 1, padding 1 on a 4x5 image: corner pixels are read 4 times, the middle 9.
    cols = np.ones((2, 3 * 9, 4 * 5), dtype=np.float32)
    image = col2im(cols, 3, 4, 5, 3, 3, 1, 1, 1, 1, 1, 1, 4, 5)
    expect.value(str(image.dtype), what="the dtype of the image")
    expect.value(image, what="how many windows read each pixel")


def grouped_layer_run(groups):
    tinytorch.manual_seed(5)
    layer = nn.Conv2d(4, 4, 3, stride=2, padding=(2, 0), groups=groups, dtype=np.float64)
    generator = np.random.default_rng(14)
    x = tinytorch.tensor(generator.standard_normal((3, 4, 8, 7)), requires_grad=True)
    out = layer(x)
    (out * tinytorch.tensor(generator.standard_normal(out.shape))).sum().backward()
    return layer, x, out


@pytest.mark.parametrize("groups", [pytest.param(2, id="two groups"),
                                    pytest.param(4, id="depthwise")])
def test_grouped_conv2d_layer_output_and_gradients(groups):
    layer, x, out = grouped_layer_run(groups)
    expect.value(out.detach(), rtol=1e-9, atol=1e-12, what="the layer's output")
    expect.value(x.grad.detach(), rtol=1e-9, atol=1e-12, what="the input's gradient")
    expect.value(layer.weight.grad.detach(), rtol=1e-9, atol=1e-12, what="the weight's gradient")


def test_functional_conv2d_in_float32():
    generator = np.random.default_rng(15)
    x = tinytorch.tensor(generator.standard_normal((2, 3, 6, 6)).astype(np.float32),
                         requires_grad=True)
    weight = tinytorch.tensor(generator.standard_normal((5, 3, 2, 2)).astype(np.float32),
                              requires_grad=True)
    out = F.conv2d(x, weight, stride=(1, 2), padding=1, dilation=(2, 1))
    out.sum().backward()
    expect.value(str(out.dtype), what="the output's dtype")
    expect.value(out.detach(), rtol=1e-5, atol=1e-5, what="the output")
    expect.value(x.grad.detach(), rtol=1e-5, atol=1e-5, what="the input's gradient")
    expect.value(weight.grad.detach(), rtol=1e-5, atol=1e-5, what="the weight's gradient")


def test_max_pool_keeps_the_first_of_tied_maxima():
    # Every window holds ties: the first maximum in row-major order wins.
    x = np.array([[[[1.0, 1.0, 0.0, 2.0],
                    [1.0, 1.0, 2.0, 2.0],
                    [3.0, 0.0, 5.0, 5.0],
                    [0.0, 3.0, 5.0, 5.0]]]])
    out, indices = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    expect.value(out, what="the window maxima")
    expect.value(indices, what="where each maximum was")


def test_max_pool_of_a_constant_image_with_overlapping_windows():
    x = np.full((1, 2, 4, 5), 0.5)
    out, indices = max_pool2d_forward(x, (3, 3), (1, 2), (1, 1))
    expect.value(out, what="the window maxima")
    expect.value(indices, what="where each maximum was (the first of the ties)")


def test_max_pool_padding_never_wins_over_negative_values():
    x = -np.arange(1.0, 31.0).reshape(1, 1, 5, 6)
    out, indices = max_pool2d_forward(x, (3, 3), (2, 2), (1, 1))
    expect.value(out, what="the window maxima of an all-negative image")
    expect.value(indices, what="where each maximum was")


def test_max_pool_lets_nan_win():
    # Each NaN is the last value its window scans.
    x = np.array([[[[1.0, 2.0, 3.0, 4.0],
                    [5.0, np.nan, 7.0, np.nan],
                    [9.0, 10.0, 11.0, 12.0],
                    [13.0, 14.0, 15.0, 16.0]]]])
    out, indices = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    expect.value(out, what="the window maxima (NaN where a window holds NaN)")
    expect.value(indices, what="where each maximum was")


def test_max_pool_with_a_stride_larger_than_the_window_in_float32():
    x = np.random.default_rng(16).standard_normal((2, 3, 9, 8)).astype(np.float32)
    out, indices = max_pool2d_forward(x, (2, 3), (4, 3), (1, 0))
    expect.value(str(out.dtype), what="the dtype of the maxima")
    expect.value(out, what="the window maxima")
    expect.value(indices, what="where each maximum was")


def test_max_pool_layer_gradient_with_tied_overlapping_windows():
    # A constant image: every window's winner is its first pixel, which often wins many.
    x = tinytorch.tensor(np.ones((1, 2, 5, 4)), requires_grad=True)
    out = F.max_pool2d(x, (3, 2), stride=1, padding=(1, 0))
    grad_out = np.random.default_rng(17).standard_normal(out.shape)
    (out * tinytorch.tensor(grad_out)).sum().backward()
    expect.value(x.grad.detach(), rtol=1e-12, atol=1e-12, what="the input's gradient")


def test_max_pool_backward_of_one_index_hit_by_every_output():
    indices = np.full((3, 2, 3), 4, dtype=np.int64)
    grad_out = np.arange(1.0, 19.0).reshape(3, 2, 3)
    expect.value(max_pool2d_backward(grad_out, indices, (3, 3, 3)), rtol=1e-12,
                 what="the gradient when every window of each plane is won by pixel 4")
