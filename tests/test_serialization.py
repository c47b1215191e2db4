"""tinytorch.save / tinytorch.load: round trips, atomic writes, refusing bad files."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

import tinytorch
from tinytorch.serialization import (
    FORMAT_VERSION, MANIFEST_ENTRY, CheckpointError, CheckpointNotFoundError)


def checkpoint_like():
    weight = tinytorch.randn(4, 3)
    return {
        "model": {"0.weight": weight, "0.bias": tinytorch.zeros(4, dtype=np.float64)},
        "optimizer": {
            "state": {0: {"momentum_buffer": tinytorch.ones(4, 3), "step": 7},
                      1: {"momentum_buffer": None}},
            "param_groups": [{"lr": 0.1, "momentum": 0.9, "nesterov": False, "params": [0, 1],
                              "betas": (0.9, 0.999)}],
        },
        "epoch": 3,
        "name": "digits-mlp",
        "history": [1.5, 0.25, float("inf")],
        "mask": tinytorch.tensor([True, False]),
        "counts": np.arange(5, dtype=np.int64),
        "scalar_array": np.array(2.5),
        "numpy_scalar": np.float32(0.5),
    }


def assert_same(restored, original, path="obj"):
    assert type(restored) is (tinytorch.Tensor if isinstance(original, tinytorch.Tensor)
                              else type(original)), path
    if isinstance(original, dict):
        assert list(restored) == list(original), path  # same keys, same types, same order
        for key in original:
            assert_same(restored[key], original[key], f"{path}[{key!r}]")
    elif isinstance(original, (list, tuple)):
        assert len(restored) == len(original), path
        for i, (a, b) in enumerate(zip(restored, original)):
            assert_same(a, b, f"{path}[{i}]")
    elif isinstance(original, tinytorch.Tensor):
        assert restored.dtype == original.dtype and restored.shape == original.shape, path
        assert np.array_equal(restored.array, original.array), path
    elif isinstance(original, (np.ndarray, np.generic)):
        assert restored.dtype == original.dtype and np.shape(restored) == np.shape(original), path
        assert np.array_equal(restored, original), path
    else:
        assert restored == original, path


def test_round_trip_of_a_nested_checkpoint(tmp_path):
    original = checkpoint_like()
    path = tmp_path / "checkpoint.tt"
    tinytorch.save(original, path)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.tt"]  # no ".npz" appended, no leftovers
    assert_same(tinytorch.load(path), original)


def test_int_keys_stay_ints_and_str_keys_stay_strs(tmp_path):
    tinytorch.save({0: "zero", "0": "string zero", -3: [1]}, tmp_path / "keys")
    restored = tinytorch.load(tmp_path / "keys")
    assert restored == {0: "zero", "0": "string zero", -3: [1]}
    assert [type(key) for key in restored] == [int, str, int]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_, np.uint8, np.int8])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 1)])
def test_tensor_and_array_dtypes_and_shapes(tmp_path, dtype, shape):
    values = np.asarray(np.arange(int(np.prod(shape))).reshape(shape) % 3).astype(dtype)
    tinytorch.save([tinytorch.from_numpy(values.copy()), values], tmp_path / "arrays")
    tensor, array = tinytorch.load(tmp_path / "arrays")
    assert isinstance(tensor, tinytorch.Tensor) and isinstance(array, np.ndarray)
    for restored in (tensor.array, array):
        assert restored.dtype == dtype and restored.shape == shape
        assert np.array_equal(restored, values)


def test_plain_values_keep_their_types(tmp_path):
    values = [None, True, False, 0, -2**70, 1.0, 0.1, float("-inf"), "", "ü", (), [], {}]
    tinytorch.save(values, tmp_path / "plain")
    restored = tinytorch.load(tmp_path / "plain")
    assert restored == values
    assert [type(v) for v in restored] == [type(v) for v in values]
    tinytorch.save(float("nan"), tmp_path / "nan")
    assert np.isnan(tinytorch.load(tmp_path / "nan"))


def test_requires_grad_is_not_stored_and_shared_arrays_stay_shared(tmp_path):
    weight = tinytorch.nn.Parameter(tinytorch.randn(2, 2))
    tinytorch.save({"a": weight, "b": weight.detach()}, tmp_path / "tied")
    restored = tinytorch.load(tmp_path / "tied")
    assert type(restored["a"]) is tinytorch.Tensor and not restored["a"].requires_grad
    assert np.shares_memory(restored["a"].array, restored["b"].array)


def test_model_state_dict_round_trip(tmp_path):
    model = tinytorch.nn.Sequential(tinytorch.nn.Linear(3, 4), tinytorch.nn.ReLU(),
                                    tinytorch.nn.Linear(4, 2))
    tinytorch.save(model.state_dict(), tmp_path / "model")
    fresh = tinytorch.nn.Sequential(tinytorch.nn.Linear(3, 4), tinytorch.nn.ReLU(),
                                    tinytorch.nn.Linear(4, 2))
    fresh.load_state_dict(tinytorch.load(tmp_path / "model"))
    x = tinytorch.randn(5, 3)
    assert np.array_equal(fresh(x).array, model(x).array)


def test_file_objects_work_too():
    buffer = io.BytesIO()
    tinytorch.save({"x": tinytorch.arange(3)}, buffer)
    buffer.seek(0)
    assert tinytorch.load(buffer)["x"].array.tolist() == [0, 1, 2]


# ----- refusing what cannot be saved, atomically ------------------------------------------
@pytest.mark.parametrize("bad, where", [
    ({"model": {"layers": [1, object()]}}, r"obj\['model'\]\['layers'\]\[1\] of type object"),
    ({"f": lambda: 0}, r"obj\['f'\] of type function"),
    ({(1, 2): 0}, r"dict keys must be str or int.*tuple"),
    ({"set": {1, 2}}, r"obj\['set'\] of type set"),
    ({"objects": np.array([None, 1], dtype=object)}, r"obj\['objects'\].*dtype object"),
])
def test_unsupported_objects_are_refused_with_their_path(tmp_path, bad, where):
    path = tmp_path / "checkpoint"
    tinytorch.save({"good": tinytorch.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=where):
        tinytorch.save(bad, path)
    assert path.read_bytes() == before  # the old checkpoint is untouched
    assert os.listdir(tmp_path) == ["checkpoint"]  # and no temporary file is left


def test_failed_write_removes_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint"
    tinytorch.save([1, 2, 3], path)
    before = path.read_bytes()

    def broken_fsync(descriptor):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        tinytorch.save({"new": tinytorch.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["checkpoint"]


def test_reference_cycles_are_refused(tmp_path):
    cycle = [1]
    cycle.append(cycle)
    with pytest.raises(ValueError, match="reference cycle"):
        tinytorch.save(cycle, tmp_path / "cycle")
    assert os.listdir(tmp_path) == []


# ----- refusing files that are not good checkpoints ---------------------------------------
def saved_checkpoint(tmp_path):
    path = tmp_path / "good"
    tinytorch.save({"w": tinytorch.randn(50, 50), "step": 1}, path)
    return path


def write_npz(path, **arrays):
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    return path


def manifest_array(manifest):
    return np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="no such file") as error:
        tinytorch.load(tmp_path / "absent")
    assert "absent" in str(error.value)
    assert isinstance(error.value, FileNotFoundError)


@pytest.mark.parametrize("keep", [0.5, 0.95, 0.999])
def test_truncated_file(tmp_path, keep):
    data = saved_checkpoint(tmp_path).read_bytes()
    cut = tmp_path / "cut"
    cut.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError, match="'.*cut'.*truncated or corrupt"):
        tinytorch.load(cut)
    assert cut.read_bytes() == data[:int(len(data) * keep)]  # loading never modifies a file


def test_corrupted_array_bytes(tmp_path):
    data = bytearray(saved_checkpoint(tmp_path).read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the stored weight: the zip checksum catches it
    bad = tmp_path / "flipped"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="flipped"):
        tinytorch.load(bad)


@pytest.mark.parametrize("content, message", [
    (b"", "empty file"),
    (b"this is not a checkpoint at all" * 10, r"not an \.npz"),
    (b"\x80\x04\x95", r"not an \.npz"),  # the start of a pickle
])
def test_garbage_files(tmp_path, content, message):
    path = tmp_path / "garbage"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        tinytorch.load(path)


def test_plain_npz_without_manifest(tmp_path):
    path = write_npz(tmp_path / "plain.npz", weights=np.ones(3))
    with pytest.raises(CheckpointError, match="without a manifest.*weights"):
        tinytorch.load(path)


def test_manifest_pointing_to_a_missing_array(tmp_path):
    manifest = {"format": "tinytorch.save", "version": FORMAT_VERSION,
                "root": {"type": "tensor", "array": "array_9", "dtype": "<f4", "shape": [2]}}
    path = write_npz(tmp_path / "dangling", **{MANIFEST_ENTRY: manifest_array(manifest)})
    with pytest.raises(CheckpointError, match="dangling.*array 'array_9'.*not in the file"):
        tinytorch.load(path)


def test_manifest_that_disagrees_with_the_array(tmp_path):
    manifest = {"format": "tinytorch.save", "version": FORMAT_VERSION,
                "root": {"type": "ndarray", "array": "array_0", "dtype": "<f4", "shape": [2]}}
    path = write_npz(tmp_path / "mismatch", **{MANIFEST_ENTRY: manifest_array(manifest)},
                     array_0=np.zeros(3, dtype=np.float64))
    with pytest.raises(CheckpointError, match="manifest says"):
        tinytorch.load(path)


def test_newer_format_version(tmp_path):
    manifest = {"format": "tinytorch.save", "version": FORMAT_VERSION + 1,
                "root": {"type": "none"}}
    path = write_npz(tmp_path / "future", **{MANIFEST_ENTRY: manifest_array(manifest)})
    with pytest.raises(CheckpointError, match=f"version {FORMAT_VERSION + 1}.*newer"):
        tinytorch.load(path)


def test_other_manifests_are_rejected(tmp_path):
    path = write_npz(tmp_path / "foreign", **{MANIFEST_ENTRY: manifest_array({"format": "x"})})
    with pytest.raises(CheckpointError, match="not a TinyTorch checkpoint"):
        tinytorch.load(path)
    path = write_npz(tmp_path / "notjson",
                     **{MANIFEST_ENTRY: np.frombuffer(b"{oops", dtype=np.uint8)})
    with pytest.raises(CheckpointError, match="not valid JSON"):
        tinytorch.load(path)
    manifest = {"format": "tinytorch.save", "version": 1, "root": {"type": "module"}}
    path = write_npz(tmp_path / "unknown", **{MANIFEST_ENTRY: manifest_array(manifest)})
    with pytest.raises(CheckpointError, match="unknown type 'module'"):
        tinytorch.load(path)


class Detonator:
    """Unpickling this would call ``_explode``: the test fails if that ever happens."""

    exploded = False

    def __reduce__(self):
        return (_explode, ())


def _explode():
    Detonator.exploded = True
    return "boom"


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    manifest = {"format": "tinytorch.save", "version": FORMAT_VERSION,
                "root": {"type": "ndarray", "array": "array_0", "dtype": "|O", "shape": [1]}}
    payload = np.empty(1, dtype=object)
    payload[0] = Detonator()
    path = write_npz(tmp_path / "pickled", **{MANIFEST_ENTRY: manifest_array(manifest)},
                     array_0=payload)
    with zipfile.ZipFile(path) as archive:  # the file really does hold a pickle
        assert "array_0.npy" in archive.namelist()
    with pytest.raises(CheckpointError, match="pickled"):
        tinytorch.load(path)
    assert not Detonator.exploded
    # A pickled *manifest* is refused the same way.
    path = write_npz(tmp_path / "pickled_manifest", **{MANIFEST_ENTRY: payload})
    with pytest.raises(CheckpointError, match="pickled"):
        tinytorch.load(path)
    assert not Detonator.exploded
