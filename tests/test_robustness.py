"""Failing safely: all-or-nothing state dict loads, CPU-only devices, checkpoint files that
keep their permissions, and calibration that stops at NaN instead of skipping it.

The references are independent of the code under test: values saved before a
failed load, ``open(path, "w")`` itself for what may be written, ``os.stat``
for permissions, numpy for the values that reach an observer.  PyTorch, when
installed, checks the shared names and messages.
"""
import os
import shutil
import stat
import tempfile
import types

import numpy as np
import pytest

import tinytorch
from tinytorch import nn
from tinytorch.quant.observers import (MinMaxObserver, MovingAverageMinMaxObserver,
                                       NonFiniteActivationError, PercentileObserver)
from tinytorch.quant.prepare import calibrate, prepare

NOBODY = 65534


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 5)
        self.norm = nn.BatchNorm2d(5)  # an int64 buffer (num_batches_tracked) among float ones
        self.out = nn.Linear(5, 3)

    def forward(self, x):
        return self.out(self.hidden(x).relu())


def snapshot(model):
    return {key: value.array.copy() for key, value in model.state_dict().items()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert list(after) == list(before)
    for key in before:
        assert after[key].dtype == before[key].dtype, key
        np.testing.assert_array_equal(after[key], before[key], err_msg=key)


def good_state(seed=1):
    source = Net()
    rng = np.random.default_rng(seed)
    for tensor in source.state_dict().values():
        if tensor.dtype.kind == "f":
            tensor.array[...] = rng.standard_normal(tensor.shape)
    return {key: value.array.copy() for key, value in source.state_dict().items()}


# ----- load_state_dict: check everything, then write ----------------------------------
class TestLoadStateDict:
    @pytest.mark.parametrize("bad_value, message", [
        ("a string", "expected a Tensor or numpy array from checkpoint but received <class 'str'>"),
        (None, "received <class 'NoneType'>"),
        ([[0.0] * 5] * 3, "received <class 'list'>"),
        (np.zeros((3, 5), np.complex128), "dtype mismatch for out.weight: cannot copy complex128"),
        (np.array([["a"] * 5] * 3), "dtype mismatch for out.weight"),
        (np.full((3, 5), 1e300), "value mismatch for out.weight: the checkpoint holds values too "
                                 "large for float32"),
        (np.zeros((5, 3), np.float32), r"size mismatch for out.weight: copying a param with "
                                       r"shape \(5, 3\) from checkpoint, the shape in current "
                                       r"model is \(3, 5\)"),
    ], ids=["str", "None", "list", "complex", "strings", "overflow", "shape"])
    def test_a_bad_last_value_leaves_every_tensor_untouched(self, bad_value, message):
        model = Net()
        before = snapshot(model)
        state = good_state()
        assert list(state)[-1] == "out.bias"  # "out.weight" comes after every other tensor but one
        state["out.weight"] = bad_value
        with pytest.raises(RuntimeError, match=message) as error:
            model.load_state_dict(state)
        assert str(error.value).startswith("Error(s) in loading state_dict for Net:")
        assert_unchanged(model, before)

    @pytest.mark.parametrize("value, message", [
        (2.5, "value mismatch for norm.num_batches_tracked: the checkpoint holds values that "
              "int64 cannot hold exactly \\(for example 2.5 of dtype float64\\)"),
        (np.float64("nan"), "for example nan"),
        (np.array(2 ** 70, dtype=np.float64), "int64 cannot hold exactly"),
    ])
    def test_integer_buffers_refuse_values_they_would_change(self, value, message):
        model = Net()
        before = snapshot(model)
        state = good_state()
        state["norm.num_batches_tracked"] = value
        with pytest.raises(RuntimeError, match=message):
            model.load_state_dict(state)
        assert_unchanged(model, before)

    def test_every_problem_is_listed_at_once(self):
        state = good_state()
        state["hidden.bias"] = np.zeros(7)
        state["norm.num_batches_tracked"] = 0.5
        with pytest.raises(RuntimeError) as error:
            Net().load_state_dict(state)
        assert "size mismatch for hidden.bias" in str(error.value)
        assert "value mismatch for norm.num_batches_tracked" in str(error.value)

    def test_conversions_that_keep_every_value_are_made(self):
        model = Net()
        state = good_state()
        state["norm.num_batches_tracked"] = 7.0  # a float that is an integer
        state["hidden.bias"] = tinytorch.tensor(state["hidden.bias"])  # Tensors and arrays alike
        state["out.bias"] = np.array([np.nan, 1.0, 2.0])  # NaN weights load, as saved
        model.load_state_dict(state)
        loaded = snapshot(model)
        assert loaded["norm.num_batches_tracked"].dtype == np.int64
        assert loaded["norm.num_batches_tracked"] == 7
        assert loaded["hidden.weight"].dtype == np.float32  # float64 checkpoint, float32 model
        np.testing.assert_array_equal(loaded["hidden.weight"],
                                      state["hidden.weight"].astype(np.float32))
        np.testing.assert_array_equal(loaded["out.bias"], [np.nan, 1.0, 2.0])

    def test_writes_in_place_and_bumps_each_version_once(self):
        model = Net()
        weight = model.hidden.weight
        memory = weight.array
        weight.detach()  # sharing the memory gives the tensor a version counter
        version = weight._version
        model.load_state_dict(good_state())
        assert weight.array is memory and weight._version == version + 1

    def test_a_graph_that_saved_an_overwritten_weight_refuses_backward(self):
        model = Net()
        loss = model(tinytorch.randn(2, 4)).sum()
        model.load_state_dict(good_state())
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward()

    def test_strict_false_returns_the_keys_and_still_refuses_bad_shapes(self):
        model = Net()
        state = good_state()
        del state["out.bias"]
        state["extra"] = np.zeros(2)
        result = model.load_state_dict(state, strict=False)
        assert result.missing_keys == ["out.bias"] and result.unexpected_keys == ["extra"]
        np.testing.assert_array_equal(model.out.weight.array, state["out.weight"].astype(np.float32))
        with pytest.raises(RuntimeError, match="Missing key.*out.bias"):
            Net().load_state_dict(state)
        state["hidden.weight"] = np.zeros((1, 1))
        model = Net()
        before = snapshot(model)
        with pytest.raises(RuntimeError, match="size mismatch for hidden.weight"):
            model.load_state_dict(state, strict=False)
        assert_unchanged(model, before)

    @pytest.mark.parametrize("not_a_mapping", ["state", [("a", 1)], None])
    def test_a_state_dict_must_be_a_mapping(self, not_a_mapping):
        with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got"):
            Net().load_state_dict(not_a_mapping)

    def test_pytorch_agrees_on_keys_and_messages(self):
        torch = pytest.importorskip("torch")
        ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
        partial = {"weight": np.zeros((2, 3), np.float32), "unused": np.zeros(1)}
        our_result = ours.load_state_dict(partial, strict=False)
        their_result = theirs.load_state_dict({k: torch.tensor(v) for k, v in partial.items()},
                                              strict=False)
        assert our_result.missing_keys == their_result.missing_keys
        assert our_result.unexpected_keys == their_result.unexpected_keys
        for library, model, value in [(tinytorch, ours, [[0.0] * 3] * 2),
                                      (torch, theirs, [[0.0] * 3] * 2)]:
            with pytest.raises(RuntimeError, match='While copying the parameter named "weight", '
                                                   "expected .*Tensor"):
                model.load_state_dict({"weight": value, "bias": library.zeros(2)})
        with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
            theirs.load_state_dict("state")


# ----- Module.to: the CPU, dtypes, and nothing else -----------------------------------
class TestModuleTo:
    @pytest.mark.parametrize("device", [
        "cpu", "cpu:0", types.SimpleNamespace(type="cpu", index=None), tinytorch.device("cpu")],
        ids=["str", "cpu:0", "device-like", "device"])
    def test_the_cpu_is_accepted_and_changes_nothing(self, device):
        model = Net()
        before = snapshot(model)
        assert model.to(device) is model and model.to(device=device) is model
        assert_unchanged(model, before)

    def test_tinytorch_device_if_present(self):
        if not hasattr(tinytorch, "device"):
            pytest.skip("tinytorch.device is not there yet")
        model = Net()
        assert model.to(tinytorch.device("cpu")) is model
        with pytest.raises(RuntimeError, match="CPU only"):
            model.to(tinytorch.device("cuda"))

    @pytest.mark.parametrize("call", [
        lambda m: m.to(tinytorch.float64), lambda m: m.to(np.float64),
        lambda m: m.to("cpu", tinytorch.float64), lambda m: m.to(dtype=tinytorch.float64),
        lambda m: m.to(device="cpu", dtype=np.float64), lambda m: m.to(tinytorch.zeros(1).double()),
        lambda m: m.double(), lambda m: m.to("cpu", tinytorch.float64, True)],
        ids=["dtype", "numpy type", "device and dtype", "dtype=", "both keywords", "tensor",
             "double()", "non_blocking"])
    def test_dtypes_convert_floating_tensors_only(self, call):
        model = Net()
        before = snapshot(model)
        assert call(model) is model
        for key, value in snapshot(model).items():
            expected = np.float64 if before[key].dtype.kind == "f" else before[key].dtype
            assert value.dtype == expected, key
            np.testing.assert_array_equal(value, before[key])

    @pytest.mark.parametrize("args, kwargs, device", [
        (("cuda",), {}, "cuda"), (("cuda:1", tinytorch.float64), {}, "cuda:1"),
        ((), {"device": "mps"}, "mps"), ((types.SimpleNamespace(type="cuda", index=2),), {}, "cuda:2"),
        ((0,), {}, "0")])
    def test_other_devices_are_refused_and_nothing_changes(self, args, kwargs, device):
        model = Net()
        before = snapshot(model)
        # A bare index is refused where it becomes a device, naming it as an index.
        where = "device" if device == "0" else "Module.to"
        with pytest.raises(RuntimeError, match=f"{where}: TinyTorch runs on the CPU only; "
                                               f"device '?{device}'?( \\(an accelerator "
                                               f"index\\))? is not available"):
            model.to(*args, **kwargs)
        assert_unchanged(model, before)

    def test_a_dtype_name_given_as_a_device_gets_a_hint(self):
        with pytest.raises(RuntimeError, match="Module.to: 'float64' is not a device; to change "
                                               "the dtype pass one such as tinytorch.float64"):
            Net().to("float64")

    def test_integer_dtypes_are_refused_like_pytorch(self):
        message = "nn.Module.to only accepts floating point or complex dtypes, but got desired dtype="
        with pytest.raises(TypeError, match=message + "int32"):
            Net().to(tinytorch.int32)
        torch = pytest.importorskip("torch")
        with pytest.raises(TypeError, match=message + "torch.int32"):
            torch.nn.Linear(2, 2).to(torch.int32)


# ----- tinytorch.save: permissions; tinytorch.load: PyTorch's keywords -----------------
def outcome(action):
    """'ok' or the name of the exception ``action`` raised."""
    try:
        action()
    except Exception as error:  # noqa: BLE001 - the outcome is what is compared
        return type(error).__name__
    return "ok"


def unprivileged(action):
    """``outcome(action)`` as an ordinary user: as is, or, under root, in a child run as nobody.

    Root may write any file, so the refusals can only be seen without it.
    """
    if os.geteuid() != 0:
        return outcome(action)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, act, report, and leave without running pytest's exit
        result = "child failed"
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = outcome(action)
        finally:
            os.write(write, result.encode())
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        result = pipe.read().decode()
    os.waitpid(pid, 0)
    return result


@pytest.fixture
def shared_dir():
    """A directory any user may write in (the child run as nobody included)."""
    directory = tempfile.mkdtemp(prefix="tinytorch-permissions-")
    os.chmod(directory, 0o777)
    yield directory
    os.chmod(directory, 0o700)
    shutil.rmtree(directory)


OLD, NEW = {"w": tinytorch.tensor([1.0, 2.0])}, {"w": tinytorch.tensor([3.0, 4.0, 5.0])}


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def saved_values(path):
    return tinytorch.load(path)["w"].array.tolist()


class TestSavePermissions:
    @pytest.mark.parametrize("mode", [0o600, 0o640, 0o644, 0o755, 0o664])
    def test_replacing_a_file_keeps_its_permission_bits(self, tmp_path, mode):
        path = tmp_path / "checkpoint"
        tinytorch.save(OLD, path)
        os.chmod(path, mode)
        tinytorch.save(NEW, path)
        assert mode_of(path) == mode and saved_values(path) == [3.0, 4.0, 5.0]

    def test_a_new_file_gets_what_open_gives(self, tmp_path):
        with open(tmp_path / "by_open", "w"):
            pass
        tinytorch.save(NEW, tmp_path / "by_save")
        assert mode_of(tmp_path / "by_save") == mode_of(tmp_path / "by_open")

    def test_a_read_only_file_is_refused_as_open_refuses_it(self, shared_dir):
        path, twin = os.path.join(shared_dir, "ckpt"), os.path.join(shared_dir, "twin")
        for file in (path, twin):
            tinytorch.save(OLD, file)
            os.chmod(file, 0o444)
        # The oracle: what open(path, "w") does to an identical file, as the same user.
        assert unprivileged(lambda: open(twin, "w").close()) == "PermissionError"
        assert unprivileged(lambda: tinytorch.save(NEW, path)) == "PermissionError"
        assert saved_values(path) == [1.0, 2.0] and mode_of(path) == 0o444
        assert sorted(os.listdir(shared_dir)) == ["ckpt", "twin"]  # no temporary file left

    def test_a_read_only_directory_is_refused_as_open_refuses_it(self, shared_dir):
        inner = os.path.join(shared_dir, "inner")
        os.mkdir(inner)
        tinytorch.save(OLD, os.path.join(inner, "ckpt"))
        os.chmod(os.path.join(inner, "ckpt"), 0o666)
        os.chmod(inner, 0o555)
        try:
            assert unprivileged(lambda: open(os.path.join(inner, "new"), "w").close()) == \
                "PermissionError"
            for name in ("new", "ckpt"):  # neither a new file nor a replacement
                assert unprivileged(lambda: tinytorch.save(NEW, os.path.join(inner, name))) == \
                    "PermissionError"
            assert os.listdir(inner) == ["ckpt"]
            assert saved_values(os.path.join(inner, "ckpt")) == [1.0, 2.0]
        finally:
            os.chmod(inner, 0o755)

    def test_the_error_reads_like_opens(self, tmp_path):
        if os.geteuid() == 0:
            pytest.skip("root may write read-only files; the refusal is tested as nobody above")
        path = tmp_path / "ckpt"
        tinytorch.save(OLD, path)
        os.chmod(path, 0o444)
        with pytest.raises(PermissionError, match=r"\[Errno 13\] tinytorch.save: permission "
                                                  r"denied.*: '.*ckpt'"):
            tinytorch.save(NEW, path)

    def test_root_writes_where_open_writes_and_the_mode_stays(self, tmp_path):
        if os.geteuid() != 0:
            pytest.skip("only root may write a read-only file")
        path, twin = tmp_path / "ckpt", tmp_path / "twin"
        for file in (path, twin):
            tinytorch.save(OLD, file)
            os.chmod(file, 0o444)
        assert outcome(lambda: open(twin, "w").close()) == "ok"  # the rule: as open() does
        tinytorch.save(NEW, path)
        assert saved_values(path) == [3.0, 4.0, 5.0] and mode_of(path) == 0o444

    def test_a_directory_as_the_target_is_refused_before_writing(self, tmp_path):
        (tmp_path / "folder").mkdir()
        with pytest.raises(IsADirectoryError):
            tinytorch.save(NEW, tmp_path / "folder")
        assert os.listdir(tmp_path) == ["folder"]


class TestLoadKeywords:
    @pytest.mark.parametrize("kwargs", [
        {}, {"map_location": None}, {"map_location": "cpu"}, {"map_location": "cpu:0"},
        {"map_location": types.SimpleNamespace(type="cpu")}, {"map_location": {"cuda:0": "cpu"}},
        {"weights_only": True}, {"weights_only": None},
        {"map_location": "cpu", "weights_only": True}])
    def test_pytorchs_keywords_for_the_cpu(self, tmp_path, kwargs):
        tinytorch.save(NEW, tmp_path / "ckpt")
        assert tinytorch.load(tmp_path / "ckpt", **kwargs)["w"].array.tolist() == [3.0, 4.0, 5.0]

    @pytest.mark.parametrize("map_location, shown", [
        ("cuda", "cuda"), ("cuda:1", "cuda:1"), (types.SimpleNamespace(type="mps"), "mps"),
        ({"cpu": "cuda:0"}, "cuda:0")])
    def test_other_devices_are_refused(self, tmp_path, map_location, shown):
        tinytorch.save(NEW, tmp_path / "ckpt")
        with pytest.raises(RuntimeError, match=f"tinytorch.load: TinyTorch runs on the CPU only; "
                                               f"device '{shown}' is not available"):
            tinytorch.load(tmp_path / "ckpt", map_location=map_location)

    def test_a_map_location_function_is_refused(self, tmp_path):
        tinytorch.save(NEW, tmp_path / "ckpt")
        with pytest.raises(TypeError, match="a function is not supported"):
            tinytorch.load(tmp_path / "ckpt", map_location=lambda storage, location: storage)

    def test_weights_only_false_never_unpickles(self, tmp_path):
        tinytorch.save(NEW, tmp_path / "ckpt")
        with pytest.raises(ValueError, match=r"weights_only=False asks to unpickle .* TinyTorch "
                                             r"never does: a checkpoint is data only \(an .npz"):
            tinytorch.load(tmp_path / "ckpt", weights_only=False)

    def test_the_keywords_are_pytorchs(self):
        torch = pytest.importorskip("torch")
        import inspect

        ours = inspect.signature(tinytorch.load).parameters
        theirs = inspect.signature(torch.load).parameters
        assert list(ours)[:2] == list(theirs)[:2] == ["f", "map_location"]
        assert ours["weights_only"].kind == theirs["weights_only"].kind == \
            inspect.Parameter.KEYWORD_ONLY


# ----- observers and calibration: NaN and infinities stop, naming where and when -------
class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        return self.head(self.hidden(x).relu())


def finite_batches(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(count)]


class TestNonFiniteActivations:
    @pytest.mark.parametrize("observer_class", [MinMaxObserver, MovingAverageMinMaxObserver,
                                                PercentileObserver])
    @pytest.mark.parametrize("bad, found", [(np.nan, "1 NaN"), (np.inf, "1 \\+inf"),
                                            (-np.inf, "1 -inf")])
    def test_an_observer_refuses_and_keeps_its_statistics(self, observer_class, bad, found):
        observer = observer_class()
        observer.observe(np.array([-1.0, 2.0, 0.5]))
        before = observer.range()
        with pytest.raises(NonFiniteActivationError, match=f"{found} among its 4 values"):
            observer.observe(np.array([0.0, bad, 5.0, -7.0]))
        assert observer.range() == before and observer.batches == 1

    def test_counts_of_each_kind(self):
        values = np.array([np.nan, np.nan, np.inf, -np.inf, -np.inf, 1.0])
        with pytest.raises(NonFiniteActivationError,
                           match=r"^2 NaN, 1 \+inf, 2 -inf among its 6 values$"):
            MinMaxObserver().observe(values)

    def test_a_batch_that_overflows_a_layer_names_the_layer_and_the_batch(self):
        model = Small()
        model.hidden.weight.array[...] = 1.0
        batches = finite_batches(5)
        batches[3] = np.full((5, 4), 3e38, np.float32)  # finite, but 4 * 3e38 is not in float32
        assert np.isfinite(batches[3]).all()
        prepared = prepare(model, batches[0])
        with np.errstate(over="ignore"), pytest.raises(
                NonFiniteActivationError, match=r"calibrate: in batch 3 of the loader \(counting from 0\), the "
                r"output of layer 'hidden' \(fully_connected\) holds 30 \+inf among its 30 values"):
            calibrate(prepared, batches, show_progress=False)
        assert not prepared.training  # the mode it had is restored even on error

    def test_a_model_that_is_nan_everywhere_names_nan_from_the_first_batch(self):
        model = Small()
        model.head.weight.array[0, 0] = np.nan  # a diverged weight: output column 0 is NaN
        prepared = prepare(model, finite_batches(1)[0])
        with pytest.raises(NonFiniteActivationError,
                           match=r"batch 0 .*layer 'head' \(fully_connected\) holds 5 NaN among "
                                 r"its 15 values"):
            calibrate(prepared, finite_batches(4), show_progress=False)

    def test_nan_in_the_data_names_the_input(self):
        batches = finite_batches(3)
        batches[1][2, 1] = np.nan
        prepared = prepare(Small(), batches[0])
        with pytest.raises(NonFiniteActivationError,
                           match=r"batch 1 .*the model's input holds 1 NaN among its 20 values"):
            calibrate(prepared, [(b, np.zeros(5)) for b in batches], show_progress=False)

    def test_finite_calibration_learns_the_ranges_numpy_computes(self):
        model = Small()
        batches = finite_batches(4)
        prepared = calibrate(prepare(model, batches[0]), batches, show_progress=False)
        hidden = [np.maximum(b @ model.hidden.weight.array.T + model.hidden.bias.array, 0)
                  for b in batches]
        low, high = prepared.observers[0].range()
        assert low == pytest.approx(min(h.min() for h in hidden), abs=1e-6)
        assert high == pytest.approx(max(h.max() for h in hidden), rel=1e-6)
