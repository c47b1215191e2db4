"""The per-op profile of a model on the emulated core, against independent counts.

* the rows add up to what a plain run of the same firmware counts;
* each op's instructions equal a count made another way: a block belongs to
  the kernel the model's source calls that was entered last (how tutorial 10
  counts per layer), blocks inside ``<name>_invoke`` to no op;
* a layer built to dominate, dominates;
* the live bytes are the planner's live set, recomputed here from the graph
  in plain Python, and their largest value is the plan's lower bound;
* the weight bytes add up to the ELF report's weights.
"""
import re

import numpy as np
import pytest
from unicorn import UC_HOOK_BLOCK

from tinytorch.app.cli import main as cli
from tinytorch.codegen.deploy import CoreModel, build_model, deploy
from tinytorch.codegen.elf_report import read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.emulator import CortexM, _instruction_count
from tinytorch.codegen.example_graphs import (GraphBuilder, digits_cnn, residual_net,
                                              softmax_classifier)
from tinytorch.codegen.profile import CallSplitter, profile_model


def one_big_layer(rng):
    """A tiny convolution, then a 64 -> 256 linear layer (16 K MACs), then 256 -> 4."""
    g = GraphBuilder("one_big_layer", (1, 4, 4, 2), rng)
    g.conv("small_conv", 4, kernel=(1, 1), padding=(0, 0, 0, 0))
    g.flatten("flatten")
    g.linear("big", 256, relu=True)
    g.linear("head", 4)
    return g.build()


GRAPHS = {"digits_cnn": digits_cnn, "residual_net": residual_net, "one_big_layer": one_big_layer,
          "softmax_classifier": softmax_classifier}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Each graph, its C, its Cortex-M4 firmware, a sample and its profile: built once."""
    built = {}
    for key, make in GRAPHS.items():
        graph = make(np.random.default_rng(3))
        generated = generate_model(graph)
        elf = build_model(generated, tmp_path_factory.mktemp(key), "cortex-m4")
        sample = np.random.default_rng(4).integers(
            -128, 128, graph.tensor(graph.input).shape[1:]).astype(np.int8)
        built[key] = (graph, generated, elf, sample,
                      profile_model(elf, "cortex-m4", generated, graph, sample))
    return built


@pytest.mark.parametrize("key", GRAPHS)
def test_rows_add_up_to_a_plain_run(builds, key):
    graph, generated, elf, sample, profile = builds[key]
    model = CoreModel(elf, "cortex-m4", generated, graph)
    model(sample[None])
    assert profile.instructions == model.instructions[0]
    assert sum(op.instructions for op in profile.ops) + profile.invoke_instructions \
        == model.instructions[0]
    assert 0 < profile.invoke_instructions < 50 * len(graph.ops)


def per_kernel_entry(elf, generated, graph, sample):
    """Instructions per called kernel, counted from each entry into a kernel the source
    calls, and those of invoke's own code: an attribution made independently."""
    called = re.findall(r"\n    (tt_\w+)\(", generated.source)
    core = CortexM(elf, "cortex-m4")
    entries = {core.symbols[name] & ~1 for name in called}
    invoke = f"{generated.name}_invoke"
    start = core.symbols[invoke] & ~1
    size = {s.name: s.size for s in read_elf_report(elf).symbols}[invoke]
    counts, own, current = [0] * len(called), [0], [-1]

    def count(uc, address, block_size, user_data):
        instructions = _instruction_count(bytes(uc.mem_read(address, block_size)))
        if start <= address < start + size:
            own[0] += instructions
            return
        if address in entries:
            current[0] += 1
        counts[current[0]] += instructions

    core.uc.hook_add(UC_HOOK_BLOCK, count)
    core.uc.ctl_flush_tb()
    core.call(invoke, core.allocate(sample.tobytes()),
              core.allocate(graph.tensor(graph.output).size))
    return counts, own[0]


@pytest.mark.parametrize("key", GRAPHS)
def test_each_op_has_the_instructions_of_its_kernel_call(builds, key):
    graph, generated, elf, sample, profile = builds[key]
    counts, own = per_kernel_entry(elf, generated, graph, sample)
    assert [op.instructions for op in profile.ops if op.type != "reshape"] == counts
    assert [op.instructions for op in profile.ops if op.type == "reshape"] == [0]
    assert profile.invoke_instructions == own


def test_the_layer_built_to_dominate_dominates(builds):
    graph, generated, _, _, profile = builds["one_big_layer"]
    biggest = max(profile.ops, key=lambda op: op.instructions)
    assert biggest.name == "big"
    assert biggest.instructions > 0.7 * profile.instructions
    assert biggest.macs == 64 * 256 == max(op.macs for op in profile.ops)


