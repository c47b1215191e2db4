"""Graph capture: reading a trained model as a list of quantizable layers.

A model's ``forward`` is Python code; an int8 graph is data.  To get from one
to the other we run ``forward`` once on an example input and record what
happens.  TinyTorch already records everything a forward pass does: the
autograd graph.  Every result tensor points (``grad_fn``) to the operation
that made it, and that operation to its input tensors.  So capture is:

1. put a forward hook on every leaf module (a layer with no sub-modules),
   remembering which tensor each layer produced from which input;
2. run ``forward`` with an input that requires a gradient, so that every
   operation is recorded, even those without parameters;
3. walk back from the output: a tensor made by a hooked layer becomes that
   layer (its internal operations are not looked at); any other tensor is read
   from its ``grad_fn`` (``x + y`` of two activations is a residual ``add``,
   ``relu`` and ``flatten`` called as functions work too).

Straight-line ``Sequential`` models and hand-written ``forward`` methods with
residual adds come out the same way, in a valid execution order.  Anything
else (a sigmoid, a multiplication by a constant, a reshape that is not a
flatten) is refused with an error that names the layer and its type.

Two rewrites then shape the list into what integer hardware runs:

* **Batch-norm folding.** In eval mode, BatchNorm2d is a per-channel affine
  map, ``y = gamma * (x - mean) / sqrt(var + eps) + beta``.  Applied to a
  convolution's output it can be absorbed into the convolution:
  ``W'[c] = W[c] * gamma[c] / sqrt(var[c] + eps)`` and
  ``b'[c] = (b[c] - mean[c]) * gamma[c] / sqrt(var[c] + eps) + beta[c]``.
  One op fewer, and no float arithmetic left in between.
* **Activation fusion.** ReLU (and ReLU6) right after an op that requantizes
  or clamps becomes that op's output clamp: in int8, ``max(q, zero_point)`` is
  ReLU, for free.

The result is a list of ``Layer`` records in execution order, in the float
model's NCHW world; ``convert.py`` maps it to the NHWC int8 graph.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinytorch import nn
from tinytorch.autograd import grad_mode
from tinytorch.quant.int8_ops import OP_TYPES
from tinytorch.tensor import Tensor

INPUT = -1  # the index that stands for the model's input in Layer.inputs


class UnsupportedLayerError(NotImplementedError):
    """The model contains a layer or operation the int8 graph cannot express."""


@dataclass
class Layer:
    """One op of the captured float model, after folding and fusion.

    ``kind`` is the int8 op type (``conv2d``, ``fully_connected``, ``max_pool2d``,
    ``avg_pool2d``, ``global_avg_pool2d``, ``add``, ``reshape``).  ``inputs``
    index earlier layers (``INPUT`` is the model input).  ``weight``/``bias``
    are float64 copies in PyTorch's layout, batch norm already folded in.
    ``shape`` is the float output shape of one sample (``[C, H, W]`` or ``[F]``).
    """
    kind: str
    name: str
    inputs: list[int]
    shape: tuple[int, ...]
    attributes: dict[str, Any] = field(default_factory=dict)
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None
    activation: str | None = None  # None, "relu" or "relu6"


# Leaf modules that pass their input through unchanged at inference time.
PASS_THROUGH = (nn.Dropout, nn.Identity)
# Layers whose output a following ReLU can become: the op types that end in a clamp.
CLAMPING = tuple(kind for kind, op_type in OP_TYPES.items() if op_type.clamps)


def capture(model: nn.Module, example_input: Any) -> list[Layer]:
    """Trace ``model`` on ``example_input``; return its layers, BN folded, ReLUs fused."""
    example = np.asarray(example_input.array if isinstance(example_input, Tensor)
                         else example_input, dtype=np.float32)
    was_training = model.training
    model.eval()  # batch norm must use its running statistics, dropout must be off
    try:
        raw = _trace(model, Tensor(example[:1], requires_grad=True))
    finally:
        model.train(was_training)
    return _fuse(raw, tuple(example.shape[1:]))


# ---- step 1-3: trace ----------------------------------------------------------------
@dataclass
class _Raw:
    """A traced operation before fusion: a layer module, or an op between layers."""
    kind: str
    name: str
    inputs: list[int]
    shape: tuple[int, ...]
    module: Any = None


def _trace(model: nn.Module, x: Tensor) -> list[_Raw]:
    produced_by: dict[int, tuple[str, nn.Module, Tensor, Tensor]] = {}

    def remember(name: str):
        def hook(module: nn.Module, inputs: tuple, output: Any) -> None:
            if isinstance(output, Tensor) and inputs and output is not inputs[0]:
                produced_by[id(output)] = (name, module, inputs[0], output)  # keeps output alive
        return hook

    leaves = [(name or type(m).__name__, m) for name, m in model.named_modules()
              if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(remember(name)) for name, m in leaves]
    try:
        with grad_mode.enable_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not isinstance(output, Tensor):
        raise UnsupportedLayerError(f"quantization capture: the model must return one tensor, "
                                    f"got {type(output).__name__}")

    raw: list[_Raw] = []
    index_of: dict[int, int] = {id(x): INPUT}
    counters: dict[str, int] = {}

    def visit(tensor: Tensor) -> int:
        # Recursive: models here are tens of layers deep, far below Python's recursion limit.
        key = id(tensor)
        if key in index_of:
            return index_of[key]
        if key in produced_by:
            name, module, source, _ = produced_by[key]
            if isinstance(module, PASS_THROUGH):
                index = visit(source)
            else:
                parent = visit(source)
                raw.append(_Raw(_module_kind(name, module), name, [parent],
                                tuple(tensor.shape[1:]), module))
                index = len(raw) - 1
        elif tensor.grad_fn is not None:
            function = type(tensor.grad_fn).__name__
            kind = {"Add": "add", "ReLU": "relu", "ReLU6": "relu6",
                    "Reshape": "reshape"}.get(function)
            parents = [t for _, t in tensor.grad_fn.parents]
            expected = 2 if kind == "add" else 1
            if kind is None or len(parents) != expected:
                raise UnsupportedLayerError(
                    f"quantization capture: operation {function} (called outside any layer, "
                    f"output shape {list(tensor.shape)}) is not supported; supported between "
                    f"layers: x + y of two activations, relu, relu6, flatten")
            inputs = [visit(p) for p in parents]
            counters[kind] = counters.get(kind, 0) + 1
            raw.append(_Raw(kind, f"{kind}_{counters[kind]}", inputs, tuple(tensor.shape[1:])))
            index = len(raw) - 1
        else:
            raise UnsupportedLayerError(
                f"quantization capture: a tensor of shape {list(tensor.shape)} does not come "
                f"from the model input (a constant added in forward?)")
        index_of[key] = index
        return index

    visit(output)
    return raw


def _module_kind(name: str, module: nn.Module) -> str:
    kinds = [(nn.Conv2d, "conv2d"), (nn.Linear, "fully_connected"), (nn.BatchNorm2d, "batch_norm"),
             (nn.ReLU, "relu"), (nn.ReLU6, "relu6"), (nn.AvgPool2d, "avg_pool2d"),
             (nn.MaxPool2d, "max_pool2d"), (nn.AdaptiveAvgPool2d, "global_avg_pool2d"),
             (nn.Flatten, "reshape")]
    for module_type, kind in kinds:  # AvgPool2d before its base class MaxPool2d
        if type(module) is module_type or (kind != "max_pool2d" and isinstance(module, module_type)):
            return kind
    raise UnsupportedLayerError(
        f"quantization capture: layer {name!r} of type {type(module).__name__} is not supported; "
        f"supported: Conv2d, Linear, BatchNorm2d, ReLU, ReLU6, MaxPool2d, AvgPool2d, "
        f"AdaptiveAvgPool2d(1), Flatten, Dropout, Identity, and x + y")


# ---- fold and fuse ----------------------------------------------------------------------
def _fuse(raw: list[_Raw], input_shape: tuple[int, ...]) -> list[Layer]:
    consumers = [0] * len(raw)
    for r in raw:
        for i in r.inputs:
            if i != INPUT:
                consumers[i] += 1
    layers: list[Layer] = []
    new_index: dict[int, int] = {INPUT: INPUT}
    for position, r in enumerate(raw):
        inputs = [new_index[i] for i in r.inputs]
        producer = layers[inputs[0]] if inputs[0] != INPUT else None
        sole_consumer = r.inputs[0] != INPUT and consumers[r.inputs[0]] == 1
        if r.kind == "batch_norm":
            if not (producer and producer.kind in ("conv2d",) and producer.activation is None
                    and sole_consumer):
                raise UnsupportedLayerError(
                    f"quantization: BatchNorm2d {r.name!r} must directly follow a Conv2d whose "
                    f"output nothing else uses, so that it can be folded into it")
            _fold_batch_norm(producer, r.module)
            new_index[position] = inputs[0]
        elif r.kind in ("relu", "relu6"):
            if not (producer and producer.kind in CLAMPING and producer.activation is None
                    and sole_consumer):
                after = producer.kind if producer else "the model input"
                raise UnsupportedLayerError(
                    f"quantization: {r.kind} {r.name!r} follows {after}; int8 ReLU is the output "
                    f"clamp of a conv2d, linear, add or pooling layer, used by nothing else")
            producer.activation = r.kind
            new_index[position] = inputs[0]
        else:
            layers.append(_layer_from(r, inputs, layers, input_shape))
            new_index[position] = len(layers) - 1
    return layers


def _layer_from(r: _Raw, inputs: list[int], layers: list[Layer],
                input_shape: tuple[int, ...]) -> Layer:
    def shape_of(index: int) -> tuple[int, ...]:
        """The float shape of one sample of an input: the model's or an earlier layer's."""
        return input_shape if index == INPUT else layers[index].shape

    m = r.module
    layer = Layer(r.kind, _readable_name(r.kind, r.name), inputs, r.shape)
    if r.kind == "conv2d":
        layer.weight = m.weight.array.astype(np.float64)
        layer.bias = (m.bias.array.astype(np.float64) if m.bias is not None
                      else np.zeros(m.out_channels))
        pad_h, pad_w = m.padding
        layer.attributes = {"stride": list(m.stride), "padding": [pad_h, pad_h, pad_w, pad_w],
                            "dilation": list(m.dilation), "groups": m.groups}
    elif r.kind == "fully_connected":
        layer.weight = m.weight.array.astype(np.float64)
        layer.bias = (m.bias.array.astype(np.float64) if m.bias is not None
                      else np.zeros(m.weight.shape[0]))
    elif r.kind in ("max_pool2d", "avg_pool2d"):
        from tinytorch.ops.convolution import pair
        kernel = pair(m.kernel_size, "kernel_size", r.name)
        stride = pair(m.stride, "stride", r.name)
        pad_h, pad_w = pair(m.padding, "padding", r.name)
        if r.kind == "avg_pool2d" and (pad_h or pad_w) and m.count_include_pad:
            raise UnsupportedLayerError(
                f"quantization: AvgPool2d {r.name!r} pads and counts the padding "
                f"(count_include_pad=True); int8 average pooling excludes it: use "
                f"count_include_pad=False or no padding")
        layer.attributes = {"kernel": list(kernel), "stride": list(stride),
                            "padding": [pad_h, pad_h, pad_w, pad_w]}
    elif r.kind == "global_avg_pool2d":
        if r.shape[1:] != (1, 1):
            raise UnsupportedLayerError(
                f"quantization: AdaptiveAvgPool2d {r.name!r} must have output size 1 "
                f"(global average pooling), got output shape {list(r.shape)}")
    elif r.kind == "reshape":
        source = shape_of(inputs[0])
        if len(r.shape) != 1:
            raise UnsupportedLayerError(
                f"quantization: reshape {r.name!r} from {list(source)} to {list(r.shape)} is "
                f"not supported; only flattening each sample to a vector is")
    elif r.kind == "add":
        shapes = [shape_of(i) for i in inputs]
        if shapes[0] != shapes[1]:
            raise UnsupportedLayerError(
                f"quantization: add {r.name!r} needs two activations of one shape, got "
                f"{shapes}")
    return layer


def _fold_batch_norm(conv: Layer, bn: nn.BatchNorm2d) -> None:
    """Absorb an eval-mode BatchNorm2d into the convolution before it (see the essay)."""
    if bn.running_mean is None:
        raise UnsupportedLayerError("quantization: cannot fold BatchNorm2d without running "
                                    "statistics (track_running_stats=False)")
    mean = bn.running_mean.array.astype(np.float64)
    var = bn.running_var.array.astype(np.float64)
    gamma = bn.weight.array.astype(np.float64) if bn.weight is not None else np.ones_like(mean)
    beta = bn.bias.array.astype(np.float64) if bn.bias is not None else np.zeros_like(mean)
    factor = gamma / np.sqrt(var + bn.eps)
    conv.weight = conv.weight * factor[:, None, None, None]
    conv.bias = (conv.bias - mean) * factor + beta


def _readable_name(kind: str, path: str) -> str:
    """A layer's name: its module path, prefixed by its kind when the path is only digits."""
    name = re.sub(r"[^0-9A-Za-z_]", "_", path)
    return f"{kind}_{name}" if re.fullmatch(r"[0-9_]*", name) else name
