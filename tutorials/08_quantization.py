# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 08 — Quantization
#
# A microcontroller has a few hundred kilobytes of memory and often no floating-point
# unit worth using. Networks run there in **int8**: every activation and weight is an
# 8-bit integer `q` standing for the real number
#
# $$\text{real} = \text{scale} \cdot (q - \text{zero\_point}).$$
#
# This lab turns the digits CNN you trained into exactly that: the integer network
# TFLite Micro and CMSIS-NN run, computed bit for bit, with no float in between.
#
# The pipeline (read along in `tinytorch/quant/`, in the order of its `__init__`):
#
# 1. **Capture** the model as a list of layers, fold batch norm into the conv before it,
#    fuse each ReLU into the clamp of the layer before it (`capture.py`).
# 2. **Calibrate**: run training batches through it while *observers* record the range
#    of every activation (`observers.py`, `prepare.py`).
# 3. **Convert**: choose scales and zero points, quantize weights per output channel,
#    biases to int32, and turn every rescaling into an integer multiplier and shift
#    (`convert.py`). The result is an **int8 graph** (`graph.py`).
# 4. **Run** it on the integer kernels (`interpreter.py`): the oracle the generated C of
#    the next labs must match on every byte.
#
# ## Where you write code
#
# - `tinytorch/quant/observers.py`: `activation_qparams` (the scale and zero point of a
#   range) and `weight_qparams` (one symmetric scale per output channel).
# - `tinytorch/quant/convert.py`: `_columns_in_nhwc_order` (flattening in NCHW vs NHWC).
# - `tinytorch/quant/fake_quant.py`: `FakeQuantize.forward` and `.backward` (rounding in
#   the forward pass, the straight-through estimator in the backward pass).
#
# The docstrings say what to build; those of `activation_qparams`, `weight_qparams` and
# `_columns_in_nhwc_order` end with a worked example. Here is one for the third file:
# with scale 0.5, zero point 0 and the range [-128, 127] (the reals -64 to 63.5),
# `FakeQuantize.forward` turns x = 0.3 into 0.5 (0.3 / 0.5 = 0.6 rounds to 1) and
# x = 100 into 63.5 (200 is clamped to 127), and remembers that 100 was outside the
# range; `.backward` then passes the gradient at 0.3 through unchanged and sends 0 back
# to 100. `tinytorch grade 08` runs this lab's tests on your code. The cell below asks
# the source where the regions are.

# %%
import matplotlib.pyplot as plt
import numpy as np

import tinytorch
from tinytorch import nn, optim, quant
from tinytorch.datasets import load_digits
from tinytorch.app.demo import train_digits
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.quant.observers import MinMaxObserver, PercentileObserver, activation_qparams
from tinytorch.quant.report import quantization_report
from tinytorch.training import train_epoch
from tinytorch.utils.data import DataLoader, TensorDataset

print_solution_regions(8)


# %% [markdown]
# ## 1. A scale and a zero point
#
# Take activations that range over [-1, 3]. 256 integer levels cover 4 units, so one step
# is `4 / 255`. The zero point is the integer that stands for 0.0: it must be exact,
# because zero padding and ReLU produce exact zeros.

# %%
scale, zero_point = activation_qparams(-1.0, 3.0)
print(f"scale {scale:.6f}, zero point {zero_point}")
values = np.array([-1.0, 0.0, 0.5, 3.0])
q = quant.quantize(values, scale, zero_point)
print("real      ", values)
print("int8      ", q)
print("back again", quant.dequantize(q, scale, zero_point))

# %% [markdown]
# ## 2. Quantize the digits CNN
#
# Train the float model (a few seconds), then prepare, calibrate and convert it.

# %%
trained = train_digits("cnn", epochs=20, seed=0, show_progress=False)
model = trained.model
train_images, train_labels = load_digits("train")
test_images, test_labels = load_digits("test")
loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=64)

prepared = quant.prepare(model, train_images.array[:1], name="digits_cnn")
print(prepared)
quant.calibrate(prepared, loader, num_batches=20)
graph = quant.convert(prepared)
for op in graph.ops:
    out = graph.tensor(op.outputs[0])
    print(f"{op.type:<16} {op.name:<20} -> {list(out.shape)}  scale {out.scale:.4f} "
          f"zero point {out.zero_point}")

# %% [markdown]
# The report compares the int8 graph with the float model on the test set. SQNR
# (signal-to-quantization-noise ratio, in dB) says how far each layer's int8 output is
# from its float twin; each bit of resolution is worth about 6 dB.

# %%
report = quantization_report(model, graph, test_images.array, test_labels.array)
print(report)

