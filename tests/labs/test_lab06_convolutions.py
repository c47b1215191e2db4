"""Lab 06: output sizes, im2col, col2im and max pooling (kernels/conv2d.py, kernels/pooling.py).

The references here follow the definitions, not the kernels' method: a
convolution is a sum over kernel taps of shifted, strided slices of the
padded input; its input gradient adds each tap's slice back; max pooling
takes the largest value of each window.  All in float64 numpy.
"""
import numpy as np

import tinytorch
from tinytorch import nn
from tinytorch.kernels.conv2d import col2im, im2col, output_size
from tinytorch.kernels.pooling import max_pool2d_backward, max_pool2d_forward
from tinytorch.nn import functional as F

# (kernel, stride, padding, dilation) per axis, (height, width) of the input.
GEOMETRIES = [((3, 3), (1, 1), (1, 1), (1, 1), (5, 6)),
              ((2, 3), (2, 1), (1, 0), (1, 2), (6, 7)),
              ((3, 2), (2, 3), (0, 1), (2, 1), (9, 8)),
              ((1, 1), (1, 1), (0, 0), (1, 1), (3, 4))]


def windows_that_fit(size, kernel, stride, padding, dilation):
    span = dilation * (kernel - 1) + 1
    return len([start for start in range(0, size + 2 * padding, stride)
                if start + span <= size + 2 * padding])


def tap_slices(tap, kernel_out_shape, stride, dilation):
    """Rows and columns of the padded input that kernel tap (i, j) reads, one per output."""
    (i, j), (out_h, out_w) = tap, kernel_out_shape
    rows = slice(i * dilation[0], i * dilation[0] + stride[0] * (out_h - 1) + 1, stride[0])
    columns = slice(j * dilation[1], j * dilation[1] + stride[1] * (out_w - 1) + 1, stride[1])
    return rows, columns


def convolve(x, weight, stride, padding, dilation):
    batch, channels, height, width = x.shape
    out_channels, _, kernel_h, kernel_w = weight.shape
    out_h = windows_that_fit(height, kernel_h, stride[0], padding[0], dilation[0])
    out_w = windows_that_fit(width, kernel_w, stride[1], padding[1], dilation[1])
    padded = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    out = np.zeros((batch, out_channels, out_h, out_w))
    for i in range(kernel_h):
        for j in range(kernel_w):
            rows, columns = tap_slices((i, j), (out_h, out_w), stride, dilation)
            out += np.einsum("nchw,oc->nohw", padded[:, :, rows, columns], weight[:, :, i, j])
    return out


def convolve_input_gradient(grad_out, weight, input_shape, stride, padding, dilation):
    batch, channels, height, width = input_shape
    _, _, kernel_h, kernel_w = weight.shape
    grad_padded = np.zeros((batch, channels, height + 2 * padding[0], width + 2 * padding[1]))
    for i in range(kernel_h):
        for j in range(kernel_w):
            rows, columns = tap_slices((i, j), grad_out.shape[2:], stride, dilation)
            grad_padded[:, :, rows, columns] += np.einsum("nohw,oc->nchw", grad_out,
                                                          weight[:, :, i, j])
    return grad_padded[:, :, padding[0]:padding[0] + height, padding[1]:padding[1] + width]


def identity_filters(channels, kernel_h, kernel_w):
    """One filter per kernel tap: convolving with them lists every tap's input, i.e. im2col."""
    taps = channels * kernel_h * kernel_w
    return np.eye(taps).reshape(taps, channels, kernel_h, kernel_w)


def run_im2col(x, kernel, stride, padding, dilation):
    out_h = windows_that_fit(x.shape[2], kernel[0], stride[0], padding[0], dilation[0])
    out_w = windows_that_fit(x.shape[3], kernel[1], stride[1], padding[1], dilation[1])
    return im2col(x, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                  dilation[0], dilation[1], out_h, out_w), (out_h, out_w)


