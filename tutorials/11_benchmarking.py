# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 11 — Benchmarking a real model
#
# Every model so far was ours: trained here, quantized here. Embedded ML is benchmarked on
# models everyone shares. **MLPerf Tiny** is the benchmark suite for microcontrollers, and
# its keyword-spotting entry is a *DS-CNN* (depthwise-separable CNN): 49 x 10 MFCC features
# of one second of speech in, 12 classes out ("yes", "no", ..., silence, unknown), about
# 2.7 million multiply-accumulates (MACs) per inference. Its int8 model ships with
# TinyTorch as a `.tflite` file, the format TensorFlow Lite Micro runs on the chip.
#
# This lab takes that model through our stack as a product engineer would:
#
# 1. **Import** the `.tflite` into an int8 graph, and check it computes what TensorFlow
#    Lite Micro computes, byte for byte.
# 2. **Deploy** it for an emulated Cortex-M4 and check the C against the interpreter.
# 3. **Measure** flash (code and weights apart), RAM (the arena against its lower bound),
#    instructions per inference and an estimated latency.
# 4. **Profile** it op by op: where do the instructions and the bytes go?
# 5. Train **our own DS-CNN** on the bundled digits, deploy it the same way, measure the
#    same figures, and put the two side by side.
#
# One honest limit: the package has no speech data, so we cannot measure the KWS model's
# accuracy. Its correctness is shown the way a deployment engineer shows it: every
# activation equals TensorFlow Lite Micro's (the runtime the file was made for), and
# every output byte of our C on the emulated core equals our interpreter's. Accuracy we
# measure on the model we train, where we have the test set.
#
# Read along in `tinytorch/quant/tflite_import.py` and `codegen/profile.py`.

# %%
import pathlib
import tempfile

import matplotlib.pyplot as plt
import numpy as np

from tinytorch import nn, optim
from tinytorch.app.demo import CYCLES_PER_INSTRUCTION
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.app.mlperf_tiny import MODELS
from tinytorch.app.quantize import quantize_digits_model
from tinytorch.app.tflite_micro import compare_with_tflite_micro, edge_and_random_inputs
from tinytorch.codegen.deploy import CoreModel, build_model
from tinytorch.codegen.elf_report import read_elf_report
from tinytorch.codegen.emitter import generate_model
from tinytorch.codegen.profile import profile_model
from tinytorch.datasets import load_digits
from tinytorch.kernels import tune_process
from tinytorch.quant import Int8Interpreter
from tinytorch.quant.tflite_import import import_tflite
from tinytorch.random import manual_seed
from tinytorch.training import evaluate, train_epoch
from tinytorch.utils.data import DataLoader, TensorDataset

# This notebook owns its process: idle OpenMP threads sleep instead of spinning. Once
# TensorFlow Lite Micro's runtime is loaded (section 1), spinning threads made the
# training in section 5 about fifteen times slower on two cores.
tune_process()

# %% [markdown]
# ## Where you write code
# This lab's solution regions: the cell below asks the source itself where they
# are (it finds the `BEGIN SOLUTION` markers, or in your copy the
# `NotImplementedError("Lab 11: ...")` each region became). Each function's
# docstring says what to build, how, and gives a worked example:
#
# - `same_padding` (in the importer): TensorFlow's SAME padding of one axis, split the way
#   TFLite splits it, the odd row or column after;
# - `CallSplitter.block` (in the profile): a run's executed blocks, split at each call
#   that `<name>_invoke` makes, so that each op gets the instructions of its kernel.
#
# `tinytorch grade 11` runs this lab's tests on your code.

# %%
print_solution_regions(11)

# %% [markdown]
# ## 1. Importing the MLPerf Tiny keyword-spotting model
#
# A `.tflite` file holds tensors (shape, scale, zero point, the constant bytes) and
# operators in execution order. Most of it carries over unchanged, since our int8 graph
# follows TFLite's integer rules; what the importer decides is listed in its essay. One
# of those decisions is yours: a convolution with `padding=SAME` gives
# `ceil(size / stride)` outputs, and the zeros that takes are split between the two sides,
# with the odd one at the bottom or the right. The first convolution of this model, a
# 10 x 4 kernel with stride 2 on 49 x 10 features, needs an odd number of rows.

