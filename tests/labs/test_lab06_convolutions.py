"""Lab 06 — convolutions: output sizes, im2col, col2im and max pooling (kernels/conv2d.py,
kernels/pooling.py).

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 06 on fixed inputs and hands over the results (output sizes, the
columns im2col lists, the image col2im adds up, a convolution layer's output
and gradients, window maxima and where they were); the lab's answer key holds
what the reference solution produces.  Nothing from later labs is used.
"""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.kernels.conv2d import col2im, im2col, output_size
from tinytorch.kernels.pooling import max_pool2d_backward, max_pool2d_forward
from tinytorch.app.labs import expect
from tinytorch.nn import functional as F

# (kernel, stride, padding, dilation) per axis (height, width), and the input's (height, width).
GEOMETRIES = [
    pytest.param((3, 3), (1, 1), (1, 1), (1, 1), (5, 6), id="a 3x3 kernel, stride 1, padding 1"),
    pytest.param((2, 3), (2, 1), (1, 0), (1, 2), (6, 7),
                 id="a 2x3 kernel, stride (2, 1), padding (1, 0), dilation (1, 2)"),
    pytest.param((3, 2), (2, 3), (0, 1), (2, 1), (9, 8),
                 id="a 3x2 kernel, stride (2, 3), padding (0, 1), dilation (2, 1)"),
    pytest.param((1, 1), (1, 1), (0, 0), (1, 1), (3, 4), id="a 1x1 kernel"),
]


def columns_shape(height, width, kernel, stride, padding, dilation):
    """(out_h, out_w) by the student's output_size."""
    return (output_size(height, kernel[0], stride[0], padding[0], dilation[0]),
            output_size(width, kernel[1], stride[1], padding[1], dilation[1]))


def test_output_size_counts_the_windows_that_fit():
    for kernel in range(1, 4):
        for stride in range(1, 4):
            for padding in range(0, 2):
                for dilation in range(1, 3):
                    # Input sizes from the smallest the dilated kernel fits (once padded) to 8.
                    smallest = max(1, dilation * (kernel - 1) + 1 - 2 * padding)
                    sizes = [output_size(size, kernel, stride, padding, dilation)
                             for size in range(smallest, 9)]
                    expect.value(np.array(sizes), what=(
                        f"the output sizes of inputs of size {smallest} to 8 with kernel {kernel}, "
                        f"stride {stride}, padding {padding}, dilation {dilation}"))


@pytest.mark.parametrize("kernel, stride, padding, dilation, image", GEOMETRIES)
def test_im2col_lists_the_input_under_every_kernel_tap(kernel, stride, padding, dilation, image):
    x = np.random.default_rng(0).standard_normal((2, 3) + image)
    out_h, out_w = columns_shape(*image, kernel, stride, padding, dilation)
    cols = im2col(x, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                  dilation[0], dilation[1], out_h, out_w)
    expect.value(cols, what="the columns (image, channel and tap, output position)")


@pytest.mark.parametrize("kernel, stride, padding, dilation, image", GEOMETRIES)
def test_col2im_adds_every_column_entry_back_onto_its_pixel(kernel, stride, padding, dilation,
                                                            image):
    out_h, out_w = columns_shape(*image, kernel, stride, padding, dilation)
    cols = np.random.default_rng(1).standard_normal((2, 3 * kernel[0] * kernel[1], out_h * out_w))
    result = col2im(cols, 3, *image, kernel[0], kernel[1], stride[0], stride[1], padding[0],
                    padding[1], dilation[0], dilation[1], out_h, out_w)
    expect.value(result, rtol=1e-12, atol=1e-12, what="the image the columns add up to")


def conv2d_layer_run():
    """A layer with everything uneven (a 3x2 kernel, stride (2, 1), padding 1, dilation
    (1, 2)), its input, its output, and a random output gradient sent back through it."""
    tinytorch.manual_seed(0)
    layer = nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2), dtype=np.float64)
    generator = np.random.default_rng(2)
    x = tinytorch.tensor(generator.standard_normal((2, 3, 7, 6)), requires_grad=True)
    out = layer(x)
    grad_out = generator.standard_normal(out.shape)
    (out * tinytorch.tensor(grad_out)).sum().backward()
    return layer, x, out


def test_conv2d_layer_forward():
    _, _, out = conv2d_layer_run()
    expect.value(out.shape, what="the output shape")
    expect.value(out.detach(), rtol=1e-9, atol=1e-12, what="the layer's output")


def test_conv2d_layer_input_gradient():
    _, x, _ = conv2d_layer_run()
    expect.value(x.grad.detach(), rtol=1e-9, atol=1e-12, what="the input's gradient")


def test_conv2d_layer_weight_and_bias_gradients():
    layer, _, _ = conv2d_layer_run()
    expect.value(layer.weight.grad.detach(), rtol=1e-9, atol=1e-12, what="the weight's gradient")
    expect.value(layer.bias.grad.detach(), rtol=1e-9, atol=1e-12, what="the bias's gradient")


@pytest.mark.parametrize("kernel, stride, padding", [
    pytest.param((2, 2), (2, 2), (0, 0), id="2x2 windows, stride 2"),
    pytest.param((3, 3), (2, 2), (1, 1), id="3x3 windows, stride 2, padding 1"),
    pytest.param((3, 2), (1, 2), (1, 0), id="3x2 windows, stride (1, 2), padding (1, 0)"),
])
def test_max_pool_forward_finds_each_window_maximum_and_where_it_was(kernel, stride, padding):
    x = np.random.default_rng(3).standard_normal((2, 3, 7, 6))
    out, indices = max_pool2d_forward(x, kernel, stride, padding)
    expect.value(out, what="the window maxima")
    expect.value(indices, what="the flat position of each maximum in its H*W plane")


def test_max_pool_layer_sends_each_gradient_to_its_window_winner():
    generator = np.random.default_rng(4)
    # Overlapping windows (stride 1 < kernel 3): one input can win several windows.
    x = tinytorch.tensor(generator.standard_normal((2, 2, 6, 5)), requires_grad=True)
    out = F.max_pool2d(x, 3, stride=1, padding=1)
    grad_out = generator.standard_normal(out.shape)
    (out * tinytorch.tensor(grad_out)).sum().backward()
    expect.value(x.grad.detach(), rtol=1e-12, atol=1e-12, what="the input's gradient")


def test_max_pool_backward_adds_each_gradient_at_its_index():
    generator = np.random.default_rng(5)
    # 2 x 2 planes of 6x5 inputs, 4x4 outputs; some indices repeat, as overlapping windows do.
    indices = generator.integers(0, 30, size=(2, 2, 4, 4))
    grad_out = generator.standard_normal((2, 2, 4, 4))
    expect.value(max_pool2d_backward(grad_out, indices, (2, 2, 6, 5)), rtol=1e-12, atol=1e-12,
                 what="the input's gradient from max_pool2d_backward")
