"""MAX_PATCH at its edge: the largest accumulator the emitter allows stays inside int32.

The claim (codegen/accumulator_bounds.py) is that a layer with at most
MAX_PATCH products per output can never overflow its int32 accumulator, so the
C's plain ``acc +=`` is always defined.  Here the worst case is built: every
weight +-127, every input 255 away from its zero point, MAX_PATCH products.
The C runs under the undefined-behaviour sanitizer, which stops at a signed
overflow, and must match the interpreter; one product more is refused.
"""
import subprocess

import numpy as np
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.accumulator_bounds import MAX_PATCH
from tinytorch.codegen.deploy import model_sources
from tinytorch.codegen.emitter import EmitError, generate_model, write_model
from tinytorch.kernels.int8.requantize import quantize_multiplier
from tinytorch.quant import Int8Graph, Int8Interpreter, Op, TensorInfo

MAIN = r"""
#include <stdio.h>
#include "%(name)s.h"

int main(void) {
    static int8_t input[%(upper)s_INPUT_SIZE], output[%(upper)s_OUTPUT_SIZE];
    if (fread(input, 1, sizeof input, stdin) != sizeof input || %(name)s_invoke(input, output)) {
        return 1;
    }
    fwrite(output, 1, sizeof output, stdout);
    return 0;
}
"""


def worst_case_graph(op_type: str, products: int) -> Int8Graph:
    """One layer, two output channels: all weights +127, and all -127."""
    weight = np.empty((2, products), dtype=np.int8)
    weight[0], weight[1] = 127, -127
    if op_type == "conv2d":  # a 1x1 convolution over `products` channels
        input_shape, weight, out_shape = (1, 1, 1, products), weight[:, None, None, :], (1, 1, 1, 2)
        attributes = {"stride": [1, 1], "padding": [0, 0, 0, 0], "dilation": [1, 1], "groups": 1}
    else:
        input_shape, out_shape, attributes = (1, products), (1, 2), {}
    # Scales that bring the accumulator (up to 2.1e9) back to a few int8 steps.
    multiplier, shift = quantize_multiplier(1e-8, "double")
    attributes.update(multiplier=[multiplier] * 2, shift=[shift] * 2, act_min=-128, act_max=127)
    tensors = {
        "input": TensorInfo("input", input_shape, "int8", 1.0, -128),
        "layer.weight": TensorInfo("layer.weight", weight.shape, "int8", [1.0, 1.0], 0, weight),
        "layer.bias": TensorInfo("layer.bias", (2,), "int32", [1.0, 1.0], 0,
                                 np.zeros(2, dtype=np.int32)),
        "layer.out": TensorInfo("layer.out", out_shape, "int8", 1e8, 0),
    }
    op = Op(op_type, "layer", ["input", "layer.weight", "layer.bias"], ["layer.out"], attributes)
    layout = "NCHW" if op_type == "conv2d" else "NC"
    return Int8Graph(f"worst_{op_type}", tensors, [op], "input", "layer.out", "double",
                     layout).validate()


def test_max_patch_is_below_the_int32_limit_and_not_far_below():
    largest_product = 127 * 255
    assert MAX_PATCH * largest_product <= 2**31 - 1
    assert (MAX_PATCH * 101 // 100) * largest_product > 2**31 - 1  # within 1% of the limit


@pytest.mark.parametrize("op_type", ["conv2d", "fully_connected"])
def test_one_product_more_than_max_patch_is_refused(op_type):
    with pytest.raises(EmitError, match=f"{MAX_PATCH + 1} products per output"):
        generate_model(worst_case_graph(op_type, MAX_PATCH + 1))


@pytest.mark.parametrize("op_type", ["conv2d", "fully_connected"])
def test_the_largest_allowed_accumulator_is_defined_c(codegen_build_dir, op_type):
    graph = worst_case_graph(op_type, MAX_PATCH)
    generated = generate_model(graph)
    directory = codegen_build_dir / "accumulator_bounds" / op_type
    write_model(generated, directory)
    main = directory / "main.c"
    main.write_text(MAIN % {"name": generated.name, "upper": generated.name.upper()})
    executable = toolchain.build_host_executable(
        [main] + model_sources(generated, directory), directory / "sanitized", [directory],
        extra_flags=["-g", "-fsanitize=undefined", "-fno-sanitize-recover=all"])
    inputs = np.full((1, *graph.tensor("input").shape[1:]), 127, dtype=np.int8)
    result = subprocess.run([str(executable)], input=inputs.tobytes(), capture_output=True,
                            timeout=120)
    assert result.returncode == 0 and result.stderr == b"", result.stderr.decode()
    expected = Int8Interpreter(graph).invoke(inputs)
    # +-127 * 255 * MAX_PATCH = +-2,137,410,000 times 1e-8: about +-21 before rounding.
    assert expected.ravel().tolist() == [21, -21]
    assert np.frombuffer(result.stdout, np.int8).tolist() == expected.ravel().tolist()