# %%
kws_path = MODELS["kws"].path
kws = import_tflite(kws_path, name="kws")
print(f"{MODELS['kws'].task}; {len(kws.ops)} ops:")
for op in kws.ops:
    shape = list(kws.tensor(op.outputs[0]).shape)
    padding = op.attributes.get("padding")
    print(f"  {op.name:<28} {op.type:<18} -> {str(shape):<16}"
          + (f" padding [top, bottom, left, right] = {padding}" if padding else ""))

# %% [markdown]
# Is the imported graph right? TensorFlow Lite Micro (the `tflite-micro` package, a test
# dependency) runs the same file; with every intermediate tensor kept, each of our
# activations is compared with its own. Inputs: all -128, all 127 (the extremes that
# reach the clamps), and random ones.

# %%
kws_inputs = edge_and_random_inputs(kws, 4)
kws_expected = Int8Interpreter(kws).invoke(kws_inputs)
try:
    print(compare_with_tflite_micro(kws_path, kws, kws_inputs).summary())
except RuntimeError as missing:  # the package is not installed
    print(f"TensorFlow Lite Micro not compared: {missing}")

# %% [markdown]
# ## 2. Deploying it for an emulated Cortex-M4
#
# Generate C, build it for the M4 (DSP path, `-Os`), and run the same inputs on the
# emulated core: each output byte must equal the interpreter's.

# %%
build_root = pathlib.Path(tempfile.mkdtemp(prefix="tinytorch-lab11-"))
kws_c = generate_model(kws)
kws_elf = build_model(kws_c, build_root / "kws", "cortex-m4")
kws_core = CoreModel(kws_elf, "cortex-m4", kws_c, kws)
kws_outputs = kws_core(kws_inputs)
print(f"emulated Cortex-M4 equals the interpreter on {len(kws_inputs)} inputs: "
      f"{np.array_equal(kws_outputs, kws_expected)}")

# %% [markdown]
# ## 3. The figures a datasheet asks for
#
# - **Flash**: code and weights apart, from the ELF (Lab 10).
# - **RAM**: the arena against the largest live set (the planner's lower bound, Lab 09),
#   plus the DSP scratch and the stack. The caller's input and output buffers come on top.
# - **Instructions per inference**, exact on the emulated core, and a **latency estimate**:
#   at 120 MHz (a common Cortex-M4 clock, the one MLPerf Tiny's reference board runs),
#   with 2.4-2.8 cycles per emulated instruction, the range the project uses throughout
#   (`tinytorch.app.demo.CYCLES_PER_INSTRUCTION`: flash wait states and pipeline refills
#   make an instruction cost more than one cycle). A latency from an instruction count is
#   an estimate; the count itself is exact and repeatable.

# %%
CLOCK_MHZ = 120


def measure(name, graph, generated, elf, core):
    """The figures of one deployed model, in a dict (bytes, instructions, milliseconds)."""
    report = read_elf_report(elf, weight_prefix=f"{generated.name}_")
    instructions = int(np.median(core.instructions))
    low, high = (instructions * cycles / (CLOCK_MHZ * 1e3) for cycles in CYCLES_PER_INSTRUCTION)
    return {"model": name, "ops": len(graph.ops), "MACs": generated.macs,
            "code B": report.code, "weights B": report.weights, "flash B": report.flash,
            "arena B": generated.plan.arena_size, "lower bound B": generated.plan.lower_bound,
            "RAM B": report.ram, "instructions": instructions,
            "instructions per MAC": instructions / generated.macs,
            "latency ms": f"{low:.1f}-{high:.1f}"}


kws_figures = measure("MLPerf Tiny KWS", kws, kws_c, kws_elf, kws_core)
for key, value in kws_figures.items():
    print(f"{key:<22} {value:,.2f}" if isinstance(value, float) else
          f"{key:<22} {value:,}" if isinstance(value, int) else f"{key:<22} {value}")

