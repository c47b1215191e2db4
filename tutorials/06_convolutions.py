# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Lab 06 — Convolutions
#
# An image classifier should recognize a stroke wherever it appears. A
# **convolution** builds that in: one small filter (C_in x KH x KW weights)
# slides over the image, and every output value is the dot product of the
# filter with the patch under it. The layer needs the same few weights for any
# image size (*weight sharing*), and a pattern learned in one place is found
# everywhere.
#
# How big is the output? Along one axis, with input size H, kernel K, stride
# S, padding P and dilation D, the windows that fit number
#
#     OH = floor((H + 2P - D(K - 1) - 1) / S) + 1
#
# **im2col** turns the convolution into one matrix product, the operation
# computers do best: copy every patch into a column of a matrix `cols` of
# shape (C_in*KH*KW, OH*OW), then `out = W @ cols` with the filters flattened
# to rows. The backward pass is the same two matrices transposed, plus
# **col2im**, which adds every column entry back onto the pixel it came from.
#
# **Max pooling** shrinks a feature map by keeping each window's largest value;
# its gradient flows only to that winner, so the forward pass remembers where
# the winner was.
#
# Read along in `kernels/conv2d.py`, `kernels/pooling.py`,
# `tinytorch/ops/convolution.py` (the autograd glue) and `tinytorch/nn/conv.py`
# (the layers).

# %%

import matplotlib.pyplot as plt
import numpy as np

import tinytorch
import time
from tinytorch import nn, optim
from tinytorch.autograd import gradcheck
from tinytorch.datasets import load_digits
from tinytorch.kernels.conv2d import conv2d_forward_reference, im2col, output_size
from tinytorch.app.labs.notebook import print_solution_regions, show
from tinytorch.models import digits_cnn, digits_mlp
from tinytorch.nn import functional as F
from tinytorch.training import evaluate, train_epoch
from tinytorch.utils.data import DataLoader, TensorDataset


# %% [markdown]
# ## Where you write code
# Five functions; each one's docstring says what to build, how, and gives a
# worked example:
#
# - `output_size`, `im2col` and `col2im` in `kernels/conv2d.py` (imported as
#   `tinytorch.kernels.conv2d`): how many windows fit, every window's pixels as
#   a column, and the columns added back onto the image (the gradient of im2col);
# - `_max_pool_planes` and `_max_pool_backward_planes` in `kernels/pooling.py`:
#   each window's maximum and where it was, and the gradient sent back there.
#
# `tinytorch grade 06` runs this lab's tests on your code. The cell below asks
# the source where the five are (in your copy: the
# `NotImplementedError("Lab 06: ...")` each became).

# %%
print_solution_regions(6)

# %% [markdown]
# ## Output sizes
# Ask `output_size` for a few common layers and check each against the
# number of windows that fit, counted one by one.

# %%
def windows_counted(size, kernel, stride, padding, dilation):
    reach = dilation * (kernel - 1) + 1
    return sum(1 for start in range(0, size + 2 * padding, stride)
               if start + reach <= size + 2 * padding)


print(" size kernel stride padding dilation -> output")
for case in [(8, 3, 1, 1, 1), (8, 3, 2, 1, 1), (28, 5, 1, 0, 1), (32, 3, 2, 0, 1),
             (9, 3, 1, 2, 2), (7, 2, 2, 0, 1)]:
    size, kernel, stride, padding, dilation = case
    got = output_size(*case)
    print(f"{size:5} {kernel:6} {stride:6} {padding:7} {dilation:8} -> {got:4}")
    assert got == windows_counted(*case)

# %% [markdown]
# "Same" padding, P = (K - 1) / 2 for odd K and stride 1, keeps the size; a
# stride of 2 halves it.
#
# ## im2col, seen
# A 5x5 single-channel image holding 0 ... 24, and a 3x3 kernel: 3 x 3 = 9
# output positions, so `cols` is 9 x 9. Row r is kernel tap r (row-major in the
# kernel), column c is output position c (row-major in the output); each entry
# is the input pixel that tap sees there.

# %%
image = np.arange(25, dtype=np.float64).reshape(1, 1, 5, 5)
cols = im2col(image, 3, 3, 1, 1, 0, 0, 1, 1, 3, 3)[0]
print("cols:", cols.shape)
print(cols.astype(int))

figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
left.imshow(image[0, 0], cmap="viridis")
for (y, x), value in np.ndenumerate(image[0, 0]):
    left.text(x, y, int(value), ha="center", va="center", color="white")