def test_output_size_counts_the_windows_that_fit():
    for size in range(1, 9):
        for kernel in range(1, 4):
            for stride in range(1, 4):
                for padding in range(0, 2):
                    for dilation in range(1, 3):
                        if dilation * (kernel - 1) + 1 > size + 2 * padding:
                            continue
                        expected = windows_that_fit(size, kernel, stride, padding, dilation)
                        assert output_size(size, kernel, stride, padding, dilation) == expected, \
                            dict(size=size, kernel=kernel, stride=stride, padding=padding,
                                 dilation=dilation)


def test_im2col_lists_the_input_under_every_kernel_tap():
    generator = np.random.default_rng(0)
    for kernel, stride, padding, dilation, (height, width) in GEOMETRIES:
        x = generator.standard_normal((2, 3, height, width))
        cols, (out_h, out_w) = run_im2col(x, kernel, stride, padding, dilation)
        expected = convolve(x, identity_filters(3, *kernel), stride, padding, dilation)
        np.testing.assert_allclose(cols, expected.reshape(2, -1, out_h * out_w), atol=1e-12,
                                   err_msg=f"kernel {kernel}, stride {stride}, padding "
                                           f"{padding}, dilation {dilation}")


def test_col2im_adds_every_column_entry_back_onto_its_pixel():
    generator = np.random.default_rng(1)
    for kernel, stride, padding, dilation, (height, width) in GEOMETRIES:
        out_h = windows_that_fit(height, kernel[0], stride[0], padding[0], dilation[0])
        out_w = windows_that_fit(width, kernel[1], stride[1], padding[1], dilation[1])
        cols = generator.standard_normal((2, 3 * kernel[0] * kernel[1], out_h * out_w))
        image = col2im(cols, 3, height, width, kernel[0], kernel[1], stride[0], stride[1],
                       padding[0], padding[1], dilation[0], dilation[1], out_h, out_w)
        expected = convolve_input_gradient(cols.reshape(2, -1, out_h, out_w),
                                           identity_filters(3, *kernel), (2, 3, height, width),
                                           stride, padding, dilation)
        np.testing.assert_allclose(image, expected, atol=1e-12,
                                   err_msg=f"kernel {kernel}, stride {stride}, padding "
                                           f"{padding}, dilation {dilation}")


# One layer with everything uneven: a 3x2 kernel, stride (2, 1), padding 1, dilation (1, 2).
LAYER_STRIDE, LAYER_PADDING, LAYER_DILATION = (2, 1), (1, 1), (1, 2)


def conv2d_layer_run():
    """The layer, its input, its output, and a random output gradient sent back through it."""
    tinytorch.manual_seed(0)
    layer = nn.Conv2d(3, 4, (3, 2), stride=LAYER_STRIDE, padding=1, dilation=LAYER_DILATION,
                      dtype=np.float64)
    generator = np.random.default_rng(2)
    x = tinytorch.tensor(generator.standard_normal((2, 3, 7, 6)), requires_grad=True)
    out = layer(x)
    grad_out = generator.standard_normal(out.shape)
    (out * tinytorch.tensor(grad_out)).sum().backward()
    return layer, x, out, grad_out


def test_conv2d_layer_forward_matches_the_definition():
    layer, x, out, _ = conv2d_layer_run()
    expected = convolve(x.data, layer.weight.data, LAYER_STRIDE, LAYER_PADDING, LAYER_DILATION)
    np.testing.assert_allclose(out.data, expected + layer.bias.data.reshape(1, -1, 1, 1), atol=1e-12)


def test_conv2d_layer_input_gradient_matches_the_definition():
    layer, x, _, grad_out = conv2d_layer_run()
    expected = convolve_input_gradient(grad_out, layer.weight.data, x.shape, LAYER_STRIDE,
                                       LAYER_PADDING, LAYER_DILATION)
    np.testing.assert_allclose(x.grad.data, expected, atol=1e-12)


