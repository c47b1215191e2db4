"""Generated C against the int8 interpreter: host, sanitizers, emulated cores, random networks.

Every model here is an int8 graph built at random (int8_graph_builder.py);
the oracle is ``Int8Interpreter`` on the Python kernels, and the C must give
the same bytes for every output.  Builds are shared per session.
"""
import subprocess

import numpy as np
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.deploy import CoreModel, HostModel, build_model, model_sources
from tinytorch.codegen.emitter import generate_model
from tinytorch.quant import Int8Interpreter

from tinytorch.codegen.example_graphs import (digits_cnn, random_architecture, residual_net,
                                              softmax_classifier)

MCU_TARGETS = ["cortex-m0plus", "cortex-m4", "cortex-m7"]


def random_inputs(graph, count, seed=0):
    shape = graph.tensor(graph.input).shape[1:]
    return np.random.default_rng(seed).integers(-128, 128, (count, *shape)).astype(np.int8)


@pytest.fixture(scope="session")
def hand_built_graphs():
    return {"digits_cnn": digits_cnn(np.random.default_rng(1)),
            "digits_cnn_single": digits_cnn(np.random.default_rng(2), rounding="single"),
            "residual": residual_net(np.random.default_rng(3)),
            "softmax": softmax_classifier(np.random.default_rng(4)),
            "softmax_single": softmax_classifier(np.random.default_rng(6), rounding="single")}


@pytest.fixture(scope="session")
def built(hand_built_graphs, codegen_build_dir):
    """(graph name, target) -> (graph, generated, build path); every target, once."""
    results = {}
    for name, graph in hand_built_graphs.items():
        generated = generate_model(graph)
        for target in ["host"] + MCU_TARGETS:
            directory = codegen_build_dir / "models" / name / target
            results[name, target] = (graph, generated,
                                     build_model(generated, directory, target))
    return results


def test_generated_c_compiles_strictly_for_every_target(built):
    # build_model compiles with -std=c99 -Wall -Wextra -Werror -pedantic; any warning fails.
    for (name, target), (_, generated, path) in built.items():
        assert path.exists(), (name, target)
        assert f"{generated.name}_invoke" in path.read_bytes().decode("latin-1")


def test_generated_source_is_freestanding_and_named_after_the_layers(built):
    _, generated, _ = built["residual", "host"]
    assert generated.name == "residual_net"
    includes = {line for line in (generated.source + generated.header).splitlines()
                if line.startswith("#include")}
    assert includes == {'#include "residual_net.h"', '#include "tinytorch/tinytorch_kernels.h"',
                        "#include <stdint.h>"}
    assert "static const int8_t residual_net_block_dw_weight[72]" in generated.source
    assert "float" not in generated.source and "double" not in generated.source
    assert f"static int32_t residual_net_arena_words[{-(-generated.plan.arena_size // 4)}]" \
        in generated.source


@pytest.mark.parametrize("name", ["digits_cnn", "digits_cnn_single", "residual", "softmax",
                                  "softmax_single"])
def test_host_build_is_bit_exact(built, name):
    graph, generated, library = built[name, "host"]
    inputs = random_inputs(graph, 200)
    expected = Int8Interpreter(graph).invoke(inputs)
    np.testing.assert_array_equal(HostModel(library, generated, graph)(inputs), expected)


@pytest.mark.parametrize("target", MCU_TARGETS)
@pytest.mark.parametrize("name", ["digits_cnn", "residual", "softmax"])
def test_emulated_cores_are_bit_exact(built, name, target):
    # M0+ runs the reference C, M4 and M7 the DSP path.
    graph, generated, elf = built[name, target]
    inputs = random_inputs(graph, 3, seed=5)
    model = CoreModel(elf, target, generated, graph)
    np.testing.assert_array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs))
    assert min(model.instructions) > generated.macs  # at least one instruction per MAC


HARNESS = r"""
#include <stdio.h>
#include "%(name)s.h"

int main(void) {
    static int8_t input[%(upper)s_INPUT_SIZE], output[%(upper)s_OUTPUT_SIZE];
    while (fread(input, 1, sizeof input, stdin) == sizeof input) {
        if (%(name)s_invoke(input, output) != 0) {
            return 1;
        }
        fwrite(output, 1, sizeof output, stdout);
    }
    return 0;
}
"""


@pytest.mark.parametrize("name", ["digits_cnn", "residual", "softmax"])
def test_host_build_is_clean_under_address_and_undefined_behaviour_sanitizers(
        built, codegen_build_dir, name):
    graph, generated, library = built[name, "host"]
    directory = library.parent
    harness = directory / "harness.c"
    harness.write_text(HARNESS % {"name": generated.name, "upper": generated.name.upper()})
    sources = [harness] + model_sources(generated, directory)
    executable = toolchain.build_host_executable(
        sources, directory / "sanitized", [directory],
        extra_flags=["-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
    inputs = random_inputs(graph, 50, seed=9)
    result = subprocess.run([str(executable)], input=inputs.tobytes(), capture_output=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stderr == b""
    outputs = np.frombuffer(result.stdout, np.int8).reshape(
        (len(inputs), *graph.tensor(graph.output).shape[1:]))
    np.testing.assert_array_equal(outputs, Int8Interpreter(graph).invoke(inputs))


@pytest.mark.parametrize("seed", range(40))
def test_random_architectures_are_bit_exact_on_the_host(codegen_build_dir, seed):
    graph = random_architecture(np.random.default_rng(seed))
    generated = generate_model(graph)
    library = build_model(generated, codegen_build_dir / "fuzz" / str(seed), "host", "-O1")
    inputs = random_inputs(graph, 30, seed)
    np.testing.assert_array_equal(HostModel(library, generated, graph)(inputs),
                                  Int8Interpreter(graph).invoke(inputs))


@pytest.mark.parametrize("seed", range(1000, 1004))
def test_random_architectures_are_bit_exact_on_an_emulated_cortex_m4(codegen_build_dir, seed):
    graph = random_architecture(np.random.default_rng(seed))
    generated = generate_model(graph)
    elf = build_model(generated, codegen_build_dir / "fuzz-m4" / str(seed), "cortex-m4")
    inputs = random_inputs(graph, 2, seed)
    np.testing.assert_array_equal(CoreModel(elf, "cortex-m4", generated, graph)(inputs),
                                  Int8Interpreter(graph).invoke(inputs))
