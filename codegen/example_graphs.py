"""Int8 graphs with random weights: known network shapes and random architectures.

What
----
The code generator is measured and tested on networks nobody needs to train:
``GraphBuilder`` stacks layers (conv, depthwise, linear, pools, residual add, softmax)
and draws their quantization parameters directly (scales, zero points,
multipliers from ``quantize_multiplier``), the way a converter would set
them.  ``digits_cnn`` and ``ds_cnn`` have the shapes of the digits CNN and of
MLPerf Tiny's keyword-spotting DS-CNN (2.66 M multiply-accumulates);
``softmax_classifier`` ends in probabilities; ``random_architecture`` draws a
small network for fuzz tests.

Why random weights are enough
-----------------------------
Size, speed and bit-exactness do not depend on what the weights mean: the
same shapes execute the same instructions, and every output byte is compared
with the int8 interpreter.  Accuracy is measured elsewhere, on a trained
model.
"""
import numpy as np

from tinytorch.kernels.int8 import add_parameters, quantize_multiplier, softmax_parameters
from tinytorch.quant import Int8Graph, Op, TensorInfo


class GraphBuilder:
    def __init__(self, name, input_shape, rng, rounding="double"):
        self.rng, self.rounding = rng, rounding
        self.tensors, self.ops = {}, []
        self.current = self._activation("input", input_shape)
        self.input, self.name = self.current, name

    def _activation(self, name, shape, scale=None, zero_point=None):
        scale = float(self.rng.uniform(0.01, 0.1)) if scale is None else scale
        zero_point = int(self.rng.integers(-128, 100)) if zero_point is None else zero_point
        self.tensors[name] = TensorInfo(name, tuple(shape), "int8", scale, zero_point)
        return name

    def _clamp(self, out_name, relu):
        zero_point = self.tensors[out_name].zero_point
        return (max(-128, zero_point), 127) if relu else (-128, 127)

    def _weighted(self, op_type, name, weight_shape, out_shape, attributes, relu, x=None):
        x = x or self.current
        out_channels = weight_shape[0]
        weight = self.rng.integers(-127, 128, weight_shape).astype(np.int8)
        x_scale = self.tensors[x].scale
        weight_scales = [float(s) for s in self.rng.uniform(0.002, 0.02, out_channels)]
        bias = self.rng.integers(-3000, 3000, out_channels).astype(np.int32)
        fan_in = int(np.prod(weight_shape[1:]))
        out = self._activation(f"{name}.out", out_shape,
                               scale=float(x_scale * 0.01 * np.sqrt(fan_in) *
                                           self.rng.uniform(2, 8)))
        self.tensors[f"{name}.weight"] = TensorInfo(f"{name}.weight", weight_shape, "int8",
                                                    weight_scales, 0, weight)
        self.tensors[f"{name}.bias"] = TensorInfo(
            f"{name}.bias", (out_channels,), "int32", [x_scale * s for s in weight_scales], 0,
            bias)
        pairs = [quantize_multiplier(x_scale * s / self.tensors[out].scale, self.rounding)
                 for s in weight_scales]
        act_min, act_max = self._clamp(out, relu)
        attributes = dict(attributes, multiplier=[m for m, _ in pairs],
                          shift=[s for _, s in pairs], act_min=act_min, act_max=act_max)
        self.ops.append(Op(op_type, name, [x, f"{name}.weight", f"{name}.bias"], [out],
                           attributes))
        self.current = out
        return out

    def shape(self, name=None):
        return self.tensors[name or self.current].shape

    def conv(self, name, out_channels, kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1),
             dilation=(1, 1), groups=1, relu=True):
        _, height, width, channels = self.shape()
        span = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        out_h = (height + padding[0] + padding[1] - span[0]) // stride[0] + 1
        out_w = (width + padding[2] + padding[3] - span[1]) // stride[1] + 1
        return self._weighted("conv2d", name, (out_channels, *kernel, channels // groups),
                              (1, out_h, out_w, out_channels),
                              dict(stride=list(stride), padding=list(padding),
                                   dilation=list(dilation), groups=groups), relu)

    def depthwise(self, name, kernel=(3, 3), stride=(1, 1), padding=(1, 1, 1, 1), multiplier=1,
                  relu=True):
        channels = self.shape()[3]
        return self.conv(name, channels * multiplier, kernel, stride, padding, groups=channels,
                         relu=relu)

    def linear(self, name, out_features, relu=False):
        return self._weighted("fully_connected", name, (out_features, self.shape()[1]),
                              (1, out_features), {}, relu)

    def pool(self, kind, name, kernel=(2, 2), stride=(2, 2), padding=(0, 0, 0, 0)):
        x = self.current
        _, height, width, channels = self.shape()
        out_h = (height + padding[0] + padding[1] - kernel[0]) // stride[0] + 1
        out_w = (width + padding[2] + padding[3] - kernel[1]) // stride[1] + 1
        info = self.tensors[x]
        out = self._activation(f"{name}.out", (1, out_h, out_w, channels), info.scale,
                               info.zero_point)
        self.ops.append(Op(kind, name, [x], [out], dict(
            kernel=list(kernel), stride=list(stride), padding=list(padding), act_min=-128,
            act_max=127)))
        self.current = out
        return out

    def global_pool(self, name):
        x = self.current
        info = self.tensors[x]
        out = self._activation(f"{name}.out", (1, 1, 1, self.shape()[3]), info.scale,
                               info.zero_point)
        self.ops.append(Op("global_avg_pool2d", name, [x], [out], dict(act_min=-128,
                                                                      act_max=127)))
        self.current = out
        return out

    def flatten(self, name):
        x = self.current
        info = self.tensors[x]
        out = self._activation(f"{name}.out", (1, int(np.prod(info.shape))), info.scale,
                               info.zero_point)
        self.ops.append(Op("reshape", name, [x], [out], {}))
        self.current = out
        return out

    def add(self, name, a, b, relu=False):
        scales = [self.tensors[a].scale, self.tensors[b].scale]
        out = self._activation(f"{name}.out", self.tensors[a].shape,
                               scale=float(max(scales) * self.rng.uniform(1.0, 2.0)))
        parameters = add_parameters(*scales, self.tensors[out].scale, rounding=self.rounding)
        act_min, act_max = self._clamp(out, relu)
        self.ops.append(Op("add", name, [a, b], [out], dict(parameters, act_min=act_min,
                                                            act_max=act_max)))
        self.current = out
        return out

    def softmax(self, name):
        x = self.current
        out = self._activation(f"{name}.out", self.shape(), 1 / 256, -128)  # TFLite's, fixed
        self.ops.append(Op("softmax", name, [x], [out],
                           softmax_parameters(self.tensors[x].scale, rounding=self.rounding)))
        self.current = out
        return out

    def build(self):
        return Int8Graph(self.name, self.tensors, self.ops, self.input, self.current,
                         self.rounding, "NCHW").validate()


def digits_cnn(rng, rounding="double"):
    """The digits CNN's shape: 8x8x1 -> conv 8 -> pool -> conv 16 -> pool -> linear 10."""
    g = GraphBuilder("digits_cnn", (1, 8, 8, 1), rng, rounding)
    g.conv("conv1", 8)
    g.pool("max_pool2d", "pool1")
    g.conv("conv2", 16)
    g.pool("max_pool2d", "pool2")
    g.flatten("flatten")
    g.linear("fc", 10)
    return g.build()


def ds_cnn(rng, rounding="double"):
    """MLPerf Tiny's keyword-spotting DS-CNN shape: 49x10 MFCC, 64 channels, 4 separable blocks."""
    g = GraphBuilder("ds_cnn", (1, 49, 10, 1), rng, rounding)
    g.conv("conv1", 64, kernel=(10, 4), stride=(2, 2), padding=(4, 5, 1, 2))
    for block in range(4):
        g.depthwise(f"block{block}.depthwise")
        g.conv(f"block{block}.pointwise", 64, kernel=(1, 1), padding=(0, 0, 0, 0))
    g.global_pool("pool")
    g.flatten("flatten")
    g.linear("fc", 12)
    return g.build()


def residual_net(rng, rounding="double"):
    """A residual block (depthwise, pointwise, add) between a stem, pooling and a classifier."""
    g = GraphBuilder("residual net", (1, 6, 6, 4), rng, rounding)
    g.conv("stem", 8, stride=(1, 1))
    skip = g.current
    g.depthwise("block.dw", multiplier=1)
    g.conv("block.pw", 8, kernel=(1, 1), padding=(0, 0, 0, 0), relu=False)
    g.add("block.add", skip, g.current, relu=True)
    g.pool("avg_pool2d", "pool", kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1))
    g.global_pool("gap")
    g.flatten("flatten")
    g.linear("classifier", 5)
    return g.build()


