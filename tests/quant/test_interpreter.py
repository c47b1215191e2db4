"""The int8 interpreter against an independent integer reference, layer by layer, byte by byte."""
import numpy as np
import pytest
from test_capture import ResidualNet, randomized

from tinytorch.kernels.int8.add import reference_add
from tinytorch.kernels.int8.conv2d import reference_conv2d
from tinytorch.kernels.int8.fully_connected import reference_fully_connected
from tinytorch.kernels.int8.pooling import reference_avg_pool2d, reference_max_pool2d
from tinytorch.quant import Int8Interpreter, calibrate, convert, prepare


def reference_run(graph, x):
    """Run ``graph`` with the pure-Python integer reference only; every activation by name."""
    single = graph.rounding == "single"
    values = {graph.input: x}
    for op in graph.ops:
        a = op.attributes
        first = values[op.inputs[0]]
        zero_point = graph.tensor(op.inputs[0]).zero_point
        out_zero_point = graph.tensor(op.outputs[0]).zero_point
        if op.type in ("conv2d", "fully_connected"):
            weight, bias = (graph.tensor(name).data for name in op.inputs[1:])
            common = (zero_point, out_zero_point, a["multiplier"], a["shift"])
            if op.type == "conv2d":
                out = reference_conv2d(first, weight, bias, *common, tuple(a["stride"]),
                                       tuple(a["padding"]), tuple(a["dilation"]), a["groups"],
                                       a["act_min"], a["act_max"], single)
            else:
                out = reference_fully_connected(first, weight, bias, *common, a["act_min"],
                                                a["act_max"], single)
        elif op.type in ("max_pool2d", "avg_pool2d"):
            pool = reference_max_pool2d if op.type == "max_pool2d" else reference_avg_pool2d
            out = pool(first, tuple(a["kernel"]), tuple(a["stride"]), tuple(a["padding"]),
                       a["act_min"], a["act_max"])
        elif op.type == "global_avg_pool2d":
            window = first.shape[1:3]
            out = reference_avg_pool2d(first, window, window, (0, 0, 0, 0), a["act_min"],
                                       a["act_max"])
        elif op.type == "add":
            second = values[op.inputs[1]]
            out = reference_add(first, second, zero_point, a["a_multiplier"], a["a_shift"],
                                graph.tensor(op.inputs[1]).zero_point, a["b_multiplier"],
                                a["b_shift"], out_zero_point, a["output_multiplier"],
                                a["output_shift"], a["act_min"], a["act_max"], a["left_shift"],
                                single)
        else:
            assert op.type == "reshape"
            out = first.reshape((first.shape[0],) + graph.tensor(op.outputs[0]).shape[1:])
        values[op.outputs[0]] = out
    return values


@pytest.fixture(scope="module")
def residual_prepared():
    rng = np.random.default_rng(3)
    model = randomized(ResidualNet(), seed=3)
    images = rng.normal(size=(64, 3, 8, 8)).astype(np.float32)
    prepared = prepare(model, images[:1], name="residual")
    calibrate(prepared, [images[i:i + 16] for i in range(0, 64, 16)], num_batches=None,
              show_progress=False)
    return prepared, images


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_interpreter_equals_the_integer_reference_on_every_byte(residual_prepared, rounding):
    prepared, images = residual_prepared
    graph = convert(prepared, rounding=rounding)
    assert {op.type for op in graph.ops} >= {"conv2d", "add", "avg_pool2d", "global_avg_pool2d",
                                            "reshape", "fully_connected"}
    interpreter = Int8Interpreter(graph)
    x = interpreter.quantize_input(images[:3])
    got = interpreter.invoke(x, keep_intermediates=True)
    expected = reference_run(graph, x)
    for op in graph.ops:
        name = op.outputs[0]
        np.testing.assert_array_equal(got[name], expected[name], err_msg=f"{op.name} ({op.type})")


def test_double_and_single_rounding_are_different_graphs(residual_prepared):
    prepared, images = residual_prepared
    double, single = (convert(prepared, rounding=r) for r in ("double", "single"))
    x = Int8Interpreter(double).quantize_input(images)
    a, b = Int8Interpreter(double)(x), Int8Interpreter(single)(x)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 2  # rounding noise, not a bug
    assert double.rounding == "double" and single.rounding == "single"


def test_int8_outputs_track_the_float_model(residual_prepared):
    prepared, images = residual_prepared
    graph = convert(prepared)
    interpreter = Int8Interpreter(graph)
    prepared.observing = False
    expected = prepared(images).array
    got = interpreter.dequantize_output(interpreter(interpreter.quantize_input(images)))
    noise = np.sum((got - expected) ** 2) / np.sum(expected ** 2)
    assert noise < 0.01, f"signal-to-noise only {-10 * np.log10(noise):.1f} dB"


def test_digits_cnn_int8_accuracy_within_one_point_of_float(trained_cnn, digits):
    from tinytorch.app.quantize import quantize_digits_model

    graph, report = quantize_digits_model(trained_cnn.model, "digits_cnn", show_progress=False)
    _, _, test_images, test_labels = digits
    accuracy = (Int8Interpreter(graph).predict(test_images) == test_labels).mean()
    assert report.int8_accuracy == accuracy
    assert report.float_accuracy == pytest.approx(trained_cnn.test_accuracy)
    assert accuracy >= trained_cnn.test_accuracy - 0.01, (accuracy, trained_cnn.test_accuracy)
    assert all(layer.sqnr_db is None or layer.sqnr_db > 20 for layer in report.layers), report


def test_flattening_permutes_the_linear_columns_so_nchw_and_nhwc_agree():
    from tinytorch import nn

    # 3 channels of 2x2 before the flatten: the NCHW and NHWC orders differ.
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.Flatten(), nn.Linear(12, 4))
    rng = np.random.default_rng(4)
    images = rng.normal(size=(32, 1, 4, 4)).astype(np.float32)
    prepared = prepare(model, images)
    calibrate(prepared, [images], show_progress=False)
    interpreter = Int8Interpreter(convert(prepared))
    prepared.observing = False
    expected = prepared(images).array
    got = interpreter.dequantize_output(interpreter(interpreter.quantize_input(images)))
    assert np.abs(got - expected).max() < 0.05 * np.abs(expected).max()


def test_invoke_rejects_the_wrong_input_with_the_expected_shape(residual_prepared):
    prepared, _ = residual_prepared
    interpreter = Int8Interpreter(convert(prepared))
    with pytest.raises(ValueError, match=r"expected int8 input of shape \[N, 8, 8, 3\]"):
        interpreter(np.zeros((1, 3, 8, 8), np.int8))
    with pytest.raises(ValueError, match="int8"):
        interpreter(np.zeros((1, 8, 8, 3), np.float32))
