"""The int8 graph on disk: exact round trip, and bad files rejected with the culprit named."""
import hashlib
import io
import json
import re
import zipfile

import numpy as np
import pytest
from test_capture import ResidualNet, randomized

import tinytorch.quant.graph as graph_module
from tinytorch.quant import GraphError, Int8Graph, Int8Interpreter, calibrate, convert, prepare
from tinytorch.quant.graph import Op, TensorInfo


def residual_graph():
    """Every op type but max_pool2d: conv, depthwise, add, avg and global pools, reshape, linear."""
    rng = np.random.default_rng(5)
    images = rng.normal(size=(16, 3, 8, 8)).astype(np.float32)
    prepared = prepare(randomized(ResidualNet(), seed=5), images, name="residual")
    calibrate(prepared, [images], show_progress=False)
    return convert(prepared, rounding="single")


@pytest.fixture(scope="module")
def graph():
    return residual_graph()


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


def constants_of(graph):
    return {name: t.data for name, t in graph.tensors.items() if t.is_constant}


def rewrite(tmp_path, graph, edit_document=None, edit_arrays=None, npz_bytes=None):
    """Save ``graph``, then edit its files; the .json records the new .npz's hash, as save does.

    ``npz_bytes`` replaces the .npz by those bytes; ``edit_document`` runs last, so
    it may also spoil the recorded hash.
    """
    graph.save(tmp_path / "g")
    document = json.loads((tmp_path / "g.json").read_text())
    with np.load(tmp_path / "g.npz") as archive:
        arrays = {name: archive[name] for name in archive.files}
    if edit_arrays:
        edit_arrays(arrays)
    if npz_bytes is None:
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        npz_bytes = buffer.getvalue()
    (tmp_path / "g.npz").write_bytes(npz_bytes)
    document["constants_sha256"] = hashlib.sha256(npz_bytes).hexdigest()
    if edit_document:
        edit_document(document)
    (tmp_path / "g.json").write_text(json.dumps(document))
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


# ---- the .json and the .npz are one pair ------------------------------------------------
def test_the_json_records_the_sha256_of_its_npz(graph, tmp_path):
    graph.save(tmp_path / "g")
    document = json.loads((tmp_path / "g.json").read_text())
    assert document["version"] == 2
    assert document["constants_sha256"] == hashlib.sha256(
        (tmp_path / "g.npz").read_bytes()).hexdigest()


def other_weights(graph):
    """The same structure with other (still valid) constants, as a retrained model would have."""
    arrays = {name: -data for name, data in constants_of(graph).items()}
    return Int8Graph.from_json(graph.to_json(), arrays).validate()


def test_a_save_interrupted_between_the_two_files_is_refused(graph, tmp_path, monkeypatch):
    graph.save(tmp_path / "g")
    real_write, writes = graph_module.write_atomically, []

    class PowerCut(Exception):
        pass

    def crash_on_the_json(path, payload, op):
        if str(path).endswith(".json"):
            raise PowerCut
        writes.append(path)
        real_write(path, payload, op=op)
    monkeypatch.setattr(graph_module, "write_atomically", crash_on_the_json)
    with pytest.raises(PowerCut):
        other_weights(graph).save(tmp_path / "g")
    assert writes == [str(tmp_path / "g.npz")]  # the constants went first
    with pytest.raises(GraphError, match=re.escape(str(tmp_path / "g.json")) + " and " +
                       re.escape(str(tmp_path / "g.npz")) + " do not belong together"):
        Int8Graph.load(tmp_path / "g")