# %% [markdown]
# ## 3. Where do the activation ranges come from?
#
# The min/max observer keeps the extremes it has seen; the percentile observer keeps the
# range that holds 99.9% of the values. Here is the first conv layer's output over the
# calibration data, with both ranges marked.

# %%
first_conv_outputs = []
reference = quant.prepare(model, train_images.array[:1])
reference.observing = False
with tinytorch.no_grad():
    for index, (images, _) in enumerate(loader):
        first_conv_outputs.append(reference(images, keep_outputs=True)[0].array.ravel())
        if index == 9:
            break
values = np.concatenate(first_conv_outputs)
observers = {"min/max": MinMaxObserver(), "percentile 99.9%": PercentileObserver(percentile=99.9)}
for observer in observers.values():
    observer.observe(values)
figure, axis = plt.subplots(figsize=(7, 3))
axis.hist(values, bins=100, log=True, color="0.6")
for (label, observer), color in zip(observers.items(), ["C0", "C3"]):
    low, high = observer.range()
    axis.axvline(high, color=color, label=f"{label}: [{low:.2f}, {high:.2f}]")
axis.set_xlabel("first conv + ReLU output")
axis.set_ylabel("count (log)")
axis.legend()
show(figure, "lab08_activation_ranges")

# %% [markdown]
# ## 4. Fewer bits: post-training quantization against quantization-aware training
#
# With fewer bits per weight, rounding moves each weight further. Post-training
# quantization (PTQ) just rounds; quantization-aware training (QAT) trains for an epoch
# with the rounding in the forward pass (`FakeQuantize`), so gradient descent can find
# weights that round well.

# %%
def int8_accuracy(prepared_model) -> float:
    interpreter = quant.Int8Interpreter(quant.convert(prepared_model))
    return float((interpreter.predict(test_images.array) == test_labels.array).mean())


bit_widths = [8, 6, 5, 4, 3, 2]
ptq_accuracy, qat_accuracy = [], []
shuffled = DataLoader(TensorDataset(train_images, train_labels), batch_size=32, shuffle=True)
for bits in bit_widths:
    ptq = quant.prepare(model, train_images.array[:1], weight_bits=bits)
    quant.calibrate(ptq, loader, num_batches=20, show_progress=False)
    ptq_accuracy.append(int8_accuracy(ptq))
    tinytorch.manual_seed(0)
    qat = quant.prepare_qat(model, train_images.array[:256], weight_bits=bits)
    optimizer = optim.SGD(qat.parameters(), lr=0.01, momentum=0.9)
    train_epoch(qat, shuffled, nn.CrossEntropyLoss(), optimizer, show_progress=False)
    qat_accuracy.append(int8_accuracy(qat))
    print(f"{bits} bits: PTQ {ptq_accuracy[-1]:.2%}   QAT {qat_accuracy[-1]:.2%}")

figure, axis = plt.subplots(figsize=(6, 3.5))
axis.axhline(trained.test_accuracy, color="0.5", linestyle="--", label="float32")
axis.plot(bit_widths, ptq_accuracy, "o-", label="post-training quantization")
axis.plot(bit_widths, qat_accuracy, "s-", label="quantization-aware training (1 epoch)")
axis.set_xlabel("bits per weight")
axis.set_ylabel("test accuracy")
axis.invert_xaxis()
axis.legend()
show(figure, "lab08_accuracy_against_bits")

# %% [markdown]
# ## 5. Double or single rounding?
#
# TFLite's default reference kernels, TFLite Micro and CMSIS-NN requantize with two
# roundings (a rounding doubling high multiply, then a rounding shift); TFLite built with
# the opt-in `TFLITE_SINGLE_ROUNDING` rounds once. The two differ by at most one on a small
# fraction of values. Both are exact integer arithmetic; what matters
# is that the interpreter and the C code agree on which one they use.

# %%
single = quant.convert(prepared, rounding="single")
x = quant.Int8Interpreter(graph).quantize_input(test_images.array)
double_logits = quant.Int8Interpreter(graph)(x).astype(int)
single_logits = quant.Int8Interpreter(single)(x).astype(int)
differ = double_logits != single_logits
print(f"{differ.sum()} of {differ.size} output bytes differ, by at most "
      f"{np.abs(double_logits - single_logits).max()}")

# %% [markdown]
# ## What to remember
#
# - An int8 tensor is a scale and a zero point; 0.0 is always exact.
# - Weights get one scale per output channel, symmetric; activations one per tensor,
#   with a range learned by observing data.
# - Batch norm folds into the conv before it, ReLU becomes a clamp: the int8 graph has
#   fewer ops than the float model.
# - The int8 graph is the contract with the C code generator (next lab): save it with
#   `graph.save("digits_cnn.json")` or `tinytorch quantize CHECKPOINT --out digits_cnn`.