left.set_title("input 5x5")
right.imshow(cols, cmap="viridis")
for (y, x), value in np.ndenumerate(cols):
    right.text(x, y, int(value), ha="center", va="center", color="white", fontsize=8)
right.set_xlabel("output position (y * 3 + x)")
right.set_ylabel("kernel tap (i * 3 + j)")
right.set_title("im2col: one column per patch")
show(figure, "06_im2col")

# %% [markdown]
# Column 0 is the top-left 3x3 patch read row by row; each row of `cols` is the
# image seen through one kernel tap. Every pixel in the middle of the image
# appears up to nine times: that duplication is im2col's price, and what
# turns the convolution of one image into one GEMM (the kernel runs one per
# image and group, batched into a single `np.matmul` call).
#
# ## Convolution = a matrix product
# With the filters flattened to rows, `W @ cols` is the convolution. Compare
# with `F.conv2d` and with the plain-numpy reference in `kernels/conv2d.py`,
# which uses sliding windows and `einsum` instead.

# %%
x = np.random.default_rng(0).standard_normal((2, 3, 9, 9))
weight = np.random.default_rng(1).standard_normal((4, 3, 3, 3))
columns = im2col(x, 3, 3, 2, 2, 1, 1, 1, 1, 5, 5)
as_gemm = (weight.reshape(4, -1) @ columns).reshape(2, 4, 5, 5)
layer_output = F.conv2d(tinytorch.tensor(x), tinytorch.tensor(weight), stride=2, padding=1)
reference = conv2d_forward_reference(x, weight, None, (2, 2), (1, 1), (1, 1), 1)
print("W @ cols == F.conv2d:  ", np.allclose(as_gemm, layer_output.array))
print("W @ cols == reference: ", np.allclose(as_gemm, reference))
assert np.allclose(as_gemm, reference) and np.allclose(layer_output.array, reference)

# %% [markdown]
# ## Filters on a digit
# Hand-made filters: two edge detectors (Sobel) and a blur, applied to a
# digit as one `Conv2d` with three output channels, then 2x2 max pooling.

# %%
digits, labels = load_digits("train")
digit = digits[:1]  # (1, 1, 8, 8)
sobel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
filters = np.stack([sobel, sobel.T, np.full((3, 3), 1 / 9, dtype=np.float32)])[:, None]
edges = nn.Conv2d(1, 3, 3, padding=1, bias=False)
edges.weight.array[...] = filters
with tinytorch.no_grad():
    maps = edges(digit)
    pooled = nn.MaxPool2d(2)(maps)
print("digit", digit.shape, "-> feature maps", maps.shape, "-> pooled", pooled.shape)

figure, axes = plt.subplots(2, 4, figsize=(9, 4.6))
axes[0, 0].imshow(digit.array[0, 0], cmap="gray_r")
axes[0, 0].set_title(f"digit {labels[0].item()}")
axes[1, 0].axis("off")
for channel, name in enumerate(["x-edges", "y-edges", "blur"]):
    # Edges are signed: a symmetric red-blue scale; the blur is a grey image.
    largest = np.abs(maps.array[0, channel]).max()
    style = dict(cmap="gray_r") if name == "blur" else dict(cmap="RdBu", vmin=-largest,
                                                             vmax=largest)
    axes[0, channel + 1].imshow(maps.array[0, channel], **style)
    axes[0, channel + 1].set_title(name)
    axes[1, channel + 1].imshow(pooled.array[0, channel], **style)
    axes[1, channel + 1].set_title(f"{name}, max-pooled")
for axis in axes.flat:
    axis.set_xticks([])
    axis.set_yticks([])
show(figure, "06_filters_on_a_digit")

# %% [markdown]
# ## Gradients: col2im and the pooling winners
# `gradcheck` compares the convolution's backward pass (col2im for the input,
# `grad_out @ cols^T` for the weight) with central differences.

# %%
x = tinytorch.randn(1, 2, 5, 5, dtype=tinytorch.float64, requires_grad=True)
w = tinytorch.randn(3, 2, 3, 3, dtype=tinytorch.float64, requires_grad=True)
print("gradcheck(conv2d):", gradcheck(lambda x, w: F.conv2d(x, w, stride=2, padding=1), (x, w)))
print("gradcheck(max_pool2d):", gradcheck(lambda x: F.max_pool2d(x, 2), (x,)))

# %% [markdown]
# Max pooling sends each output's gradient to one input pixel, the winner of
# its window; all other pixels get zero. With overlapping windows (3x3,
# stride 1) a pixel can win several windows and collect several gradients.