def softmax_classifier(rng, rounding="double"):
    """Probabilities over 10 classes: conv -> pool -> flatten -> linear -> softmax."""
    g = GraphBuilder("softmax classifier", (1, 6, 6, 2), rng, rounding)
    g.conv("conv", 6)
    g.pool("max_pool2d", "pool")
    g.flatten("flatten")
    g.linear("logits", 10)
    g.softmax("probabilities")
    return g.build()


def random_architecture(rng):
    """A random small network: convs, depthwise, pools, residual adds, then linear."""
    rounding = str(rng.choice(["double", "single"]))
    height, width = (int(v) for v in rng.integers(4, 11, 2))
    g = GraphBuilder(f"fuzz{int(rng.integers(1000))}", (1, height, width,
                                                        int(rng.integers(1, 5))), rng, rounding)
    for layer in range(int(rng.integers(1, 5))):
        _, height, width, channels = g.shape()
        choice = rng.choice(["conv", "depthwise", "pool", "residual"])
        if choice == "conv":
            k = int(rng.integers(1, 4))
            stride = int(rng.integers(1, 3)) if min(height, width) > 3 else 1
            pad = [int(v) for v in rng.integers(0, k, 4)]
            groups = int(rng.choice([1, 2])) if channels % 2 == 0 else 1
            out = int(rng.integers(1, 7)) * groups
            if min(height + pad[0] + pad[1], width + pad[2] + pad[3]) >= k:
                g.conv(f"layer{layer}.conv", out, (k, k), (stride, stride), pad, groups=groups,
                       relu=bool(rng.random() < 0.7))
        elif choice == "depthwise":
            if min(height, width) >= 3:
                g.depthwise(f"layer{layer}.dw", multiplier=int(rng.choice([1, 1, 2])),
                            relu=bool(rng.random() < 0.7))
        elif choice == "pool" and min(height, width) >= 2:
            g.pool(str(rng.choice(["max_pool2d", "avg_pool2d"])), f"layer{layer}.pool",
                   padding=(0, int(rng.integers(0, 2)), 0, int(rng.integers(0, 2))))
        elif choice == "residual":
            skip = g.current
            g.conv(f"layer{layer}.res_conv", channels, (3, 3), relu=True)
            g.add(f"layer{layer}.add", skip, g.current, relu=bool(rng.random() < 0.5))
    if rng.random() < 0.5:
        g.global_pool("head.pool")
    g.flatten("head.flatten")
    g.linear("head.fc", int(rng.integers(2, 12)))
    return g.build()
