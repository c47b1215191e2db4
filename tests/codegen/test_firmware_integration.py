"""Generated models dropped into real firmware: two models in one image, and a C++ application.

Two different models are deployed into one directory (they share one copy
of the kernels), then linked into one firmware with every kernel compiled
once, and called in turns on one emulated core: each must still equal its
own interpreter on every byte.  The same two models also link into a C++
program on the host through their headers' extern "C".
"""
import shutil
import subprocess

import numpy as np
import pytest

from tinytorch.codegen import toolchain
from tinytorch.codegen.deploy import deploy
from tinytorch.codegen.emulator import CortexM
from tinytorch.codegen.example_graphs import digits_cnn, residual_net
from tinytorch.quant import Int8Interpreter


@pytest.fixture(scope="module")
def two_models(tmp_path_factory):
    """Two different models deployed into one directory: (directory, [(graph, generated)])."""
    directory = tmp_path_factory.mktemp("firmware") / "models"
    models = []
    for graph in (digits_cnn(np.random.default_rng(5)), residual_net(np.random.default_rng(6))):
        models.append((graph, deploy(graph, "cortex-m4", directory).generated))
    return directory, models


def kernel_sources(directory):
    return sorted(p for p in (directory / "tinytorch").glob("*.c") if p.name != "startup.c")


def random_inputs(graph, count, seed):
    shape = graph.tensor(graph.input).shape[1:]
    return np.random.default_rng(seed).integers(-128, 128, (count, *shape)).astype(np.int8)


def test_two_models_share_one_directory_and_one_copy_of_the_kernels(two_models):
    directory, models = two_models
    names = {p.name for p in directory.iterdir()}
    assert names == {"digits_cnn.c", "digits_cnn.h", "residual_net.c", "residual_net.h",
                     "tinytorch", "tinytorch-manifest.json"}
    # The second model needs kernels the first did not (depthwise, add, average pooling).
    kernels = {p.name for p in (directory / "tinytorch").iterdir()}
    assert {"conv2d.c", "depthwise_conv2d.c", "add.c", "avg_pool2d.c", "startup.c"} <= kernels


@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m0plus"])
def test_two_models_run_in_one_firmware_on_an_emulated_core(two_models, tmp_path, target):
    directory, models = two_models
    sources = [directory / f"{generated.name}.c" for _, generated in models]
    elf = toolchain.build_firmware(sources + kernel_sources(directory), tmp_path / "two.elf",
                                   target, [directory],
                                   keep_symbols=[f"{g.name}_invoke" for _, g in models])
    core = CortexM(elf, target)
    assert "tt_conv2d" in core.symbols  # linked once: a second copy would not have linked
    runs = [(graph, generated, random_inputs(graph, 3, seed), Int8Interpreter(graph))
            for seed, (graph, generated) in enumerate(models)]
    outputs = {generated.name: [] for _, generated, _, _ in runs}
    for sample in range(3):  # in turns, so that each model runs after the other
        for graph, generated, inputs, _ in runs:
            size = graph.tensor(graph.output).size
            core.release_all()
            x, y = core.allocate(inputs[sample].tobytes()), core.allocate(size)
            assert core.call(f"{generated.name}_invoke", x, y).return_value == 0
            outputs[generated.name].append(np.frombuffer(core.read(y, size), np.int8))
    for graph, generated, inputs, interpreter in runs:
        expected = interpreter.invoke(inputs).reshape(3, -1)
        np.testing.assert_array_equal(np.stack(outputs[generated.name]), expected)


CPP_APPLICATION = r"""
#include <cstdio>
#include "digits_cnn.h"
#include "residual_net.h"

int main() {
    static int8_t a_in[DIGITS_CNN_INPUT_SIZE], a_out[DIGITS_CNN_OUTPUT_SIZE];
    static int8_t b_in[RESIDUAL_NET_INPUT_SIZE], b_out[RESIDUAL_NET_OUTPUT_SIZE];
    if (std::fread(a_in, 1, sizeof a_in, stdin) != sizeof a_in) return 2;
    if (std::fread(b_in, 1, sizeof b_in, stdin) != sizeof b_in) return 2;
    if (digits_cnn_invoke(a_in, a_out) != 0 || residual_net_invoke(b_in, b_out) != 0) return 3;
    std::fwrite(a_out, 1, sizeof a_out, stdout);
    std::fwrite(b_out, 1, sizeof b_out, stdout);
    return 0;
}
"""


def test_a_cpp_application_links_both_models_through_their_headers(two_models, tmp_path):
    directory, models = two_models
    compiler = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    assert compiler, "a C++ compiler (g++) is needed for this test"
    objects = []
    for source in [directory / f"{g.name}.c" for _, g in models] + kernel_sources(directory):
        objects.append(tmp_path / f"{source.stem}.o")
        subprocess.run([toolchain.host_compiler(), *toolchain.STRICT_C, "-O1", "-c",
                        str(source), "-o", str(objects[-1])], check=True)
    (tmp_path / "main.cpp").write_text(CPP_APPLICATION)
    program = tmp_path / "application"
    build = subprocess.run([compiler, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-pedantic",
                            f"-I{directory}", str(tmp_path / "main.cpp"), *map(str, objects),
                            "-o", str(program)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    (a_graph, _), (b_graph, _) = models
    a, b = random_inputs(a_graph, 1, 7), random_inputs(b_graph, 1, 8)
    result = subprocess.run([str(program)], input=a.tobytes() + b.tobytes(),
                            capture_output=True, timeout=60)
    assert result.returncode == 0
    a_size = a_graph.tensor(a_graph.output).size
    np.testing.assert_array_equal(np.frombuffer(result.stdout[:a_size], np.int8),
                                  Int8Interpreter(a_graph).invoke(a).ravel())
    np.testing.assert_array_equal(np.frombuffer(result.stdout[a_size:], np.int8),
                                  Int8Interpreter(b_graph).invoke(b).ravel())
