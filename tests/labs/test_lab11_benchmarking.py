"""Lab 11 — benchmarking: TFLite's SAME padding, and an inference split op by op.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 11 (``same_padding`` in the .tflite importer, ``CallSplitter.block`` in the
profile) on fixed inputs and hands over what it produced; the lab's answer key
holds what the reference solution produces.

The inputs are pinned so that every machine gets the same answers: padding cases
and runs of code blocks written by hand, the MLPerf Tiny keyword-spotting model
bundled with the package, and, from a real build of a small network for a
Cortex-M4, only what does not depend on the compiler that built it (Zig's clang or
arm-none-eabi-gcc emit different code, so different instruction counts): which ops
execute code at all, which one executes the most, the weights and the live
arena bytes of each.
"""
import numpy as np
import pytest

from tinytorch.app.labs import expect
from tinytorch.app.mlperf_tiny import MODELS
from tinytorch.codegen.deploy import build_model
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.example_graphs import GraphBuilder
from tinytorch.codegen.profile import CallSplitter, profile_model
from tinytorch.quant import Int8Interpreter
from tinytorch.quant.tflite_import import import_tflite, same_padding


@pytest.mark.parametrize("size, kernel, stride, dilation", [
    pytest.param(49, 10, 2, 1, id="the KWS model's first convolution, rows"),
    pytest.param(10, 4, 2, 1, id="the KWS model's first convolution, columns"),
    pytest.param(7, 3, 1, 1, id="a 3-wide kernel, stride 1"),
    pytest.param(5, 1, 1, 1, id="a 1-wide kernel"),
    pytest.param(5, 2, 2, 1, id="an even kernel, stride 2"),
    pytest.param(48, 3, 2, 1, id="a 3-wide kernel, stride 2, on an even size"),
    pytest.param(6, 1, 2, 1, id="a kernel narrower than the stride"),
    pytest.param(9, 3, 1, 2, id="a dilated 3-wide kernel"),
])
def test_same_padding(size, kernel, stride, dilation):
    expect.value(same_padding(size, kernel, stride, dilation),
                 what=f"(before, after) for size {size}, kernel {kernel}, stride {stride}, "
                      f"dilation {dilation}")


@pytest.fixture(scope="module")
def kws():
    return import_tflite(MODELS["kws"].path)


def test_kws_padding_of_every_window(kws):
    expect.value([op.attributes["padding"] for op in kws.ops if "padding" in op.attributes],
                 what="[top, bottom, left, right] of each convolution and pooling of the KWS model")


def test_kws_outputs_on_the_interpreter(kws):
    inputs = np.random.default_rng(11).integers(-128, 128, (2, 49, 10, 1)).astype(np.int8)
    expect.value(Int8Interpreter(kws).invoke(inputs),
                 what="the KWS model's int8 outputs for 2 random inputs")


# ---- splitting a run at each call -----------------------------------------------------------
# Blocks (address, instructions) of runs of an invoke function at [100, 200).
HAND_MADE_RUNS = {
    "the docstring's run": [(100, 5), (300, 10), (340, 7), (120, 2), (300, 10), (180, 3)],
    "a kernel placed right after invoke": [(100, 4), (200, 6), (196, 1), (200, 6), (199, 2)],
    "a tail call into a kernel that calls a helper": [(100, 3), (500, 4), (900, 20), (504, 2)],
    "no call": [(100, 9), (150, 3)],
    "three calls, loops inside each": [(100, 2), (400, 3), (410, 5), (410, 5), (420, 1),
                                       (104, 2), (600, 4), (610, 6), (600, 4), (108, 2),
                                       (400, 3), (420, 1), (112, 3)],
}


def split(blocks, start=100, end=200):
    splitter = CallSplitter(start, end)
    for address, instructions in blocks:
        splitter.block(address, instructions)
    return splitter


@pytest.mark.parametrize("blocks", [pytest.param(blocks, id=name)
                                    for name, blocks in HAND_MADE_RUNS.items()])
def test_split_of_a_hand_made_run(blocks):
    splitter = split(blocks)
    expect.value(np.array(splitter.calls, dtype=np.int64), what="the instructions of each call")
    expect.value(splitter.own, what="the instructions of invoke itself")


def test_split_of_random_runs():
    rng = np.random.default_rng(5)
    calls, own = [], []
    for _ in range(50):
        addresses = rng.choice([100, 150, 199, 200, 260, 90, 300], int(rng.integers(1, 40)))
        splitter = split([(100, 1)] + [(int(a), int(rng.integers(1, 9))) for a in addresses])
        calls.append(splitter.calls)
        own.append(splitter.own)
    expect.value([len(c) for c in calls], what="the number of calls of 50 random runs")
    expect.value(np.array([sum(c) for c in calls]), what="the instructions in calls of each run")
    expect.value(np.array(own), what="the instructions of invoke itself in each run")
    expect.value(np.concatenate([np.array(c, dtype=np.int64) for c in calls]),
                 what="the instructions of every call of every run")


# ---- a real firmware ------------------------------------------------------------------------

def one_big_layer(rng):
    """A 1x1 convolution, a flatten (no code), a 64 -> 256 linear layer, 256 -> 4."""
    g = GraphBuilder("one_big_layer", (1, 4, 4, 2), rng)
    g.conv("small_conv", 4, kernel=(1, 1), padding=(0, 0, 0, 0))
    g.flatten("flatten")
    g.linear("big", 256, relu=True)
    g.linear("head", 4)
    return g.build()


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    graph = one_big_layer(np.random.default_rng(12))
    generated = generate_model(graph)
    elf = build_model(generated, tmp_path_factory.mktemp("lab11"), "cortex-m4")
    sample = np.random.default_rng(13).integers(-128, 128, (4, 4, 2)).astype(np.int8)
    return profile_model(elf, "cortex-m4", generated, graph, sample)


def test_profile_finds_the_layer_that_dominates(profile):
    expect.value(max(profile.ops, key=lambda op: op.instructions).name,
                 what="the op with the most instructions")
    expect.value([op.name for op in profile.ops if op.instructions > 0],
                 what="the ops that executed instructions")


def test_profile_memory_and_weights_of_each_op(profile):
    expect.value([op.live_bytes for op in profile.ops], what="the live arena bytes of each op")
    expect.value([op.weight_bytes for op in profile.ops], what="the weight bytes of each op")
    expect.value([op.macs for op in profile.ops], what="the MACs of each op")
