"""The .tflite importer, against TensorFlow Lite Micro running the same files.

The oracle is TFLite Micro itself (the ``tflite-micro`` package): for the four
MLPerf Tiny models and for small models written here, every activation the
interpreter computes on an imported graph must equal TFLite Micro's, byte for
byte, on edge inputs (all -128, all 127) and random ones.  Then what the
importer must refuse, refused by name, and damaged files that never escape as
anything but ``TFLiteImportError``.
"""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import tflite

from tinytorch.app.cli import main
from tinytorch.app.mlperf_tiny import MODELS
from tinytorch.app.tflite_micro import compare_with_tflite_micro, edge_and_random_inputs
from tinytorch.quant import Int8Graph, Int8Interpreter
from tinytorch.quant.tflite_import import (TFLiteImportError, import_tflite, opcode_counts,
                                            same_padding)

from tflite_builder import Operator, Tensor, build_model, conv_model

OPS = tflite.BuiltinOperator
ACTIVATIONS = tflite.ActivationFunctionType
# Inputs per model: VWW's 30 layers take longest in both interpreters.
INPUTS = {"kws": 32, "resnet": 24, "vww": 12, "ad": 48}


@pytest.fixture(scope="module", params=sorted(MODELS))
def reference_model(request):
    model = MODELS[request.param]
    return model, import_tflite(model.path)


def test_every_activation_of_the_four_models_equals_tflite_micro(reference_model):
    model, graph = reference_model
    comparison = compare_with_tflite_micro(model.path, graph,
                                           edge_and_random_inputs(graph, INPUTS[model.key]))
    assert comparison.bytes_compared > INPUTS[model.key] * graph.tensor(graph.output).size
    assert comparison.bit_exact, comparison.summary()


def test_each_operator_of_the_file_becomes_one_op(reference_model):
    model, graph = reference_model
    type_of = {"CONV_2D": "conv2d", "DEPTHWISE_CONV_2D": "conv2d",
               "FULLY_CONNECTED": "fully_connected", "ADD": "add",
               "AVERAGE_POOL_2D": "avg_pool2d", "RESHAPE": "reshape", "SOFTMAX": "softmax"}
    theirs = Counter()
    for name, count in opcode_counts(model.path).items():
        theirs[type_of[name]] += count
    # The importer's own flattening before a fully connected layer has no counterpart.
    assert Counter(op.type for op in graph.ops if not op.outputs[0].endswith("_flat")) == theirs


def test_a_saved_import_loads_and_runs_the_same(reference_model, tmp_path):
    model, graph = reference_model
    graph.save(tmp_path / model.key)
    loaded = Int8Graph.load(tmp_path / model.key)
    inputs = edge_and_random_inputs(graph, 3)
    assert np.array_equal(Int8Interpreter(loaded).invoke(inputs),
                          Int8Interpreter(graph).invoke(inputs))


# ---- small models written here: options the four leave out -------------------------------
@pytest.mark.parametrize("padding", [tflite.Padding.SAME, tflite.Padding.VALID])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("activation", [ACTIVATIONS.NONE, ACTIVATIONS.RELU, ACTIVATIONS.RELU6])
def test_a_convolution_equals_tflite_micro(tmp_path, padding, stride, activation):
    path = tmp_path / "conv.tflite"
    path.write_bytes(conv_model(activation, padding, stride, seed=stride * 7 + activation,
                                height=8, width=7))
    graph = import_tflite(path)
    comparison = compare_with_tflite_micro(path, graph, edge_and_random_inputs(graph, 8))
    assert comparison.bit_exact, comparison.summary()


def test_same_padding_puts_the_odd_row_and_column_last(tmp_path):
    # 7 rows, 6 columns, 3x3 window, stride 2: 2 rows of padding (1 + 1), 1 column (0 + 1).
    path = tmp_path / "conv.tflite"
    path.write_bytes(conv_model(padding=tflite.Padding.SAME, stride=2, height=7, width=6))
    assert import_tflite(path).ops[0].attributes["padding"] == [1, 1, 0, 1]


