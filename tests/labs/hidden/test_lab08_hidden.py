"""Lab 08, graded by the autograder only (probes: see tinytorch.app.labs.expect)."""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.app.labs import expect
from tinytorch.quant import FakeQuantize, Int8Interpreter, calibrate, convert, prepare, prepare_qat
from tinytorch.quant.convert import _columns_in_nhwc_order
from tinytorch.quant.fake_quant import fake_quantize_activation, fake_quantize_weight
from tinytorch.quant.observers import activation_qparams, weight_qparams


@pytest.mark.parametrize("low, high", [
    pytest.param(0.0, 0.0, id="a tensor that was always 0"),
    pytest.param(2.0, 5.0, id="only positive values, 2 to 5"),
    pytest.param(-7.5, -0.5, id="only negative values, -7.5 to -0.5"),
    pytest.param(-1.0, 1.0, id="a range symmetric about 0"),
    pytest.param(-0.1, 25.5, id="a range far more positive than negative"),
    pytest.param(-1000.0, 1e-3, id="a range far more negative than positive"),
    pytest.param(-3, 2, id="integer ends"),
    pytest.param(np.float32(-0.7), np.float32(1.3), id="float32 ends"),
])
def test_activation_qparams_exactly(low, high):
    scale, zero_point = activation_qparams(low, high)
    # The scale is a float32 value (as a .tflite file stores it): exact.
    expect.value(float(scale), what="the scale")
    expect.value(int(zero_point), what="the zero point")
    expect.value(type(scale).__name__, what="the type of the scale")
    expect.value(type(zero_point).__name__, what="the type of the zero point")


def test_activation_qparams_of_an_observer_that_saw_two_batches():
    from tinytorch.quant.observers import MinMaxObserver

    observer = MinMaxObserver()
    observer.observe(np.array([0.5, 1.5, 2.0]))
    observer.observe(np.array([-0.3, 0.7]))
    scale, zero_point = observer.qparams()
    expect.value(float(scale), what="the scale of [-0.3, 2.0]")
    expect.value(int(zero_point), what="the zero point of [-0.3, 2.0]")


@pytest.mark.parametrize("bits", [pytest.param(bits, id=f"{bits} bits") for bits in (3, 5, 7)])
def test_weight_qparams_of_a_linear_weight(bits):
    weight = np.array([[0.5, -1.27, 0.0],
                       [0.0, 0.0, 0.0],
                       [-3.0, 2.0, 2.5],
                       [1e-3, -2e-3, 0.0]])
    scales = weight_qparams(weight, bits)
    expect.value(np.shape(scales), what="the shape of the scales")
    expect.value(np.asarray(scales, dtype=np.float64), rtol=1e-7,
                 what="one scale per row (the largest magnitude is negative in rows 0, 2 and 3; "
                      "row 1 is all 0)")


def test_weight_qparams_are_float32_values():
    weight = np.random.default_rng(30).normal(size=(6, 2, 3, 3))
    scales = np.asarray(weight_qparams(weight, 8), dtype=np.float64)
    expect.value(scales, what="the scales, exactly (each a float32 value)")


def test_weight_qparams_of_a_float32_weight_with_one_output_channel():
    weight = np.array([[[[0.25, -0.5], [0.125, 0.0]]]], dtype=np.float32)
    expect.value(np.asarray(weight_qparams(weight, 8), dtype=np.float64), rtol=1e-7,
                 what="the scale of the one channel")


@pytest.mark.parametrize("image_shape", [
    pytest.param((2, 1, 2), id="the docstring's example, C=2, H=1, W=2"),
    pytest.param((1, 3, 2), id="one channel: nothing moves"),
    pytest.param((4, 1, 1), id="1x1 images: nothing moves"),
    pytest.param((2, 3, 1), id="C=2, H=3, W=1"),
    pytest.param((3, 2, 5), id="C=3, H=2, W=5"),
])
def test_columns_in_nhwc_order(image_shape):
    size = int(np.prod(image_shape))
    weight = np.arange(3 * size, dtype=np.float64).reshape(3, size)
    permuted = _columns_in_nhwc_order(weight, image_shape)
    expect.value(np.shape(permuted), what="the shape of the result")
    expect.value(permuted, what="the columns of a weight numbered row by row, in NHWC order")


