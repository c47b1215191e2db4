"""The trained digits CNN on the whole digits test set: the Cortex-M0+ (reference C) build.

The end-to-end demo (tests/test_demo_and_cli.py) checks the host and the
Cortex-M4 DSP path on every test image; this checks the core without the DSP
extension, where every kernel runs its plain reference C.
"""
import numpy as np

from tinytorch.codegen.deploy import CoreModel, HostModel, build_model
from tinytorch.codegen.emitter import generate_model
from tinytorch.datasets import load_digits
from tinytorch.app.demo import train_digits
from tinytorch.quant import Int8Interpreter
from tinytorch.app.quantize import quantize_digits_model


def test_trained_digits_cnn_is_bit_exact_on_every_test_image_on_cortex_m0plus(codegen_build_dir):
    model = train_digits("cnn", epochs=5, seed=1, show_progress=False).model
    graph, report = quantize_digits_model(model, "digits_cnn", show_progress=False)
    assert report.int8_accuracy > 0.9  # a trained network, not noise
    interpreter = Int8Interpreter(graph)
    inputs = interpreter.quantize_input(load_digits("test")[0].numpy())
    expected = interpreter.invoke(inputs)
    generated = generate_model(graph)
    directory = codegen_build_dir / "digits_test_set"
    host = HostModel(build_model(generated, directory, "host"), generated, graph)
    np.testing.assert_array_equal(host(inputs), expected)
    core = CoreModel(build_model(generated, directory, "cortex-m0plus"), "cortex-m0plus",
                     generated, graph)
    np.testing.assert_array_equal(core(inputs), expected)
    assert len(inputs) == 360