def test_same_padding_is_the_least_that_keeps_ceil_size_over_stride_outputs():
    # What SAME promises, checked from its definition on every small case: with the
    # padding, a window spanning 1 + dilation * (kernel - 1) values fits ceil(size / stride)
    # times; with one zero less it would not (unless none is needed); the halves differ
    # by at most one, the larger after.
    for size in range(1, 21):
        for kernel in range(1, 8):
            for stride in range(1, 5):
                for dilation in range(1, 4):
                    before, after = same_padding(size, kernel, stride, dilation)
                    span = 1 + dilation * (kernel - 1)  # input values one window covers
                    wanted = -(-size // stride)

                    def fits(total):
                        return size + total >= span and \
                            (size + total - span) // stride + 1 >= wanted

                    total = before + after
                    case = (size, kernel, stride, dilation, before, after)
                    assert fits(total) and (total == 0 or not fits(total - 1)), case
                    assert after - before in (0, 1), case


@pytest.mark.parametrize("opcode,kind", [(OPS.MAX_POOL_2D, "max_pool2d"),
                                         (OPS.AVERAGE_POOL_2D, "avg_pool2d")])
@pytest.mark.parametrize("padding", [tflite.Padding.SAME, tflite.Padding.VALID])
def test_pooling_after_a_convolution_equals_tflite_micro(tmp_path, opcode, kind, padding):
    # The convolution's output [1, 8, 7, 4] (SAME, stride 1), pooled 3x3 with stride 2.
    out = (1, 4, 4, 4) if padding == tflite.Padding.SAME else (1, 3, 3, 4)
    pool = Operator(opcode, [3], [4], "Pool2DOptions",
                    {"Padding": padding, "StrideH": 2, "StrideW": 2, "FilterHeight": 3,
                     "FilterWidth": 3, "FusedActivationFunction": ACTIVATIONS.RELU6})
    path = tmp_path / "pool.tflite"
    path.write_bytes(conv_model(height=8, width=7, extra=pool,
                                extra_tensors=[Tensor(out, scale=[0.07], zero_point=[3])]))
    graph = import_tflite(path)
    assert [op.type for op in graph.ops] == ["conv2d", kind]
    comparison = compare_with_tflite_micro(path, graph, edge_and_random_inputs(graph, 8))
    assert comparison.bit_exact, comparison.summary()


# ---- what must be refused, by name --------------------------------------------------------
def _refused(tmp_path, data: bytes) -> str:
    path = tmp_path / "model.tflite"
    path.write_bytes(data)
    with pytest.raises(TFLiteImportError) as error:
        import_tflite(path)
    return str(error.value)


def test_an_unsupported_operator_is_refused_by_name_and_index(tmp_path):
    tanh = Operator(OPS.TANH, [3], [4])
    message = _refused(tmp_path, conv_model(extra=tanh, extra_tensors=[Tensor((1, 7, 6, 4))]))
    assert "operator #1 is TANH" in message and "CONV_2D" in message


def test_a_fused_tanh_is_refused(tmp_path):
    message = _refused(tmp_path, conv_model(activation=ACTIVATIONS.TANH))
    assert "operator #0 (CONV_2D)" in message and "fused activation TANH" in message


def test_a_weight_of_minus_128_is_refused(tmp_path):
    assert "-128" in _refused(tmp_path, conv_model(weight_low=-128))


def test_a_float_model_is_refused(tmp_path):
    tensors = [Tensor((1, 4), "float32"), Tensor((1, 4), "float32")]
    data = build_model(tensors, [Operator(OPS.RESHAPE, [0], [1])], [0], [1])
    assert "FLOAT32" in _refused(tmp_path, data)


def test_a_batch_other_than_one_is_refused(tmp_path):
    data = build_model([Tensor((2, 4)), Tensor((2, 4))], [Operator(OPS.RESHAPE, [0], [1])],
                       [0], [1])
    assert "batch must be 1" in _refused(tmp_path, data)


def test_a_scale_of_zero_is_refused(tmp_path):
    data = build_model([Tensor((1, 4), scale=[0.0]), Tensor((1, 4))],
                       [Operator(OPS.RESHAPE, [0], [1])], [0], [1])
    assert "scales must be finite and > 0" in _refused(tmp_path, data)


def test_a_file_that_is_not_tflite_is_refused(tmp_path):
    assert "not a .tflite file" in _refused(tmp_path, b"PK\x03\x04 a zip, not a model")
    assert "not a .tflite file" in _refused(tmp_path, b"")


def test_damaged_files_raise_only_the_import_error(tmp_path):
    """Cut and flipped bytes: the import either succeeds (a graph that validates) or raises
    TFLiteImportError; never IndexError, struct.error or another exception."""
    original = MODELS["kws"].path.read_bytes()
    rng = np.random.default_rng(0)
    path = tmp_path / "damaged.tflite"
    outcomes = {"refused": 0, "imported": 0}
    for trial in range(150):
        data = bytearray(original)
        if trial % 3 == 0:
            data = data[:int(rng.integers(8, len(data)))]
        else:
            for position in rng.integers(8, len(data), int(rng.integers(1, 20))):
                data[position] = int(rng.integers(0, 256))
        path.write_bytes(bytes(data))
        try:
            import_tflite(path)
            outcomes["imported"] += 1
        except TFLiteImportError:
            outcomes["refused"] += 1
    assert outcomes["refused"] > 0


# ---- the command -------------------------------------------------------------------------
def test_the_import_command_writes_a_graph_that_deploy_reads(tmp_path, capsys):
    out = tmp_path / "kws"
    assert main(["import", "kws", "--out", str(out), "--check", "3"]) == 0
    printed = capsys.readouterr().out
    assert "bit-exact" in printed and "wrote" in printed
    graph = Int8Graph.load(out)
    assert graph.input_layout == "NHWC" and graph.ops[-1].type == "softmax"


def test_the_import_command_names_the_refused_operator(tmp_path, capsys):
    path = tmp_path / "tanh.tflite"
    path.write_bytes(conv_model(extra=Operator(OPS.TANH, [3], [4]),
                                extra_tensors=[Tensor((1, 7, 6, 4))]))
    assert main(["import", str(path), "--out", str(tmp_path / "g")]) == 1
    assert "operator #1 is TANH" in capsys.readouterr().err
    assert not (tmp_path / "g.json").exists()


def test_the_comparison_catches_a_model_imported_for_another_runtime():
    # TFLite Micro rounds twice; a graph for a single-rounding build must be caught.
    graph = import_tflite(MODELS["kws"].path, rounding="single")
    assert graph.rounding == "single"
    comparison = compare_with_tflite_micro(MODELS["kws"].path, graph,
                                           edge_and_random_inputs(graph, 3))
    assert not comparison.bit_exact and comparison.first_difference is not None
