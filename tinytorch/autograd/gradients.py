"""Gradients on request: ``autograd.grad`` and ``autograd.backward``.

``loss.backward()`` answers one question, "how does the loss change with
every parameter?", and leaves each answer in the parameter's ``.grad``,
added to whatever was there.  Two other questions come up as often:

* *How does this output change with these particular tensors?*  Say, the
  gradient of a model's score with respect to its input image (a saliency
  map), or with respect to an intermediate activation.  ``autograd.grad
  (outputs, inputs)`` returns those gradients as a tuple and writes no
  ``.grad`` anywhere, so it can run in the middle of a training step
  without disturbing the parameters' accumulated gradients.
* *Only these tensors should collect a gradient.*  ``loss.backward(inputs=
  [w])`` accumulates into ``w.grad`` alone and leaves the other leaves as
  they were.

Both are the same backward pass as ``loss.backward()`` (``engine.py``), told
where to stop: the walk keeps only the part of the graph that leads to the
requested tensors, so a requested intermediate tensor is where gradients
stop flowing, and parts of the graph that lead elsewhere are never run.

Several outputs are differentiated together by hanging them under one extra
node whose backward hands each output its own incoming gradient; the engine
then sees a single root, and a tensor reached from two outputs gets the sum
of both contributions, as the chain rule says.

TinyTorch's operations differentiate numpy arrays, not tensors (see
``function.py``), so a gradient is never itself part of a graph:
``create_graph=True`` (gradients of gradients) is refused with an error
rather than quietly returning a gradient that cannot be differentiated.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinytorch.autograd import engine
from tinytorch.autograd.function import Function
from tinytorch.tensor import Tensor

TensorOrTensors = Tensor | Sequence[Tensor]


def backward(tensors: TensorOrTensors, grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: TensorOrTensors | None = None) -> None:
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves.

    ``grad_tensors`` holds d(something)/d(tensor) for each of ``tensors``
    (None for a one-element tensor means 1).  With ``inputs``, only those
    tensors receive a gradient.
    """
    _refuse_create_graph(create_graph, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is None and grad_tensors is None and isinstance(tensors, Tensor):
        engine.backward(tensors, None, retain_graph)  # loss.backward(): nothing to prepare
        return
    if inputs is not None:
        inputs = _as_tensors(inputs, "backward", "inputs")
        if not inputs:
            raise RuntimeError("backward: `inputs` argument to `backward()` cannot be empty.")
        for position, tensor in enumerate(inputs):
            if not tensor.requires_grad:
                raise RuntimeError(
                    f"backward: inputs[{position}] (shape {tensor.shape}) does not require "
                    "grad, so no gradient can be accumulated into it (can't retain_grad on "
                    "Tensor that has requires_grad=False)"
                )
    root, gradient = _single_root(tensors, grad_tensors, "backward")
    engine.backward(root, gradient, retain_graph, inputs)


def grad(outputs: TensorOrTensors, inputs: TensorOrTensors, grad_outputs: Any = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool | None = None, materialize_grads: bool = False
         ) -> tuple[Tensor | None, ...]:
    """The gradients of ``outputs`` with respect to each of ``inputs``, as a tuple.

    No ``.grad`` attribute is read or written.  ``grad_outputs`` plays the
    role of ``backward``'s ``gradient`` for each output.  An input the
    outputs do not depend on is an error, unless ``allow_unused=True`` (its
    gradient is then None) or ``materialize_grads=True`` (zeros).
    """
    _refuse_create_graph(create_graph, "grad")
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "grad: Expected allow_unused to be True or not passed when "
            "materialize_grads=True, but got: allow_unused=False."
        )
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _as_tensors(inputs, "grad", "inputs")
    if not inputs:
        raise RuntimeError("grad: `inputs` argument to `grad()` cannot be empty.")
    for position, tensor in enumerate(inputs):
        if not tensor.requires_grad:
            raise RuntimeError(
                f"grad: One of the differentiated Tensors does not require grad "
                f"(inputs[{position}], shape {tensor.shape})"
            )
    root, gradient = _single_root(outputs, grad_outputs, "grad")
    arrays = engine.backward(root, gradient, retain_graph, inputs, accumulate_grad=False)

    results: list[Tensor | None] = []
    returned: set[int] = set()
    for position, (tensor, array) in enumerate(zip(inputs, arrays)):
        if array is None:
            if materialize_grads:
                array = np.zeros_like(tensor.array)
            elif allow_unused:
                results.append(None)
                continue
            else:
                raise RuntimeError(
                    f"grad: The differentiated Tensor at index {position} appears to not "
                    "have been used in the graph. Set allow_unused=True if this is the "
                    "desired behavior."
                )
        if id(array) in returned:  # the same input asked for twice: two independent results
            array = array.copy()
        returned.add(id(array))
        results.append(Tensor._wrap(array, False))
    return tuple(results)