# %%
figure, axes = plt.subplots(1, 3, figsize=(9, 3))
picture = tinytorch.tensor(digit.array.astype(np.float64), requires_grad=True)
axes[0].imshow(picture.array[0, 0], cmap="gray_r")
axes[0].set_title("input")
for axis, (kernel, stride) in zip(axes[1:], [(2, 2), (3, 1)]):
    picture.grad = None
    F.max_pool2d(picture, kernel, stride).sum().backward()
    wins = picture.grad.array[0, 0]
    axis.imshow(wins, cmap="Reds")
    for (y, x_position), count in np.ndenumerate(wins):
        if count:
            axis.text(x_position, y, int(count), ha="center", va="center", fontsize=8)
    axis.set_title(f"windows won ({kernel}x{kernel}, stride {stride})", fontsize=10)
for axis in axes:
    axis.set_xticks([])
    axis.set_yticks([])
show(figure, "06_max_pool_gradient")

# %% [markdown]
# ## Experiment 1: what im2col costs in memory
# `cols` holds KH*KW copies of (almost) every input pixel. Measure it on a
# 32x32 image with 16 channels, "same" padding, for growing kernels.

# %%
x = np.zeros((1, 16, 32, 32), dtype=np.float32)
kernels, ratios = [1, 3, 5, 7, 9], []
for kernel in kernels:
    pad = kernel // 2
    side = output_size(32, kernel, 1, pad, 1)
    patch_matrix = im2col(x, kernel, kernel, 1, 1, pad, pad, 1, 1, side, side)
    ratios.append(patch_matrix.nbytes / x.nbytes)
    print(f"kernel {kernel}x{kernel}: input {x.nbytes / 1024:6.0f} KiB, "
          f"cols {patch_matrix.nbytes / 1024:7.0f} KiB ({ratios[-1]:.0f}x)")

figure, axis = plt.subplots(figsize=(5, 3))
axis.plot(kernels, ratios, "o-", label="measured")
axis.plot(kernels, np.square(kernels), "--", label="K^2")
axis.set_xlabel("kernel size K")
axis.set_ylabel("size of cols / size of input")
axis.legend()
show(figure, "06_im2col_memory")

# %% [markdown]
# ## Experiment 2: a CNN against an MLP on the digits
# The same training recipe for both: SGD with momentum, a few epochs. The CNN
# of `tinytorch/models.py` has far fewer weights than the MLP.

# %%
train_images, train_labels = load_digits("train")
test_loader = DataLoader(TensorDataset(*load_digits("test")), batch_size=256)
epochs = 4
trained = {}
for name, build in (("MLP", digits_mlp), ("CNN", digits_cnn)):
    tinytorch.manual_seed(0)
    model = build()
    learner = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    loader = DataLoader(TensorDataset(train_images, train_labels), batch_size=32, shuffle=True)
    accuracies = []
    began = time.perf_counter()
    for epoch in range(epochs):
        train_epoch(model, loader, nn.CrossEntropyLoss(), learner, show_progress=False)
        accuracies.append(evaluate(model, test_loader))
    weights = sum(parameter.numel() for parameter in model.parameters())
    trained[name] = (model, accuracies)
    print(f"{name}: {weights:6,} weights, test accuracy {accuracies[-1]:.1%} "
          f"after {epochs} epochs ({time.perf_counter() - began:.1f} s)")

figure, axis = plt.subplots(figsize=(5, 3))
for name, (model, accuracies) in trained.items():
    axis.plot(range(1, epochs + 1), accuracies, "o-", label=name)
axis.set_xlabel("epoch")
axis.set_ylabel("test accuracy")
axis.legend()
show(figure, "06_cnn_vs_mlp")

# %% [markdown]
# The first layer's eight learned 3x3 filters:

# %%
first_filters = trained["CNN"][0][0].weight.array[:, 0]
figure, axes = plt.subplots(1, len(first_filters), figsize=(9, 1.6))
for axis, learned in zip(axes, first_filters):
    axis.imshow(learned, cmap="RdBu")
    axis.axis("off")
show(figure, "06_learned_filters")

# %% [markdown]
# ## Exercise ideas
# 1. Work out the output sizes of LeNet-5 (`tinytorch/models.py`) layer by
#    layer with `output_size`, then check them with a forward pass.
# 2. A 1x1 convolution needs no im2col at all: why? Check that `cols` is just
#    the input reshaped.
# 3. Write the *direct* convolution as seven nested Python loops and time it
#    against `F.conv2d` on a 16-channel 16x16 batch.