def test_conv2d_layer_weight_and_bias_gradients_match_the_definition():
    layer, x, _, grad_out = conv2d_layer_run()
    # d out[n, o, y, x] / d weight[o, c, i, j] is the input under tap (i, j), so the
    # weight gradient of tap (i, j) correlates grad_out with that tap's slice.
    padded = np.pad(x.data, ((0, 0), (0, 0), (1, 1), (1, 1)))
    expected_weight_grad = np.zeros_like(layer.weight.data)
    for i in range(3):
        for j in range(2):
            rows, columns = tap_slices((i, j), grad_out.shape[2:], LAYER_STRIDE, LAYER_DILATION)
            expected_weight_grad[:, :, i, j] = np.einsum(
                "nohw,nchw->oc", grad_out, padded[:, :, rows, columns])
    np.testing.assert_allclose(layer.weight.grad.data, expected_weight_grad, atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad.data, grad_out.sum(axis=(0, 2, 3)), atol=1e-12)


def window_maxima(x, kernel, stride, padding):
    """Every window's maximum and its flat position in the H*W plane, by brute force."""
    height, width = x.shape[-2:]
    out_h = windows_that_fit(height, kernel[0], stride[0], padding[0], 1)
    out_w = windows_that_fit(width, kernel[1], stride[1], padding[1], 1)
    maxima = np.empty(x.shape[:-2] + (out_h, out_w))
    positions = np.empty(x.shape[:-2] + (out_h, out_w), dtype=np.int64)
    for y in range(out_h):
        for x_out in range(out_w):
            top, left = y * stride[0] - padding[0], x_out * stride[1] - padding[1]
            rows = np.arange(max(top, 0), min(top + kernel[0], height))
            columns = np.arange(max(left, 0), min(left + kernel[1], width))
            window = x[..., rows[:, None], columns[None, :]].reshape(x.shape[:-2] + (-1,))
            flat = (rows[:, None] * width + columns[None, :]).ravel()
            maxima[..., y, x_out] = window.max(axis=-1)
            positions[..., y, x_out] = flat[window.argmax(axis=-1)]
    return maxima, positions


def test_max_pool_forward_finds_each_window_maximum_and_where_it_was():
    generator = np.random.default_rng(3)
    for kernel, stride, padding in [((2, 2), (2, 2), (0, 0)), ((3, 3), (2, 2), (1, 1)),
                                    ((3, 2), (1, 2), (1, 0))]:
        x = generator.standard_normal((2, 3, 7, 6))
        out, indices = max_pool2d_forward(x, kernel, stride, padding)
        expected, positions = window_maxima(x, kernel, stride, padding)
        where = f"kernel {kernel}, stride {stride}, padding {padding}"
        np.testing.assert_array_equal(out, expected, err_msg=where)
        np.testing.assert_array_equal(indices, positions, err_msg=where)


def test_max_pool_backward_sends_each_gradient_to_its_window_winner():
    generator = np.random.default_rng(4)
    # Overlapping windows (stride 1 < kernel 3): one input can win several windows.
    x_data = generator.standard_normal((2, 2, 6, 5))
    x = tinytorch.tensor(x_data, requires_grad=True)
    out = F.max_pool2d(x, 3, stride=1, padding=1)
    grad_out = generator.standard_normal(out.shape)
    (out * tinytorch.tensor(grad_out)).sum().backward()
    _, positions = window_maxima(x_data, (3, 3), (1, 1), (1, 1))
    expected = np.zeros((2, 2, 30))
    for n in range(2):
        for c in range(2):
            np.add.at(expected[n, c], positions[n, c].ravel(), grad_out[n, c].ravel())
    np.testing.assert_allclose(x.grad.data, expected.reshape(x_data.shape), atol=1e-12)
    direct = max_pool2d_backward(grad_out, positions, x_data.shape)
    np.testing.assert_allclose(direct, expected.reshape(x_data.shape), atol=1e-12)