# %% [markdown]
# ## 4. Where the instructions go, op by op
#
# `profile_model` runs one input again with a second hook on the emulator: every block of
# code the core enters is handed to your `CallSplitter`, which charges it to the op whose
# kernel call is running, or to `kws_invoke` itself. Each row also has the op's MACs, its
# weights in flash (its constants in the ELF's symbol table) and the arena bytes live while
# it runs. The rows add up to the plain run's count: the profile checks it.

# %%
kws_profile = profile_model(kws_elf, "cortex-m4", kws_c, kws, kws_inputs[2])
print(kws_profile.table())

# %% [markdown]
# Things to notice (the exact counts depend on the compiler; the proportions hardly do):
#
# - The four **pointwise** (1 x 1) convolutions hold three quarters of the MACs and well
#   over half of the instructions, at about two instructions per MAC: long inner products
#   over 64 channels, two MACs per `SMLAD`, and the loads and widening around them.
# - The **depthwise** convolutions do a seventh of a pointwise layer's MACs but cost
#   around 40% of its instructions, over 5 per MAC: only 9 products per output, and each
#   output still needs its requantization, clamp and store. Few MACs per output means the
#   work per output dominates.
# - The **first convolution** reads one input channel: 40 products per output (a 10 x 4
#   window) for its 25 x 5 x 64 = 8,000 outputs, about 3 instructions per MAC.
# - The average pool, the classifier and the softmax together take about 2%;
#   `kws_invoke` itself, under two hundred instructions.
# - The arena holds at most two 25 x 5 x 64 activations (8,000 bytes each): every op of the
#   chain reads one and writes the next, so the live set never exceeds 16,000 bytes, and
#   the planner reaches that bound. The weights (32 KB) take more flash than the code.

# %% [markdown]
# ## 5. Our own DS-CNN, trained on digits
#
# Now a model of the same kind that we train, on the 8 x 8 digits: a first convolution
# with stride 2, as in the KWS model (4 x 4 here, to a 4 x 4 map), two depthwise-separable
# blocks (a 3 x 3 depthwise convolution, then a 1 x 1 pointwise one, each with batch norm
# and ReLU), global average pooling and a linear classifier, 16 channels throughout.
# Batch norm folds into the convolutions when quantizing (Lab 08).

# %%
CHANNELS = 16


def separable_block(channels):
    return [nn.Conv2d(channels, channels, 3, padding=1, groups=channels),
            nn.BatchNorm2d(channels), nn.ReLU(),
            nn.Conv2d(channels, channels, 1), nn.BatchNorm2d(channels), nn.ReLU()]


manual_seed(0)
ds_cnn = nn.Sequential(nn.Conv2d(1, CHANNELS, 4, stride=2, padding=1), nn.BatchNorm2d(CHANNELS),
                       nn.ReLU(),
                       *separable_block(CHANNELS), *separable_block(CHANNELS),
                       nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(CHANNELS, 10))
