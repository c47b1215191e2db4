"""Lab 08 — quantization: scales and zero points, per-channel weights, flattening, fake
quantization.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 08 on fixed inputs and hands over the results (scales, zero points,
permuted columns, fake-quantized values and their gradients, the output of
a model quantized to int8); the lab's answer key holds what the reference
solution produces.  Nothing from later labs is used.
"""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.app.labs import expect
from tinytorch.quant import FakeQuantize, Int8Interpreter, calibrate, convert, prepare
from tinytorch.quant.convert import _columns_in_nhwc_order
from tinytorch.quant.observers import activation_qparams, weight_qparams


@pytest.mark.parametrize("low, high", [
    pytest.param(-1.0, 3.0, id="a range from -1 to 3"),
    pytest.param(0.0, 6.0, id="a range from 0 to 6"),
    pytest.param(-4.0, -1.0, id="only negative values, -4 to -1"),
    pytest.param(0.5, 2.0, id="only positive values, 0.5 to 2"),
    pytest.param(-0.25, 0.25, id="a narrow range around 0"),
])
def test_activation_qparams(low, high):
    scale, zero_point = activation_qparams(low, high)
    expect.value(scale, rtol=1e-6, what="the scale")
    expect.value(zero_point, what="the zero point")
    expect.value(type(zero_point).__name__, what="the type of the zero point")


def test_activation_qparams_of_the_worked_example():
    scale, zero_point = activation_qparams(-1.0, 3.0)
    expect.value(zero_point, what="the zero point of [-1, 3]")
    expect.value(scale, rtol=1e-6, what="the scale of [-1, 3]")


@pytest.mark.parametrize("bits", [pytest.param(bits, id=f"{bits} bits") for bits in (8, 4, 2)])
def test_weight_qparams_one_scale_per_output_channel(bits):
    weight = np.random.default_rng(0).normal(size=(5, 3, 2, 2))
    weight[2] = 0.0
    scales = weight_qparams(weight, bits)
    expect.value(np.shape(scales), what="the shape of the scales")
    expect.value(scales, rtol=1e-6, what="the scale of each output channel (channel 2 is all 0)")


def test_columns_move_from_nchw_to_nhwc_order():
    channels, height, width = 3, 2, 4
    weight = np.arange(2 * channels * height * width, dtype=np.float64).reshape(2, -1)
    expect.value(_columns_in_nhwc_order(weight, (channels, height, width)),
                 what="the columns of a 2 x (3*2*4) weight numbered 0..47, in NHWC order")


def test_fake_quantize_forward_rounds_to_the_grid_and_clamps():
    x = np.array([-3.0, -0.26, -0.01, 0.0, 0.13, 0.1749, 2.0], dtype=np.float32)
    out = FakeQuantize.apply(tinytorch.tensor(x), 0.05, 3, -8, 7)
    expect.value(str(out.dtype), what="the dtype of the result")
    expect.value(out, atol=1e-6, what="x fake-quantized with scale 0.05, zero point 3, "
                                      "levels -8..7")


def test_fake_quantize_backward_is_straight_through_inside_the_range():
    x = tinytorch.tensor(np.array([-3.0, -0.5, 0.0, 0.2, 2.0]), requires_grad=True)
    (FakeQuantize.apply(x, 0.05, 3, -8, 7) * tinytorch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    expect.value(x.grad.detach(), what="the gradient (incoming 1..5) with scale 0.05, zero point 3, "
                                       "levels -8..7")


def test_per_channel_fake_quantization_of_weights():
    weight = np.array([[0.3, -0.1], [2.0, 1.0]])
    scales = np.array([[0.1], [1.0]])
    out = FakeQuantize.apply(tinytorch.tensor(weight), scales, 0, -1, 1)
    expect.value(out, rtol=1e-12, atol=1e-12, what="each row fake-quantized with its own scale "
                                                   "(0.1, 1.0), levels -1..1")


def test_a_quantized_cnn_tracks_its_float_model():
    tinytorch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    images = np.random.default_rng(1).uniform(0, 1, (64, 1, 6, 6)).astype(np.float32)
    prepared = prepare(model, images)
    calibrate(prepared, [images], show_progress=False)
    interpreter = Int8Interpreter(convert(prepared))
    got = interpreter.dequantize_output(interpreter(interpreter.quantize_input(images)))
    # The output's int8 step is about 0.0023: allow two steps of rounding elsewhere.
    expect.value(got, atol=0.005, what="the int8 model's outputs, dequantized")
