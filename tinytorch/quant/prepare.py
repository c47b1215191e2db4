"""Preparing a model for quantization: the captured layers, observed (and fake-quantized).

``prepare`` (post-training quantization) and ``prepare_qat`` (quantization-aware
training) both return a ``PreparedModel``: a Module that runs the captured
layers (batch norm folded, ReLUs fused, see ``capture.py``) with ordinary
TinyTorch operations, and places an observer at every point where the int8
graph will have a tensor with its own scale: the input, and the output of
every conv2d, fully_connected and add.  (Pooling and reshaping keep their
input's scale, so they need no observer.)

* After ``prepare``, feed it real data with ``calibrate(prepared, loader,
  num_batches)``: the observers learn each activation's range.  A batch that
  makes any activation NaN or infinite stops calibration with an error naming
  the batch and the layer.
* After ``prepare_qat``, train it like any model: weights pass through a
  per-channel fake quantizer at the chosen bit width, activations through an
  int8 fake quantizer whose range a moving-average observer tracks.

Either way, ``tinytorch.quant.convert`` then reads the weights and observed
ranges and produces the int8 graph.  The prepared model is a copy: the
original float model is never changed.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable

import numpy as np

from tinytorch import nn
from tinytorch.autograd import grad_mode
from tinytorch.nn import functional as F
from tinytorch.nn.parameter import Parameter
from tinytorch.quant.capture import INPUT, Layer, capture
from tinytorch.quant.fake_quant import fake_quantize_activation, fake_quantize_weight
from tinytorch.quant.int8_ops import OP_TYPES
from tinytorch.quant.observers import (
    NonFiniteActivationError, Observer, make_observer, weight_qparams)
from tinytorch.tensor import Tensor
from tinytorch.utils.progress import progress_bar

# Layers whose output gets its own scale and zero point (and so an observer): every op
# type but those that keep their input's (pooling, reshape).
REQUANTIZING = tuple(kind for kind, op_type in OP_TYPES.items()
                     if not op_type.keeps_quantization)


class PreparedModel(nn.Module):
    """The captured layers of a float model, with observers and optional fake quantization."""

    def __init__(self, layers: list[Layer], input_shape: tuple[int, ...], name: str,
                 observer: Any = "minmax", weight_bits: int = 8, qat: bool = False) -> None:
        super().__init__()
        if not 2 <= weight_bits <= 8:
            raise ValueError(f"quantization: weight_bits must be in 2..8, got {weight_bits}")
        self.layers, self.input_shape, self.name = layers, input_shape, name
        self.weight_bits, self.qat = weight_bits, qat
        self.input_observer: Observer = make_observer(observer)
        self.observers: dict[int, Observer] = {}
        self._parameters_of: dict[int, tuple[Parameter, Parameter]] = {}
        for index, layer in enumerate(layers):
            if layer.weight is not None:
                weight = Parameter(layer.weight.astype(np.float32))
                bias = Parameter(layer.bias.astype(np.float32))
                self.register_parameter(f"{layer.name}_weight", weight)
                self.register_parameter(f"{layer.name}_bias", bias)
                self._parameters_of[index] = (weight, bias)
            if layer.kind in REQUANTIZING:
                self.observers[index] = make_observer(observer)
        self.observing = True

    # ---- the float forward pass, op by op ----------------------------------------------
    def forward(self, x: Tensor, keep_outputs: bool = False) -> Any:
        """Run the layers; ``keep_outputs`` returns every layer's float output instead."""
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, dtype=np.float32))
        observe = self.observing and (self.training or not self.qat)
        x = self._observed(x, self.input_observer, observe, "the model's input")
        outputs: list[Tensor] = []
        for index, layer in enumerate(self.layers):
            inputs = [x if i == INPUT else outputs[i] for i in layer.inputs]
            out = self._run(index, layer, inputs)
            if layer.activation == "relu":
                out = F.relu(out)
            elif layer.activation == "relu6":
                out = F.relu6(out)
            if index in self.observers:
                out = self._observed(out, self.observers[index], observe,
                                     f"the output of layer {layer.name!r} ({layer.kind})")
            outputs.append(out)
        return outputs if keep_outputs else outputs[-1]

    def _observed(self, x: Tensor, observer: Observer, observe: bool, where: str) -> Tensor:
        if observe:
            try:
                observer.observe(x.array)
            except NonFiniteActivationError as error:
                raise NonFiniteActivationError(f"quantization: {where} holds {error.found}",
                                               error.found, where) from None
        if self.qat:
            scale, zero_point = observer.qparams()
            return fake_quantize_activation(x, scale, zero_point)
        return x

    def _run(self, index: int, layer: Layer, inputs: list[Tensor]) -> Tensor:
        a, x = layer.attributes, inputs[0]
        if layer.kind in ("conv2d", "fully_connected"):
            weight, bias = self._parameters_of[index]
            if self.qat or self.weight_bits < 8:
                weight = fake_quantize_weight(weight, self.weight_scales(index), self.weight_bits)
            if layer.kind == "fully_connected":
                return F.linear(x, weight, bias)
            top, _, left, _ = a["padding"]
            return F.conv2d(x, weight, bias, tuple(a["stride"]), (top, left),
                            tuple(a["dilation"]), a["groups"])
        if layer.kind in ("max_pool2d", "avg_pool2d"):
            top, _, left, _ = a["padding"]
            if layer.kind == "max_pool2d":
                return F.max_pool2d(x, tuple(a["kernel"]), tuple(a["stride"]), (top, left))
            return F.avg_pool2d(x, tuple(a["kernel"]), tuple(a["stride"]), (top, left), False)
        if layer.kind == "global_avg_pool2d":
            return x.mean(dim=(2, 3), keepdim=True)
        if layer.kind == "add":
            return x + inputs[1]
        if layer.kind == "reshape":
            return x.reshape(x.shape[0], -1)
        raise AssertionError(f"unknown layer kind {layer.kind}")

    # ---- what convert reads ------------------------------------------------------------
    def weight_and_bias(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        weight, bias = self._parameters_of[index]
        return weight.array.astype(np.float64), bias.array.astype(np.float64)

    def weight_scales(self, index: int) -> np.ndarray:
        return weight_qparams(self._parameters_of[index][0].array, self.weight_bits)

    def extra_repr(self) -> str:
        kinds = ", ".join(f"{layer.name}:{layer.kind}" + (f"+{layer.activation}"
                                                           if layer.activation else "")
                          for layer in self.layers)
        mode = "qat" if self.qat else "ptq"
        return f"{self.name!r}, {mode}, weight_bits={self.weight_bits}, layers=[{kinds}]"


def _example_shape(example_input: Any) -> np.ndarray:
    example = np.asarray(example_input.array if isinstance(example_input, Tensor)
                         else example_input, dtype=np.float32)
    if example.ndim not in (2, 4):
        raise ValueError(f"quantization: the example input must be a batch [N, C, H, W] or "
                         f"[N, F], got shape {list(example.shape)}")
    return example


def prepare(model: nn.Module, example_input: Any, observer: Any = "minmax",
            weight_bits: int = 8, name: str = "model") -> PreparedModel:
    """Capture ``model`` for post-training quantization; calibrate the result next."""
    example = _example_shape(example_input)
    return PreparedModel(capture(model, example), example.shape[1:], name, observer,
                         weight_bits).eval()


def prepare_qat(model: nn.Module, example_input: Any, weight_bits: int = 8,
                name: str = "model") -> PreparedModel:
    """Capture ``model`` for quantization-aware training (fake quantization, moving-average ranges).

    Batch norm is folded with its current running statistics before training
    starts; the folded convolutions then train as plain convolutions.  One
    calibration batch (or one training step) must run before the first
    fake-quantized forward in eval mode, to give the observers a range.
    """
    example = _example_shape(example_input)
    prepared = PreparedModel(capture(model, example), example.shape[1:], name,
                             "moving_average", weight_bits, qat=True)
    with grad_mode.no_grad():  # seed the activation ranges from the example batch
        prepared.qat = False
        prepared.train()(Tensor(example))
        prepared.qat = True
    return prepared


def calibrate(prepared: PreparedModel, loader: Iterable, num_batches: int | None = 10,
              show_progress: bool = True) -> PreparedModel:
    """Run up to ``num_batches`` batches of ``loader`` through ``prepared`` so observers learn ranges.

    Each item of the loader is an input batch or an ``(inputs, targets)`` pair.
    """
    if not isinstance(prepared, PreparedModel):
        raise TypeError(f"calibrate: expected the result of tinytorch.quant.prepare, got "
                        f"{type(prepared).__name__}")
    batches: Iterable = loader
    total = len(loader) if hasattr(loader, "__len__") else None
    if num_batches is not None:
        batches = itertools.islice(loader, num_batches)
        total = num_batches if total is None else min(total, num_batches)
    was_training = prepared.training
    prepared.eval()
    prepared.observing = True
    seen = 0
    try:
        with grad_mode.no_grad():
            for batch in progress_bar(batches, "calibrating", total=total, enabled=show_progress):
                try:
                    prepared(batch[0] if isinstance(batch, (tuple, list)) else batch)
                except NonFiniteActivationError as error:
                    raise NonFiniteActivationError(
                        f"calibrate: in batch {seen} of the loader (counting from 0), "
                        f"{error.where} holds {error.found}; the int8 range of an activation "
                        "must be finite. Check the data and the model's weights for NaN (a "
                        "diverged training run?)", error.found, error.where) from None
                seen += 1
    finally:
        prepared.train(was_training)
    if seen == 0:
        raise ValueError("calibrate: the loader yielded no batches")
    return prepared
