"""Lab 08 — quantization: scales and zero points, per-channel weights, flattening, fake quantization."""
import numpy as np
import pytest

import tinytorch
from tinytorch import nn
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
    lo, hi = min(low, 0.0), max(high, 0.0)
    assert scale == pytest.approx((hi - lo) / 255, rel=1e-6)
    assert isinstance(zero_point, int) and -128 <= zero_point <= 127
    # Both ends of the range are within half a step (plus float32 rounding) of the grid.
    half_step = scale / 2 * (1 + 1e-4)
    assert abs((-128 - zero_point) * scale - lo) <= half_step
    assert abs((127 - zero_point) * scale - hi) <= half_step


def test_activation_qparams_of_the_worked_example():
    scale, zero_point = activation_qparams(-1.0, 3.0)
    assert zero_point == -64 and scale == pytest.approx(4 / 255)


def test_weight_qparams_one_scale_per_output_channel():
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(5, 3, 2, 2))
    weight[2] = 0.0
    for bits in (8, 4, 2):
        scales = weight_qparams(weight, bits)
        for channel in range(5):
            largest = max(abs(float(v)) for v in weight[channel].ravel())
            expected = largest / (2 ** (bits - 1) - 1) if largest else 1.0
            assert scales[channel] == pytest.approx(expected, rel=1e-6)


def test_columns_move_from_nchw_to_nhwc_order():
    channels, height, width = 3, 2, 4
    weight = np.arange(2 * channels * height * width, dtype=np.float64).reshape(2, -1)
    permuted = _columns_in_nhwc_order(weight, (channels, height, width))
    for c in range(channels):
        for h in range(height):
            for w in range(width):
                np.testing.assert_array_equal(permuted[:, h * width * channels + w * channels + c],
                                              weight[:, c * height * width + h * width + w])


def test_fake_quantize_forward_rounds_to_the_grid_and_clamps():
    x = np.array([-3.0, -0.26, -0.01, 0.0, 0.13, 0.1749, 2.0], dtype=np.float32)
    out = FakeQuantize.apply(tinytorch.tensor(x), 0.05, 3, -8, 7).data
    expected = [0.05 * (min(max(round(v / 0.05) + 3, -8), 7) - 3) for v in x.tolist()]
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert out.dtype == np.float32


def test_fake_quantize_backward_is_straight_through_inside_the_range():
    x = tinytorch.tensor(np.array([-3.0, -0.5, 0.0, 0.2, 2.0]), requires_grad=True)
    (FakeQuantize.apply(x, 0.05, 3, -8, 7) * tinytorch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])).sum().backward()
    # The range is [0.05 * (-8 - 3), 0.05 * (7 - 3)] = [-0.55, 0.2].
    assert x.grad.data.tolist() == [0.0, 2.0, 3.0, 4.0, 0.0]


def test_per_channel_fake_quantization_of_weights():
    weight = np.array([[0.3, -0.1], [2.0, 1.0]])
    scales = np.array([[0.1], [1.0]])
    out = FakeQuantize.apply(tinytorch.tensor(weight), scales, 0, -1, 1).data
    np.testing.assert_allclose(out, [[0.1, -0.1], [1.0, 1.0]])


def test_a_quantized_cnn_tracks_its_float_model():
    tinytorch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    images = np.random.default_rng(1).uniform(0, 1, (64, 1, 6, 6)).astype(np.float32)
    prepared = prepare(model, images)
    calibrate(prepared, [images], show_progress=False)
    interpreter = Int8Interpreter(convert(prepared))
    with tinytorch.no_grad():
        expected = model.eval()(tinytorch.tensor(images)).data
    got = interpreter.dequantize_output(interpreter(interpreter.quantize_input(images)))
    noise = np.sum((got - expected) ** 2) / np.sum(expected ** 2)
    assert noise < 1e-3, f"SQNR {-10 * np.log10(noise):.1f} dB"