@pytest.mark.parametrize("replace_npz", [
    lambda other, payload: other,                  # the .npz of another save
    lambda other, payload: payload[:len(payload) // 2],  # a copy cut short
    lambda other, payload: b"",
], ids=["another save", "truncated", "empty"])
def test_an_npz_that_is_not_the_one_saved_is_refused_before_parsing(graph, tmp_path,
                                                                      replace_npz):
    other_weights(graph).save(tmp_path / "other")
    graph.save(tmp_path / "g")
    npz = tmp_path / "g.npz"
    npz.write_bytes(replace_npz((tmp_path / "other.npz").read_bytes(), npz.read_bytes()))
    with pytest.raises(GraphError, match="do not belong together"):
        Int8Graph.load(tmp_path / "g")


# ---- constants that cannot be read ------------------------------------------------------
def zip_of(members, compression=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def object_npy_bytes():
    """An .npy whose header declares an object array: the payload would be a pickle."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|O", "fortran_order": False,
                                                  "shape": (2,)})
    return buffer.getvalue() + b"\x80\x04not read: refused at the header"


def set_central_directory_field(payload, offset, value):
    """Overwrite a 2-byte field of the zip's first central directory entry."""
    start = payload.index(b"PK\x01\x02") + offset
    return payload[:start] + value.to_bytes(2, "little") + payload[start + 2:]


def without_npy_suffix(payload, name):
    """The same archive, but np.load hands back member ``name``'s bytes, not an array."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        members = {member: archive.read(member) for member in archive.namelist()}
    members[name.removesuffix(".npy")] = b"not an array"
    del members[name]
    return zip_of(members)


def huge_npy_header():
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|i1", "fortran_order": False, "shape": (2**40,)})
    return header.getvalue() + bytes(16)


def garbage_deflate_stream():
    name = "stem.weight.npy"
    payload = bytearray(zip_of({name: npy_bytes(np.zeros(8, np.int8))}, zipfile.ZIP_DEFLATED))
    payload[30 + len(name)] = 0xFF  # the first block after the local header: reserved type 3
    return bytes(payload)


DAMAGED_NPZ = {
    "empty": lambda good: b"",
    "truncated to 10 bytes": lambda good: good[:10],
    "truncated to 100 bytes": lambda good: good[:100],
    "truncated to half": lambda good: good[:len(good) // 2],
    "last byte missing": lambda good: good[:-1],
    "random bytes": lambda good: np.random.default_rng(0).bytes(len(good)),
    "a lone .npy, not an .npz": lambda good: npy_bytes(np.zeros(3, np.int8)),
    "a member that is not a .npy": lambda good: without_npy_suffix(good, "stem.weight.npy"),
    "an object array": lambda good: zip_of({"stem.weight.npy": object_npy_bytes()}),
    "broken deflate data": lambda good: garbage_deflate_stream(),
    "unknown compression method": lambda good: set_central_directory_field(good, 10, 99),
    "encrypted member": lambda good: set_central_directory_field(good, 8, 1),
    "a header claiming 2^40 values": lambda good: zip_of({"stem.weight.npy": huge_npy_header()}),
}


@pytest.mark.parametrize("damage", DAMAGED_NPZ.values(), ids=DAMAGED_NPZ.keys())
def test_damaged_constants_are_a_graph_error_naming_the_npz(graph, tmp_path, damage):
    # The .json records the damaged file's hash, so that the parser itself meets the damage.
    graph.save(tmp_path / "good")
    path = rewrite(tmp_path, graph, npz_bytes=damage((tmp_path / "good.npz").read_bytes()))
    with pytest.raises(GraphError, match=re.escape(str(tmp_path / "g.npz")) +
                       ": cannot read constants"):
        Int8Graph.load(path)


def test_deeply_nested_json_is_a_graph_error(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(GraphError, match=re.escape(str(tmp_path / "deep.json")) +
                       ": cannot read: nested too deeply"):
        Int8Graph.load(tmp_path / "deep.json")


# ---- documents that break the rules -----------------------------------------------------
def set_tensor(name, **changes):
    return lambda d: d["tensors"][name].update(changes)


def set_op(index, **changes):
    return lambda d: d["ops"][index].update(changes)


def set_attributes(index, **changes):
    return lambda d: d["ops"][index]["attributes"].update(changes)


def attributes_as_pairs(d):
    d["ops"][0]["attributes"] = [list(item) for item in d["ops"][0]["attributes"].items()]


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(version=1), "format version 1 is not supported"),
    (lambda d: d.update(version=3), "format version 3 is not supported"),
    (lambda d: d.update(format="other"), "not an int8 graph"),
    (lambda d: d.pop("constants_sha256"), "constants_sha256 must be .* got None"),
    (lambda d: d.update(constants_sha256=5), "constants_sha256 must be .* got 5"),
    (set_tensor("stem.out", dtype="int16"), "activations must be int8"),
    (set_tensor("stem.out", shape=[1, 8, 8, 9]), "should have shape"),
    (set_attributes(0, shift=[40] * 8), "shift 40 is not an int"),
    (lambda d: d["ops"][0]["attributes"].pop("multiplier"), r"missing attributes \['multiplier'\]"),
    (set_op(0, type="transpose_conv2d"), "unknown op type"),
    (lambda d: d.update(rounding="nearest"), "rounding must be one of"),
    # true and false are not ints, though Python's bool is one
    (set_tensor("input", shape=[True, 8, 8, 3]), r"tensor 'input': shape must be"),
    (set_tensor("stem.out", zero_point=True), r"tensor 'stem.out': zero_point must be an int"),
    (set_attributes(0, act_max=True), r"op 'stem' \(conv2d\): need -128 <= act_min <= act_max"),
    (set_attributes(0, groups=True), r"op 'stem' \(conv2d\): .*groups=True"),
    (set_attributes(0, stride=[True, True]), r"op 'stem' \(conv2d\): stride must be"),
    (set_attributes(0, padding=[True] * 4), r"op 'stem' \(conv2d\): padding must be"),
    (set_attributes(0, dilation=[True, True]), r"op 'stem' \(conv2d\): dilation must be"),
    (set_attributes(4, kernel=[2, True]), r"op 'pool' \(avg_pool2d\): kernel must be"),
    (set_attributes(0, multiplier=[True] * 8), r"op 'stem' \(conv2d\): multiplier True is not"),
    (set_attributes(0, shift=[False] * 8), r"op 'stem' \(conv2d\): shift False is not"),
    (set_attributes(3, output_multiplier=True), r"op 'add_1' \(add\): output_multiplier True"),
    # add: left_shift in [0, 23] and shifts <= 0, as kernels.int8.add requires
    (set_attributes(3, left_shift=True), r"op 'add_1' \(add\): left_shift must be an int in "
                                         r"\[0, 23\].*got True"),
    (set_attributes(3, left_shift="20"), r"left_shift must be an int in \[0, 23\].*got '20'"),
    (set_attributes(3, left_shift=24), r"left_shift must be an int in \[0, 23\].*got 24"),
    (set_attributes(3, left_shift=-1), r"left_shift must be an int in \[0, 23\].*got -1"),
    (set_attributes(3, a_shift=1), r"op 'add_1' \(add\): a_shift 1 is not an int in \[-31, 0\]"),
    # scales: real numbers, one per output channel for constants
    (set_tensor("stem.out", scale=True), r"tensor 'stem.out': scales must be finite positive"),
    (set_tensor("stem.out", scale=10**400), r"tensor 'stem.out': scales must be finite positive"),
    (set_tensor("stem.weight", scale=[0.01] * 7), r"tensor 'stem.weight': .*one scale per output "
                                                  r"channel: a list of 8"),
    (set_tensor("stem.bias", scale=[0.01] * 9), r"tensor 'stem.bias': .*a list of 8"),
    (set_tensor("head.weight", scale=0.01), r"tensor 'head.weight': .*a list of 5"),
    (set_tensor("head.weight", scale=[True] * 5), r"tensor 'head.weight': scales must be"),
    # strings, lists and objects where the format says so
    (lambda d: d.update(name=5), r"graph's name must be a string, got 5"),
    (lambda d: d.update(input=["input"]), r"input must be a string, got \['input'\]"),
    (lambda d: d.update(output=None), r"output must be a string, got None"),
    (set_op(0, name=5), r"op #0: name must be a string, got 5"),
    (set_op(0, type=["conv2d"]), r"op 'stem': type must be a string, got \['conv2d'\]"),
    (set_op(1, inputs="stem.out"), r"op 'depthwise' \(conv2d\): inputs must be a list of "
                                   r"tensor names"),
    (set_op(1, inputs=[["stem.out"], "depthwise.weight", "depthwise.bias"]),
     r"op 'depthwise' \(conv2d\): inputs must be a list of tensor names"),
    (set_op(7, outputs=None), r"op 'head' \(fully_connected\): outputs must be a list"),
    (set_op(6, attributes="ab"), r"op 'reshape_1' \(reshape\): attributes must be a JSON object"),
    (attributes_as_pairs, r"op 'stem' \(conv2d\): attributes must be a JSON object"),
    (lambda d: d["tensors"].update({"stem.out": [1, 8, 8, 8]}),
     r"tensor 'stem.out' must be a JSON object, got \[1, 8, 8, 8\]"),
    (set_tensor("stem.out", constant="yes"), r"tensor 'stem.out': constant must be true or "
                                             r"false, got 'yes'"),
    (lambda d: d.update(tensors=[]), r"tensors must be a JSON object"),
    (lambda d: d.update(ops={"stem": 1}), r"ops must be a list"),
    (lambda d: d["ops"].__setitem__(0, "conv2d"), r"op #0 must be a JSON object, got 'conv2d'"),
])
def test_invalid_documents_say_what_is_wrong(graph, tmp_path, edit, message):
    path = rewrite(tmp_path, graph, edit_document=edit)
    with pytest.raises(GraphError, match=re.escape(str(path)) + ": .*" + message):
        Int8Graph.load(path)


# ---- sizes a C int32 can hold -----------------------------------------------------------
def reshape_graph(shape):
    tensors = {"x": TensorInfo("x", shape, "int8", 0.1, 0), "y": TensorInfo("y", shape, "int8",
                                                                           0.1, 0)}
    return Int8Graph("tiny", tensors, [Op("reshape", "same", ["x"], ["y"], {})], "x", "y")


def conv_graph(**attributes):
    """A 1x1 convolution over a [1, 4, 4, 1] input."""
    tensors = {
        "x": TensorInfo("x", (1, 4, 4, 1), "int8", 0.1, 0),
        "w": TensorInfo("w", (1, 1, 1, 1), "int8", [0.01], 0, np.ones((1, 1, 1, 1), np.int8)),
        "b": TensorInfo("b", (1,), "int32", [0.001], 0, np.zeros(1, np.int32)),
        "y": TensorInfo("y", (1, 4, 4, 1), "int8", 0.1, 0),
    }
    attributes = dict(dict(stride=[1, 1], padding=[0, 0, 0, 0], dilation=[1, 1], groups=1,
                           multiplier=[2**30], shift=[-3], act_min=-128, act_max=127),
                      **attributes)
    return Int8Graph("tiny", tensors, [Op("conv2d", "conv", ["x", "w", "b"], ["y"], attributes)],
                     "x", "y")


def pool_graph(**attributes):
    """An 8x8 max pool over a [1, 8, 8, 1] input."""
    tensors = {"x": TensorInfo("x", (1, 8, 8, 1), "int8", 0.1, 0),
               "y": TensorInfo("y", (1, 1, 1, 1), "int8", 0.1, 0)}
    attributes = dict(dict(kernel=[8, 8], stride=[8, 8], padding=[0, 0, 0, 0], act_min=-128,
                           act_max=127), **attributes)
    return Int8Graph("tiny", tensors, [Op("max_pool2d", "pool", ["x"], ["y"], attributes)],
                     "x", "y")


def test_small_graphs_are_valid():
    reshape_graph((1, 2**31 - 1)).validate()
    conv_graph().validate()
    pool_graph().validate()


@pytest.mark.parametrize("build, message", [
    (lambda: reshape_graph((1, 2**31)), r"tensor 'x': shape must be .* ints in \[1, 2\^31 - 1\]"),
    (lambda: reshape_graph((1, 2**16, 2**16, 1)), r"tensor 'x': shape \[1, 65536, 65536, 1\] "
                                                  r"holds 4294967296 values"),
    (lambda: conv_graph(dilation=[2**31, 2**31]), r"op 'conv' \(conv2d\): dilation must be"),
    (lambda: pool_graph(stride=[2**31, 2**31]), r"op 'pool' \(max_pool2d\): stride must be"),
    (lambda: pool_graph(padding=[0, 2**31, 0, 0]), r"op 'pool' \(max_pool2d\): padding must be"),
])
def test_sizes_must_fit_the_int32_fields_of_the_c(build, message):
    with pytest.raises(GraphError, match=message):
        build().validate()


# ---- other ways to fail ----------------------------------------------------------------
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
    bad = Int8Graph.from_json(graph.to_json(), constants_of(graph))
    bad.ops[0].attributes["act_min"] = 200
    with pytest.raises(GraphError, match="act_min"):
        bad.save(tmp_path / "g")
    assert (tmp_path / "g.json").read_bytes() == before
