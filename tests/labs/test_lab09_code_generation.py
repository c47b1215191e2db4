"""Lab 09 — code generation to C and memory planning.

Every reference here is written the slow, obvious way: lifetimes by scanning
each tensor's producer and readers, the lower bound step by step, free offsets
byte by byte.  The last test builds generated C for the host (no cross
compiler needed) and compares it with the int8 interpreter.
"""
import itertools
import re
import string

import numpy as np

from tinytorch.codegen.deploy import HostModel, build_model
from tinytorch.codegen.emitter import c_identifier, generate_model
from tinytorch.codegen.example_graphs import GraphBuilder, digits_cnn, random_architecture
from tinytorch.codegen.memory_planner import (
    Buffer, _lowest_free_offset, graph_buffers, lower_bound, plan_arena, plan_graph)
from tinytorch.quant import Int8Interpreter


def random_buffers(rng, count, steps=8, longest=4, largest=200):
    buffers = []
    for index in range(count):
        first = int(rng.integers(0, steps))
        buffers.append(Buffer(f"t{index}", int(rng.integers(1, largest)), first,
                              first + int(rng.integers(0, longest))))
    return buffers


def live_steps(buffer):
    return set(range(buffer.first, buffer.last + 1))


def collide(offset_a, a, offset_b, b):
    """Two placed buffers share a byte at a step when both are live."""
    share_a_byte = offset_a < offset_b + b.size and offset_b < offset_a + a.size
    return share_a_byte and bool(live_steps(a) & live_steps(b))


def test_overlaps_in_time_is_a_shared_step():
    ranges = [(first, last) for first in range(5) for last in range(first, 5)]
    for (a_first, a_last), (b_first, b_last) in itertools.product(ranges, repeat=2):
        a, b = Buffer("a", 4, a_first, a_last), Buffer("b", 4, b_first, b_last)
        expected = bool(live_steps(a) & live_steps(b))
        assert a.overlaps_in_time(b) is expected, (a, b)


def test_lower_bound_is_the_largest_live_sum():
    assert lower_bound([Buffer("a", 100, 0, 1), Buffer("b", 50, 1, 2),
                        Buffer("c", 80, 2, 3)]) == 150  # the docstring's example
    assert lower_bound([]) == 0
    rng = np.random.default_rng(9)
    for _ in range(200):
        buffers = random_buffers(rng, int(rng.integers(1, 9)))
        every_step = range(0, 16)
        expected = max(sum(b.size for b in buffers if step in live_steps(b))
                       for step in every_step)
        assert lower_bound(buffers) == expected, buffers


def test_lowest_free_offset_byte_by_byte():
    rng = np.random.default_rng(10)
    for _ in range(200):
        placed = [(int(rng.integers(0, 300)), buffer)
                  for buffer in random_buffers(rng, int(rng.integers(0, 7)))]
        buffer = random_buffers(rng, 1, largest=120)[0]
        expected = next(offset for offset in itertools.count()
                        if not any(collide(offset, buffer, other_offset, other)
                                   for other_offset, other in placed))
        assert _lowest_free_offset(buffer, placed) == expected, (buffer, placed)


def test_lowest_free_offset_reuses_bytes_of_buffers_that_are_not_live():
    placed = [(0, Buffer("early", 30, 0, 1)), (30, Buffer("dead", 500, 5, 6)),
              (100, Buffer("late", 50, 0, 4))]
    assert _lowest_free_offset(Buffer("new", 40, 1, 3), placed) == 30


