# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 10 — On the microcontroller
#
# Lab 09 generated C for the digits CNN and checked it on the laptop. This lab puts the
# same C on two microcontroller cores and asks the three questions an embedded engineer
# asks first:
#
# 1. **Does it fit?** A microcontroller has *flash* (program and constants, kept without
#    power) and *RAM* (everything that changes). The linker places every section of the
#    program in one or both; the ELF file it writes records each section's size and each
#    symbol's, so "how much, and what takes it" has an exact answer.
# 2. **Is it right?** An emulator (unicorn, QEMU's CPU emulation as a library) runs the
#    very instructions the compiler produced for that core, and the output bytes are
#    compared with the int8 interpreter.
# 3. **How fast?** Counting executed instructions gives a measure that does not depend on
#    the laptop. Counting means knowing where each instruction ends: Thumb-2 mixes 16-bit
#    and 32-bit instructions, and the first halfword says which.
#
# The two cores: a **Cortex-M0+** (the smallest Arm core: no DSP instructions, a 32-bit
# multiply but no 64-bit one) and a **Cortex-M4** (with the DSP extension: `SMLAD` does
# two 16-bit multiply-accumulates in one instruction). The kernels in `codegen/c/` have a
# reference C path for every core and a DSP path that an M4 takes unless the build
# defines `TT_REFERENCE_KERNELS`.
#
# Read along in `codegen/toolchain.py`, `codegen/elf_report.py` and
# `codegen/emulator.py`; `docs/codegen.md` has the measurements of the whole back end.

# %%
import pathlib
import re
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
from unicorn import UC_HOOK_BLOCK, UC_HOOK_CODE

from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.elf_report import BudgetError, check_budget, read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.emulator import CortexM, _instruction_count
from tinytorch.datasets import load_digits
from tinytorch.app.demo import train_digits
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.quant import Int8Interpreter
from tinytorch.app.quantize import quantize_digits_model


# %% [markdown]
# ## Where you write code
# This lab's solution regions: the cell below asks the source itself where they
# are (it finds the `BEGIN SOLUTION` markers, or in your copy the
# `NotImplementedError("Lab 10: ...")` each region became). Each function's
# docstring says what to build, how, and gives a worked example:
#
# - `read_elf_report`: which sections of the ELF are part of the image (`SHF_ALLOC`);
# - `ElfReport.flash`, `.ram`, `.weights`: flash and RAM from the section sizes, and the
#   model's constants from the symbol table;
# - `_instruction_count`: how many Thumb instructions a block of code holds.
#
# `tinytorch grade 10` runs this lab's tests on your code.

# %%
print_solution_regions(10)

# %% [markdown]
# ## 1. The int8 digits CNN, as C
#
# Train, quantize and generate, as in Labs 08 and 09 (a few seconds).

# %%
trained = train_digits("cnn", epochs=20, seed=0, show_progress=False)
graph, _ = quantize_digits_model(trained.model, "digits_cnn", show_progress=False)
generated = generate_model(graph)
print(f"{generated.name}: {generated.macs:,} multiply-accumulates per inference, "
      f"arena {generated.plan.arena_size} B")

# %% [markdown]
# ## 2. Cross-building
#
# The same C files, three builds, all at `-Os` (optimize for size, the usual choice on a
# microcontroller):
#
# - Cortex-M0+: the reference C (there is no DSP extension to use);
# - Cortex-M4 with `-DTT_REFERENCE_KERNELS`: the same reference C on the bigger core;
# - Cortex-M4: the DSP path.
#
# The compiler is Zig's clang (the pip package `ziglang`), or `arm-none-eabi-gcc` if you
# ask for it (`TINYTORCH_TOOLCHAIN=gcc`, or `--toolchain gcc` on the command line); both
# give the same bytes. The first Zig build for a core also builds Zig's runtime library
# for it (10-20 s); later builds take under a second.

