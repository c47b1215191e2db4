"""Graphs from the real converter (tinytorch.quant), not just hand-built ones, through the C.

The models are untrained (bit-exactness does not depend on what the weights
mean) and calibrated on a few digits batches; LeNet-5 gets 28x28 inputs made
by upsampling.  Each runs on the host build (many inputs) and on an emulated
Cortex-M4 (a few) against Int8Interpreter.
"""
import numpy as np
import pytest

import tinytorch
from tinytorch import models, quant
from tinytorch.codegen.deploy import CoreModel, HostModel, build_model
from tinytorch.codegen.emitter import generate_model
from tinytorch.datasets import load_digits


def converted(architecture: str, rounding: str):
    tinytorch.manual_seed(0)
    images, _ = load_digits("train")
    images = images.numpy()[:256]
    if architecture == "lenet5":
        images = np.kron(images, np.ones((1, 1, 4, 4), dtype=images.dtype))[:, :, 2:30, 2:30]
    model = getattr(models, architecture)()
    prepared = quant.prepare(model, images[:8], name=architecture)
    quant.calibrate(prepared, [images[i:i + 64] for i in range(0, 256, 64)],
                    show_progress=False)
    graph = quant.convert(prepared, rounding=rounding)
    interpreter = quant.Int8Interpreter(graph)
    return graph, interpreter.quantize_input(images), interpreter


@pytest.mark.parametrize("architecture,rounding", [("digits_cnn", "double"),
                                                   ("digits_mlp", "single"),
                                                   ("lenet5", "double")])
def test_converted_models_are_bit_exact_on_host_and_cortex_m4(codegen_build_dir, architecture,
                                                              rounding):
    graph, inputs, interpreter = converted(architecture, rounding)
    generated = generate_model(graph)
    expected = interpreter.invoke(inputs)
    directory = codegen_build_dir / "converted" / architecture
    host = HostModel(build_model(generated, directory, "host", "-O1"), generated, graph)
    np.testing.assert_array_equal(host(inputs), expected)
    core = CoreModel(build_model(generated, directory, "cortex-m4"), "cortex-m4", generated,
                     graph)
    np.testing.assert_array_equal(core(inputs[:3]), expected[:3])
    assert generated.plan.arena_size == generated.plan.lower_bound  # all three are chains