train_images, train_labels = load_digits("train")
test_images, test_labels = load_digits("test")
train_loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=32, shuffle=True)
optimizer = optim.SGD(ds_cnn.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
for epoch in range(10):
    train_epoch(ds_cnn, train_loader, nn.CrossEntropyLoss(), optimizer, show_progress=False)
ds_cnn.eval()
float_accuracy = evaluate(ds_cnn, DataLoader(TensorDataset(test_images, test_labels),
                                             batch_size=256))
print(f"float test accuracy {float_accuracy:.2%}")

# %% [markdown]
# Quantize (calibrating on training images), deploy for the M4 exactly as before, and run
# the whole test set on the emulated core: the accuracy below is the int8 C's, on the
# emulated microcontroller.

# %%
digits_graph, quantization = quantize_digits_model(ds_cnn, "digits_ds_cnn",
                                                   show_progress=False)
digits_c = generate_model(digits_graph)
digits_elf = build_model(digits_c, build_root / "digits_ds_cnn", "cortex-m4")
digits_core = CoreModel(digits_elf, "cortex-m4", digits_c, digits_graph)
digits_inputs = Int8Interpreter(digits_graph).quantize_input(test_images.array)
digits_outputs = digits_core(digits_inputs)
mcu_accuracy = float(np.mean(digits_outputs.argmax(axis=1) == test_labels.array))
print(f"emulated Cortex-M4 equals the interpreter on all {len(digits_inputs)} test images: "
      f"{np.array_equal(digits_outputs, Int8Interpreter(digits_graph).invoke(digits_inputs))}")
print(f"int8 test accuracy on the emulated Cortex-M4: {mcu_accuracy:.2%} "
      f"(float {float_accuracy:.2%})")
digits_profile = profile_model(digits_elf, "cortex-m4", digits_c, digits_graph,
                               digits_inputs[0])
print(digits_profile.table())

# %% [markdown]
# ## 6. Side by side

# %%
digits_figures = measure("our digits DS-CNN", digits_graph, digits_c, digits_elf, digits_core)
digits_figures["accuracy (int8, MCU)"] = f"{mcu_accuracy:.1%}"
kws_figures["accuracy (int8, MCU)"] = "no speech data: bit-exact instead"
print(f"{'':<22}{kws_figures['model']:>36}{digits_figures['model']:>36}")
for key in list(kws_figures)[1:]:
    cells = [figures[key] for figures in (kws_figures, digits_figures)]
    text = [f"{cell:,.2f}" if isinstance(cell, float) else f"{cell:,}" if isinstance(cell, int)
            else cell for cell in cells]
    print(f"{key:<22}{text[0]:>36}{text[1]:>36}")

# %% [markdown]
# The two networks are the same kind of program: the same kernels (the KWS model adds an
# average pool and a softmax), so nearly the same code in flash, and almost no
# instructions in `<name>_invoke` itself. What differs is size: the KWS model's 64
# channels on a 25 x 5 map make about 150 times the MACs of our 16 channels on 4 x 4, its
# weights take about ten times the flash, and its arena is 30 times ours (in our RAM the
# 2 KB stack weighs more than the arena). Instructions per MAC are less than half of ours:
# its inner products are longer (64 channels against 16), so the fixed cost of each
# output, its requantization above all, is spread over four times as many products.
#
# The profile, drawn: instructions and live arena bytes of each op, for both models.

# %%
def draw(profile, instruction_axis, memory_axis, title):
    ops = [op for op in profile.ops if op.type != "reshape"]
    labels = [f"{op.name}\n{op.type}" for op in ops]
    positions = np.arange(len(ops))
    instruction_axis.bar(positions, [op.instructions for op in ops], color="tab:blue")
    instruction_axis.set_title(f"{title}: instructions per op")
    instruction_axis.set_ylabel("instructions")
    memory_axis.bar(positions, [op.live_bytes for op in ops], color="tab:orange",
                    label="live arena bytes")
    memory_axis.axhline(profile.arena_size, color="black", linestyle="--",
                        label=f"arena {profile.arena_size:,} B")
    memory_axis.set_title(f"{title}: arena bytes live during each op")
    memory_axis.set_ylabel("bytes")
    memory_axis.set_ylim(0, 1.3 * profile.arena_size)
    memory_axis.legend(fontsize=8)
    for axis in (instruction_axis, memory_axis):
        axis.set_xticks(positions)
        axis.set_xticklabels(labels, fontsize=6, rotation=90)


figure, axes = plt.subplots(2, 2, figsize=(13, 8))
draw(kws_profile, axes[0, 0], axes[1, 0], "MLPerf Tiny KWS")
draw(digits_profile, axes[0, 1], axes[1, 1], "digits DS-CNN")
figure.tight_layout()
show(figure, "lab11_profiles")

# %% [markdown]
# ## What to remember
#
# - A model trained elsewhere is imported, not trusted: equality with the runtime it was
#   made for (TensorFlow Lite Micro), activation by activation, is the evidence when there
#   is no data to measure accuracy on.
# - Padding conventions are part of a model: TFLite's SAME puts the odd row at the bottom
#   and the odd column at the right, and getting it backwards shifts every edge output.
# - A benchmark is several numbers, each measured where it is exact: flash and RAM from
#   the ELF, the arena against its lower bound, instructions from the emulator; a latency
#   is an estimate (2.4-2.8 cycles per instruction at 120 MHz here).
# - A per-op profile tells what a total cannot: which layers cost the instructions
#   (depthwise layers cost more per MAC than pointwise ones), and which activations set
#   the RAM.