class JoinOutputs(Function):
    """A node above several outputs, so that one backward pass serves them all.

    Its parents are the outputs; its backward ignores the incoming gradient
    (it is the root, so that gradient is 1) and hands each output its own.
    """

    output_gradients: tuple = ()

    @staticmethod
    def backward(ctx: "JoinOutputs", grad_output: np.ndarray) -> tuple:
        return ctx.output_gradients


def _single_root(outputs: TensorOrTensors, output_gradients: Any,
                 caller: str) -> tuple[Tensor, np.ndarray]:
    """One tensor to start the backward pass from, and its incoming gradient."""
    outputs = _as_tensors(outputs, caller, "outputs")
    if not outputs:
        raise RuntimeError(f"{caller}: no outputs to differentiate")
    if output_gradients is None or isinstance(output_gradients, (Tensor, np.ndarray)):
        output_gradients = (output_gradients,) if len(outputs) == 1 else output_gradients
    if output_gradients is None:
        output_gradients = (None,) * len(outputs)
    elif not isinstance(output_gradients, (list, tuple)):
        raise TypeError(
            f"{caller}: the output gradients must be a Tensor, None, or a list or tuple of "
            f"them (one per output), got {type(output_gradients).__name__}"
        )
    if len(output_gradients) != len(outputs):
        raise RuntimeError(
            f"{caller}: got {len(output_gradients)} output gradients for {len(outputs)} "
            "outputs; give one per output (None for a one-element output)"
        )
    gradients = []
    for position, (output, gradient) in enumerate(zip(outputs, output_gradients)):
        if not output.requires_grad:
            raise RuntimeError(
                f"{caller}: element {position} of tensors does not require grad and does "
                "not have a grad_fn (did you create it under no_grad, or from tensors "
                "with requires_grad=False?)"
            )
        if gradient is None:
            if output.array.size != 1:
                raise RuntimeError(
                    f"{caller}: grad can be implicitly created only for scalar outputs, "
                    f"but output {position} has shape {output.shape}; pass a gradient of "
                    "that shape"
                )
            gradient = np.ones_like(output.array)
        else:
            gradient = np.asarray(gradient.array if isinstance(gradient, Tensor) else gradient,
                                  output.dtype)
            if gradient.shape != output.shape:
                raise RuntimeError(
                    f"{caller}: Mismatch in shape: grad_output[{position}] has shape "
                    f"{gradient.shape} and output[{position}] has shape {output.shape}"
                )
        gradients.append(gradient)
    if len(outputs) == 1:
        return outputs[0], gradients[0]
    join = JoinOutputs()
    join.parents = tuple(enumerate(outputs))
    join.output_gradients = tuple(gradients)
    root = Tensor._wrap(np.zeros(()), True)
    root.grad_fn = join
    return root, np.ones(())


def _as_tensors(value: Any, caller: str, name: str) -> tuple[Tensor, ...]:
    """``value`` as a tuple of tensors (one tensor, or a list or tuple of them)."""
    values = (value,) if isinstance(value, Tensor) else value
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, Tensor) for v in values):
        raise TypeError(
            f"{caller}: {name} must be a Tensor or a list or tuple of Tensors, got "
            f"{type(value).__name__}"
        )
    return tuple(values)


def _refuse_create_graph(create_graph: bool, caller: str) -> None:
    if create_graph:
        raise RuntimeError(
            f"{caller}: create_graph=True is not supported: TinyTorch has no higher-order "
            "gradients (each operation's backward computes on numpy arrays, so a gradient "
            "is never itself part of a graph that could be differentiated again)"
        )
