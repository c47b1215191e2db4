# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 09 — Code generation to C and memory planning
#
# The int8 graph of Lab 08 runs in Python, on the integer kernels. A microcontroller has
# no Python: it runs a program. This lab turns the graph into that program, a pair of
# plain C files with no `malloc`, no `printf` and no floats:
#
# ```c
# int8_t input[DIGITS_CNN_INPUT_SIZE], output[DIGITS_CNN_OUTPUT_SIZE];
# digits_cnn_invoke(input, output);
# ```
#
# Everything known ahead of time becomes a constant in flash (weights, biases, the
# per-channel multipliers and shifts, each layer's shapes). Everything that changes, the
# activations between layers, lives in **one static array, the arena**, at offsets
# decided now, on the laptop. Deciding them is *memory planning*:
#
# - a tensor is **live** from the op that writes it to the last op that reads it;
# - two tensors may share bytes when they are never live at the same step;
# - at each step the live tensors need at least the sum of their sizes, so the largest
#   such sum is a **lower bound** no plan can beat;
# - a placement puts each tensor at an offset; the arena is the highest byte used.
#
# On microcontrollers RAM is often the tightest budget (a Cortex-M0+ may have 4 KB), so
# the planner reports its arena next to the bound, and never claims more than it achieved.
#
# Read along in `codegen/memory_planner.py` (its opening essay) and `codegen/emitter.py`;
# `docs/codegen.md` describes the C contract.

# %%
import pathlib
import re
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from tinytorch.codegen.deploy import HostModel, build_model
from tinytorch.codegen.emitter import c_identifier, generate_model
from tinytorch.codegen.example_graphs import GraphBuilder, random_architecture
from tinytorch.codegen.memory_planner import (Buffer, _place_greedy, graph_buffers, lower_bound,
                                              plan_arena, plan_graph)
from tinytorch.datasets import load_digits
from tinytorch.app.demo import train_digits
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.quant import Int8Interpreter
from tinytorch.app.quantize import quantize_digits_model


# %% [markdown]
# ## Where you write code
# This lab's solution regions: the cell below asks the source itself where they
# are (it finds the `BEGIN SOLUTION` markers, or in your copy the
# `NotImplementedError("Lab 09: ...")` each region became). Each function's
# docstring says what to build, how, and gives a worked example:
#
# - `Buffer.overlaps_in_time`: are two tensors ever live at the same step?
# - `graph_buffers`: the lifetimes, in one walk over the graph's ops;
# - `lower_bound`: the largest sum of sizes live at one step;
# - `_lowest_free_offset`: the lowest offset where a tensor fits among those already placed;
# - `c_identifier`: a layer's name as a C identifier (`features.0` -> `features_0`).
#
# `tinytorch grade 09` runs this lab's tests on your code.

# %%
print_solution_regions(9)

# %% [markdown]
# ## 1. The int8 digits CNN
#
# Train the float model and quantize it, as in Lab 08 (a few seconds).

# %%
trained = train_digits("cnn", epochs=20, seed=0, show_progress=False)
graph, report = quantize_digits_model(trained.model, "digits_cnn", show_progress=False)
print(f"float accuracy {trained.test_accuracy:.2%}")
for op in graph.ops:
    print(f"{op.type:<16} {op.name:<18} {str(op.inputs[:1]):<22} -> "
          f"{op.outputs[0]} {list(graph.tensor(op.outputs[0]).shape)}")

# %% [markdown]
# ## 2. Lifetimes and the lower bound
#
# Steps are op indices. The graph's input belongs to the caller (it stays in the
# caller's `input` array) and so does its output (written straight into `output`);
# `reshape` moves no bytes, so its output is the *same buffer* as its input, an alias.
# What is left is what the arena must hold.

# %%
buffers, aliases = graph_buffers(graph)
for buffer in buffers:
    print(f"{buffer.name:<20} {buffer.size:>5} B   live over steps {buffer.first}..{buffer.last}")
print("aliases:", aliases)
for step, op in enumerate(graph.ops):
    live = [b for b in buffers if b.first <= step <= b.last]
    print(f"step {step} ({op.type:<15}) live: {sum(b.size for b in live):>4} B  "
          f"{[b.name for b in live]}")
