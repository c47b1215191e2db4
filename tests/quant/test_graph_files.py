"""The int8 graph on disk: exact round trip, and bad files rejected with the culprit named."""
import json

import numpy as np
import pytest
from test_capture import ResidualNet, randomized

from tinytorch.quant import GraphError, Int8Graph, Int8Interpreter, calibrate, convert, prepare


@pytest.fixture(scope="module")
def graph():
    rng = np.random.default_rng(5)
    images = rng.normal(size=(16, 3, 8, 8)).astype(np.float32)
    prepared = prepare(randomized(ResidualNet(), seed=5), images, name="residual")
    calibrate(prepared, [images], show_progress=False)
    return convert(prepared, rounding="single")


def test_save_then_load_is_exact(graph, tmp_path):
    graph.save(tmp_path / "model.json")
    loaded = Int8Graph.load(tmp_path / "model")  # the stem names the pair too
    assert loaded.to_json() == graph.to_json()
    for name, tensor in graph.tensors.items():
        if tensor.is_constant:
            np.testing.assert_array_equal(loaded.tensors[name].data, tensor.data)
            assert loaded.tensors[name].data.dtype == tensor.data.dtype
    x = np.random.default_rng(0).integers(-128, 128, (4, 8, 8, 3)).astype(np.int8)
    np.testing.assert_array_equal(Int8Interpreter(loaded)(x), Int8Interpreter(graph)(x))


def rewrite(tmp_path, graph, edit_document=None, edit_arrays=None):
    graph.save(tmp_path / "g")
    document = json.loads((tmp_path / "g.json").read_text())
    with np.load(tmp_path / "g.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    if edit_document:
        edit_document(document)
    if edit_arrays:
        edit_arrays(arrays)
    (tmp_path / "g.json").write_text(json.dumps(document))
    np.savez(tmp_path / "g.npz", **arrays)
    return tmp_path / "g.json"


def test_missing_constant_is_named(graph, tmp_path):
    path = rewrite(tmp_path, graph, edit_arrays=lambda a: a.pop("stem.weight"))
    with pytest.raises(GraphError, match=r"constant tensor 'stem.weight' is missing"):
        Int8Graph.load(path)


def test_wrong_dtype_is_named(graph, tmp_path):
    def to_int16(arrays):
        arrays["head.bias"] = arrays["head.bias"].astype(np.int16)
    with pytest.raises(GraphError, match=r"tensor 'head.bias': data has dtype int16, the graph "
                                         r"says int32"):
        Int8Graph.load(rewrite(tmp_path, graph, edit_arrays=to_int16))


def test_op_reading_an_unknown_tensor_is_named(graph, tmp_path):
    def misspell(document):
        document["ops"][1]["inputs"][0] = "stem.outt"
    with pytest.raises(GraphError, match=r"no tensor named 'stem.outt'"):
        Int8Graph.load(rewrite(tmp_path, graph, edit_document=misspell))


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(version=2), "version 2 is not supported"),
    (lambda d: d.update(format="other"), "not an int8 graph"),
    (lambda d: d["tensors"]["stem.out"].update(dtype="int16"), "activations must be int8"),
    (lambda d: d["tensors"]["stem.out"].update(shape=[1, 8, 8, 9]), "should have shape"),
    (lambda d: d["ops"][0]["attributes"].pop("multiplier"), r"missing attributes \['multiplier'\]"),
    (lambda d: d["ops"][0]["attributes"].update(shift=[40] * 8), "shift 40 is not an int"),
    (lambda d: d["ops"][0].update(type="softmax"), "unknown op type"),
    (lambda d: d.update(rounding="nearest"), "rounding must be one of"),
])
def test_invalid_documents_say_what_is_wrong(graph, tmp_path, edit, message):
    with pytest.raises(GraphError, match=message):
        Int8Graph.load(rewrite(tmp_path, graph, edit_document=edit))


def test_unreadable_files_raise_graph_errors(tmp_path):
    with pytest.raises(GraphError, match="cannot read"):
        Int8Graph.load(tmp_path / "absent.json")
    (tmp_path / "broken.json").write_text("{not json")
    np.savez(tmp_path / "broken.npz")
    with pytest.raises(GraphError, match="cannot read"):
        Int8Graph.load(tmp_path / "broken.json")


def test_an_invalid_graph_is_never_written(graph, tmp_path):
    graph.save(tmp_path / "g")
    before = (tmp_path / "g.json").read_bytes()
    bad = Int8Graph.from_json(graph.to_json(), {n: t.data for n, t in graph.tensors.items()
                                                if t.is_constant})
    bad.ops[0].attributes["act_min"] = 200
    with pytest.raises(GraphError, match="act_min"):
        bad.save(tmp_path / "g")
    assert (tmp_path / "g.json").read_bytes() == before