# %%
BUILDS = {  # label -> (target, extra compiler flags)
    "M0+": ("cortex-m0plus", []),
    "M4 reference C": ("cortex-m4", ["-DTT_REFERENCE_KERNELS"]),
    "M4 DSP": ("cortex-m4", []),
}
build_root = pathlib.Path(tempfile.mkdtemp(prefix="tinytorch-lab10-"))
firmware = {}
for label, (target, flags) in BUILDS.items():
    began = time.perf_counter()
    folder = build_root / label.replace(" ", "_").replace("+", "plus")
    firmware[label] = build_model(generated, folder, target, extra_flags=flags)
    print(f"{label:<15} {firmware[label].name:<36} built in {time.perf_counter() - began:.1f} s")

# %% [markdown]
# ## 3. Flash and RAM, from the ELF
#
# The linker script (`codegen/c/cortex_m.ld`) puts the vector table, code (`.text`),
# constants (`.rodata`: the weights) and unwinding tables in flash; `.data` (initial
# values in flash, the variables in RAM), `.bss` (zeroed: the arena and the DSP scratch)
# and the stack in RAM. The model's constants are the `.rodata` symbols whose names start
# with `digits_cnn_`; everything else in flash counts as code.

# %%
reports = {label: read_elf_report(elf, weight_prefix=f"{generated.name}_")
           for label, elf in firmware.items()}
print(reports["M4 DSP"].format())
print()
for label, report in reports.items():
    print(f"{label:<15} flash {report.flash:>6,} B (code {report.code:>5,} B + weights "
          f"{report.weights:,} B)   RAM {report.ram:>5,} B")

figure, (flash_axis, ram_axis) = plt.subplots(1, 2, figsize=(11, 3.8))
labels = list(reports)
code = [reports[label].code for label in labels]
weights = [reports[label].weights for label in labels]
flash_axis.bar(labels, code, label="code")
flash_axis.bar(labels, weights, bottom=code, label="weights (.rodata of the model)")
flash_axis.set_ylabel("flash (bytes)")
flash_axis.set_ylim(0, 1.3 * max(reports[label].flash for label in labels))
flash_axis.legend(fontsize=8)
bss = [reports[label].sections.get(".bss", 0) for label in labels]
stack = [reports[label].sections.get(".stack", 0) for label in labels]
ram_axis.bar(labels, bss, label=".bss: arena (+ DSP scratch)")
ram_axis.bar(labels, stack, bottom=bss, label="stack (linker script)")
ram_axis.set_ylabel("RAM (bytes)")
ram_axis.set_ylim(0, 1.3 * max(reports[label].ram for label in labels))
ram_axis.legend(fontsize=8)
show(figure, "lab10_flash_and_ram")

# %% [markdown]
# The DSP path more than doubles the code (im2col, the two-by-two inner product) and adds
# an int16 scratch buffer to RAM; the weights do not change. A part's datasheet gives the
# budget; `deploy` checks it on the built image and says what does not fit:

# %%
try:
    check_budget(reports["M4 DSP"], flash=4 * 1024, ram=4 * 1024, what="digits_cnn on the M4")
except BudgetError as error:
    print(error)
check_budget(reports["M0+"], flash=16 * 1024, ram=4 * 1024, what="digits_cnn on the M0+")
print("the M0+ build fits 16 KB of flash and 4 KB of RAM")

# %% [markdown]
# ## 4. Running on an emulated core
#
# `CoreModel` loads the ELF into an emulated core (a Cortex-M0 model stands in for the
# M0+: same instruction set), writes an image into its memory, calls
# `digits_cnn_invoke` the way C would (arguments in r0 and r1), and reads the output
# back. Every output byte must equal the interpreter's.

