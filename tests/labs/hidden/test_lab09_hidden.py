"""Lab 09, graded by the autograder only (probes: see tinytorch.app.labs.expect).

Other buffers, graphs and names than the visible tests: ranges that touch or
sit at step -1, peaks that are not at step 0, gaps that fit exactly or by one
byte too few, graphs whose input or output is reshaped, reshapes in a row,
long skip connections, op names that clash as C identifiers.
"""
import re

import numpy as np
import pytest

from tinytorch.codegen.deploy import HostModel, build_model
from tinytorch.codegen.emitter import c_identifier, generate_model
from tinytorch.codegen.example_graphs import GraphBuilder, ds_cnn, residual_net
from tinytorch.codegen.memory_planner import (
    Buffer, _lowest_free_offset, graph_buffers, lower_bound, plan_graph)
from tinytorch.app.labs import expect


def described(buffers):
    return tuple((b.name, int(b.size), int(b.first), int(b.last)) for b in buffers)


@pytest.mark.parametrize("a, b", [
    pytest.param((3, 7), (7, 9), id="the last step of one is the first of the other"),
    pytest.param((3, 6), (7, 9), id="one ends the step before the other begins"),
    pytest.param((10, 20), (12, 13), id="one inside the other"),
    pytest.param((5, 5), (5, 5), id="the same single step"),
    pytest.param((-1, -1), (0, 3), id="the graph input's step -1 and a buffer from step 0"),
    pytest.param((-1, 0), (0, 0), id="step -1 to 0 and step 0"),
    pytest.param((100, 400), (0, 99), id="far from step 0"),
])
def test_overlaps_in_time_both_ways(a, b):
    first, second = Buffer("a", 8, *a), Buffer("b", 8, *b)
    expect.value((first.overlaps_in_time(second), second.overlaps_in_time(first)),
                 what=f"whether steps {a[0]}..{a[1]} and {b[0]}..{b[1]} share a step, both ways")


@pytest.mark.parametrize("spans", [
    pytest.param([(10, 0, 5), (20, 2, 5), (30, 5, 5)], id="the peak where the last one begins"),
    pytest.param([(100, 0, 0), (10, 1, 3), (10, 2, 3), (10, 3, 3)],
                 id="one large buffer alone at the first step"),
    pytest.param([(50, 0, 1), (60, 2, 3)], id="two buffers one after the other"),
    pytest.param([(7, 5, 9), (8, 9, 12), (9, 13, 13)], id="steps that do not begin at 0"),
    pytest.param([(40, 4, 4), (30, 4, 4), (20, 4, 4)], id="every buffer at one step"),
    pytest.param([(1000, 0, 0)], id="one buffer"),
    pytest.param([(8, 3, 6), (16, 0, 9), (4, 6, 7), (2, 1, 2)], id="listed out of order"),
])
def test_lower_bound_of_a_few_buffers(spans):
    buffers = [Buffer(f"t{i}", size, first, last) for i, (size, first, last) in enumerate(spans)]
    expect.value(lower_bound(buffers), what="the largest sum of sizes live at one step")
    expect.value(lower_bound(buffers[::-1]), what="the same, with the buffers listed backwards")


@pytest.mark.parametrize("placed, new", [
    pytest.param([], (40, 0, 3), id="an empty arena"),
    pytest.param([(0, (16, 0, 3)), (56, (16, 0, 3))], (40, 1, 2), id="a gap of exactly the size"),
    pytest.param([(0, (16, 0, 3)), (56, (16, 0, 3))], (41, 1, 2), id="a gap one byte too small"),
    pytest.param([(56, (16, 0, 3)), (200, (8, 0, 3)), (0, (16, 0, 3))], (40, 1, 2),
                 id="placed buffers listed out of order"),
    pytest.param([(0, (100, 0, 3)), (20, (10, 0, 3)), (150, (10, 0, 3))], (40, 1, 2),
                 id="a small buffer inside the span of a large one"),
    pytest.param([(0, (64, 0, 1)), (64, (64, 4, 6))], (32, 2, 3),
                 id="nothing placed is live at the same time"),
    pytest.param([(0, (64, 0, 2)), (64, (64, 3, 6))], (32, 2, 3),
                 id="lifetimes that touch at one step"),
    pytest.param([(12, (20, 0, 3))], (12, 0, 0), id="room below the first placed buffer"),
    pytest.param([(12, (20, 0, 3))], (13, 0, 0), id="one byte too much below the first one"),
])
def test_lowest_free_offset(placed, new):
    placed = [(offset, Buffer(f"p{i}", *span)) for i, (offset, span) in enumerate(placed)]
    expect.value(_lowest_free_offset(Buffer("new", *new), placed),
                 what=f"the lowest free offset of {new[0]} B over steps {new[1]}..{new[2]}")


def only_a_reshape(rng):
    g = GraphBuilder("only a reshape", (1, 2, 2, 3), rng)
    g.flatten("flat")
    return g.build()


def reshaped_input(rng):
    g = GraphBuilder("reshaped input", (1, 2, 2, 3), rng)
    g.flatten("flat")
    g.linear("fc", 5)
    g.linear("fc2", 4, relu=True)
    return g.build()


