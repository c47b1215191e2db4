"""Lab 09 — code generation to C and memory planning.

Every test is a probe (tinytorch.app.labs.expect): it runs the code students write
in lab 09 (step overlap, the lower bound, the lowest free offset, the
lifetimes of a graph's activations, C identifiers) on fixed inputs and hands
over what it produced: offsets, sizes, lifetimes, names, the calls of the
generated C and the bytes a host build of it outputs.  The lab's answer key
holds what the reference solution produces.  Nothing from lab 10 is used.
"""
import itertools
import re
import string

import numpy as np
import pytest

from tinytorch.codegen.deploy import HostModel, build_model
from tinytorch.codegen.emitter import c_identifier, generate_model
from tinytorch.codegen.example_graphs import GraphBuilder, digits_cnn, random_architecture
from tinytorch.codegen.memory_planner import (
    Buffer, _lowest_free_offset, graph_buffers, lower_bound, plan_arena, plan_graph)
from tinytorch.app.labs import expect


def random_buffers(rng, count, steps=8, longest=4, largest=200):
    buffers = []
    for index in range(count):
        first = int(rng.integers(0, steps))
        buffers.append(Buffer(f"t{index}", int(rng.integers(1, largest)), first,
                              first + int(rng.integers(0, longest))))
    return buffers


def described(buffers):
    """Buffers as plain values: (name, size, first, last) each."""
    return tuple((b.name, int(b.size), int(b.first), int(b.last)) for b in buffers)


def test_overlaps_in_time_for_every_pair_of_short_ranges():
    ranges = [(first, last) for first in range(5) for last in range(first, 5)]
    overlaps = [Buffer("a", 4, *a).overlaps_in_time(Buffer("b", 4, *b))
                for a, b in itertools.product(ranges, repeat=2)]
    expect.value(np.array(overlaps, dtype=bool).reshape(len(ranges), len(ranges)),
                 what="whether a (row: steps a..b, a <= b < 5) and b (column) share a step")


def test_lower_bound_of_the_worked_example():
    buffers = [Buffer("a", 100, 0, 1), Buffer("b", 50, 1, 2), Buffer("c", 80, 2, 3)]
    expect.value(lower_bound(buffers), what="the lower bound of a (100 B, 0..1), b (50 B, "
                                            "1..2) and c (80 B, 2..3)")


def test_lower_bound_of_no_buffers():
    expect.value(lower_bound([]), what="the lower bound of no buffers")


def test_lower_bound_of_random_buffers():
    rng = np.random.default_rng(9)
    bounds = [lower_bound(random_buffers(rng, int(rng.integers(1, 9)))) for _ in range(200)]
    expect.value(np.array(bounds), what="the lower bounds of 200 random sets of buffers")


def test_lowest_free_offset_of_random_placements():
    rng = np.random.default_rng(10)
    offsets = []
    for _ in range(200):
        placed = [(int(rng.integers(0, 300)), buffer)
                  for buffer in random_buffers(rng, int(rng.integers(0, 7)))]
        buffer = random_buffers(rng, 1, largest=120)[0]
        offsets.append(_lowest_free_offset(buffer, placed))
    expect.value(np.array(offsets), what="the lowest free offsets of 200 random placements")


def test_lowest_free_offset_reuses_bytes_of_buffers_that_are_not_live():
    placed = [(0, Buffer("early", 30, 0, 1)), (30, Buffer("dead", 500, 5, 6)),
              (100, Buffer("late", 50, 0, 4))]
    expect.value(_lowest_free_offset(Buffer("new", 40, 1, 3), placed),
                 what="the offset of a 40 B buffer (steps 1..3) beside the docstring's buffers")


def random_plans(rng, trials=150):
    """(buffers, plan): every other one a chain, in which tensor i is written by op i and
    read by op i + 1."""
    for trial in range(trials):
        if trial % 2:
            buffers = random_buffers(rng, int(rng.integers(1, 9)))
        else:
            buffers = [Buffer(f"t{i}", int(size), i, i + 1)
                       for i, size in enumerate(rng.integers(1, 3000, int(rng.integers(1, 10))))]
        yield buffers, plan_arena(buffers)