print("lower bound:", lower_bound(buffers), "B")

# %% [markdown]
# The digits CNN is a chain: every tensor is read only by the next op. For a chain the
# planner's *ping-pong* placement (tensors alternately at the bottom and at the top of an
# arena exactly the size of the bound) is optimal, so the arena equals the bound.
#
# A network with a skip connection is more interesting: the skip tensor stays live while
# the branch beside it runs. Below, both plans are drawn as rectangles in
# (step, offset) space: a rectangle is a tensor, its width its lifetime, its height its
# size. Two rectangles may never overlap; the dashed line is the lower bound.


# %%
def residual_network(seed: int):
    g = GraphBuilder("residual", (1, 8, 8, 4), np.random.default_rng(seed))
    g.conv("stem", 16)
    skip = g.current
    g.conv("branch.expand", 32, kernel=(1, 1), padding=(0, 0, 0, 0))
    g.depthwise("branch.depthwise")
    g.conv("branch.project", 16, kernel=(1, 1), padding=(0, 0, 0, 0), relu=False)
    g.add("join", skip, g.current, relu=True)
    g.pool("max_pool2d", "pool")
    g.flatten("flatten")
    g.linear("head", 10)
    return g.build()


def draw_plan(axis, graph, title: str) -> None:
    plan = plan_graph(graph)
    names = {op.outputs[0]: op.name for op in graph.ops}
    for index, buffer in enumerate(plan.buffers):
        offset = plan.offsets[buffer.name]
        width = buffer.last - buffer.first + 0.9
        axis.add_patch(plt.Rectangle((buffer.first - 0.45, offset), width, buffer.size,
                                     facecolor=f"C{index % 10}", alpha=0.7, edgecolor="black"))
        axis.text(buffer.first - 0.4, offset + buffer.size / 2,
                  names.get(buffer.name, buffer.name), fontsize=7, va="center")
    axis.axhline(plan.lower_bound, color="black", linestyle="--", linewidth=1,
                 label=f"lower bound {plan.lower_bound} B")
    axis.set_xlim(-0.6, len(graph.ops) - 0.4)
    axis.set_ylim(0, max(plan.arena_size, plan.lower_bound) * 1.08)
    axis.set_xticks(range(len(graph.ops)))
    axis.set_xticklabels([op.type.replace("_", "\n") for op in graph.ops], fontsize=7)
    axis.set_ylabel("arena offset (bytes)")
    axis.set_title(f"{title}: arena {plan.arena_size} B")
    axis.legend(loc="lower right", fontsize=8)
    print(f"{title}: {plan.summary()}")


residual = residual_network(seed=0)
figure, axes = plt.subplots(1, 2, figsize=(13, 4.5))
draw_plan(axes[0], graph, "digits CNN")
draw_plan(axes[1], residual, "residual block")
show(figure, "lab09_arena_plans")

# %% [markdown]
# ## 3. Why not just "largest first"?
#
# TFLite Micro's planner sorts tensors by size and puts each at the lowest free offset.
# On a chain that can leave a hole. Here is a chain of five tensors where it does, against
# the planner's best of three strategies:

# %%
chain = [Buffer("a", 400, 0, 1), Buffer("b", 800, 1, 2), Buffer("c", 600, 2, 3),
         Buffer("d", 500, 3, 4), Buffer("e", 900, 4, 5)]
largest_first = _place_greedy(sorted(chain, key=lambda b: -b.size))
print("largest first:", max(largest_first[b.name] + b.size for b in chain), "B", largest_first)
best = plan_arena(chain)
print("planner:      ", best.arena_size, "B", best.offsets, "|", best.summary())

# %% [markdown]
# How often does the planner reach the bound? Two experiments: 60 random network
# architectures from the code generator's fuzz tests (convolutions, depthwise, pools,
# residual adds), and 300 random sets of lifetimes that no network needs to have
# (tensors beginning anywhere, living one to four steps). Placing rectangles in
# (step, offset) space is a packing problem, so the bound cannot always be reached.