def reshapes_in_a_row(rng):
    g = GraphBuilder("reshapes in a row", (1, 4, 4, 2), rng)
    g.conv("c", 4)
    g.flatten("f1")
    g.flatten("f2")
    g.linear("fc", 3)
    return g.build()


def reshaped_output(rng):
    g = GraphBuilder("reshaped output", (1, 4, 4, 2), rng)
    g.conv("c", 4)
    g.conv("d", 2)
    g.flatten("f1")
    return g.build()


def long_skip(rng):
    g = GraphBuilder("long skip", (1, 4, 4, 2), rng)
    g.conv("a", 4)
    skip = g.current
    for name in "bcd":
        g.conv(name, 4)
    g.add("join", skip, g.current)
    g.flatten("f")
    g.linear("fc", 3)
    return g.build()


def doubled(rng):
    g = GraphBuilder("doubled", (1, 3, 3, 2), rng)
    g.conv("a", 2)
    g.add("twice", g.current, g.current, relu=True)
    g.pool("avg_pool2d", "pool", kernel=(3, 3), stride=(1, 1))
    g.flatten("f")
    g.linear("fc", 2)
    return g.build()


GRAPHS = [
    pytest.param(only_a_reshape, id="a graph that only reshapes"),
    pytest.param(reshaped_input, id="the input reshaped first"),
    pytest.param(reshapes_in_a_row, id="two reshapes in a row"),
    pytest.param(reshaped_output, id="the output is a reshape"),
    pytest.param(long_skip, id="a skip connection over three ops"),
    pytest.param(doubled, id="an add of a tensor to itself"),
    pytest.param(residual_net, id="a depthwise residual block"),
    pytest.param(ds_cnn, id="the keyword-spotting DS-CNN"),
]


@pytest.mark.parametrize("make", GRAPHS)
def test_graph_buffers_of_another_graph(make):
    buffers, aliases = graph_buffers(make(np.random.default_rng(3)))
    expect.value(described(buffers), what="the buffers (name, size, first step, last step)")
    expect.value(aliases, what="the aliases (tensor -> the buffer holding it)")


@pytest.mark.parametrize("make", GRAPHS)
def test_plan_of_another_graph(make):
    plan = plan_graph(make(np.random.default_rng(3)))
    expect.value(plan.offsets, what="the arena offset of each buffer")
    expect.value((plan.arena_size, plan.lower_bound), what="the arena size and the lower bound")


@pytest.mark.parametrize("name", [
    pytest.param("", id="an empty name"),
    pytest.param("___", id="only underscores"),
    pytest.param("9", id="a single digit"),
    pytest.param("_1abc", id="a digit after a stripped underscore"),
    pytest.param("a..b", id="two dots in a row"),
    pytest.param("  conv 1  ", id="spaces around"),
    pytest.param("Ünïcode_ß", id="letters outside ASCII among ASCII ones"),
    pytest.param("line\nbreak", id="a newline"),
    pytest.param("x" * 40 + ".y", id="a long name"),
    pytest.param("A_b9_", id="capitals, digits and a trailing underscore"),
])
def test_c_identifier_of_another_name(name):
    expect.value(c_identifier(name), what=f"the C identifier of {name!r}")


def kernel_calls(source):
    return tuple((name, tuple(argument.strip() for argument in arguments.split(",")))
                 for name, arguments in re.findall(r"\n    (tt_\w+)\(([^;]*)\);", source))


def test_generated_names_of_op_names_that_clash():
    g = GraphBuilder("9 clash-test", (1, 4, 4, 1), np.random.default_rng(6))
    for name in ("conv.1", "conv-1", "conv 1"):
        g.conv(name, 2)
    g.flatten("...")
    g.linear("conv_1", 3)
    generated = generate_model(g.build())
    expect.value(generated.name, what="the model's C name")
    expect.value(sorted(re.findall(r"static const \w+ (\w+)(?:\[\d+\])? =", generated.source)),
                 what="the names of the constants the C declares")
    expect.value(kernel_calls(generated.source), what="the kernel calls and their arguments")


def test_generated_c_of_a_residual_network_on_the_host(tmp_path):
    graph = residual_net(np.random.default_rng(8))
    generated = generate_model(graph)
    expect.value(kernel_calls(generated.source), what="the kernel calls and their arguments")
    model = HostModel(build_model(generated, tmp_path, "host"), generated, graph)
    inputs = np.random.default_rng(9).integers(-128, 128, (20, 6, 6, 4)).astype(np.int8)
    expect.value(model(inputs), what="the int8 outputs of 20 samples")


def test_generated_c_of_a_graph_that_only_reshapes_on_the_host(tmp_path):
    graph = only_a_reshape(np.random.default_rng(2))
    generated = generate_model(graph)
    expect.value(generated.plan.arena_size, what="the arena size")
    model = HostModel(build_model(generated, tmp_path, "host"), generated, graph)
    inputs = np.random.default_rng(3).integers(-128, 128, (4, 2, 2, 3)).astype(np.int8)
    expect.value(model(inputs), what="the int8 outputs of 4 samples")
