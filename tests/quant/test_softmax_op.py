"""The int8 graph's softmax op: validation, the interpreter, files.

The op's arithmetic is tested in tests/kernels (against TFLite Micro); here, that
a graph holds it to the kernel's rules (attributes in range, TFLite's output
quantization, rows the kernel accepts) with a GraphError naming the op, that the
interpreter runs it with its attributes and the graph's rounding, and that a
saved graph comes back the same.
"""
import re

import numpy as np
import pytest

from tinytorch.codegen.example_graphs import softmax_classifier
from tinytorch.kernels.int8 import softmax_parameters
from tinytorch.kernels.int8.softmax import reference_softmax
from tinytorch.quant import GraphError, Int8Graph, Int8Interpreter
from tinytorch.quant.graph import Op, TensorInfo

LOGIT_SCALE = 0.1447


def softmax_graph(shape=(1, 12), output_scale=1 / 256, output_zero_point=-128,
                  rounding="double", **attributes):
    tensors = {"logits": TensorInfo("logits", shape, "int8", LOGIT_SCALE, 14),
               "probabilities": TensorInfo("probabilities", shape, "int8", output_scale,
                                           output_zero_point)}
    attributes = dict(softmax_parameters(LOGIT_SCALE, rounding=rounding), **attributes)
    return Int8Graph("classifier", tensors,
                     [Op("softmax", "head", ["logits"], ["probabilities"], attributes)],
                     "logits", "probabilities", rounding, "NC")


@pytest.mark.parametrize("rounding", ["double", "single"])
def test_the_interpreter_runs_the_kernel_with_the_attributes(rounding):
    graph = softmax_graph(rounding=rounding).validate()
    x = np.random.default_rng(0).integers(-128, 128, (40, 12)).astype(np.int8)
    expected = reference_softmax(x, **graph.ops[0].attributes,
                                 single_rounding=rounding == "single")
    np.testing.assert_array_equal(Int8Interpreter(graph).invoke(x), expected)


def test_any_rank_and_the_longest_rows_are_valid():
    softmax_graph(shape=(1, 2, 3, 511)).validate()
    softmax_graph(shape=(1, 1)).validate()


def test_a_saved_classifier_comes_back_the_same(tmp_path):
    graph = softmax_classifier(np.random.default_rng(0))
    graph.save(tmp_path / "classifier")
    loaded = Int8Graph.load(tmp_path / "classifier")
    assert loaded.to_json() == graph.to_json()
    x = np.random.default_rng(1).integers(-128, 128, (8, 6, 6, 2)).astype(np.int8)
    np.testing.assert_array_equal(Int8Interpreter(loaded)(x), Int8Interpreter(graph)(x))


@pytest.mark.parametrize("build, message", [
    # TFLite's int8 softmax writes scale 1/256, zero point -128, and nothing else
    (lambda: softmax_graph(output_scale=0.004), r"output 'probabilities' must have scale "
                                                r"1/256 and zero point -128, got \(0.004, -128\)"),
    (lambda: softmax_graph(output_zero_point=0), r"must have scale 1/256 and zero point -128"),
    # a row's exponentials must sum to less than 512
    (lambda: softmax_graph(shape=(1, 512)), r"last axis of input \[1, 512\] holds more than 511"),
    # attributes: ints, in the kernel's ranges
    (lambda: softmax_graph(input_multiplier=-1), r"input_multiplier must be in \[0, 2\^31 - 1\]"),
    (lambda: softmax_graph(input_multiplier=2**31), r"input_multiplier must be in"),
    (lambda: softmax_graph(input_multiplier=True), r"input_multiplier must be an int, got True"),
    (lambda: softmax_graph(input_multiplier=1.5e9), r"input_multiplier must be an int"),
    (lambda: softmax_graph(input_left_shift=32), r"input_left_shift must be in \[0, 31\]"),
    (lambda: softmax_graph(input_left_shift=31, rounding="single"),
     r"input_left_shift must be in \[0, 30\] with single rounding"),
    (lambda: softmax_graph(input_left_shift="24"), r"input_left_shift must be an int, got '24'"),
    (lambda: softmax_graph(diff_min=1), r"diff_min must be in \[-124, 0\]"),
    (lambda: softmax_graph(diff_min=-125), r"diff_min must be in \[-124, 0\]"),
    (lambda: softmax_graph(diff_min=None), r"diff_min must be an int, got None"),
])
def test_broken_rules_are_graph_errors_naming_the_op(build, message):
    with pytest.raises(GraphError, match=re.escape("op 'head' (softmax): ") + ".*" + message):
        build().validate()


def test_missing_attributes_and_extra_inputs_are_named():
    graph = softmax_graph()
    del graph.ops[0].attributes["diff_min"]
    with pytest.raises(GraphError, match=r"op 'head' \(softmax\): missing attributes "
                                         r"\['diff_min'\]"):
        graph.validate()
    graph = softmax_graph()
    graph.ops[0].inputs.append("logits")
    with pytest.raises(GraphError, match=r"op 'head' \(softmax\): takes 1 inputs"):
        graph.validate()


def test_a_shape_change_is_refused():
    graph = softmax_graph()
    graph.tensors["probabilities"].shape = (1, 10)
    with pytest.raises(GraphError, match=r"output 'probabilities' should have shape \[1, 12\]"):
        graph.validate()