def live_set_from_the_graph(graph):
    """Bytes (rounded up to words) of the activations live at each op, from the graph alone:
    a tensor is live from the op that writes it to the last op that reads it, or reads
    a reshape of it; the caller's input and output are not in the arena."""
    storage = {}  # tensor -> the tensor whose bytes it uses
    for op in graph.ops:
        if op.type == "reshape":
            storage[op.outputs[0]] = storage.get(op.inputs[0], op.inputs[0])
    owner = {name: storage.get(name, name) for name in graph.tensors}
    caller = {owner[graph.input], owner[graph.output]}
    written, read = {}, {}
    for step, op in enumerate(graph.ops):
        for name in op.inputs:
            if not graph.tensor(name).is_constant:
                read[owner[name]] = step
        written.setdefault(owner[op.outputs[0]], step)
    sizes = {name: -(-graph.tensor(name).size // 4) * 4 for name in written}
    return [sum(size for name, size in sizes.items() if name not in caller
                and written[name] <= step <= max(read.get(name, step), written[name]))
            for step in range(len(graph.ops))]


@pytest.mark.parametrize("key", GRAPHS)
def test_live_bytes_are_the_planners_live_set(builds, key):
    graph, generated, _, _, profile = builds[key]
    live = [op.live_bytes for op in profile.ops]
    assert live == live_set_from_the_graph(graph)
    assert max(live) == generated.plan.lower_bound == profile.lower_bound


@pytest.mark.parametrize("key", GRAPHS)
def test_weight_bytes_add_up_to_the_reports_weights(builds, key):
    graph, generated, elf, _, profile = builds[key]
    assert sum(op.weight_bytes for op in profile.ops) == \
        read_elf_report(elf, weight_prefix=f"{generated.name}_").weights
    for op, graph_op in zip(profile.ops, graph.ops):
        if graph_op.type in ("conv2d", "fully_connected"):
            weight = graph.tensor(graph_op.inputs[1])
            channels = weight.shape[0]
            # the int8 weights and at least an int32 bias and multiplier per channel
            assert op.weight_bytes >= weight.size + 8 * channels, op.name
        elif graph_op.type == "reshape":
            assert op.weight_bytes == 0


def test_macs_add_up_to_the_models(builds):
    for graph, generated, _, _, profile in builds.values():
        assert sum(op.macs for op in profile.ops) == generated.macs


def test_table_names_every_op_and_the_total(builds):
    graph, generated, _, _, profile = builds["residual_net"]
    table = profile.table()
    for op in graph.ops:
        assert op.name in table
    assert f"{profile.instructions:,}" in table.splitlines()[-2]
    assert f"{generated.plan.lower_bound:,} B" in table


def test_a_sample_of_the_wrong_size_is_refused(builds):
    graph, generated, elf, sample, _ = builds["digits_cnn"]
    with pytest.raises(ValueError, match="digits_cnn: a sample has 64 values, got 63"):
        profile_model(elf, "cortex-m4", generated, graph, sample.ravel()[:63])


# ---- the splitter on hand-made runs -----------------------------------------------------

def split(blocks, start=100, end=200):
    splitter = CallSplitter(start, end)
    for address, instructions in blocks:
        splitter.block(address, instructions)
    return splitter.calls, splitter.own


def test_splitter_docstring_example():
    assert split([(100, 5), (300, 10), (340, 7), (120, 2), (300, 10), (180, 3)]) == \
        ([17, 10], 10)


def test_splitter_a_kernel_placed_right_after_invoke():
    assert split([(100, 4), (200, 6), (196, 1), (200, 6), (199, 2)]) == ([6, 6], 7)


def test_splitter_a_tail_call_and_a_callee():
    # the last call is a jump: the run ends in the kernel, after it called a helper
    assert split([(100, 3), (500, 4), (900, 20), (504, 2)]) == ([26], 3)


def test_splitter_no_call():
    assert split([(100, 9), (150, 3)]) == ([], 12)


# ---- the command line --------------------------------------------------------------------

def test_deploy_profile_prints_the_table(builds, tmp_path, capsys):
    graph = builds["digits_cnn"][0]
    graph.save(tmp_path / "digits")
    assert cli(["deploy", str(tmp_path / "digits"), "--out", str(tmp_path / "out"),
                "--profile"]) == 0
    printed = capsys.readouterr().out
    for name in ("conv1", "pool1", "conv2", "pool2", "flatten", "fc", "digits_cnn_invoke itself",
                 "live arena B"):
        assert name in printed


def test_a_profile_of_a_host_build_is_refused(builds, tmp_path):
    with pytest.raises(ValueError, match="emulated Cortex-M, not on the host"):
        deploy(builds["digits_cnn"][0], "host", tmp_path / "out", profile=True)