def test_plans_of_random_buffers_place_every_buffer():
    offsets = [np.array([plan.offsets[b.name] for b in buffers])
               for buffers, plan in random_plans(np.random.default_rng(11))]
    expect.value(tuple(offsets), what="the offset of every buffer in 150 random plans")


def test_plans_of_random_buffers_report_their_size_and_the_lower_bound():
    plans = [plan for _, plan in random_plans(np.random.default_rng(11))]
    expect.value(np.array([plan.arena_size for plan in plans]),
                 what="the arena sizes of 150 random plans (every other one a chain)")
    expect.value(np.array([plan.lower_bound for plan in plans]),
                 what="the lower bounds of 150 random plans")


def residual_graph(rng):
    g = GraphBuilder("residual", (1, 6, 6, 4), rng)
    g.conv("stem", 8)
    skip = g.current
    g.conv("body", 8, relu=False)
    g.add("join", skip, g.current, relu=True)
    g.flatten("flatten")
    g.linear("head", 3)
    return g.build()


def test_graph_buffers_of_a_residual_graph():
    # The stem's output is read by the body (op 1) and again by the add (op 2); the
    # add's output is flattened (op 3, no bytes move) and read by the head (op 4).
    buffers, aliases = graph_buffers(residual_graph(np.random.default_rng(0)))
    expect.value(described(buffers), what="the buffers (name, size, first step, last step)")
    expect.value(aliases, what="the aliases (tensor -> the buffer holding it)")


def test_graph_buffers_of_random_architectures():
    lifetimes = []
    for seed in range(20):
        buffers, aliases = graph_buffers(random_architecture(np.random.default_rng(seed)))
        lifetimes.append((described(buffers), aliases))
    expect.value(tuple(lifetimes), what="the buffers and aliases of 20 random architectures")


@pytest.mark.parametrize("name", [
    pytest.param("features.0.conv", id="dots become underscores"),
    pytest.param("0weird name!", id="a leading digit gets an underscore in front"),
    pytest.param("conv1", id="an identifier stays as it is"),
    pytest.param("...", id="nothing left is unnamed"),
    pytest.param("__x__", id="underscores at the ends go"),
    pytest.param("a-b/c", id="dashes and slashes become underscores"),
    pytest.param("é", id="a letter outside ASCII is not kept"),
    pytest.param("block0.depthwise", id="digits inside stay"),
])
def test_c_identifier_of_a_name(name):
    expect.value(c_identifier(name), what=f"the C identifier of {name!r}")


def test_c_identifier_of_random_names():
    rng = np.random.default_rng(12)
    alphabet = list(string.ascii_letters + string.digits + "_. -/é")
    names = ["".join(rng.choice(alphabet, int(rng.integers(0, 12)))) for _ in range(300)]
    expect.value(tuple(c_identifier(name) for name in names),
                 what="the C identifiers of 300 random names")


def kernel_calls(source):
    """The kernel calls of a generated ``_invoke``, in order: (function, [arguments])."""
    return tuple((name, tuple(argument.strip() for argument in arguments.split(",")))
                 for name, arguments in re.findall(r"\n    (tt_\w+)\(([^;]*)\);", source))


def test_generated_c_reads_and_writes_where_the_plan_says():
    graph = digits_cnn(np.random.default_rng(4))
    plan = plan_graph(graph)
    expect.value(plan.offsets, what="the arena offset of each buffer")
    expect.value((plan.arena_size, plan.lower_bound), what="the arena size and the lower bound")
    generated = generate_model(graph)
    expect.value(re.findall(r"static int32_t (\w+)\[(\d+)\];", generated.source),
                 what="the arena's declaration (name, words)")
    # Each op reads and writes where the plan put its tensors: the graph input, an
    # arena offset, or the caller's output.
    expect.value(kernel_calls(generated.source), what="the kernel calls and their arguments")


def test_generated_c_runs_on_the_host(tmp_path):
    graph = digits_cnn(np.random.default_rng(4))
    generated = generate_model(graph)
    model = HostModel(build_model(generated, tmp_path, "host"), generated, graph)
    inputs = np.random.default_rng(5).integers(-128, 128, (50, 8, 8, 1)).astype(np.int8)
    expect.value(model(inputs), what="the int8 outputs of 50 samples")