def random_plans(rng, trials=150):
    """(buffers, plan, [(offset, buffer rounded up to 4 bytes)]): every other one a chain, in
    which tensor i is written by op i and read by op i + 1."""
    for trial in range(trials):
        if trial % 2:
            buffers = random_buffers(rng, int(rng.integers(1, 9)))
        else:
            buffers = [Buffer(f"t{i}", int(size), i, i + 1)
                       for i, size in enumerate(rng.integers(1, 3000, int(rng.integers(1, 10))))]
        plan = plan_arena(buffers)
        placed = [(plan.offsets[b.name], Buffer(b.name, -(-b.size // 4) * 4, b.first, b.last))
                  for b in buffers]
        yield buffers, plan, placed


def test_plans_never_overlap_live_tensors():
    for buffers, plan, placed in random_plans(np.random.default_rng(11)):
        for (offset_a, a), (offset_b, b) in itertools.combinations(placed, 2):
            assert not collide(offset_a, a, offset_b, b), (a, b, plan.offsets)
        assert all(offset % 4 == 0 and offset + b.size <= plan.arena_size
                   for offset, b in placed)


def test_plans_report_the_lower_bound_and_reach_it_on_chains():
    for trial, (buffers, plan, placed) in enumerate(random_plans(np.random.default_rng(11))):
        bound = max(sum(b.size for _, b in placed if step in live_steps(b)) for step in range(20))
        assert plan.lower_bound == bound, buffers
        if trial % 2 == 0:  # a chain
            assert plan.arena_size == bound, f"expected {bound} bytes, got {plan.arena_size}: {buffers}"


def reference_lifetimes(graph):
    """{buffer: (first, last)} and {alias: buffer}, by scanning producers and readers."""
    producer = {op.outputs[0]: (step, op) for step, op in enumerate(graph.ops)}

    def buffer_of(name):
        while name in producer and producer[name][1].type == "reshape":
            name = producer[name][1].inputs[0]
        return name

    lifetimes = {}
    for name, (step, op) in producer.items():
        if op.type == "reshape":
            continue
        names = {other for other in producer if buffer_of(other) == name} | {name}
        readers = [s for s, reader in enumerate(graph.ops) if names & set(reader.inputs)]
        lifetimes[name] = (step, max(readers, default=step))
    caller_owned = {buffer_of(graph.input), buffer_of(graph.output)}
    aliases = {name: buffer_of(name) for name, (_, op) in producer.items() if op.type == "reshape"}
    return {n: span for n, span in lifetimes.items() if n not in caller_owned}, aliases


def residual_graph(rng):
    g = GraphBuilder("residual", (1, 6, 6, 4), rng)
    g.conv("stem", 8)
    skip = g.current
    g.conv("body", 8, relu=False)
    g.add("join", skip, g.current, relu=True)
    g.flatten("flatten")
    g.linear("head", 3)
    return g.build()


def test_graph_buffers_are_the_lifetimes_of_the_activations():
    graph = residual_graph(np.random.default_rng(0))
    buffers, aliases = graph_buffers(graph)
    spans = {b.name: (b.first, b.last) for b in buffers}
    stem, body, join = (op.outputs[0] for op in graph.ops[:3])
    # The stem's output is read by the body (op 1) and again by the add (op 2); the
    # add's output is flattened (op 3, no bytes move) and read by the head (op 4).
    assert spans == {stem: (0, 2), body: (1, 2), join: (2, 4)}
    assert aliases == {graph.ops[3].outputs[0]: join}
    assert {b.name: b.size for b in buffers} == {name: graph.tensor(name).size for name in spans}
    for seed in range(20):
        graph = random_architecture(np.random.default_rng(seed))
        buffers, aliases = graph_buffers(graph)
        assert ({b.name: (b.first, b.last) for b in buffers}, aliases) == \
            reference_lifetimes(graph), graph.name


def test_c_identifier():
    examples = {"features.0.conv": "features_0_conv", "0weird name!": "_0weird_name",
                "conv1": "conv1", "...": "unnamed", "__x__": "x", "a-b/c": "a_b_c",
                "é": "unnamed", "block0.depthwise": "block0_depthwise"}
    for name, expected in examples.items():
        assert c_identifier(name) == expected, name
    rng = np.random.default_rng(12)
    alphabet = string.ascii_letters + string.digits + "_. -/é"
    for _ in range(300):
        name = "".join(rng.choice(list(alphabet), int(rng.integers(0, 12))))
        identifier = c_identifier(name)
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", identifier), (name, identifier)
        kept = [c for c in name if c in string.ascii_letters + string.digits]
        assert [c for c in identifier if c != "_"] == kept or identifier == "unnamed"


def test_generated_c_reads_and_writes_where_the_plan_says():
    graph = digits_cnn(np.random.default_rng(4))
    generated = generate_model(graph)
    plan = plan_graph(graph)
    assert plan.arena_size == plan.lower_bound  # a chain: ping-pong reaches the bound
    words = -(-plan.arena_size // 4)
    assert f"static int32_t digits_cnn_arena_words[{words}];" in generated.source
    # Each op reads and writes where the plan put its tensors: the graph input, an
    # arena offset, or the caller's output.
    calls = [(name, [argument.strip() for argument in arguments.split(",")])
             for name, arguments in re.findall(r"\n    (tt_\w+)\(([^;]*)\);", generated.source)]
    assert [name for name, _ in calls] == ["tt_conv2d", "tt_max_pool2d", "tt_conv2d",
                                          "tt_max_pool2d", "tt_fully_connected"]
    assert "input" in calls[0][1] and calls[-1][1][-2] == "output"
    for (_, arguments), op in zip(calls[1:4], graph.ops[1:4]):
        assert f"arena + {plan.offset_of(op.inputs[0])}" in arguments
        assert f"arena + {plan.offset_of(op.outputs[0])}" in arguments


def test_generated_c_on_the_host_equals_the_interpreter(tmp_path):
    graph = digits_cnn(np.random.default_rng(4))
    generated = generate_model(graph)
    model = HostModel(build_model(generated, tmp_path, "host"), generated, graph)
    inputs = np.random.default_rng(5).integers(-128, 128, (50, 8, 8, 1)).astype(np.int8)
    np.testing.assert_array_equal(model(inputs), Int8Interpreter(graph).invoke(inputs))