def test_fake_quantize_keeps_float64_and_rounds_halves_away_from_zero():
    x = np.array([-1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 0.5, -0.5])
    out = FakeQuantize.apply(tinytorch.tensor(x), 0.5, 0, -128, 127)
    expect.value(str(out.dtype), what="the dtype of the result")
    expect.value(out, rtol=1e-12, what="x fake-quantized with scale 0.5, zero point 0")


def test_fake_quantize_clamps_at_both_ends_with_a_negative_zero_point():
    x = np.linspace(-2.0, 2.0, 17)
    out = FakeQuantize.apply(tinytorch.tensor(x), 0.25, -2, -4, 3)
    expect.value(out, rtol=1e-12, atol=1e-12, what="x fake-quantized with scale 0.25, zero "
                                                   "point -2, levels -4..3")


def test_fake_quantize_gradient_at_the_ends_of_the_range():
    # Scale 0.25, zero point 0, levels -4..3: the range is exactly [-1.0, 0.75].
    x = tinytorch.tensor(np.array([-1.0 - 1e-9, -1.0, 0.0, 0.75, 0.75 + 1e-9]),
                         requires_grad=True)
    FakeQuantize.apply(x, 0.25, 0, -4, 3).sum().backward()
    expect.value(x.grad.detach(), what="the gradient just outside, at, and inside the ends")


def test_per_channel_fake_quantization_of_a_conv_weight_and_its_gradient():
    weight = np.random.default_rng(31).normal(size=(3, 2, 2, 2))
    scales = np.array([0.05, 0.2, 0.5]).reshape(3, 1, 1, 1)
    w = tinytorch.tensor(weight, requires_grad=True)
    out = FakeQuantize.apply(w, scales, 0, -7, 7)
    (out * tinytorch.tensor(np.arange(24.0).reshape(weight.shape))).sum().backward()
    expect.value(out.detach(), rtol=1e-12, atol=1e-12,
                 what="each output channel fake-quantized with its own scale, levels -7..7")
    expect.value(w.grad.detach(), what="the gradient (incoming 0..23): 0 where a weight was clamped")


def test_fake_quantize_weight_at_4_bits():
    weight = tinytorch.tensor(np.random.default_rng(32).normal(size=(4, 5)).astype(np.float32))
    out = fake_quantize_weight(weight, weight_qparams(weight.numpy(), 4), 4)
    expect.value(str(out.dtype), what="the dtype of the result")
    expect.value(out, rtol=1e-6, atol=1e-6, what="the weight fake-quantized per row at 4 bits")


def test_fake_quantize_activation_with_the_activation_qparams():
    x = np.random.default_rng(33).uniform(-0.5, 3.0, size=(3, 7)).astype(np.float32)
    scale, zero_point = activation_qparams(-0.5, 2.5)
    out = fake_quantize_activation(tinytorch.tensor(x), scale, zero_point)
    expect.value(out, rtol=1e-6, atol=1e-6, what="x fake-quantized to int8 over [-0.5, 2.5] "
                                                  "(values above 2.5 clamp)")


def test_a_quantized_cnn_with_stride_padding_and_three_channels():
    tinytorch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(3 * 3 * 3, 4))
    images = np.random.default_rng(34).uniform(-1, 1, (32, 2, 6, 6)).astype(np.float32)
    prepared = prepare(model, images)
    calibrate(prepared, [images[:16], images[16:]], show_progress=False)
    interpreter = Int8Interpreter(convert(prepared))
    got = interpreter.dequantize_output(interpreter(interpreter.quantize_input(images)))
    # The output's int8 step is about 0.0026: allow two steps of rounding elsewhere.
    expect.value(got, atol=0.005, what="the int8 model's outputs, dequantized")


def test_one_step_of_quantization_aware_training_at_4_bits():
    tinytorch.manual_seed(5)
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    inputs = np.random.default_rng(35).normal(size=(8, 6)).astype(np.float32)
    prepared = prepare_qat(model, inputs, weight_bits=4)
    out = prepared.train()(tinytorch.tensor(inputs))
    out.sum().backward()
    expect.value(out.detach(), rtol=1e-5, atol=1e-5, what="the fake-quantized model's output")
    parameters = dict(prepared.named_parameters())
    expect.value(tuple(sorted(parameters)), what="the names of the parameters")
    for name in sorted(parameters):
        expect.value(parameters[name].grad.detach(), rtol=1e-5, atol=1e-5,
                     what=f"the gradient of {name}")