# %%
def bound_and_arena(plan) -> tuple[int, int]:
    return plan.lower_bound, plan.arena_size


networks = np.array([bound_and_arena(plan_graph(random_architecture(np.random.default_rng(seed))))
                     for seed in range(60)])
rng = np.random.default_rng(0)
lifetime_sets = []
for _ in range(300):
    starts = rng.integers(0, 8, int(rng.integers(3, 10)))
    lifetime_sets.append(bound_and_arena(plan_arena([
        Buffer(f"t{index}", int(rng.integers(1, 200)), int(start), int(start + rng.integers(0, 4)))
        for index, start in enumerate(starts)])))
lifetime_sets = np.array(lifetime_sets)
figure, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for axis, (label, pairs) in zip(axes, [("random networks", networks),
                                       ("random lifetime sets", lifetime_sets)]):
    bounds, arenas = pairs[:, 0], pairs[:, 1]
    reached = arenas == bounds
    print(f"{label}: the arena equals the bound on {reached.sum()} of {len(pairs)}; "
          f"worst {np.max(arenas / bounds - 1):.1%} above it")
    axis.plot([0, bounds.max()], [0, bounds.max()], color="0.6", linestyle="--",
              label="arena = lower bound")
    axis.scatter(bounds[reached], arenas[reached], s=12, label="reached")
    axis.scatter(bounds[~reached], arenas[~reached], s=30, marker="x", color="C3",
                 label="above the bound")
    axis.set_xlabel("lower bound (bytes)")
    axis.set_ylabel("planned arena (bytes)")
    axis.set_title(label)
    axis.legend(fontsize=8)
show(figure, "lab09_arena_against_bound")

# %% [markdown]
# ## 4. The generated C
#
# `generate_model` writes the graph as a header and a source file. Names come from the
# layers through `c_identifier`, with the model's name in front, so every constant in
# the firmware's symbol table says where it came from.

# %%
print(c_identifier("features.0.conv"), c_identifier("0weird name!"))
generated = generate_model(graph)
print(generated.header)
source = generated.source
first_array = re.search(r"static const int8_t \w+\[\d+\] = \{\n[^\n]*", source)
print(first_array.group(0), "...\n")
print(source[source.index("static int32_t"):])
print(f"{generated.macs:,} multiply-accumulates per inference; kernels it needs (written "
      f"into tinytorch/ beside the model): {generated.kernel_files}")

# %% [markdown]
# Every kernel call reads and writes where the plan put its tensors: `input` for the
# graph's input, `arena + offset` in between, `output` for the last op. The flatten
# between the last pooling layer and the classifier is a comment: the same bytes,
# nothing to do.
#
# ## 5. Build it for this computer and check every byte
#
# The same C compiles for the laptop (a shared library, called through `ctypes`) and,
# in the next lab, for a Cortex-M. On the laptop it must give exactly the bytes of the
# int8 interpreter: not "close", the same.

# %%
test_images, test_labels = load_digits("test")
interpreter = Int8Interpreter(graph)
inputs = interpreter.quantize_input(test_images.array)
with tempfile.TemporaryDirectory() as build_directory:
    library = build_model(generated, pathlib.Path(build_directory), "host")
    host = HostModel(library, generated, graph)
    from_c = host(inputs)
from_python = interpreter.invoke(inputs)
print(f"{len(inputs)} test images: {np.sum(from_c != from_python)} of {from_c.size} output bytes "
      f"differ between the C and the interpreter")
print(f"accuracy of the C build: {np.mean(from_c.argmax(axis=1) == test_labels.array):.2%}")

# %% [markdown]
# ## What to remember
#
# - Generated code turns everything known ahead of time into constants (flash) and
#   leaves one static arena for what changes (RAM). No allocator runs on the device.
# - A tensor's lifetime runs from its writer to its last reader; the largest sum of
#   sizes live at one step is a lower bound on any arena.
# - Ping-pong placement reaches that bound on chains; in general placement is a packing
#   problem and the bound is not always reachable, so the planner says by how much it
#   missed.
# - The C is checked byte for byte against the interpreter. Next lab: the same C on a
#   microcontroller, its flash and RAM, and how many instructions it executes.