# %%
test_images, test_labels = load_digits("test")
interpreter = Int8Interpreter(graph)
inputs = interpreter.quantize_input(test_images.array[:40])
expected = interpreter.invoke(inputs)
instructions = {}
for label, elf in firmware.items():
    model = CoreModel(elf, BUILDS[label][0], generated, graph)
    outputs = model(inputs)
    instructions[label] = int(np.median(model.instructions))
    print(f"{label:<15} bit-exact on {len(inputs)} images: {np.array_equal(outputs, expected)}   "
          f"accuracy {np.mean(outputs.argmax(axis=1) == test_labels.array[:40]):.0%}   "
          f"{instructions[label]:>9,} instructions per inference "
          f"({instructions[label] / generated.macs:.1f} per MAC)")

# %% [markdown]
# ## 5. Where the instructions go, layer by layer
#
# The emulator calls a hook at the start of every *block* (a run of instructions with one
# entry and one exit), with the block's address and size; `_instruction_count` turns the
# size into a number of instructions. Here a second hook does the same bookkeeping per
# layer: `digits_cnn_invoke` calls one kernel per layer, so each entry into one of those
# kernels starts the next layer.

# %%
layer_ops = [op for op in graph.ops if op.type != "reshape"]  # a reshape is no call
OUTPUT_BYTES = graph.tensor(graph.output).size
called = re.findall(r"\n    (tt_\w+)\(", generated.source)
assert len(called) == len(layer_ops)


def instructions_per_layer(elf: pathlib.Path, target: str, image: np.ndarray) -> list[int]:
    core = CortexM(elf, target)
    entries = {core.symbols[name] & ~1 for name in called}  # Thumb addresses have bit 0 set
    counts = [0] * (len(layer_ops) + 1)  # the last slot: the glue code of invoke itself
    layer = [-1]

    def count(uc, address, size, user_data):
        if address in entries:
            layer[0] += 1
        counts[layer[0]] += _instruction_count(bytes(uc.mem_read(address, size)))

    core.uc.hook_add(UC_HOOK_BLOCK, count)
    core.uc.ctl_flush_tb()  # hooks only see code translated after they exist
    input_address, output_address = core.allocate(image.tobytes()), core.allocate(OUTPUT_BYTES)
    total = core.call(f"{generated.name}_invoke", input_address, output_address).instructions
    assert sum(counts) == total
    return counts[:-1]


def macs(op) -> int:
    if op.type not in ("conv2d", "fully_connected"):
        return 0
    weight = graph.tensor(op.inputs[1])
    return int(np.prod(weight.shape[1:])) * graph.tensor(op.outputs[0]).size


per_layer = {label: instructions_per_layer(elf, BUILDS[label][0], inputs[0])
             for label, elf in firmware.items()}
print(f"{'layer':<20}{'MACs':>8}" + "".join(f"{label:>17}" for label in per_layer))
for index, op in enumerate(layer_ops):
    print(f"{op.name:<20}{macs(op):>8,}" + "".join(f"{counts[index]:>17,}"
                                                for counts in per_layer.values()))

figure, axis = plt.subplots(figsize=(9, 4))
width = 0.8 / len(per_layer)
positions = np.arange(len(layer_ops))
for index, (label, counts) in enumerate(per_layer.items()):
    axis.bar(positions + (index - 1) * width, counts, width, label=label)
axis.set_xticks(positions)
axis.set_xticklabels([f"{op.name}\n{macs(op):,} MACs" for op in layer_ops], fontsize=8)
axis.set_yscale("log")
axis.set_ylabel("instructions per inference")
axis.legend()
show(figure, "lab10_instructions_per_layer")

# %% [markdown]
# The first convolution has a single input channel: each output needs only 9
# multiply-accumulates but a full requantization (a 64-bit multiply, a rounding shift,
# a clamp), so it costs many instructions per MAC on every core, and the M0+ has to
# build its 64-bit multiply out of 32-bit ones. The second convolution and the fully
# connected layer have long inner products: that is where `SMLAD` pays.
#
# unicorn can also report every single instruction (a slower hook). Counting the `SMLAD`s
# the M4 executes shows the DSP path at work: each does two multiply-accumulates.
#
# That hook is not how the emulator counts, for speed and for one more reason: it stays
# silent for an instruction inside an `IT` block (Thumb-2's "if-then": up to four
# following instructions that run only if a condition holds) whose condition failed,
# although the core still spends a slot on it. Counting by blocks includes those.


