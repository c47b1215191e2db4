"""Lab 11, hidden tests: the same probes on inputs the visible tests do not show."""
import numpy as np
import pytest

from tinytorch.app.labs import expect
from tinytorch.app.mlperf_tiny import MODELS
from tinytorch.codegen.deploy import build_model
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.example_graphs import residual_net
from tinytorch.codegen.profile import CallSplitter, profile_model
from tinytorch.quant.tflite_import import import_tflite, same_padding


@pytest.mark.parametrize("size, kernel, stride, dilation", [
    pytest.param(1, 3, 1, 1, id="one value, a 3-wide kernel"),
    pytest.param(2, 5, 1, 1, id="a kernel wider than the input"),
    pytest.param(10, 3, 3, 1, id="stride 3"),
    pytest.param(11, 4, 3, 1, id="an even kernel, stride 3"),
    pytest.param(8, 2, 1, 3, id="a dilated even kernel"),
    pytest.param(3, 7, 2, 1, id="a wide kernel, stride 2"),
    pytest.param(13, 1, 4, 1, id="a 1-wide kernel, stride 4, no padding"),
    pytest.param(12, 1, 5, 1, id="a 1-wide kernel, stride 5, the last window inside"),
    pytest.param(96, 3, 2, 1, id="the VWW model's first convolution"),
])
def test_same_padding_of_other_windows(size, kernel, stride, dilation):
    expect.value(same_padding(size, kernel, stride, dilation),
                 what=f"(before, after) for size {size}, kernel {kernel}, stride {stride}, "
                      f"dilation {dilation}")


def test_vww_padding_of_every_window():
    graph = import_tflite(MODELS["vww"].path)
    expect.value([op.attributes["padding"] for op in graph.ops if "padding" in op.attributes],
                 what="[top, bottom, left, right] of each window of the VWW model")


def test_split_of_random_runs_elsewhere_in_memory():
    rng = np.random.default_rng(17)
    start, end = 0x800, 0x860
    calls, own = [], []
    for _ in range(40):
        addresses = rng.choice([start, start + 2, end - 2, end, end + 64, start - 4, 0x4000],
                               int(rng.integers(1, 60)))
        splitter = CallSplitter(start, end)
        for address in [start, *addresses]:
            splitter.block(int(address), int(rng.integers(1, 12)))
        calls.append(np.array(splitter.calls, dtype=np.int64))
        own.append(splitter.own)
    expect.value([len(c) for c in calls], what="the number of calls of 40 random runs")
    expect.value(np.concatenate(calls), what="the instructions of every call of every run")
    expect.value(np.array(own), what="the instructions of invoke itself in each run")


def test_split_of_a_run_that_never_returns_to_invoke():
    splitter = CallSplitter(0, 50)
    for address, instructions in [(0, 3), (60, 5), (80, 5), (60, 5), (100, 1)]:
        splitter.block(address, instructions)
    expect.value(splitter.calls, what="the instructions of each call")
    expect.value(splitter.own, what="the instructions of invoke itself")


@pytest.fixture(scope="module")
def residual_profile(tmp_path_factory):
    graph = residual_net(np.random.default_rng(21))
    generated = generate_model(graph)
    elf = build_model(generated, tmp_path_factory.mktemp("lab11-hidden"), "cortex-m4")
    sample = np.random.default_rng(22).integers(-128, 128, (6, 6, 4)).astype(np.int8)
    return profile_model(elf, "cortex-m4", generated, graph, sample)


def test_residual_profile_ops_with_code(residual_profile):
    expect.value([op.name for op in residual_profile.ops if op.instructions > 0],
                 what="the ops that executed instructions")


def test_residual_profile_memory_and_weights(residual_profile):
    expect.value([op.live_bytes for op in residual_profile.ops],
                 what="the live arena bytes of each op")
    expect.value([op.weight_bytes for op in residual_profile.ops],
                 what="the weight bytes of each op")