# %%
def per_instruction_view(elf: pathlib.Path, image: np.ndarray) -> tuple[int, int, int]:
    """(SMLADs executed, instructions the per-instruction hook saw, instructions counted)."""
    core = CortexM(elf, "cortex-m4")
    seen = {"smlad": 0, "all": 0}

    def look(uc, address, size, user_data):
        seen["all"] += 1
        if size == 4:
            first, second = (int.from_bytes(uc.mem_read(address + offset, 2), "little")
                             for offset in (0, 2))
            # SMLAD: 1111 1011 0010 Rn | Ra Rd 0000 Rm (Ra = 1111 would be SMUAD)
            seen["smlad"] += (first & 0xFFF0 == 0xFB20 and second & 0xF0 == 0
                              and second >> 12 != 0xF)

    core.uc.hook_add(UC_HOOK_CODE, look)
    core.uc.ctl_flush_tb()
    counted = core.call(f"{generated.name}_invoke", core.allocate(image.tobytes()),
                        core.allocate(OUTPUT_BYTES)).instructions
    return seen["smlad"], seen["all"], counted


for label in ("M4 reference C", "M4 DSP"):
    smlads, seen, counted = per_instruction_view(firmware[label], inputs[0])
    print(f"{label:<15} executes {smlads:,} SMLAD ({2 * smlads:,} of the "
          f"{generated.macs:,} multiply-accumulates); {counted - seen:,} of its {counted:,} "
          f"instructions were skipped by an IT condition")

# %% [markdown]
# The multiply-accumulates the `SMLAD`s leave over come from the first convolution: one
# input channel and a 3x3 window make nine products per output, an odd number, so the
# ninth of each of its 8 x 8 x 8 = 512 outputs is a single multiply-add.

# %% [markdown]
# ## 6. From instructions to milliseconds, roughly
#
# An emulator counts instructions, not clock cycles. On silicon, a cycle count also
# depends on flash wait states, pipeline refills after branches and multi-cycle
# multiplies. The published latency of a keyword-spotting network on a 120 MHz
# Cortex-M4 corresponds to about **2.4-2.8 cycles per emulated instruction** for int8
# network code running from flash; that range is the estimate below. For the M0+ it is
# only a guess (a different pipeline, often slower flash), so read its numbers as an
# order of magnitude.

# %%
CLOCKS_MHZ = {"M0+": 48, "M4 reference C": 120, "M4 DSP": 120}
for label, count in instructions.items():
    low, high = (count * cycles / (CLOCKS_MHZ[label] * 1e6) * 1e3 for cycles in (2.4, 2.8))
    print(f"{label:<15} {count:>9,} instructions at {CLOCKS_MHZ[label]} MHz: "
          f"about {low:.1f}-{high:.1f} ms per inference")
print(f"DSP path against reference C on the M4: "
      f"{instructions['M4 reference C'] / instructions['M4 DSP']:.1f}x fewer instructions")

# %% [markdown]
# ## What to remember
#
# - Flash holds code and constants, RAM holds the arena, the stack and initialized
#   variables; the ELF's sections and symbols say exactly how much and what.
# - The emulator runs the real instructions for each core and checks every output byte;
#   the instruction count is exact and repeatable, a latency is an estimate.
# - Thumb-2 instructions are 16 or 32 bits, told apart by the top five bits of the first
#   halfword.
# - Specialized instructions (`SMLAD`: two multiply-accumulates at once) pay off where
#   inner products are long; requantization dominates where they are short.
